"""``gamedyn spectrum-log``: the spectra logged along a training run by
:class:`analyses.SpectraRecorder` (``spectra.jsonl``)."""

from __future__ import annotations

import argparse
import math
from typing import Any

from .._registry import UsageError
from ._common import RAW, one_line, print_json, save_figure, table, wrapped

__all__ = ["add_parser", "run"]

EPILOG = """\
examples:
  gamedyn spectrum-log runs/ring
  gamedyn spectrum-log runs/ring/spectra.jsonl --plot spectra.png

Reads spectra.jsonl, written during training by the analyses.SpectraRecorder callback
(top eigenvalues of the game Jacobian and both ends of each player's Hessian, on a
fixed batch, every N steps), and prints per step the largest |Im λ| (rotation), the
largest |λ|, the smallest Re λ among those computed and each Hessian's extremes.
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``spectrum-log`` subcommand to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "spectrum-log",
        help="the spectra logged along a training run (spectra.jsonl)",
        description=wrapped(
            "Summarise and plot the spectra that analyses.SpectraRecorder logged along "
            "training: rotation, stability and each player's Hessian against steps."
        ),
        epilog=EPILOG,
        formatter_class=RAW,
    )
    parser.add_argument("run", metavar="RUN", help="run folder or spectra.jsonl")
    parser.add_argument(
        "--plot", default=None, metavar="FILE", help="draw the three panels to FILE"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print (and plot) the spectra log the parsed ``args`` name; return the exit code."""
    from ..training import SpectraAlongTrainingDisplay, load_spectra_log

    try:
        records = load_spectra_log(args.run)
    except FileNotFoundError:
        raise UsageError(
            f"RUN: no spectra log in {args.run!r} (train with an analyses.SpectraRecorder "
            "callback to write spectra.jsonl)"
        ) from None
    except ValueError as error:
        raise UsageError(f"RUN: {one_line(error)}") from None
    if not records:
        raise UsageError(f"RUN: the spectra log in {args.run!r} holds no records")
    display = SpectraAlongTrainingDisplay.from_records(
        records, title=f"spectra along training: {args.run}"
    )
    summary = display.summary()
    if args.plot is not None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(16, 4.6), layout="constrained")
        display.plot(ax=figure.subplots(1, 3))
        save_figure(figure, args.plot)
    players = list(summary["hessian_min"])
    if args.json:
        print_json(
            {
                "steps": summary["steps"].tolist(),
                **{
                    key: [None if not math.isfinite(v) else float(v) for v in summary[key]]
                    for key in ("max_abs_imag", "max_abs", "min_real")
                },
                "hessian_min": {p: summary["hessian_min"][p].tolist() for p in players},
                "hessian_max": {p: summary["hessian_max"][p].tolist() for p in players},
                "records": records,
            }
        )
        return 0
    headers = ["step", "|xi|", "max |Im λ|", "max |λ|", "min Re λ"]
    headers += [f"{p} H min..max" for p in players]
    rows = []
    for i, record in enumerate(records):
        row = [
            str(summary["steps"][i]),
            f"{record.get('field_norm', float('nan')):.4g}",
            f"{summary['max_abs_imag'][i]:.4g}",
            f"{summary['max_abs'][i]:.4g}",
            f"{summary['min_real'][i]:+.4g}",
        ]
        row += [
            f"{summary['hessian_min'][p][i]:+.3g}..{summary['hessian_max'][p][i]:+.3g}"
            for p in players
        ]
        rows.append(row)
    lines = [
        f"spectra of {len(records)} steps (top eigenvalues of J on a fixed batch, matrix-free; "
        "min Re λ is among those computed)"
    ]
    lines += table(headers, rows)
    if args.plot is not None:
        lines.append(f"plot        {args.plot}")
    print("\n".join(lines))
    return 0
