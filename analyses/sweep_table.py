"""The table of a sweep: :class:`SweepResult`, its rows and their summaries (mean ± se)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._stats import mean_se
from .sweep_file import _canonical

__all__ = ["META_COLUMNS", "SweepResult"]

#: Columns of :attr:`SweepResult.rows` that are not parameters (a parameter may not use them).
META_COLUMNS = (
    "seed",
    "derived_seed",
    "status",
    "seconds",
    "error_type",
    "error_message",
    "error_traceback",
)


# ---------------------------------------------------------------------------- the table


def _check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _row(record: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = dict(record["params"])
    row.update(
        seed=record["seed"],
        derived_seed=record.get("derived_seed"),
        status=record["status"],
        seconds=record.get("seconds"),
    )
    if record["status"] == "ok":
        for key, value in _flatten(record.get("result", {})).items():
            row[f"result.{key}" if key in row else key] = value
    else:
        error = record.get("error", {})
        row.update(
            error_type=error.get("type"),
            error_message=error.get("message"),
            error_traceback=error.get("traceback"),
        )
    return row


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real)


def _as_columns(value: str | Sequence[str] | None, name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name}: expected a column name or a list of column names, got {value!r}")
    return list(value)


@dataclass
class SweepResult:
    """The outcome of :func:`sweep`: one row per point, in grid order, seeds innermost.

    Attributes
    ----------
    rows : list of dict
        Each row holds the point's parameters, ``seed`` (the replicate number),
        ``derived_seed`` (what the function received), ``status`` (``"ok"`` or
        ``"error"``), ``seconds`` (the call's wall time), then the result's fields
        (nested mappings flattened to ``"outer.inner"``; a field whose name is taken is
        prefixed with ``"result."``), or for an error ``error_type``, ``error_message``
        and ``error_traceback``.
    parameters : tuple of str
        The parameter names, in grid order.
    function : str
        The name recorded for the function (``module.qualname`` unless given).
    path : pathlib.Path or None
        The results file.
    computed : int
        Points computed by this call; the other ``loaded`` were read from the file.
    loaded : int

    Examples
    --------
    >>> from analyses.sweep import sweep
    >>> def line(a, b, seed):
    ...     return {"y": a * b, "parts": {"a": a}}
    >>> result = sweep(line, {"a": [1, 2], "b": [10]}, seeds=2)
    >>> result.rows[0]["y"], result.rows[0]["parts.a"], len(result), result.errors
    (10, 1, 4, [])
    >>> result.summarize(metrics="y")[1]["y"]
    {'mean': 20.0, 'se': 0.0, 'n': 2}
    """

    rows: list[dict[str, Any]]
    parameters: tuple[str, ...]
    function: str
    path: Path | None = None
    computed: int = 0
    loaded: int = 0

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def columns(self) -> list[str]:
        """Every column that some row has, parameters first, in order of appearance."""
        seen: dict[str, None] = dict.fromkeys(self.parameters)
        for row in self.rows:
            seen.update(dict.fromkeys(row))
        return list(seen)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The rows whose function raised (status ``"error"``)."""
        return [row for row in self.rows if row["status"] == "error"]

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as new dicts with every column (``None`` where a row lacks one)."""
        columns = self.columns
        return [{c: row.get(c) for c in columns} for row in self.rows]

    def to_pandas(self) -> Any:
        """The rows as a :class:`pandas.DataFrame` (pandas is optional: installed by you)."""
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "to_pandas: needs pandas, which gamedyn does not depend on (pip install pandas); "
                "to_records() gives the same table as a list of dicts"
            ) from None
        return pandas.DataFrame.from_records(self.to_records(), columns=self.columns)

    def _metric_columns(self) -> list[str]:
        taken = set(self.parameters) | set(META_COLUMNS)
        ok = [row for row in self.rows if row["status"] == "ok"]
        return [
            c
            for c in self.columns
            if c not in taken and ok and all(_is_number(row.get(c)) for row in ok if c in row)
        ]

    def summarize(
        self,
        by: str | Sequence[str] | None = None,
        metrics: str | Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Mean and standard error of each metric over the rows that share ``by``.

        The standard error is ``std(ddof=1) / sqrt(n)`` over the rows with status
        ``"ok"`` of a group (0.0 for a single row, as :func:`analyses.summarize` does).
        Where a value is not finite the mean is the plain IEEE mean (``inf`` with an
        ``inf`` value, ``nan`` with a ``nan``) and the standard error ``nan``; with no
        value both are ``nan``. Numbers only (numpy), no pandas.

        Parameters
        ----------
        by : str or list of str, optional
            The grouping columns; by default every parameter (so a group is one grid
            point and its seeds).
        metrics : str or list of str, optional
            Numeric columns; by default every result field that is a number in every
            successful row.

        Returns
        -------
        list of dict
            One per group, in order of first appearance: the ``by`` values, ``n`` (rows
            with status ``"ok"``), ``errors`` (rows with status ``"error"``) and, per
            metric, ``{"mean", "se", "n"}``.
        """
        columns = self.columns
        by_ = _as_columns(by, "by")
        by_ = list(self.parameters) if by_ is None else by_
        metrics_ = _as_columns(metrics, "metrics")
        metrics_ = self._metric_columns() if metrics_ is None else metrics_
        for name, chosen in (("by", by_), ("metrics", metrics_)):
            unknown = [c for c in chosen if c not in columns]
            if unknown:
                raise ValueError(f"{name}: unknown columns {unknown}; the columns are {columns}")
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in self.rows:
            groups.setdefault(_canonical([row.get(c) for c in by_]), []).append(row)
        out = []
        for members in groups.values():
            ok = [row for row in members if row["status"] == "ok"]
            summary: dict[str, Any] = {c: members[0].get(c) for c in by_}
            summary.update(n=len(ok), errors=len(members) - len(ok))
            for metric in metrics_:
                values = [row[metric] for row in ok if metric in row]
                bad = [v for v in values if not _is_number(v)]
                if bad:
                    raise TypeError(
                        f"metrics: column {metric!r} holds a non-numeric value {bad[0]!r}"
                    )
                summary[metric] = {**mean_se([float(v) for v in values]), "n": len(values)}
            out.append(summary)
        return out

    def table(
        self,
        by: str | Sequence[str] | None = None,
        metrics: str | Sequence[str] | None = None,
        *,
        digits: int = 3,
    ) -> str:
        """:meth:`summarize` as a markdown table of ``mean ± se`` cells (``digits`` decimals)."""
        digits = _check_int(digits, "digits", minimum=0)
        summary = self.summarize(by, metrics)
        by_ = _as_columns(by, "by")
        by_ = list(self.parameters) if by_ is None else by_
        metrics_ = _as_columns(metrics, "metrics")
        metrics_ = self._metric_columns() if metrics_ is None else metrics_
        header = [*by_, "n", *metrics_]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for group in summary:
            cells = [str(group[c]).replace("|", "\\|") for c in by_] + [str(group["n"])]
            for metric in metrics_:
                stat = group[metric]
                cells.append(f"{stat['mean']:.{digits}f} ± {stat['se']:.{digits}f}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)
