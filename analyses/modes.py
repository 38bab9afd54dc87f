r"""Mode coverage of a generator on a mixture of Gaussians, and how concentrated it is.

The benchmark metric of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018):
for modes :math:`\mu_1, \dots, \mu_K` with standard deviations :math:`\sigma_k`, a sample
:math:`x` has nearest mode :math:`k(x) = \arg\min_k \lVert x - \mu_k \rVert_2` and is
*high quality* iff :math:`\lVert x - \mu_{k(x)} \rVert_2 \le t\,\sigma_{k(x)}` (threshold
:math:`t = 3`; the boundary counts). A mode is *covered* iff it is the nearest mode of at
least one high-quality sample. With :math:`c_k` the number of high-quality samples whose
nearest mode is :math:`k` and :math:`q_k = c_k / \sum_j c_j`, the reverse KL to the
uniform histogram is

.. math::

    \mathrm{KL}(q \,\Vert\, u) = \sum_k q_k \log(K q_k) = \log K - H(q)
    \quad (0 \log 0 = 0;\ +\infty \text{ without a high-quality sample}),

in nats. Papers report the mean ± standard error over seeded runs
(:func:`analyses.summarize`, :func:`analyses.format_table`).

One high-quality sample covers a mode, so "modes covered" counts stray samples too.
Two further counts say where the mass is:

- *robust modes*: modes holding at least a fraction ``robust_fraction`` (1 %) of all
  samples as high-quality samples, :math:`c_k \ge 0.01\,n`;
- the *dominant share*: the largest fraction of all samples (high quality or not) that
  are nearest one mode, :math:`\max_k |\{x : k(x) = k\}| / n`. An evaluation is
  *concentrated* when its dominant share is at least ``concentration`` (1/2); its
  *dominant mode* is then that mode (None otherwise). Mode hopping
  (:mod:`analyses.hopping`) follows the dominant modes of concentrated evaluations.

The data themselves are not 100 % high quality: a sample of an isotropic Gaussian in
:math:`d` dimensions lies within :math:`t\sigma` of its mean with probability
:math:`P(\chi^2_d \le t^2)` (:func:`gaussian_high_quality_rate`; 98.9 % for
:math:`d = 2`, :math:`t = 3`), the ceiling a perfect generator reaches.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import special

__all__ = [
    "ModeCoverage",
    "coverage_evaluator",
    "gaussian_high_quality_rate",
    "mode_coverage",
]

# Rows of samples per block of the (n, K, d) difference tensor, to bound memory.
_CHUNK = 65536


def _as_float_array(value: Any, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)
    ):
        raise TypeError(f"{name}: expected real numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name}: expected real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise ValueError(f"{name}: expected finite values, got {bad} NaN or infinite entries")
    return array


def _positive_number(value: Any, name: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a positive finite number, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name}: expected a positive finite number, got {number!r}")
    return number


def _validate(
    samples: Any, modes: Any, std: Any, threshold: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    m = _as_float_array(modes, "modes")
    if m.ndim != 2 or m.shape[0] < 1 or m.shape[1] < 1:
        raise ValueError(f"modes: expected a 2-D array (K, d) with K >= 1, got shape {m.shape}")
    k, d = m.shape
    x = _as_float_array(samples, "samples")
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(
            f"samples: expected a 2-D array (n, d) matching modes' d={d}, got shape {x.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"samples: expected at least one sample, got shape {x.shape}")
    s = _as_float_array(std, "std")
    if s.ndim == 0:
        s = np.full(k, float(s))
    elif s.shape != (k,):
        raise ValueError(
            f"std: expected a positive float or an array of K={k} positive values, got shape {s.shape}"
        )
    if not np.all(s > 0):
        raise ValueError(f"std: expected positive values, got minimum {float(s.min())!r}")
    return x, m, s, _positive_number(threshold, "threshold")


def _assign(
    samples: np.ndarray, modes: np.ndarray, std: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest mode per sample (ties: the lowest index) and the high-quality mask."""
    nearest = np.empty(samples.shape[0], dtype=np.int64)
    distance = np.empty(samples.shape[0])
    for start in range(0, samples.shape[0], _CHUNK):
        block = samples[start : start + _CHUNK]
        # Direct differences, not |x|^2 - 2 x.m + |m|^2: exact distances keep the boundary exact.
        dist = np.sqrt(((block[:, None, :] - modes[None, :, :]) ** 2).sum(axis=-1))
        index = dist.argmin(axis=1)
        nearest[start : start + _CHUNK] = index
        distance[start : start + _CHUNK] = dist[np.arange(block.shape[0]), index]
    return nearest, distance <= threshold * std[nearest]


