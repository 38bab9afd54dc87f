"""Run every benchmark and print one table of ratio, target, met.

Each benchmark script in ``benchmarks/`` (every ``*.py`` not starting with ``_``, except
the long sweeps and the tuning script listed below) runs in its own process with
``--quick --json benchmarks/results/NAME.quick.json`` (``--full``: without ``--quick``,
into ``NAME.json``) and a time limit.  A script that is missing, fails or runs out of
time is reported as failed and the exit status is 1; the others' results still count.
Then the result files of this run are read and printed as one table: benchmark, ratio,
value, target, met.

``benchmarks/results/summary.md`` (included by ``docs/benchmarks.md``) is rewritten
from the result files present, for each benchmark its full run if there is one, else its
quick run, with the commit, date, load average and threads of each run.  With
``--table-only`` nothing runs: the table and ``summary.md`` come from the existing files.

    python benchmarks/run_all.py --quick          # every ratio, under 10 minutes on 2 cores
    python benchmarks/run_all.py --full           # the full runs (much longer)
    python benchmarks/run_all.py --table-only     # table and summary.md from the result files
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _results  # noqa: E402

RESULTS = _results.RESULTS
SUMMARY = RESULTS / "summary.md"

SWEEPS = {
    "mode_coverage": "mode coverage of trained GANs: about 20 CPU-hours",
    "stacked_digits": "stacked-digits mode coverage: hours of training",
}
"""Long sweeps: never run here (each documents its own run and results file)."""

NOT_BENCHMARKS = {
    "temperature_tuning": "a tuning script (chooses the temperature GAN's unrolling), not a timing",
    "run_all": "this script",
}

EXPECTED = (
    "cli",
    "device_check",
    "jacobian",
    "phase_portrait",
    "ring_spectra",
    "rules",
    "scale",
    "spectra",
    "training",
)
"""The benchmarks that must be there (a missing one is reported as failed)."""

TIMEOUT_S = {"quick": 300.0, "full": 7200.0}
"""Default time limit of one script, per mode."""


def discover(folder: Path = HERE) -> list[str]:
    """The benchmarks to run: the expected ones and every other script of ``folder``."""
    found = {p.stem for p in folder.glob("*.py") if not p.name.startswith("_")}
    return sorted((found | set(EXPECTED)) - set(SWEEPS) - set(NOT_BENCHMARKS))


def result_path(name: str, quick: bool, folder: Path = RESULTS) -> Path:
    return folder / f"{name}{'.quick' if quick else ''}.json"


@dataclasses.dataclass
class Outcome:
    """How one benchmark's run ended: ``status`` is ``ok``, ``failed``, ``timeout`` or
    ``missing``; ``path`` its result file."""

    name: str
    status: str
    path: Path
    seconds: float = 0.0
    detail: str = ""


def run_one(
    name: str, quick: bool, timeout: float, folder: Path = HERE, results: Path = RESULTS
) -> Outcome:
    """Run ``folder/name.py`` in a fresh process; its previous result file is removed first,
    so that a failed run cannot leave an old file that looks like this run's."""
    script = folder / f"{name}.py"
    path = result_path(name, quick, results)
    if not script.is_file():
        return Outcome(name, "missing", path, detail=f"no script {script.name}")
    path.unlink(missing_ok=True)
    command = [sys.executable, str(script), "--json", str(path)]
    if quick:
        command.insert(2, "--quick")
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=folder.parent, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome(name, "timeout", path, time.perf_counter() - started, f"over {timeout:g} s")
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return Outcome(name, "failed", path, seconds, f"exit status {done.returncode}")
    if not path.is_file():
        return Outcome(name, "failed", path, seconds, "no result file written")
    return Outcome(name, "ok", path, seconds)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3g}"


def rows_of(name: str, data: dict[str, Any]) -> list[list[str]]:
    """Table rows (benchmark, ratio, value, target, met, run) of one result file."""
    rows = []
    run = "quick" if data.get("quick") else "full"
    for ratio in data.get("ratios", []):
        target = ratio.get("target")
        if target is None:
            target_text, met = "-", "(no target)"
        else:
            target_text = f"{'>=' if ratio.get('at_least') else '<='} {target:g}"
            met = "met" if ratio.get("met") else "MISSED"
        rows.append([name, ratio["name"], _number(ratio["value"]), target_text, met, run])
    if not rows:
        skipped = data.get("raw", {}).get("skipped")
        label = f"(skipped: {skipped})" if skipped else "(no ratios)"
        rows.append([name, label, "-", "-", "-", run])
    return rows


