"""``gamedyn report``: run the canonical studies and write the report folder
(:func:`analyses.report.generate_report`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import positive_int

__all__ = ["add_arguments", "add_parser", "default_jobs", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="run the canonical studies and write the report folder",
        description="Run the canonical studies (x·y game, Dirac-GAN regularisers, "
        "two-timescale map, unroll depth, function-space GAN, a small neural GAN) and write "
        "index.html, the figures (PNG and SVG; --quick: PNG only) and summary.json to --out.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``report`` subcommand's options to ``parser``."""
    from ._names import STUDIES

    parser.add_argument(
        "--out", default="gamedyn-report", help="output folder (default: ./gamedyn-report)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small grids and short training: under a minute on two CPU cores",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every random choice (default 0)"
    )
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N] (default auto)"
    )
    parser.add_argument(
        "--studies",
        nargs="+",
        metavar="STUDY",
        default=None,
        help=f"run only these studies, from: {', '.join(STUDIES)} (default: all)",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="studies run at once, each in its own process (default: the number of CPU "
        "cores, at most 4; 1 runs them one after the other in this process)",
    )


def default_jobs() -> int:
    """The report's default number of processes: the CPU cores, at most 4."""
    import os

    return max(1, min(4, os.cpu_count() or 1))


def run(args: argparse.Namespace) -> int:
    """Run the report described by the parsed ``args``; return the exit code."""
    from ..report import generate_report

    try:
        generate_report(
            args.out,
            quick=args.quick,
            seed=args.seed,
            device=args.device,
            studies=args.studies,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
            jobs=args.jobs if args.jobs is not None else default_jobs(),
        )
    except ValueError as error:
        print(f"gamedyn: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        where = f" {str(error.filename)!r}" if error.filename else ""
        print(
            f"gamedyn: error: --out: cannot write{where} ({error.strerror or error}); the files "
            "written so far are complete; fix this and run again",
            file=sys.stderr,
        )
        return 2
    # the last progress line ("report written to ...") announced the completion
    return 0
