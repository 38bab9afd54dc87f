"""``gamedyn stability --grid`` with two axes: a summary instead of one line per grid point,
and the full grid in files (``--csv PATH``, ``--json PATH``).

A map of 100 x 30 step sizes is 3,000 points; the terminal gets what a reader looks for:
the fraction of the grid that is stable (rho < 1), along each row the largest stable
value of the step axis (``lr`` when it is an axis, else the first axis), and the point
where rho is smallest.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._registry import UsageError
from ._common import Axis, one_line, table

__all__ = ["SUMMARY_ROWS", "grid_summary", "summary_lines", "write_csv"]

SUMMARY_ROWS = 24
"""At most this many rows of the largest-stable-step table (evenly spaced; the files have all)."""


def grid_summary(axes: Sequence[Axis], radius: np.ndarray, stable: np.ndarray) -> dict[str, Any]:
    """The summary of a two-axis grid of spectral radii.

    Parameters
    ----------
    axes : two Axis
        The grid's axes; ``radius[i, j]`` is at ``axes[0].values[i]``, ``axes[1].values[j]``.
    radius : (n0, n1) array
        The spectral radius at each grid point.
    stable : (n0, n1) bool array
        Where the point is stable (rho < 1 beyond round-off).

    Returns
    -------
    dict
        ``points``, ``stable_points``, ``stable_fraction``; ``step_axis`` (``lr`` when it
        is an axis, else the first axis) and ``row_axis`` (the other); ``largest_stable``:
        one entry per value of the row axis, ``{row_axis: value, step_axis: the largest
        stable value or None, "spectral_radius": rho there or None}``.
    """
    names = [a.name for a in axes]
    step = names.index("lr") if "lr" in names else 0
    row = 1 - step
    # put the row axis first: rows[k, :] runs along the step axis
    rho = radius if row == 0 else radius.T
    ok = stable if row == 0 else stable.T
    steps = axes[step].values
    largest = []
    for k, value in enumerate(axes[row].values):
        where = np.flatnonzero(ok[k])
        if where.size:
            best = int(where[np.argmax(steps[where])])
            found: float | None = float(steps[best])
            rho_there: float | None = float(rho[k, best])
        else:
            found = rho_there = None
        largest.append(
            {axes[row].name: float(value), axes[step].name: found, "spectral_radius": rho_there}
        )
    count = int(np.count_nonzero(stable))
    return {
        "points": int(radius.size),
        "stable_points": count,
        "stable_fraction": count / radius.size,
        "step_axis": axes[step].name,
        "row_axis": axes[row].name,
        "largest_stable": largest,
    }


def summary_lines(summary: dict[str, Any], axes: Sequence[Axis], files: Sequence[str]) -> list[str]:
    """The terminal's lines for :func:`grid_summary`'s result."""
    a, b = axes
    step, row = summary["step_axis"], summary["row_axis"]
    lines = [
        f"grid        {a.values.size} x {b.values.size} = {summary['points']} points "
        f"({a.name} x {b.name})",
        f"stable      at {summary['stable_points']} of {summary['points']} grid points "
        f"({100 * summary['stable_fraction']:.1f}%)",
        f"largest stable {step} for each {row} (on the grid):",
    ]
    entries = summary["largest_stable"]
    shown: list[int] = list(range(len(entries)))
    if len(entries) > SUMMARY_ROWS:
        spaced = np.linspace(0, len(entries) - 1, SUMMARY_ROWS).round().astype(int)
        shown = sorted({int(k) for k in spaced})
    rows = [
        [
            f"{entries[k][row]:.6g}",
            "-" if entries[k][step] is None else f"{entries[k][step]:.6g}",
            "-"
            if entries[k]["spectral_radius"] is None
            else f"{entries[k]['spectral_radius']:.6f}",
        ]
        for k in shown
    ]
    lines += table([row, f"largest stable {step}", "rho there"], rows)
    if len(shown) < len(entries):
        lines.append(
            f"  ... {len(shown)} of {len(entries)} values of {row}, evenly spaced "
            "(--csv or --json PATH hold the full grid)"
        )
    if files:
        lines.append(f"full grid   {', '.join(files)}")
    else:
        lines.append("full grid   --csv PATH or --json PATH writes every grid point")
    return lines


def write_csv(path: str, axes: Sequence[Axis], radius: np.ndarray, stable: np.ndarray) -> None:
    """One row per grid point: the axes' values, rho and whether the point is stable.

    A one-axis grid has one value column, a two-axis grid two (the first axis varies slowest).
    """
    names = [a.name for a in axes]
    grids = np.meshgrid(*(a.values for a in axes), indexing="ij")
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([*names, "spectral_radius", "stable"])
            for index in np.ndindex(radius.shape):
                rho = float(radius[index])
                writer.writerow(
                    [
                        *(repr(float(g[index])) for g in grids),
                        repr(rho) if math.isfinite(rho) else str(rho),
                        "true" if stable[index] else "false",
                    ]
                )
    except OSError as error:
        raise UsageError(f"--csv: cannot write {path!r} ({one_line(error)})") from None
