"""What the tuned training sweeps share (``mode_coverage.py``, ``stacked_digits.py``).

One run of a sweep point trains a configuration with trainer seed ``replicate`` and
returns a row with its provenance (:func:`prepare`, :func:`provenance`); the finished
rows are read back from the ``analyses.sweep`` results file (:func:`finished`); a
family's winner is the candidate with the highest mean score on the tuning seeds
(:func:`best_of`); :func:`drive` runs the plan until it stops growing (a tuning round
that completes adds its winner's reported seeds); :func:`summary_row` holds the fields
every ``summary.json`` row has, in their order.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from analyses import ModeCoverage, collapse_statistics, summarize, sweep
from gan_models import jsonio

ROOT = Path(__file__).resolve().parents[1]

Done = dict[Any, dict[str, Any]]


def with_sections(mapping: dict[str, Any], **sections: Any) -> dict[str, Any]:
    """A copy of ``mapping`` with ``section={key: value}`` entries changed (a section
    given as anything but a dict replaces the whole section)."""
    out = json.loads(json.dumps(mapping))
    for section, changes in sections.items():
        if isinstance(changes, dict):
            out[section].update(changes)
        else:
            out[section] = changes
    return out


def slug(name: str) -> str:
    """``name`` as a folder name: letters, digits and ``+-.=`` kept, the rest ``_``."""
    return "".join(c if c.isalnum() or c in "+-.=" else "_" for c in name)


def commit() -> str:
    """The git commit of the checkout, ``-dirty`` with uncommitted changes to tracked
    files, ``unknown`` outside a checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def prepare(mapping: dict[str, Any], replicate: int, steps: int, threads: int) -> dict[str, Any]:
    """A copy of a row's configuration mapping for one run: trainer seed ``replicate``,
    ``steps`` on the CPU, at least ten evaluations and four checkpoints; ``threads``
    torch threads."""
    torch.set_num_threads(threads)
    mapping = with_sections(mapping)  # a deep copy
    mapping.update(seed=replicate, steps=steps, device="cpu")
    mapping["eval_every"] = min(mapping["eval_every"], max(1, steps // 10))
    mapping["checkpoint_every"] = min(mapping["checkpoint_every"], max(1, steps // 4))
    return mapping


def provenance(result: Any, trainer: Any, started: float) -> dict[str, Any]:
    """The fields of a run's row after its key: steps and time, commit, versions,
    threads, device and the full resolved configuration."""
    return {
        "steps": result.step,
        "seconds": time.perf_counter() - started,
        "steps_per_second": result.steps_per_second,
        "commit": commit(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "device": str(trainer.device),
        "resolved_config": trainer.config.to_dict(),
    }


def finished(results_file: Path, key: Callable[[dict[str, Any]], Hashable]) -> Done:
    """The rows of the runs that finished (status ok) in a results file, by ``key(row)``;
    a torn last line is skipped (the sweep repairs it)."""
    if not results_file.is_file():
        return {}
    done = {}
    for line in results_file.read_text().splitlines()[1:]:
        if not line.strip():
            continue
        try:
            record = jsonio.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line (the sweep repairs it)
        if record.get("status") == "ok":
            row = record["result"]
            done[key(row)] = row
    return done


def best_of(
    names: Iterable[str],
    rows_of: Callable[[str], Sequence[dict[str, Any] | None]],
    score: Callable[[dict[str, Any]], float],
) -> str | None:
    """The name with the highest mean score over its tuning rows ``rows_of(name)``, once
    every name has all of them (None before); the first of equal scores wins."""
    scores = {}
    for name in names:
        rows = rows_of(name)
        if any(r is None for r in rows):
            return None
        scores[name] = float(np.mean([score(r) for r in rows if r is not None]))
    return max(scores, key=lambda k: scores[k])


def drive(
    run: Callable[..., dict[str, Any]],
    make_plan: Callable[[Done], list[dict[str, Any]]],
    done: Callable[[], Done],
    results_file: Path,
    *,
    name: str,
    progress: Callable[[int, int, dict[str, Any]], None],
    workers: int,
    quick_steps: int | None,
) -> None:
    """Sweep the plan's points, again while a finished tuning round adds points (its
    winner's); ``quick_steps``: only the first three points, that many steps, once."""
    executor = None
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(workers)
    try:
        while True:  # again when a tuning round completes and its winner becomes known
            points = make_plan(done())
            if quick_steps is not None:
                points = [p | {"steps": quick_steps} for p in points[:3]]
            before = len(done())
            sweep(run, points, results=results_file, executor=executor, name=name,
                  progress=progress)  # fmt: skip
            if quick_steps is not None or len(done()) == before:
                break
            if make_plan(done()) == points:
                break
    finally:
        if executor is not None:
            executor.shutdown()


def summary_row(
    dataset: str,
    label: str,
    config: str,
    runs: list[dict[str, Any]],
    tuning_seeds: Sequence[int],
    *,
    data_hq_percent: float | None,
    reverse_kl: Callable[[dict[str, Any], list[dict[str, Any]]], float | None],
) -> dict[str, Any]:
    """One ``summary.json`` row: a reported configuration's means over its ``runs``
    (``reverse_kl(summary, runs)``, ``summary`` from ``analyses.summarize`` of the final
    coverages)."""
    finals = [ModeCoverage.from_dict(r["final"]) for r in runs]
    stats = [
        collapse_statistics(
            [e["step"] for e in r["evaluations"]],
            [ModeCoverage.from_dict(e) for e in r["evaluations"]],
        )
        for r in runs
    ]
    summary = summarize(finals)
    resolved = runs[0]["resolved_config"]
    hq = [s["concentrated_hq_median"] for s in stats if s["concentrated_hq_median"] is not None]
    return {
        "dataset": dataset,
        "config": label,
        "candidate": config if "/" in config else None,
        "generators": resolved["generator"]["components"],
        "unroll": resolved["unroll"]["steps"],
        "steps": runs[0]["steps"],
        "seeds": [r["seed"] for r in runs],
        "tuning_seeds": list(tuning_seeds) if "/" in config else [],
        "modes": summary["modes_covered"]["mean"],
        "modes_se": summary["modes_covered"]["se"],
        "modes_robust": summary["modes_robust"]["mean"],
        "hq_percent": summary["high_quality_percent"]["mean"],
        "hq_percent_se": summary["high_quality_percent"]["se"],
        "data_hq_percent": data_hq_percent,
        "reverse_kl": reverse_kl(summary, runs),
        "distinct_dominant_modes": float(np.mean([s["distinct_dominant_modes"] for s in stats])),
        "dominant_share_median": float(np.median([s["dominant_share_median"] for s in stats])),
        "concentrated_hq_median": float(np.median(hq)) if hq else None,
        "concentrated_evaluations": [[s["n_concentrated"], s["n_evaluations"]] for s in stats],
        "commit": sorted({r["commit"] for r in runs}),
        "torch": sorted({r["torch"] for r in runs}),
        "threads": sorted({r["threads"] for r in runs}),
        "minutes_per_run": float(np.mean([r["seconds"] for r in runs]) / 60),
    }


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def fmt(value: float | None, se: float | None = None, digits: int = 2) -> str:
    """``value`` (± ``se``) with ``digits`` decimals; ``–`` for None."""
    if value is None:
        return "–"
    text = f"{value:.{digits}f}"
    return text if se is None else f"{text} ± {se:.{digits}f}"