def _reverse_kl(counts: np.ndarray) -> float:
    total = int(counts.sum())
    if total == 0:
        return math.inf
    k = counts.size
    present = counts[counts > 0]
    # K c_k / total is formed from integers, so a uniform histogram gives log(1.0) = 0 exactly.
    value = float(np.sum(present / total * np.log(present * k / total)))
    return max(value, 0.0)


@dataclass(frozen=True, eq=False)
class ModeCoverage:
    """The mode-coverage metrics of one set of samples.

    Attributes
    ----------
    modes_covered : int
        Modes that are the nearest mode of at least one high-quality sample.
    n_modes : int
        K, the number of modes.
    n_samples : int
        n, the number of samples.
    high_quality : float
        Fraction in [0, 1] of samples within ``threshold * std`` of their nearest mode.
    counts : numpy.ndarray
        ``(K,)`` int, high-quality samples per mode.
    nearest : numpy.ndarray
        ``(n,)`` int, the nearest mode of every sample (high quality or not); empty when
        rebuilt with :meth:`from_dict`.
    reverse_kl : float
        KL(q || uniform) in nats of the high-quality histogram ``q = counts / counts.sum()``;
        ``inf`` when no sample is high quality.
    dominant_mode : int or None
        The mode nearest to the most samples (all samples; lowest index on ties) when the
        evaluation is concentrated, else None.
    nearest_counts : numpy.ndarray
        ``(K,)`` int, all samples per nearest mode (sums to ``n_samples``).
    dominant_share : float
        ``nearest_counts.max() / n_samples``.
    concentrated : bool
        ``dominant_share >= concentration`` (default 1/2).
    modes_robust : int
        Modes whose high-quality count is at least ``robust_fraction * n_samples``.
    """

    modes_covered: int
    n_modes: int
    n_samples: int
    high_quality: float
    counts: np.ndarray
    nearest: np.ndarray
    reverse_kl: float
    dominant_mode: int | None
    nearest_counts: np.ndarray
    dominant_share: float
    concentrated: bool
    modes_robust: int

    @property
    def high_quality_percent(self) -> float:
        """``100 * high_quality``."""
        return 100.0 * self.high_quality

    def as_dict(self) -> dict[str, Any]:
        """Plain Python ints, floats and lists for JSON logging (``nearest`` left out).

        ``reverse_kl`` stays ``float('inf')`` when no sample is high quality.
        """
        return {
            "modes_covered": int(self.modes_covered),
            "modes_robust": int(self.modes_robust),
            "n_modes": int(self.n_modes),
            "n_samples": int(self.n_samples),
            "high_quality": float(self.high_quality),
            "high_quality_percent": float(self.high_quality_percent),
            "reverse_kl": float(self.reverse_kl),
            "dominant_mode": None if self.dominant_mode is None else int(self.dominant_mode),
            "dominant_share": float(self.dominant_share),
            "concentrated": bool(self.concentrated),
            "counts": [int(c) for c in self.counts],
            "nearest_counts": [int(c) for c in self.nearest_counts],
        }

    @classmethod
    def from_dict(
        cls,
        record: Mapping[str, Any],
        *,
        concentration: float = 0.5,
        robust_fraction: float = 0.01,
    ) -> ModeCoverage:
        """Rebuild from :meth:`as_dict` (e.g. a logged evaluation); ``nearest`` is empty.

        Every derived number (modes covered, robust modes, reverse KL, dominant share and
        mode) is recomputed from ``counts``, ``nearest_counts`` and ``high_quality``, so a
        record can be re-read under another ``concentration`` or ``robust_fraction``.

        Examples
        --------
        >>> cov = mode_coverage([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]], [[0, 0], [1, 0]], 0.01)
        >>> again = ModeCoverage.from_dict(cov.as_dict())
        >>> again.as_dict() == cov.as_dict()
        True
        """
        if not isinstance(record, Mapping):
            raise TypeError(
                f"record: expected a mapping from as_dict(), got {type(record).__name__}"
            )
        missing = [k for k in ("counts", "nearest_counts", "high_quality") if k not in record]
        if missing:
            raise ValueError(
                f"record: missing {', '.join(missing)} (written by ModeCoverage.as_dict())"
            )
        counts = np.asarray(record["counts"], dtype=np.int64)
        nearest_counts = np.asarray(record["nearest_counts"], dtype=np.int64)
        if counts.ndim != 1 or counts.shape != nearest_counts.shape or counts.size == 0:
            raise ValueError(
                f"record: expected counts and nearest_counts of one length K >= 1, got "
                f"{counts.shape} and {nearest_counts.shape}"
            )
        return _from_counts(
            counts,
            nearest_counts,
            float(record["high_quality"]),
            np.zeros(0, dtype=np.int64),
            concentration=_fraction(concentration, "concentration"),
            robust_fraction=_fraction(robust_fraction, "robust_fraction"),
        )


