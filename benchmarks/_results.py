"""One format for every benchmark's raw results, so that anyone can rerun and re-check them.

Every benchmark script:

- takes ``--quick`` (a smaller, faster run that still measures every ratio) and
  ``--json PATH`` (where to write its raw results; default
  ``benchmarks/results/NAME.json``, or ``NAME.quick.json`` with ``--quick``),
- times with :func:`median_time` (median of at least 20 calls after warm-up),
- builds its figures as :class:`Ratio` rows (each with its target, if it has one) and
  :func:`write` s them with the environment (git commit, torch version, threads, load
  average, date, machine) next to every raw timing it took.

``benchmarks/run_all.py`` runs every script and prints one table of ratio, target, met;
``docs/benchmarks.md`` quotes only figures that a committed result file holds.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FORMAT = "gamedyn-benchmark"
VERSION = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the common ``--quick``, ``--json`` and ``--threads`` options."""
    parser.add_argument(
        "--quick", action="store_true", help="a smaller, faster run that measures every ratio"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="write raw results here (default benchmarks/results/NAME[.quick].json)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")


def median_time(
    fn: Callable[[], Any],
    *,
    repeats: int = 20,
    warmup: int = 3,
    sync: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Time ``fn()``: ``warmup`` untimed calls, then the median of ``repeats`` (>= 20) timed ones.

    Returns ``{"median_s", "min_s", "max_s", "repeats", "times_s"}``. ``sync`` (e.g.
    ``torch.cuda.synchronize``) is called after each call, inside the timing.
    """
    record = interleaved_median_times({"fn": fn}, repeats=repeats, warmup=warmup, sync=sync)
    return {k: v for k, v in record["fn"].items() if k not in ("interleaved", "block")}


def interleaved_median_times(
    fns: dict[str, Callable[[], Any]],
    *,
    repeats: int = 20,
    warmup: int = 3,
    block: int = 1,
    sync: Callable[[], Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """:func:`median_time` of several functions, timed round-robin: each round times a
    block of ``block`` consecutive calls of each function (the time per call is the
    block's mean), so a drift of the machine's speed during the run (another process,
    clock or memory state) falls on all of them alike instead of on whichever ran in
    that stretch, while each block still runs with its own data warm in cache, as in
    real use.  Returns one :func:`median_time` record per name (``times_s``: one per
    block)."""
    if repeats < 20:
        raise ValueError(
            f"repeats must be at least 20 (a median of few timings is noise), got {repeats}"
        )
    for _ in range(warmup):
        for fn in fns.values():
            fn()
            if sync is not None:
                sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(block):
                fn()
            if sync is not None:
                sync()
            times[name].append((time.perf_counter() - start) / block)
    return {
        name: {
            "median_s": statistics.median(t),
            "min_s": min(t),
            "max_s": max(t),
            "repeats": repeats,
            "times_s": t,
            "interleaved": True,
            "block": block,
        }
        for name, t in times.items()
    }


@dataclasses.dataclass
class Ratio:
    """One measured ratio (dimensionless), its target and whether the target is met.

    ``target`` is an upper bound unless ``at_least`` is true; ``None`` means no target
    (the row is reported, not judged).
    """

    name: str
    value: float
    target: float | None = None
    at_least: bool = False
    detail: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if not math.isfinite(self.value):
            return False
        return self.value >= self.target if self.at_least else self.value <= self.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "target": self.target,
            "at_least": self.at_least,
            "met": self.met,
            "detail": self.detail,
        }

    def line(self) -> str:
        if self.target is None:
            judged = "(no target)"
        else:
            judged = f"target {'>=' if self.at_least else '<='} {self.target:g}: " + (
                "met" if self.met else "MISSED"
            )
        extra = f"  [{self.detail}]" if self.detail else ""
        return f"{self.name}: {self.value:.3g}  {judged}{extra}"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
        commit = out.stdout.strip() or "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment() -> dict[str, Any]:
    """The facts a reader needs to judge a timing: commit, versions, threads, load, date."""
    import numpy
    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "commit": _git_commit(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average": list(load),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cuda": torch.cuda.is_available(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def default_path(name: str, quick: bool) -> Path:
    return RESULTS / f"{name}{'.quick' if quick else ''}.json"


def write(
    name: str,
    args: argparse.Namespace,
    ratios: Sequence[Ratio],
    raw: dict[str, Any],
    *,
    parameters: dict[str, Any] | None = None,
) -> Path:
    """Write ``{"format", "version", "benchmark", "quick", "environment", "parameters",
    "ratios", "raw"}`` atomically and print every ratio with its target. Returns the path."""
    path = args.json if args.json is not None else default_path(name, args.quick)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "benchmark": name,
        "quick": bool(args.quick),
        "environment": environment(),
        "parameters": parameters or {},
        "ratios": [r.as_dict() for r in ratios],
        "raw": raw,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=float) + "\n")
    os.replace(tmp, path)
    print(f"\n{name}: ratios")
    for r in ratios:
        print("  " + r.line())
    print(f"raw results: {path}")
    return path


def read(path: Path) -> dict[str, Any]:
    """Read a result file written by :func:`write` (checks its format)."""
    data = json.loads(Path(path).read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a gamedyn benchmark result (format {data.get('format')!r})")
    return data
