"""Summary statistics shared by the analyses (one definition of each)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["mean_se"]


def mean_se(values: Sequence[float]) -> dict[str, float]:
    """The mean and its standard error, ``std(ddof=1) / sqrt(n)``, over seeded runs.

    Non-finite values: the mean is the plain IEEE mean (``inf`` if a value is ``inf``,
    ``-inf`` if one is ``-inf``, ``nan`` with a ``nan`` or with both infinities) and the
    standard error is ``nan`` (not defined).  One value has standard error 0.0; no
    values give ``nan`` for both.

    Parameters
    ----------
    values : sequence of float

    Returns
    -------
    dict
        ``{"mean": float, "se": float}``.

    Examples
    --------
    >>> mean_se([1.0, 2.0, 3.0])
    {'mean': 2.0, 'se': 0.5773502691896258}
    >>> mean_se([0.5, math.inf])
    {'mean': inf, 'se': nan}
    >>> mean_se([4.0])
    {'mean': 4.0, 'se': 0.0}
    """
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return {"mean": math.nan, "se": math.nan}
    with np.errstate(invalid="ignore"):  # inf - inf: the mean is nan, quietly
        mean = float(array.mean())
    if not np.all(np.isfinite(array)):
        return {"mean": mean, "se": math.nan}
    se = float(array.std(ddof=1) / math.sqrt(array.size)) if array.size > 1 else 0.0
    return {"mean": mean, "se": se}
