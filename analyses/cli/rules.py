"""``gamedyn rules``: list the named update rules (:data:`dynamics.registry.RULES`)."""

from __future__ import annotations

import argparse
from typing import Any

from dynamics.registry import RULES, RuleEntry, parse_spec

from ._common import RAW, param_json, param_lines, print_json, wrapped

__all__ = ["add_parser", "run"]

EPILOG = """\
examples:
  gamedyn rules
  gamedyn rules momentum
  gamedyn rules --json
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``rules`` subcommand to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rules",
        help="list the update rules, with their hyper-parameters",
        description=wrapped(
            "List the update rules of the dynamics package that stability "
            "linearises, each with its class, a one-line description and its hyper-parameters "
            "besides the step size lr.  Name a rule as NAME or NAME:key=value,..., e.g. "
            "momentum:beta=-0.5."
        ),
        epilog=EPILOG,
        formatter_class=RAW,
    )
    parser.add_argument("name", nargs="?", help="show this rule only")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)
    return parser


def _names(entry: RuleEntry) -> str:
    return entry.name + (f" (alias {', '.join(entry.aliases)})" if entry.aliases else "")


def run(args: argparse.Namespace) -> int:
    """Print the rules (all, or ``args.name``); return the exit code."""
    entries = list(RULES.values())
    if args.name is not None:
        entries = [parse_spec(args.name, RULES, "rule").entry]
    if args.json:
        print_json(
            {
                "rules": [
                    {
                        "name": e.name,
                        "aliases": list(e.aliases),
                        "class": f"dynamics.{e.class_name}",
                        "summary": e.summary,
                        "parameters": [param_json(p) for p in e.params],
                        "linearizable": not e.scale_invariant,
                    }
                    for e in entries
                ]
            }
        )
        return 0
    for entry in entries:
        print(f"{_names(entry)}: dynamics.{entry.class_name}, {entry.summary}")
        print("\n".join(param_lines(entry.params)))
    print(
        "\nevery rule also takes lr (--lr LR, or --lr LR_G LR_D for two timescales); name a "
        "rule as NAME or NAME:key=value,..., e.g. momentum:beta=-0.5"
    )
    return 0
