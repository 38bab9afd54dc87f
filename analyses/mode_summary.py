"""Mode coverage across runs and over training: mean ± standard error tables, collapse statistics.

:func:`summarize` and :func:`format_table` report seeded runs as the VEEGAN and PacGAN
papers do (mean ± standard error); :func:`collapse_statistics` reads one run's
evaluations over training (dominant share, concentrated evaluations, distinct dominant
modes).  Definitions: :mod:`analyses.modes`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._stats import mean_se
from .modes import (
    ModeCoverage,
    _as_float_array,
    _check_coverages,
    mode_coverage,  # noqa: F401  (the doctests use it)
)

__all__ = ["collapse_statistics", "format_table", "summarize"]


def summarize(results: Sequence[ModeCoverage]) -> dict[str, Any]:
    r"""Mean and standard error over seeded runs, as papers report them.

    The standard error is ``std(ddof=1) / sqrt(n)`` (0.0 for a single run). A run without
    high-quality samples has infinite reverse KL; then the reverse KL's mean is ``inf``
    and its standard error ``nan`` (as in every mean ± standard error of gamedyn, e.g.
    :meth:`analyses.SweepResult.summarize`).

    Parameters
    ----------
    results : sequence of ModeCoverage
        One per seeded run, all with the same number of modes.

    Returns
    -------
    dict
        ``{"n_runs": int, "n_modes": int, "modes_covered": {"mean", "se"},
        "modes_robust": {"mean", "se"}, "high_quality_percent": {"mean", "se"},
        "reverse_kl": {"mean", "se"}}`` with plain floats.

    Examples
    --------
    >>> modes = [[0.0, 0.0], [1.0, 0.0]]
    >>> runs = [mode_coverage(s, modes, 0.01) for s in ([[0.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]])]
    >>> summary = summarize(runs)
    >>> summary["modes_covered"]
    {'mean': 1.5, 'se': 0.5}
    """
    runs = _check_coverages(results, "results")
    if not runs:
        raise ValueError("results: expected at least one ModeCoverage")
    n_modes = {r.n_modes for r in runs}
    if len(n_modes) != 1:
        raise ValueError(f"results: expected runs with one number of modes, got {sorted(n_modes)}")
    return {
        "n_runs": len(runs),
        "n_modes": runs[0].n_modes,
        "modes_covered": mean_se([float(r.modes_covered) for r in runs]),
        "modes_robust": mean_se([float(r.modes_robust) for r in runs]),
        "high_quality_percent": mean_se([r.high_quality_percent for r in runs]),
        "reverse_kl": mean_se([r.reverse_kl for r in runs]),
    }


def _cell(stat: Mapping[str, float], digits: int) -> str:
    if not math.isfinite(stat["mean"]):
        return "inf"
    return f"{stat['mean']:.{digits}f} ± {stat['se']:.{digits}f}"


def format_table(rows: Mapping[str, Sequence[ModeCoverage]]) -> str:
    """A markdown table of mean ± standard error per configuration.

    Modes (covered by one high-quality sample; robust: holding >= 1 % of the samples as
    high-quality samples) with 2 decimals, high-quality % with 1, reverse KL (nats) with
    3; an infinite reverse KL prints ``inf``.

    Parameters
    ----------
    rows : mapping of str to sequence of ModeCoverage
        Configuration name to its seeded runs, in table order.

    Returns
    -------
    str

    Examples
    --------
    >>> modes = [[0.0, 0.0], [1.0, 0.0]]
    >>> runs = [mode_coverage([[0.0, 0.0], [1.0, 0.0]], modes, 0.01)] * 2
    >>> print(format_table({"GAN": runs}))
    | configuration | modes | modes (>= 1 %) | high-quality % | reverse KL |
    |---|---|---|---|---|
    | GAN | 2.00 ± 0.00 | 2.00 ± 0.00 | 100.0 ± 0.0 | 0.000 ± 0.000 |
    """
    if not isinstance(rows, Mapping):
        raise TypeError(
            f"rows: expected a mapping of configuration name to ModeCoverage runs, got {type(rows).__name__}"
        )
    lines = [
        "| configuration | modes | modes (>= 1 %) | high-quality % | reverse KL |",
        "|---|---|---|---|---|",
    ]
    for name, runs in rows.items():
        try:
            summary = summarize(runs)
        except (TypeError, ValueError) as error:
            raise type(error)(f"rows[{name!r}]: {error}") from error
        label = str(name).replace("|", "\\|")
        lines.append(
            f"| {label} | {_cell(summary['modes_covered'], 2)} | "
            f"{_cell(summary['modes_robust'], 2)} | "
            f"{_cell(summary['high_quality_percent'], 1)} | {_cell(summary['reverse_kl'], 3)} |"
        )
    return "\n".join(lines)


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def collapse_statistics(
    steps: Sequence[float] | np.ndarray,
    coverages: Sequence[ModeCoverage],
    *,
    burn_in: float = 0.1,
) -> dict[str, Any]:
    """How collapsed a run is and how often it hops, from its evaluations over training.

    Only evaluations after the first ``burn_in`` fraction of the last step count
    (``step > burn_in * max(steps)``: the untrained network is left out).  Of those:

    - ``dominant_share_median``: the median dominant share (all samples);
    - ``n_concentrated``: how many are concentrated (dominant share >= the concentration
      used when measuring, 1/2 by default);
    - ``distinct_dominant_modes``: the number of different dominant modes among the
      concentrated ones;
    - ``concentrated_hq_median``: the median high-quality % of the concentrated ones
      (None when there are none);
    - ``dominant_modes``: the dominant mode of each counted evaluation, None where not
      concentrated (the input of :func:`analyses.mode_hopping_graph`).

    Parameters
    ----------
    steps : sequence of float
        The training step of each evaluation.
    coverages : sequence of ModeCoverage
        One per step.
    burn_in : float, default 0.1
        In [0, 1).

    Returns
    -------
    dict
        The keys above and ``n_evaluations`` (those counted).

    Examples
    --------
    >>> modes = [[1.0, 0.0], [-1.0, 0.0]]
    >>> on = lambda k: mode_coverage([modes[k]] * 3 + [modes[1 - k]], modes, 0.01)
    >>> stats = collapse_statistics([0, 100, 200, 300], [on(0), on(0), on(1), on(0)])
    >>> stats["distinct_dominant_modes"], stats["dominant_share_median"], stats["n_concentrated"]
    (2, 0.75, 3)
    >>> stats["dominant_modes"]
    [0, 1, 0]
    """
    t = _as_float_array(steps, "steps")
    runs = _check_coverages(coverages, "coverages")
    if t.shape != (len(runs),) or not runs:
        raise ValueError(
            f"steps: expected a 1-D array with one step per coverage ({len(runs)} >= 1), "
            f"got shape {t.shape}"
        )
    if isinstance(burn_in, bool) or not isinstance(burn_in, numbers.Real) or not 0 <= burn_in < 1:
        raise ValueError(f"burn_in: expected a fraction in [0, 1), got {burn_in!r}")
    cutoff = float(burn_in) * float(t.max())
    kept = [r for step, r in zip(t, runs) if step > cutoff or (burn_in == 0 and step >= cutoff)]
    concentrated = [r for r in kept if r.concentrated]
    return {
        "n_evaluations": len(kept),
        "n_concentrated": len(concentrated),
        "distinct_dominant_modes": len({r.dominant_mode for r in concentrated}),
        "dominant_share_median": _median([r.dominant_share for r in kept]),
        "concentrated_hq_median": _median([r.high_quality_percent for r in concentrated]),
        "dominant_modes": [r.dominant_mode for r in kept],
    }
