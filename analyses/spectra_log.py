"""Reading ``spectra.jsonl``, the log :class:`analyses.SpectraRecorder` writes."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SPECTRA_LOG = "spectra.jsonl"


def load_spectra_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``spectra.jsonl`` file (or of a run folder holding one), by step.

    Raises
    ------
    FileNotFoundError
        If there is no such file (or the folder holds no ``spectra.jsonl``).
    ValueError
        If a line is not a JSON spectra record (naming the line).
    """
    path = Path(path)
    if path.is_dir():
        path = path / SPECTRA_LOG
    if not path.is_file():
        raise FileNotFoundError(
            f"path: no spectra log {str(path)!r} (written by analyses.SpectraRecorder "
            "during training)"
        )
    records = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"path: {str(path)!r} line {number} is not JSON ({error})") from None
        if not isinstance(record, dict) or not {"step", "jacobian", "hessian"} <= set(record):
            raise ValueError(
                f"path: {str(path)!r} line {number} is not a spectra record "
                "(expected keys step, jacobian, hessian)"
            )
        problem = _record_problem(record)
        if problem is not None:
            raise ValueError(f"path: {str(path)!r} line {number}: {problem}")
        records.append(record)
    return sorted(records, key=lambda r: int(r["step"]))


def _step_of(line: str) -> float:
    """A spectra line's step; lines that are not records (cut short) sort past every step."""
    try:
        step = json.loads(line).get("step", 0)
        return float(step) if isinstance(step, int) else math.inf
    except (ValueError, AttributeError):
        return math.inf


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _record_problem(record: Mapping[str, Any]) -> str | None:
    """What is wrong with a spectra record's structure (naming the key), or None."""
    step = record["step"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        return f"'step' must be an int >= 0, got {step!r}"
    jacobian, hessian = record["jacobian"], record["hessian"]
    if not isinstance(jacobian, dict):
        return f"'jacobian' must be a mapping of eigenvalue lists, got {type(jacobian).__name__}"
    for key, pairs in jacobian.items():
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(_number(x) for x in p) for p in pairs
        ):
            return f"'jacobian.{key}' must be a list of [re, im] number pairs"
    if not isinstance(hessian, dict):
        return (
            f"'hessian' must be a mapping of players to eigenvalues, got {type(hessian).__name__}"
        )
    for key, values in hessian.items():
        if not isinstance(values, list) or not all(_number(v) for v in values):
            return f"'hessian.{key}' must be a list of numbers"
    return None


# -- display ------------------------------------------------------------------------------------
