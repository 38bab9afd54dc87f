"""``gamedyn report``: the canonical studies, written to a self-contained folder.

(Being built: this module owns the ``report`` subcommand's arguments and its run.)
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``report`` subcommand's options to ``parser``."""
    parser.add_argument("--out", default="gamedyn-report", help="output folder")
    parser.add_argument("--quick", action="store_true", help="small grids and short runs")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")


def run(args: argparse.Namespace) -> int:
    """Run the report described by the parsed ``args``; return the exit code."""
    from .cli import _legacy_report

    return _legacy_report(args)