def _fraction(value: Any, name: str) -> float:
    number = _positive_number(value, name)
    if number > 1:
        raise ValueError(f"{name}: expected a fraction in (0, 1], got {number!r}")
    return number


def _from_counts(
    counts: np.ndarray,
    nearest_counts: np.ndarray,
    high_quality: float,
    nearest: np.ndarray,
    *,
    concentration: float,
    robust_fraction: float,
) -> ModeCoverage:
    n = int(nearest_counts.sum())
    if n < 1:
        raise ValueError("nearest_counts: expected at least one sample")
    top = int(nearest_counts.argmax())
    share = float(nearest_counts[top]) / n
    concentrated = share >= concentration
    for array in (counts, nearest_counts, nearest):
        array.setflags(write=False)
    return ModeCoverage(
        modes_covered=int(np.count_nonzero(counts)),
        n_modes=int(counts.size),
        n_samples=n,
        high_quality=high_quality,
        counts=counts,
        nearest=nearest,
        reverse_kl=_reverse_kl(counts),
        dominant_mode=top if concentrated else None,
        nearest_counts=nearest_counts,
        dominant_share=share,
        concentrated=bool(concentrated),
        # c_k >= f n in integers: at least ceil(f n) samples (f n = 25.000000000000004 is 25)
        modes_robust=int(np.count_nonzero(counts >= math.ceil(round(robust_fraction * n, 9)))),
    )


def mode_coverage(
    samples: np.ndarray | torch.Tensor | Sequence[Sequence[float]],
    modes: np.ndarray | torch.Tensor | Sequence[Sequence[float]],
    std: float | np.ndarray | torch.Tensor | Sequence[float],
    *,
    threshold: float = 3.0,
    concentration: float = 0.5,
    robust_fraction: float = 0.01,
) -> ModeCoverage:
    r"""Modes covered, high-quality fraction and reverse KL of samples from a Gaussian mixture.

    A sample is high quality iff its Euclidean distance to its nearest mode is at most
    ``threshold * std`` of that mode; a distance of exactly ``threshold * std`` counts (the
    comparison is ``<=`` in float64, with no tolerance). The nearest mode is Euclidean even
    when ``std`` differs per mode. Ties between equally near modes go to the lowest index.

    Parameters
    ----------
    samples : array_like or torch.Tensor, shape (n, d)
        Generated samples, n >= 1.
    modes : array_like or torch.Tensor, shape (K, d)
        The mixture's means.
    std : float or array_like, shape (K,)
        The mixture's standard deviation, one for all modes or one per mode; positive.
    threshold : float, default 3.0
        High quality means within ``threshold`` standard deviations.
    concentration : float, default 0.5
        An evaluation is concentrated when at least this fraction of all samples is
        nearest one mode (then that mode is ``dominant_mode``).
    robust_fraction : float, default 0.01
        A mode counts in ``modes_robust`` when it holds at least this fraction of all
        samples as high-quality samples.

    Returns
    -------
    ModeCoverage

    Raises
    ------
    ValueError, TypeError
        On shapes that do not match, non-finite values, or a non-positive ``std`` or
        ``threshold``; the message names the argument.

    Examples
    --------
    >>> modes = [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]
    >>> samples = [[1.0, 0.0], [1.02, 0.0], [0.0, 1.0], [0.0, 0.0]]
    >>> cov = mode_coverage(samples, modes, 0.01)
    >>> cov.modes_covered, cov.high_quality, cov.counts.tolist()
    (2, 0.75, [2, 1, 0, 0])
    >>> cov.nearest_counts.tolist(), cov.dominant_share, cov.concentrated, cov.dominant_mode
    ([3, 1, 0, 0], 0.75, True, 0)
    >>> round(cov.reverse_kl, 5)  # log 4 - H(2/3, 1/3)
    0.74978
    """
    x, m, s, t = _validate(samples, modes, std, threshold)
    return _coverage(
        x,
        m,
        s,
        t,
        concentration=_fraction(concentration, "concentration"),
        robust_fraction=_fraction(robust_fraction, "robust_fraction"),
    )[0]


