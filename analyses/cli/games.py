"""``gamedyn games``: list the named games (:data:`analyses._registry.GAMES`)."""

from __future__ import annotations

import argparse
from typing import Any

from .._registry import GAMES, parse_spec
from ._common import RAW, param_json, param_lines, print_json, wrapped

__all__ = ["add_parser", "run"]

EPILOG = """\
examples:
  gamedyn games
  gamedyn games dirac
  gamedyn games --json
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``games`` subcommand to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "games",
        help="list the named games, with their parameters",
        description=wrapped(
            "List the named games that spectrum and stability analyse, each with a "
            "one-line description and its parameters (type, allowed values, default).  Name a "
            "game as NAME or NAME:key=value,..., e.g. dirac:loss=wgan,regularizer=wgan_gp,gamma=1."
        ),
        epilog=EPILOG,
        formatter_class=RAW,
    )
    parser.add_argument("name", nargs="?", help="show this game only")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the games (all, or ``args.name``); return the exit code."""
    entries = list(GAMES.values())
    if args.name is not None:
        entries = [parse_spec(args.name, GAMES, "game").entry]
    if args.json:
        print_json(
            {
                "games": [
                    {
                        "name": e.name,
                        "summary": e.summary,
                        "parameters": [param_json(p) for p in e.params],
                    }
                    for e in entries
                ]
            }
        )
        return 0
    for entry in entries:
        print(f"{entry.name}: {entry.summary}")
        print("\n".join(param_lines(entry.params)))
    print(
        "\nname a game as NAME or NAME:key=value,..., e.g. "
        "dirac:loss=wgan,regularizer=wgan_gp,gamma=1; in spectrum and stability a "
        "two-player game also takes unroll=K, unroll_lr=LR and unroll_inner=sgd|adam "
        "(as --unroll K --unroll-lr LR --unroll-inner), e.g. dirac:unroll=5,unroll_lr=0.1"
    )
    return 0
