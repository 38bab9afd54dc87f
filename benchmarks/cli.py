"""Start-up time of the command line: ``gamedyn --help`` against ``python -c "import numpy"``.

``gamedyn --help`` builds every subcommand's parser; it imports no torch and no matplotlib
(``tests/test_cli_light.py``), so it should cost about what importing numpy costs.  Each
command is a fresh interpreter (``subprocess.run``), timed alternately in the same run so
that both see the same machine load: the median of at least 20 runs each after warm-up.
Also timed, without targets: ``gamedyn rules`` (the light listing) and ``python -c
"import torch"`` (what every ``--help`` cost before the namespaces were lazy).

Target: ``gamedyn --help`` / ``import numpy`` <= 3.

Run: ``python benchmarks/cli.py [--quick] [--repeats 20] [--json PATH]``; raw results go
to ``benchmarks/results/cli.json`` (:mod:`_results`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _results import ROOT, Ratio, add_arguments, median_time, write

TARGET = 3.0
"""Upper bound of ``gamedyn --help`` / ``python -c "import numpy"``."""

COMMANDS: dict[str, list[str]] = {
    "import_numpy": [sys.executable, "-c", "import numpy"],
    "gamedyn_help": [sys.executable, "-m", "analyses.cli", "--help"],
    "gamedyn_rules": [sys.executable, "-m", "analyses.cli", "rules"],
    "import_torch": [sys.executable, "-c", "import torch"],
}


def _runner(command: list[str]) -> Any:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run() -> None:
        subprocess.run(
            command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, timeout=120
        )

    return run


def versus_numpy(
    timings: dict[str, dict[str, Any]], name: str, label: str, target: float | None = None
) -> Ratio:
    """The median time of command ``name`` over that of ``python -c "import numpy"``."""
    seconds, numpy_s = timings[name]["median_s"], timings["import_numpy"]["median_s"]
    detail = f"{seconds:.3f} s" + (f" / {numpy_s:.3f} s" if target is not None else "")
    return Ratio(f"{label} / python -c 'import numpy'", seconds / numpy_s, target, detail=detail)


def ratios_of(timings: dict[str, dict[str, Any]]) -> list[Ratio]:
    """``gamedyn --help`` against its target, then the untargeted commands that were timed."""
    ratios = [versus_numpy(timings, "gamedyn_help", "gamedyn --help", TARGET)]
    for name, label in (
        ("gamedyn_rules", "gamedyn rules"),
        ("import_torch", "python -c 'import torch'"),
    ):
        if name in timings:
            ratios.append(versus_numpy(timings, name, label))
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed runs of each command, in blocks of 20 (default 60; --quick 20)",
    )
    args = parser.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (20 if args.quick else 60)
    if repeats < 20:
        parser.error(
            f"--repeats: expected at least 20 (a median of few runs is noise), got {repeats}"
        )
    names = list(COMMANDS) if not args.quick else ["import_numpy", "gamedyn_help"]
    # blocks of 20 timed runs (median_time), the commands alternating block by block so
    # that a change of the machine's load hits them alike; 3 warm-up runs each first
    timings: dict[str, dict[str, Any]] = {name: {"times_s": []} for name in names}
    for name in names:
        for _ in range(3):  # file caches, the bytecode
            _runner(COMMANDS[name])()
    for _ in range(repeats // 20):
        for name in names:
            block = median_time(_runner(COMMANDS[name]), repeats=20, warmup=0)
            timings[name]["times_s"] += block["times_s"]
    for name in names:
        times = timings[name]["times_s"]
        timings[name].update(
            median_s=statistics.median(times),
            min_s=min(times),
            max_s=max(times),
            repeats=len(times),
            command=" ".join("python" if c == sys.executable else c for c in COMMANDS[name]),
        )
    ratios = ratios_of(timings)
    write("cli", args, ratios, timings, parameters={"repeats": repeats, "commands": names})
    return 0


if __name__ == "__main__":
    sys.exit(main())
