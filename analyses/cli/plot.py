"""``gamedyn plot``: the figures of a training run folder (:func:`analyses.plot_run`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .._registry import UsageError
from ._common import RAW, one_line, wrapped

__all__ = ["add_parser", "run"]

EPILOG = """\
examples:
  gamedyn train plain_ring --out runs/ring --steps 5000
  gamedyn plot runs/ring --out runs/ring/figures
  gamedyn plot runs/ring --out figs --format pdf --figures samples coverage

Figures (each written as <name>.png and <name>.svg unless --format says otherwise):
  samples       generated samples at up to --panels evaluations, on one axis range
  coverage      modes covered, robust modes and high quality over training, and the
                dominant share of each evaluation (concentrated at >= 1/2)
  mode_hopping  the mode-hopping graph of the concentrated evaluations only
  losses        both players' losses and the norm of the simultaneous gradient
  spectra       the spectra recorded along training (only when spectra.jsonl exists)
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``plot`` subcommand to ``subparsers``."""
    from ._names import RUN_FIGURES

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plot",
        help="the figures of a training run folder",
        description=wrapped(
            "Draw the figures of a run folder written by `gamedyn train`: samples along "
            "training, mode coverage, the mode-hopping graph, losses and, when recorded, "
            "the spectra along training."
        ),
        epilog=EPILOG,
        formatter_class=RAW,
    )
    parser.add_argument("run", metavar="RUN", help="the run folder (holding log.jsonl)")
    parser.add_argument("--out", required=True, help="folder for the figures")
    parser.add_argument(
        "--format",
        nargs="+",
        default=["png", "svg"],
        choices=["png", "svg", "pdf"],
        dest="formats",
        help="file formats (default: png svg)",
    )
    parser.add_argument(
        "--figures",
        nargs="+",
        default=None,
        choices=list(RUN_FIGURES),
        metavar="NAME",
        help=f"draw only these, from: {', '.join(RUN_FIGURES)} (default: all the run has)",
    )
    parser.add_argument(
        "--panels", type=int, default=6, help="evaluations in the samples figure (default 6)"
    )
    parser.add_argument(
        "--show", action="store_true", help="also open the figures in a window (needs a display)"
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Draw the figures of the run the parsed ``args`` name; return the exit code."""
    from ..mode_summary import collapse_statistics
    from ..run_plots import plot_run, read_run

    try:
        record = read_run(args.run)
        written = plot_run(
            args.run, args.out, formats=args.formats, figures=args.figures, panels=args.panels
        )
    except ValueError as error:
        text = one_line(error)
        raise UsageError("RUN" + text[3:] if text.startswith("run:") else f"--{text}") from None
    except OSError as error:
        raise UsageError(f"--out: cannot write the figures to {args.out!r} ({error})") from None
    lines = [
        f"run {args.run}: {len(record.log)} logged steps, {len(record.evaluations)} evaluations"
    ]
    if record.evaluations:
        stats = collapse_statistics(
            [s for s, _ in record.evaluations], [c for _, c in record.evaluations]
        )
        share = stats["dominant_share_median"]
        lines.append(
            f"after the first 10 % of steps: median dominant share "
            f"{'n/a' if share is None else f'{share:.2f}'}, "
            f"{stats['n_concentrated']} of {stats['n_evaluations']} evaluations concentrated, "
            f"{stats['distinct_dominant_modes']} distinct dominant modes"
        )
    for name, files in written.items():
        lines.append(f"{name:13s} {', '.join(str(Path(f)) for f in files)}")
    print("\n".join(lines))
    if args.show:
        import matplotlib.image as mpimg
        import matplotlib.pyplot as plt

        for name, files in written.items():
            png = [f for f in files if f.suffix == ".png"]
            if png:
                _, ax = plt.subplots()
                ax.imshow(mpimg.imread(png[0]))
                ax.set_axis_off()
                ax.set_title(name)
        plt.show()
    return 0
