r"""Training data for the mode-coverage benchmarks: mixtures of isotropic Gaussians.

A :class:`GaussianMixture` holds ``K`` modes :math:`\mu_k \in \mathbb{R}^d`, one
standard deviation :math:`\sigma_k` per mode and mixture weights :math:`\pi_k`; its
density is

.. math::  p(x) = \sum_k \pi_k \, (2\pi\sigma_k^2)^{-d/2}
           \exp\!\Big(-\frac{\|x - \mu_k\|^2}{2\sigma_k^2}\Big).

The benchmark data sets are built from it: :func:`ring` (8 Gaussians on a circle),
:func:`grid` (25 Gaussians on a square lattice), :func:`temperature` (the 1-D bimodal
summer temperatures of :func:`games.temperature_density`) and :func:`high_dimensional`.

Sampling never touches torch's global random state: pass a ``torch.Generator`` (CPU) or
an int seed.  Samples are always drawn on the CPU in float64 and then cast and moved, so
a seed gives the same values whatever ``device`` is asked for, and float32 samples are
the float64 samples rounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from games.densities import TEMPERATURE_MODES
from games.validation import as_matrix, as_positive_float, as_positive_int, choice

__all__ = [
    "GaussianMixture",
    "grid",
    "high_dimensional",
    "ring",
    "temperature",
]

GeneratorLike = torch.Generator | int | None


# -- shared argument handling (also used by gan_models.networks) --------------------------


def _as_generator(generator: object, name: str = "generator") -> torch.Generator:
    """A CPU ``torch.Generator`` from a generator, an int seed, or ``None`` (fresh entropy)."""
    if generator is None:
        fresh = torch.Generator()
        fresh.seed()  # non-deterministic, and leaves the global generator alone
        return fresh
    if isinstance(generator, torch.Generator):
        if generator.device.type != "cpu":
            raise ValueError(
                f"{name}: expected a CPU torch.Generator (values are drawn on the CPU and then "
                f"moved), got one on {generator.device}"
            )
        return generator
    if isinstance(generator, bool) or not isinstance(generator, (int, np.integer)):
        raise TypeError(
            f"{name}: expected a torch.Generator, an int seed or None, got {type(generator).__name__}"
        )
    if int(generator) < 0:
        raise ValueError(f"{name}: expected a non-negative int seed, got {generator!r}")
    return torch.Generator().manual_seed(int(generator))


def _as_float_dtype(dtype: object, name: str = "dtype") -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{name}: expected a floating torch.dtype, got {dtype!r}")
    return dtype


def _as_device(device: object, name: str = "device") -> torch.device | None:
    if device is None:
        return None
    try:
        return torch.device(device)  # type: ignore[call-overload]
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"{name}: expected a torch.device or a device string, got {device!r}"
        ) from exc


# -- the mixture ----------------------------------------------------------------------------


class GaussianMixture:
    r"""A mixture of isotropic Gaussians in :math:`\mathbb{R}^d`.

    Parameters
    ----------
    means : array_like, shape (K, d)
        The modes :math:`\mu_k`, one per row (a 1-D data set still needs shape ``(K, 1)``).
    std : float or array_like of K floats
        Standard deviation :math:`\sigma_k` of every coordinate of mode ``k`` (one value
        shared by all modes, or one per mode).
    weights : array_like of K floats, optional
        Non-negative mixture weights with a positive sum; they are normalised to sum to
        one.  Equal weights by default.

    Attributes
    ----------
    modes : torch.Tensor, shape (K, d), float64, CPU
    std : float or torch.Tensor
        As given: a float when one value is shared, else a float64 tensor of shape (K,).
    stds : torch.Tensor, shape (K,), float64
        Per-mode standard deviations (always a tensor).
    weights : torch.Tensor, shape (K,), float64
        Normalised mixture weights.
    dim : int
    n_modes : int

    Examples
    --------
    >>> from gan_models import GaussianMixture
    >>> mix = GaussianMixture([[0.0, 0.0], [3.0, 0.0]], std=0.5, weights=[1, 3])
    >>> mix.n_modes, mix.dim, mix.weights.tolist()
    (2, 2, [0.25, 0.75])
    >>> x, k = mix.sample_with_labels(4, generator=0)
    >>> x.shape, x.dtype, k.shape
    (torch.Size([4, 2]), torch.float32, torch.Size([4]))
    >>> torch.equal(mix.sample(4, generator=0), x)
    True
    """

    def __init__(
        self,
        means: object,
        std: float | Sequence[float] | torch.Tensor | np.ndarray,
        weights: Sequence[float] | torch.Tensor | np.ndarray | None = None,
    ) -> None:
        modes = as_matrix(means, "means")
        k = int(modes.shape[0])
        self.modes: torch.Tensor = modes
        self.n_modes: int = k
        self.dim: int = int(modes.shape[1])

        if isinstance(std, bool):
            raise TypeError("std: expected a positive float, got bool")
        if isinstance(std, (torch.Tensor, np.ndarray)) and std.ndim == 0:
            std = std.item()
        if isinstance(std, (int, float, np.integer, np.floating)) and not isinstance(std, bool):
            self.std: float | torch.Tensor = as_positive_float(std, "std")
            self.stds: torch.Tensor = torch.full((k,), float(self.std), dtype=torch.float64)
        else:
            try:
                stds = torch.as_tensor(np.asarray(std, dtype=np.float64))
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"std: expected a positive float or {k} positive floats, got {type(std).__name__}"
                ) from exc
            if stds.shape != (k,):
                raise ValueError(
                    f"std: expected a positive float or {k} positive floats (one per mode), "
                    f"got shape {tuple(stds.shape)}"
                )
            if not bool(torch.isfinite(stds).all()) or bool((stds <= 0).any()):
                raise ValueError(f"std: expected positive finite values, got {stds.tolist()}")
            self.std = stds
            self.stds = stds.clone()

        if weights is None:
            pi = torch.full((k,), 1.0 / k, dtype=torch.float64)
        else:
            try:
                pi = torch.as_tensor(np.asarray(weights, dtype=np.float64))
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"weights: expected {k} non-negative numbers, got {type(weights).__name__}"
                ) from exc
            if pi.shape != (k,):
                raise ValueError(
                    f"weights: expected {k} non-negative numbers (one per mode), got shape {tuple(pi.shape)}"
                )
            if not bool(torch.isfinite(pi).all()) or bool((pi < 0).any()) or float(pi.sum()) <= 0:
                raise ValueError(
                    f"weights: expected finite non-negative values with a positive sum, got {pi.tolist()}"
                )
            pi = pi / pi.sum()
        self.weights: torch.Tensor = pi

    # -- sampling ----------------------------------------------------------------------

    def sample_with_labels(
        self,
        n: int,
        *,
        generator: GeneratorLike = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` samples and the index of the mode each came from.

        Parameters
        ----------
        n : int
            Number of samples (>= 1).
        generator : torch.Generator, int or None
            CPU generator (advanced in place) or seed.  ``None`` draws a fresh,
            non-reproducible seed; the global random state is never used.
        device : torch.device or str, optional
            Where the results go.  Values are drawn on the CPU first, so they do not
            depend on ``device``.
        dtype : torch.dtype
            Floating dtype of the samples (float32 by default).

        Returns
        -------
        samples : torch.Tensor, shape (n, d)
        labels : torch.Tensor, shape (n,), int64
        """
        n = as_positive_int(n, "n")
        gen = _as_generator(generator)
        target = _as_device(device)
        dtype = _as_float_dtype(dtype)
        labels = torch.multinomial(self.weights, n, replacement=True, generator=gen)
        noise = torch.randn(n, self.dim, generator=gen, dtype=torch.float64)
        samples = self.modes[labels] + self.stds[labels, None] * noise
        return samples.to(device=target, dtype=dtype), labels.to(device=target)

    def sample(
        self,
        n: int,
        *,
        generator: GeneratorLike = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """Draw ``n`` samples, shape ``(n, d)``; see :meth:`sample_with_labels`."""
        return self.sample_with_labels(n, generator=generator, device=device, dtype=dtype)[0]

    # -- closed forms ------------------------------------------------------------------

    def _points(self, x: object) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(np.asarray(x, dtype=np.float64))
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x: expected points of shape (n, {self.dim}), got {tuple(x.shape)}")
        return x.detach().to(device="cpu", dtype=torch.float64)

    def log_prob(self, x: object) -> torch.Tensor:
        """Log-density at points ``x`` of shape ``(n, d)``: float64 tensor of shape ``(n,)``."""
        points = self._points(x)
        d2 = ((points[:, None, :] - self.modes[None]) ** 2).sum(-1)
        var = self.stds**2
        log_normal = -0.5 * d2 / var - 0.5 * self.dim * torch.log(2 * math.pi * var)
        return torch.logsumexp(torch.log(self.weights) + log_normal, dim=1)

    def density(self, x: object) -> torch.Tensor:
        """Density at points ``x`` of shape ``(n, d)``: float64 tensor of shape ``(n,)``.

        Examples
        --------
        >>> from gan_models import GaussianMixture
        >>> mix = GaussianMixture([[0.0]], std=1.0)
        >>> round(float(mix.density([[0.0]])[0]), 6)  # 1 / sqrt(2 pi)
        0.398942
        """
        return self.log_prob(x).exp()

    def mean(self) -> torch.Tensor:
        r""":math:`\mathbb{E}x = \sum_k \pi_k \mu_k`, float64 of shape ``(d,)``."""
        return self.weights @ self.modes

    def covariance(self) -> torch.Tensor:
        r""":math:`\sum_k \pi_k(\sigma_k^2 I + \mu_k\mu_k^\top) - \mathbb{E}x\,\mathbb{E}x^\top`, shape ``(d, d)``."""
        m = self.mean()
        second = (self.weights[:, None] * self.modes).T @ self.modes
        spread = float(self.weights @ self.stds**2)
        return second + spread * torch.eye(self.dim, dtype=torch.float64) - torch.outer(m, m)

    def __repr__(self) -> str:
        std = (
            f"{self.std:g}"
            if isinstance(self.std, float)
            else f"[{', '.join(f'{s:g}' for s in self.std.tolist())}]"
        )
        return f"GaussianMixture(n_modes={self.n_modes}, dim={self.dim}, std={std})"


# -- the benchmark data sets ----------------------------------------------------------------


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    r"""Equal Gaussians on a circle: mode ``k`` at angle :math:`2\pi k / K`, ``k = 0..K-1``.

    The ring benchmark of the unrolled-GAN, VEEGAN and PacGAN papers (8 modes, radius 1
    or 2, std 0.01 or 0.02).  Mode ``k`` is :math:`r(\cos 2\pi k/K, \sin 2\pi k/K)`.
    The often-copied ``np.linspace(0, 2 * np.pi, K)`` is *not* used: it includes both
    0 and :math:`2\pi`, so two of its K modes coincide and the data has only K - 1.

    Examples
    --------
    >>> from gan_models import ring
    >>> data = ring()
    >>> data.n_modes, data.std
    (8, 0.01)
    >>> [round(v, 4) for v in data.modes[2].tolist()]
    [0.0, 1.0]
    """
    n_modes = as_positive_int(n_modes, "n_modes")
    radius = as_positive_float(radius, "radius")
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    modes = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture(modes, std)


def grid(size: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    r"""Equal Gaussians on a centred ``size x size`` lattice with the given spacing.

    The default is the 25-mode benchmark with modes at :math:`\{-4, -2, 0, 2, 4\}^2` and
    std 0.05.  Modes are listed row-major, first coordinate slowest.

    Examples
    --------
    >>> from gan_models import grid
    >>> data = grid()
    >>> data.n_modes, data.modes[0].tolist(), data.modes[-1].tolist()
    (25, [-4.0, -4.0], [4.0, 4.0])
    """
    size = as_positive_int(size, "size")
    spacing = as_positive_float(spacing, "spacing")
    axis = spacing * (torch.arange(size, dtype=torch.float64) - (size - 1) / 2)
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    return GaussianMixture(torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1), std)


def temperature(scale: float = 1.0) -> GaussianMixture:
    r"""The 1-D bimodal summer-temperature data, in units of ``scale`` °C.

    An equal mixture of N(28, 5²) (Alice Springs) and N(-28, 4²) (the South Pole) in
    °C: the same distribution as :func:`games.temperature_density` (which evaluates it
    on a grid).  ``scale`` rescales the axis for networks (``scale=10`` puts the modes
    at ±2.8 with stds 0.5 and 0.4); the default keeps °C.

    Examples
    --------
    >>> from gan_models import temperature
    >>> data = temperature()
    >>> data.modes.flatten().tolist(), data.std.tolist()
    ([28.0, -28.0], [5.0, 4.0])
    """
    scale = as_positive_float(scale, "scale")
    means = [[mu / scale] for mu, _ in TEMPERATURE_MODES]
    stds = [sd / scale for _, sd in TEMPERATURE_MODES]
    return GaussianMixture(means, stds)


def high_dimensional(
    dim: int = 10,
    n_modes: int = 10,
    *,
    std: float = 0.05,
    radius: float = 1.0,
    layout: str = "sphere",
    seed: int = 0,
) -> GaussianMixture:
    r"""Equal Gaussians around modes in :math:`\mathbb{R}^d`, at distance ``radius`` from 0.

    Parameters
    ----------
    dim, n_modes : int
    std : float
        Per-coordinate standard deviation.  Note that in ``d`` dimensions a sample's
        distance to its mode is :math:`\sigma\chi_d \approx \sigma\sqrt{d}`, so a
        "within 3 standard deviations" quality test must scale with the dimension.
    radius : float
        Distance of every mode from the origin.
    layout : {'sphere', 'one_hot'}
        ``'sphere'``: modes uniform on the sphere of that radius, drawn reproducibly from
        ``seed`` (normalised Gaussian vectors); ``'one_hot'``: mode ``k`` is
        ``radius * e_k`` (needs ``n_modes <= dim``; every pair is
        :math:`\sqrt2\,r` apart; ``seed`` is unused).
    seed : int
        Seed of the mode positions (not of the samples).

    Examples
    --------
    >>> from gan_models import high_dimensional
    >>> data = high_dimensional(dim=6, n_modes=4, seed=1)
    >>> data.modes.shape, torch.allclose(data.modes.norm(dim=1), torch.ones(4, dtype=torch.float64))
    (torch.Size([4, 6]), True)
    >>> torch.equal(data.modes, high_dimensional(dim=6, n_modes=4, seed=1).modes)
    True
    """
    dim = as_positive_int(dim, "dim")
    n_modes = as_positive_int(n_modes, "n_modes")
    radius = as_positive_float(radius, "radius")
    layout = choice(layout, "layout", ("sphere", "one_hot"))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected a non-negative int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    if layout == "one_hot":
        if n_modes > dim:
            raise ValueError(
                f"n_modes: layout 'one_hot' needs n_modes <= dim ({dim}), got {n_modes}"
            )
        modes = radius * torch.eye(dim, dtype=torch.float64)[:n_modes]
    else:
        gen = torch.Generator().manual_seed(int(seed))
        directions = torch.randn(n_modes, dim, generator=gen, dtype=torch.float64)
        modes = radius * directions / directions.norm(dim=1, keepdim=True)
    return GaussianMixture(modes, std)
