r"""Densities on a grid and the divergences of GAN theory, as functions.

A :class:`Grid` discretises the domain (1-D or 2-D) with explicit quadrature weights
:math:`w_k`; a *density* on it is a vector of values :math:`p_k = p(x_k) \ge 0` with
:math:`\sum_k w_k p_k = 1`.  Integrals are quadratures: :math:`\mathbb{E}_p f = \sum_k w_k p_k f(x_k)`.
Ready-made densities (Gaussian mixtures, the summer-temperature example) and the theory
of Goodfellow et al. (2014) as functions: the optimal discriminator :math:`D^*`, the
virtual training criterion :math:`C(G)`, KL, reverse KL and JSD, the generator's best
response.  The games played on these densities are in :mod:`games.function_space`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .validation import as_positive_int

__all__ = [
    "TEMPERATURE_MODES",
    "Grid",
    "gaussian_mixture_density",
    "generator_best_response",
    "jsd",
    "kl",
    "optimal_discriminator",
    "reverse_kl",
    "temperature_density",
    "validate_density",
    "virtual_training_criterion",
]


@dataclass(frozen=True)
class Grid:
    """A discretised domain: points ``(m, d)`` and quadrature weights ``(m,)`` (float64).

    Build one with :meth:`line` (1-D) or :meth:`plane` (2-D); midpoint rule, so every
    weight is the cell's length (area) and the weights sum to the domain's size.
    """

    points: torch.Tensor
    weights: torch.Tensor
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if (
            self.points.dim() != 2
            or self.weights.dim() != 1
            or self.points.shape[0] != self.weights.shape[0]
        ):
            raise ValueError(
                f"points/weights: expected (m, d) points and m weights, got {tuple(self.points.shape)} "
                f"and {tuple(self.weights.shape)}"
            )
        if not bool((self.weights > 0).all()):
            raise ValueError("weights: expected positive quadrature weights")

    @classmethod
    def line(cls, low: float, high: float, size: int) -> Grid:
        """``size`` cell midpoints of [low, high], each weighted by the cell length."""
        size = as_positive_int(size, "size")
        if not (math.isfinite(low) and math.isfinite(high) and high > low):
            raise ValueError(f"low, high: expected finite low < high, got {low!r}, {high!r}")
        width = (high - low) / size
        x = low + width * (torch.arange(size, dtype=torch.float64) + 0.5)
        return cls(x[:, None], torch.full((size,), width, dtype=torch.float64), (size,))

    @classmethod
    def plane(
        cls, xlim: tuple[float, float], ylim: tuple[float, float], size: tuple[int, int]
    ) -> Grid:
        """A ``size[0] x size[1]`` grid of cell midpoints of a rectangle (row-major, x slowest)."""
        gx, gy = cls.line(xlim[0], xlim[1], size[0]), cls.line(ylim[0], ylim[1], size[1])
        xx, yy = torch.meshgrid(gx.points[:, 0], gy.points[:, 0], indexing="ij")
        points = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
        weights = (gx.weights[:, None] * gy.weights[None, :]).reshape(-1)
        return cls(points, weights, (size[0], size[1]))

    @property
    def size(self) -> int:
        """Number of grid points m."""
        return int(self.weights.shape[0])

    @property
    def dim(self) -> int:
        """Dimension d of the domain."""
        return int(self.points.shape[1])

    def integrate(self, values: torch.Tensor) -> torch.Tensor:
        r""":math:`\sum_k w_k f_k` for values on the grid."""
        return (self.weights.to(values) * values).sum(-1)

    def normalize(self, values: object) -> torch.Tensor:
        """Scale non-negative values into a density on this grid."""
        tensor = torch.as_tensor(np.asarray(values, dtype=np.float64))
        if (
            tensor.shape != (self.size,)
            or bool((tensor < 0).any())
            or not bool(torch.isfinite(tensor).all())
        ):
            raise ValueError(
                f"values: expected {self.size} finite non-negative values, got shape {tuple(tensor.shape)}"
            )
        mass = float(self.integrate(tensor))
        if mass <= 0:
            raise ValueError("values: expected some positive mass to normalise")
        return tensor / mass


def validate_density(
    p: object, grid: Grid, name: str = "density", *, atol: float = 1e-8
) -> torch.Tensor:
    r"""Check that ``p`` is a density on ``grid``: ``m`` finite values :math:`\ge 0` with :math:`\sum w p = 1`."""
    if not isinstance(grid, Grid):
        raise TypeError(f"grid: expected a games.Grid, got {type(grid).__name__}")
    try:
        tensor = torch.as_tensor(
            p if isinstance(p, torch.Tensor) else np.asarray(p, dtype=np.float64)
        )
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name}: expected an array of {grid.size} numbers, got {type(p).__name__}"
        ) from exc
    tensor = tensor.detach().to(torch.float64)
    if tuple(tensor.shape) == grid.shape:  # a 2-D grid's density may come as an image
        tensor = tensor.reshape(-1)
    if tensor.shape != (grid.size,):
        raise ValueError(
            f"{name}: expected {grid.size} values (one per grid point, grid shape {grid.shape}), got shape {tuple(tensor.shape)}"
        )
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name}: expected finite values, found NaN or Inf")
    if bool((tensor < 0).any()):
        raise ValueError(
            f"{name}: expected non-negative values, minimum is {float(tensor.min()):.3g}"
        )
    mass = float(grid.integrate(tensor))
    if abs(mass - 1.0) > atol:
        raise ValueError(
            f"{name}: expected a density integrating to 1 on the grid (sum of w * p), got {mass:.6g}"
        )
    return tensor


# -- ready-made densities ---------------------------------------------------------------


def gaussian_mixture_density(
    grid: Grid,
    means: Sequence[Sequence[float]] | Sequence[float],
    stds: Sequence[float] | float,
    weights: Sequence[float] | None = None,
) -> torch.Tensor:
    """A mixture of isotropic Gaussians evaluated on ``grid`` and normalised there."""
    mu = torch.as_tensor(np.asarray(means, dtype=np.float64))
    if mu.dim() == 1:
        mu = mu[:, None] if grid.dim == 1 else mu[None, :]
    if mu.dim() != 2 or mu.shape[1] != grid.dim:
        raise ValueError(
            f"means: expected k means of dimension {grid.dim}, got shape {tuple(mu.shape)}"
        )
    k = mu.shape[0]
    sd = torch.as_tensor(np.broadcast_to(np.asarray(stds, dtype=np.float64), (k,)).copy())
    if bool((sd <= 0).any()):
        raise ValueError("stds: expected positive standard deviations")
    pi = (
        torch.full((k,), 1.0 / k, dtype=torch.float64)
        if weights is None
        else torch.as_tensor(np.asarray(weights, dtype=np.float64))
    )
    if pi.shape != (k,) or bool((pi < 0).any()) or float(pi.sum()) <= 0:
        raise ValueError(f"weights: expected {k} non-negative mixture weights")
    pi = pi / pi.sum()
    d2 = ((grid.points[:, None, :] - mu[None]) ** 2).sum(-1)
    values = (pi * torch.exp(-0.5 * d2 / sd**2) / (2 * math.pi * sd**2) ** (grid.dim / 2)).sum(1)
    if not bool(torch.isfinite(values).all()) or float(values.sum()) <= 0:
        raise ValueError(
            f"stds: the mixture's density is not representable on this grid (smallest std "
            f"{float(sd.min()):.3g}: its density underflows or overflows in float64); expected "
            "standard deviations comparable to the grid's spacing"
        )
    return grid.normalize(values)


TEMPERATURE_MODES: tuple[tuple[float, float], ...] = ((28.0, 5.0), (-28.0, 4.0))
"""The summer-temperature mixture in °C, ``(mean, std)`` per mode: Alice Springs, then the
South Pole (equal weights).  :func:`temperature_density` evaluates it on a grid;
:func:`gan_models.temperature` samples it."""


def temperature_density(grid: Grid | None = None) -> tuple[Grid, torch.Tensor]:
    """The bimodal summer-temperature example: hot Alice Springs and very cold South Pole.

    Daily summer (December–February) temperatures in °C, modelled as an equal mixture of
    N(28, 5²) (Alice Springs: mean daily temperature around 28 °C) and N(-28, 4²) (the
    Amundsen–Scott South Pole station's summer mean is about -28 °C).  Nothing in
    between: a generator that averages the modes produces temperatures nobody has.
    Returns the grid (default 200 points on [-50, 50] °C) and the density.
    """
    grid = Grid.line(-50.0, 50.0, 200) if grid is None else grid
    means = [mu for mu, _ in TEMPERATURE_MODES]
    return grid, gaussian_mixture_density(grid, means, [sd for _, sd in TEMPERATURE_MODES])


# -- theory as functions ----------------------------------------------------------------


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    r"""Goodfellow et al.'s :math:`D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))`.

    Where both densities vanish :math:`D^*` is arbitrary; ½ is returned there.
    """
    total = p_data + p_g
    return torch.where(
        total > 0,
        p_data / torch.where(total > 0, total, torch.ones_like(total)),
        torch.full_like(total, 0.5),
    )


def _xlogy(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.special.xlogy(x, y)


def kl(p: torch.Tensor, q: torch.Tensor, grid: Grid) -> torch.Tensor:
    r""":math:`KL(p\|q) = \sum_k w_k p_k \log(p_k/q_k)` (inf where p > 0 = q)."""
    return grid.integrate(_xlogy(p, p) - _xlogy(p, q))


def reverse_kl(p: torch.Tensor, q: torch.Tensor, grid: Grid) -> torch.Tensor:
    r""":math:`KL(q\|p)`: the mode-seeking direction."""
    return kl(q, p, grid)


def jsd(p: torch.Tensor, q: torch.Tensor, grid: Grid) -> torch.Tensor:
    r"""Jensen–Shannon divergence :math:`\tfrac12 KL(p\|m) + \tfrac12 KL(q\|m)`, :math:`m = (p+q)/2` (in nats, at most log 2)."""
    m = 0.5 * (p + q)
    return 0.5 * kl(p, m, grid) + 0.5 * kl(q, m, grid)


def virtual_training_criterion(p_data: torch.Tensor, p_g: torch.Tensor, grid: Grid) -> torch.Tensor:
    r""":math:`C(G) = \max_D V(D, G) = \mathbb{E}_\text{data}\log D^* + \mathbb{E}_{p_g}\log(1 - D^*)`.

    Computed directly from :math:`D^*` (not from the identity
    :math:`C(G) = -\log 4 + 2\,JSD(p_\text{data}\|p_g)`, which the tests check against it).
    """
    d_star = optimal_discriminator(p_data, p_g)
    return grid.integrate(_xlogy(p_data, d_star) + _xlogy(p_g, 1 - d_star))


def generator_best_response(discriminator: torch.Tensor, grid: Grid) -> torch.Tensor:
    r"""The generator's best response to a fixed :math:`D`: all mass on :math:`\arg\max_x D(x)`.

    (For every loss here the generator's loss is :math:`\sum w p_g h(D)` with ``h``
    decreasing in ``D``.)  A point mass of weight 1 at the first maximiser: the
    non-equilibrium mode collapse of the max–min order.
    """
    k = int(torch.argmax(discriminator))
    out = torch.zeros(grid.size, dtype=torch.float64)
    out[k] = 1.0 / float(grid.weights[k])
    return out
