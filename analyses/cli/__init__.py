"""The ``gamedyn`` command line.

One module per subcommand, each with its arguments (``add_parser``) and its handler
(``run``):

- :mod:`~analyses.cli.report`: the canonical studies, written to a report folder;
- :mod:`~analyses.cli.train`: train a neural GAN from a TOML file;
- :mod:`~analyses.cli.games`, :mod:`~analyses.cli.rules`: the named games and update
  rules (:mod:`analyses._registry`, :mod:`dynamics.registry`);
- :mod:`~analyses.cli.spectrum`, :mod:`~analyses.cli.stability`: analyse a named game
  (``NAME:key=value,...``) or a checkpoint written by ``gamedyn train``;
- :mod:`~analyses.cli.path_angle`, :mod:`~analyses.cli.spectrum_log`: landscapes along
  training.

Bad input (an unknown name or key, a bad value, a missing or corrupt file) ends with one
line ``gamedyn: error: ...`` naming the argument and what was expected, and exit
status 2: the library's errors are translated where the input enters it
(:class:`analyses._registry.UsageError`, :class:`dynamics.registry.SpecError`), so
anything else is a genuine bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from dynamics.registry import SpecError

from . import games, path_angle, plot, report, rules, spectrum, spectrum_log, stability, train
from ._common import Parser, one_line

__all__ = ["build_parser", "main"]

COMMANDS = (report, train, plot, games, rules, spectrum, stability, path_angle, spectrum_log)
"""The subcommand modules, in the order ``gamedyn --help`` lists them."""


class _Version(argparse.Action):
    """``--version``: gamedyn's and torch's versions (torch is imported only here)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        import torch

        from games import __version__

        print(f"gamedyn {__version__} (torch {torch.__version__})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``gamedyn`` command."""
    parser = Parser(
        prog="gamedyn", description="Training dynamics of differentiable games, GANs first."
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gamedyn`` console command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except SpecError as error:  # analyses._registry.UsageError is one
        print(f"gamedyn: error: {one_line(error)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `gamedyn games | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