def build_table(outcomes: Sequence[Outcome]) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """The table rows and the environment of each readable result, from ``outcomes``."""
    rows: list[list[str]] = []
    runs: list[dict[str, Any]] = []
    for outcome in outcomes:
        if outcome.status != "ok":
            rows.append(
                [outcome.name, f"({outcome.status}: {outcome.detail})", "-", "-", "FAILED", "-"]
            )
            continue
        try:
            data = _results.read(outcome.path)
        except (OSError, ValueError) as error:
            rows.append([outcome.name, f"(unreadable: {error})", "-", "-", "FAILED", "-"])
            continue
        rows.extend(rows_of(outcome.name, data))
        runs.append({"benchmark": outcome.name, "file": outcome.path, **data["environment"]})
    return rows, runs


HEADER = ["benchmark", "ratio", "value", "target", "met", "run"]


def text_table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[k])) for r in [HEADER, *rows]) for k in range(len(HEADER))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in [HEADER, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def markdown(rows: Sequence[Sequence[str]], runs: Sequence[dict[str, Any]]) -> str:
    """``summary.md``: the ratio table and, per result file, when and where it was run."""
    out = [
        "<!-- generated by benchmarks/run_all.py from benchmarks/results/*.json: do not edit -->",
        "",
    ]
    if not rows:
        out.append(
            "No result files yet: run `python benchmarks/run_all.py --quick` "
            "(or `--full`), then `python benchmarks/run_all.py --table-only`."
        )
        return "\n".join(out) + "\n"
    out += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    out += [
        "",
        "| benchmark | result file | commit | date (UTC) | load average (1, 5, 15 min) | threads | torch |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        commit = str(run.get("commit", "?"))
        commit = commit[:12] + ("+dirty" if commit.endswith("+dirty") else "")
        load = ", ".join(f"{x:.2f}" for x in run.get("load_average", []))
        out.append(
            f"| {run['benchmark']} | `benchmarks/results/{Path(run['file']).name}` | "
            f"`{commit}` | {run.get('date', '?')} | {load} | "
            f"{run.get('threads', '?')} | {run.get('torch', '?')} |"
        )
    out += [
        "",
        "Not run by `run_all.py` (long sweeps): "
        + ", ".join(f"`benchmarks/{name}.py`" for name in sorted(SWEEPS))
        + ".",
    ]
    return "\n".join(out) + "\n"


def existing(
    names: Sequence[str], results: Path = RESULTS, quick: bool | None = None
) -> list[Outcome]:
    """The result file of each benchmark that has one: its full run if there is one (or
    only quick runs, ``quick=True``; only full runs, ``quick=False``), else its quick run."""
    outcomes = []
    for name in names:
        choices = {None: (False, True), True: (True,), False: (False,)}[quick]
        for q in choices:
            path = result_path(name, q, results)
            if path.is_file():
                outcomes.append(Outcome(name, "ok", path))
                break
    return outcomes


def write_summary(
    names: Sequence[str], results: Path = RESULTS, summary: Path | None = None
) -> Path:
    """Rewrite ``summary.md`` from the result files present (full run preferred)."""
    rows, runs = build_table(existing(names, results))
    target = summary if summary is not None else results / "summary.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(markdown(rows, runs))
    tmp.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="quick runs (the default)")
    mode.add_argument("--full", action="store_true", help="full runs (hours)")
    parser.add_argument(
        "--table-only", action="store_true", help="run nothing: table and summary.md from the files"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", default=None, help="run only these benchmarks"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per script (default 300 quick, 7200 full)",
    )
    args = parser.parse_args(argv)
    names = discover()
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(
                f"--only: not a benchmark run here: {', '.join(unknown)} (choose from {', '.join(names)})"
            )
        names = [n for n in names if n in args.only]
    print("sweeps, not run: " + ", ".join(f"{k} ({v})" for k, v in sorted(SWEEPS.items())))
    print("not benchmarks, not run: " + ", ".join(sorted(set(NOT_BENCHMARKS) - {"run_all"})))
    if args.table_only:
        selected = None if not (args.quick or args.full) else bool(args.quick)
        outcomes = existing(names, quick=selected)
        rows, _ = build_table(outcomes)
        print(text_table(rows))
        print(f"summary: {write_summary(discover())}")
        return 0
    quick = not args.full
    timeout = args.timeout if args.timeout is not None else TIMEOUT_S["quick" if quick else "full"]
    started = time.perf_counter()
    outcomes = [run_one(name, quick, timeout) for name in names]
    rows, _ = build_table(outcomes)
    print(
        f"\nall benchmarks ({'quick' if quick else 'full'}): {time.perf_counter() - started:.0f} s"
    )
    for o in outcomes:
        print(f"  {o.name}: {o.status} ({o.seconds:.0f} s){' ' + o.detail if o.detail else ''}")
    print()
    print(text_table(rows))
    print(f"summary: {write_summary(discover())}")
    return 1 if any(o.status != "ok" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
