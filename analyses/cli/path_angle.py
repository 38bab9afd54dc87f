"""``gamedyn path-angle``: the path-angle study between two checkpoints
(:func:`analyses.path_angle`, Berard et al. 2020)."""

from __future__ import annotations

import argparse
import re
from typing import Any

import numpy as np

from .._registry import UsageError
from ._common import (
    RAW,
    grid_axis,
    one_line,
    positive_int,
    print_json,
    save_figure,
    table,
    wrapped,
)
from ._target import checkpoint_target

__all__ = ["add_parser", "run"]

EPILOG = """\
examples:
  gamedyn path-angle runs/ring/early.pt runs/ring/checkpoint.pt
  gamedyn path-angle runs/a runs/b --alphas -0.5:1.5:41 --plot path.png
  gamedyn path-angle runs/a/checkpoint.pt runs/b/checkpoint.pt --alphas 0,0.5,1 --json

Along theta(alpha) = A + alpha (B - A) (Berard et al. 2020), the cosine between the game's
vector field xi and the path direction B - A, |xi|^2, each player's cosine (its block of xi
against its block of B - A) and each player's loss.  The game is the GAN rebuilt from A's
stored configuration on one fixed batch (as for gamedyn spectrum); both checkpoints must
have the same networks and loss.
"""


def _alphas(text: str) -> np.ndarray:
    try:
        return grid_axis(f"alpha={text}").values
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected START:STOP:NUM or A1,A2,..., got {text!r}"
        ) from None


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``path-angle`` subcommand to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "path-angle",
        help="cosine between the vector field and the segment between two checkpoints",
        description=wrapped(
            "The path-angle study of Berard et al. (2020) between two checkpoints: along "
            "the segment theta(alpha) = A + alpha (B - A), the cosine between xi and B - A "
            "and |xi|^2 (and per player), on one fixed batch."
        ),
        epilog=EPILOG,
        formatter_class=RAW,
    )
    # '--alphas -0.2:1.2:29' is a value, not an option: widen argparse's test for
    # negative numbers to ranges and lists (this parser has no option like '-1')
    parser._negative_number_matcher = re.compile(r"^-\d*\.?\d+(?:[eE][-+]?\d+)?(?:[:,].*)?$")
    parser.add_argument("checkpoint_a", metavar="CKPT_A", help="checkpoint file or run folder")
    parser.add_argument("checkpoint_b", metavar="CKPT_B", help="checkpoint file or run folder")
    parser.add_argument(
        "--alphas",
        type=_alphas,
        default=None,
        metavar="RANGE",
        help="points of the segment, START:STOP:NUM or A1,A2,...; default -0.2:1.2:29",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="size of the fixed batch (default: A's training batch size)",
    )
    parser.add_argument(
        "--batch-seed",
        type=int,
        default=None,
        metavar="SEED",
        help="seed of the fixed batch (default: A's seed + 1)",
    )
    parser.add_argument("--plot", default=None, metavar="FILE", help="draw the plot to FILE")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print (and plot) the path angle the parsed ``args`` ask for; return the exit code."""
    from ..path_angle import PathAngleDisplay, path_angle

    targets = []
    for text in (args.checkpoint_a, args.checkpoint_b):
        one = argparse.Namespace(
            target=text, point=None, batch_size=args.batch_size, batch_seed=args.batch_seed
        )
        targets.append(checkpoint_target(one))
    a, b = targets
    if list(a.game.sizes) != list(b.game.sizes):
        raise UsageError(
            f"CKPT_A, CKPT_B: the networks differ (parameter sizes {list(a.game.sizes)} and "
            f"{list(b.game.sizes)}); a path needs two points of one game"
        )
    keys = ("loss", "regularizer", "gamma")
    if any(a.details[key] != b.details[key] for key in keys):
        theirs = ", ".join(f"{key} {a.details[key]}/{b.details[key]}" for key in keys)
        raise UsageError(f"CKPT_A, CKPT_B: trained on different games ({theirs})")
    try:
        result = path_angle(a.game, a.point, b.point, args.alphas)
    except ValueError as error:
        raise UsageError(f"CKPT_A, CKPT_B: {one_line(error)}") from None
    payload: dict[str, Any] = {
        "checkpoint_a": a.details,
        "checkpoint_b": b.details,
        "players": list(a.game.players),
        "sizes": list(a.game.sizes),
        **result.to_dict(),
    }
    if args.plot is not None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(7.0, 4.6), layout="constrained")
        labels = (f"step {a.details['step']}", f"step {b.details['step']}")
        PathAngleDisplay.from_path_angle(
            result, labels=labels, title=f"path angle: {a.label} -> {b.label}"
        ).plot(ax=figure.add_subplot())
        save_figure(figure, args.plot)
    if args.json:
        print_json(payload)
        return 0
    lines = [
        f"path        theta(alpha) = A + alpha (B - A), |B - A| = {result.distance:.6g}",
        f"A           {a.label} (step {a.details['step']})",
        f"B           {b.label} (step {b.details['step']})",
        f"game        the ParameterizedGAN rebuilt from A's configuration, fixed batch of "
        f"{a.details['batch_size']} drawn with seed {a.details['batch_seed']}",
    ]
    headers = ["alpha", "cos(xi, B - A)", "|xi|^2"]
    headers += [f"cos {p}" for p in result.players] + [f"loss {p}" for p in result.players]
    rows = []
    for i, alpha in enumerate(result.alphas):
        row = [f"{alpha:+.3f}", f"{result.cosine[i]:+.4f}", f"{result.field_norm_sq[i]:.4g}"]
        row += [f"{result.player_cosines[p][i]:+.4f}" for p in result.players]
        row += [f"{result.losses[p][i]:.4f}" for p in result.players]
        rows.append(row)
    lines += table(headers, rows)
    if args.plot is not None:
        lines.append(f"plot        {args.plot}")
    print("\n".join(lines))
    return 0