def coverage_evaluator(
    data: Any,
    *,
    threshold: float = 3.0,
    concentration: float = 0.5,
    robust_fraction: float = 0.01,
) -> Callable[[np.ndarray | torch.Tensor], dict[str, Any]]:
    """A trainer evaluation function: ``samples -> mode_coverage(...).as_dict()``.

    Parameters
    ----------
    data : object with ``modes`` and ``std``
        The data distribution (e.g. :func:`gan_models.ring`).
    threshold : float
        High quality within ``threshold * std`` of the nearest mode.
    concentration, robust_fraction : float
        As in :func:`mode_coverage`.

    Examples
    --------
    >>> from gan_models import ring
    >>> from analyses import coverage_evaluator
    >>> data = ring()
    >>> evaluate = coverage_evaluator(data)
    >>> evaluate(data.modes[:3])["modes_covered"]
    3
    """
    modes, std = getattr(data, "modes", None), getattr(data, "std", None)
    if modes is None or std is None:
        raise TypeError(
            f"data: expected an object with 'modes' and 'std' (e.g. gan_models.ring()), "
            f"got {type(data).__name__}"
        )
    modes_np = _as_float_array(modes, "data.modes")
    std_value = std if isinstance(std, (int, float)) else _as_float_array(std, "data.std")

    def evaluate(samples: np.ndarray | torch.Tensor) -> dict[str, Any]:
        return mode_coverage(
            samples,
            modes_np,
            std_value,
            threshold=threshold,
            concentration=concentration,
            robust_fraction=robust_fraction,
        ).as_dict()

    return evaluate


def _coverage(
    x: np.ndarray,
    m: np.ndarray,
    s: np.ndarray,
    t: float,
    *,
    concentration: float = 0.5,
    robust_fraction: float = 0.01,
) -> tuple[ModeCoverage, np.ndarray]:
    nearest, high = _assign(x, m, s, t)
    k = m.shape[0]
    coverage = _from_counts(
        np.bincount(nearest[high], minlength=k).astype(np.int64),
        np.bincount(nearest, minlength=k).astype(np.int64),
        float(np.count_nonzero(high)) / x.shape[0],
        nearest,
        concentration=concentration,
        robust_fraction=robust_fraction,
    )
    return coverage, high


def _check_coverages(results: Any, name: str) -> list[ModeCoverage]:
    items = list(results)
    for i, item in enumerate(items):
        if not isinstance(item, ModeCoverage):
            raise TypeError(
                f"{name}: expected ModeCoverage items, got {type(item).__name__} at {i}"
            )
    return items


def gaussian_high_quality_rate(dim: int, threshold: float = 3.0) -> float:
    r"""The probability that an isotropic Gaussian sample lies within ``threshold`` std of its mean.

    :math:`P(\lVert x - \mu \rVert \le t\sigma) = P(\chi^2_d \le t^2)
    = \gamma(d/2, t^2/2) / \Gamma(d/2)`, the high-quality rate of the data themselves when
    the modes are far apart (the ceiling for a generator): :math:`1 - e^{-t^2/2}` in 2-D.

    Parameters
    ----------
    dim : int
        d >= 1.
    threshold : float
        t > 0.

    Examples
    --------
    >>> round(gaussian_high_quality_rate(2), 6)  # 1 - exp(-4.5)
    0.988891
    >>> round(gaussian_high_quality_rate(1), 6)  # erf(3 / sqrt 2)
    0.9973
    """
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim < 1:
        raise ValueError(f"dim: expected an integer >= 1, got {dim!r}")
    t = _positive_number(threshold, "threshold")
    return float(special.gammainc(dim / 2.0, t * t / 2.0))
