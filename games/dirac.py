r"""The Dirac-GAN of Mescheder et al. (2018), with its losses and regularisers.

Data is a point mass at 0, the generator a point mass at :math:`\theta`, the
discriminator is linear, :math:`D_\psi(x) = \psi x`.  With Mescheder's convention

.. math::  L(\theta, \psi) = \mathbb{E}\,f(D_\psi(x_\text{fake})) + \mathbb{E}\,f(-D_\psi(x_\text{real}))
           = f(\psi\theta) + f(0),

the discriminator maximises ``L`` (``l_D = -L + R(psi)``) and the generator minimises
``L`` (or a non-saturating / maximum-likelihood surrogate).  At the equilibrium
:math:`(\theta, \psi) = (0, 0)` the unregularised Jacobian is
:math:`\begin{pmatrix} 0 & f'(0) \\ -f'(0) & 0\end{pmatrix}`, eigenvalues :math:`\pm i f'(0)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
import torch

from ._protocol import Params
from .symbolic import SymbolicGame, exact
from .validation import as_nonnegative, as_positive_int, choice
from .vocabulary import canonical_loss

__all__ = ["DiracGAN"]

LOSSES = ("minimax", "non_saturating", "mle", "wgan")
ZERO_SUM = ("minimax", "wgan")
REGULARIZERS = ("none", "r1", "r2", "wgan_gp", "instance_noise")

# The default instance-noise rule: the trapezoidal rule on z in [-8.5, 8.5] with step
# 0.06 (285 nodes).  For an integrand analytic in the strip |Im z| < d the rule's error
# is about exp(-2 pi d / h); f(psi (theta + sigma z)) has its nearest poles at
# |Im z| = pi / (sigma |psi|), so the error is about exp(-2 pi^2 / (sigma |psi| h)).
# Measured against scipy's quad for sigma |psi| <= 10: field within 3e-14, Jacobian
# within 2e-12; at sigma |psi| = 12: 6e-12 and 3e-10.
# Truncating at |z| = 8.5 drops mass exp(-8.5^2 / 2) ~ 2e-16.
TRAPEZOID_STEP = 0.06
TRAPEZOID_HALF_WIDTH = 8.5


def _f_torch(loss: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if loss == "wgan":
        return lambda t: t

    # f(t) = -log(1 + exp(-t)) = -softplus(-t), computed stably.  (logsigmoid's
    # forward-over-reverse derivative fails in float32 in torch 2.13: its backward's
    # JVP decomposition mixes dtypes.)  softplus's default threshold 20 replaces
    # log(1 + e^x) by x above 20, an error e^-20 = 2e-9 in the value and the slope;
    # above 50 it is below 2e-22 (and e^50 is finite in float32).
    def f(t: torch.Tensor) -> torch.Tensor:
        return -torch.nn.functional.softplus(-t, threshold=50.0)

    return f


def _noise_quadrature(nodes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes :math:`z_k` and weights :math:`w_k` with :math:`\sum_k w_k g(z_k) \approx \mathbb{E}\,g(Z)`, :math:`Z \sim N(0, 1)`.

    ``None``: the trapezoidal rule with step ``TRAPEZOID_STEP`` on
    :math:`|z| \le` ``TRAPEZOID_HALF_WIDTH`` (285 nodes); an int: Gauss–Hermite with that
    many nodes (exact for polynomials of degree ``2 nodes - 1``).
    """
    if nodes is None:
        count = math.ceil(TRAPEZOID_HALF_WIDTH / TRAPEZOID_STEP)
        z = TRAPEZOID_STEP * np.arange(-count, count + 1, dtype=np.float64)
        return z, TRAPEZOID_STEP * np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    return z, w / math.sqrt(2.0 * math.pi)


class DiracGAN:
    r"""The Dirac-GAN: generator :math:`\theta`, linear discriminator :math:`\psi`.

    Parameters
    ----------
    loss : {'minimax', 'non_saturating', 'mle', 'wgan'}
        ``minimax`` (aliases ``standard``, ``saturating``: :mod:`games.vocabulary`):
        :math:`f(t) = -\log(1 + e^{-t})`, :math:`\ell_G = L`; ``non_saturating``:
        :math:`\ell_G = -f(-\psi\theta)`; ``mle``: Goodfellow's maximum-likelihood cost
        :math:`\ell_G = -\tfrac12 e^{-\psi\theta}`; ``wgan``: :math:`f(t) = t`,
        :math:`\ell_G = L` (no weight clipping in the game: clipping is a projection an
        update rule may apply).  Loss values follow ``docs/conventions.md``: the zero-sum
        losses have :math:`\ell_G = L = V` (so :math:`-\log 4` at the equilibrium), the
        surrogates their expectation over generated samples alone.
    regularizer : {'none', 'r1', 'r2', 'wgan_gp', 'instance_noise'}
        Added to the discriminator's loss: R1/R2 :math:`\tfrac\gamma2\psi^2` (the
        gradient penalty on real/fake data, identical for a Dirac-GAN); WGAN-GP
        :math:`\tfrac\gamma2(|\psi| - g_0)^2` (non-differentiable at :math:`\psi = 0`;
        autograd uses the subgradient 0 there); instance noise replaces both
        expectations by expectations over :math:`x + \epsilon`,
        :math:`\epsilon\sim N(0, \sigma^2)`, computed by quadrature (see
        ``quadrature_nodes``).
    gamma : float
        Penalty weight for ``r1``/``r2``/``wgan_gp``.
    noise_std : float
        :math:`\sigma` for ``instance_noise``.
    gp_target : float
        :math:`g_0` for ``wgan_gp``.
    quadrature_nodes : int or None
        ``None`` (default): the trapezoidal rule with step 0.06 on :math:`|z| \le 8.5`
        (285 nodes), whose error for an integrand analytic in the strip
        :math:`|\mathrm{Im}\,z| < \pi/(\sigma|\psi|)` is about
        :math:`e^{-2\pi^2/(0.06\,\sigma|\psi|)}`: for :math:`\sigma|\psi| \le 10` the
        field is within 3e-14 and the Jacobian within 2e-12 of ``scipy.integrate.quad``
        (6e-12 and 3e-10 at :math:`\sigma|\psi| = 12`).  An int:
        Gauss–Hermite with that many nodes (exact for polynomials of degree
        :math:`2K - 1`, but 20 nodes are off by 3.4e-3 at :math:`\sigma|\psi| = 3.8`).

    Examples
    --------
    >>> from games import DiracGAN, jacobian
    >>> game = DiracGAN(regularizer="r1", gamma=1.0)
    >>> jacobian(game, game.equilibrium()).matrix
    tensor([[ 0.0000,  0.5000],
            [-0.5000,  1.0000]], dtype=torch.float64)
    """

    players: tuple[str, ...] = ("generator", "discriminator")
    sizes: tuple[int, ...] = (1, 1)

    def __init__(
        self,
        loss: str = "minimax",
        regularizer: str | None = None,
        *,
        gamma: float = 0.0,
        noise_std: float = 0.0,
        gp_target: float = 1.0,
        quadrature_nodes: int | None = None,
    ) -> None:
        self.loss = canonical_loss(loss, LOSSES)
        self.regularizer = choice(
            "none" if regularizer is None else regularizer, "regularizer", REGULARIZERS
        )
        self.gamma = as_nonnegative(gamma, "gamma")
        self.noise_std = as_nonnegative(noise_std, "noise_std")
        self.gp_target = as_nonnegative(gp_target, "gp_target")
        self.quadrature_nodes = (
            None
            if quadrature_nodes is None
            else as_positive_int(quadrature_nodes, "quadrature_nodes")
        )
        if self.regularizer in ("r1", "r2", "wgan_gp") and self.gamma == 0.0:
            raise ValueError(f"gamma: the {self.regularizer!r} regulariser needs gamma > 0, got 0")
        if self.regularizer == "instance_noise" and self.noise_std == 0.0:
            raise ValueError(
                "noise_std: the 'instance_noise' regulariser needs noise_std > 0, got 0"
            )
        if self.regularizer == "instance_noise":
            self._nodes, self._weights = _noise_quadrature(self.quadrature_nodes)
        else:
            self._nodes = np.zeros(1)
            self._weights = np.ones(1)

    @property
    def f_prime_zero(self) -> float:
        r""":math:`f'(0)`: 1/2 for the logistic losses, 1 for WGAN."""
        return 1.0 if self.loss == "wgan" else 0.5

    def losses(self, params: Params) -> tuple[torch.Tensor, ...]:
        # 1-element slices, not 0-d scalars: under forward-mode AD, torch 2.13 promotes
        # (0-d tensor op Python float) tangents to float64
        theta, psi = params[0], params[1]
        f = _f_torch(self.loss)
        nodes = torch.as_tensor(self._nodes, dtype=theta.dtype, device=theta.device)
        weights = torch.as_tensor(self._weights, dtype=theta.dtype, device=theta.device)
        sigma = self.noise_std if self.regularizer == "instance_noise" else 0.0
        fake = psi * (theta + sigma * nodes)  # D(x_fake + eps) at each node
        real = -psi * (sigma * nodes)  # -D(x_real + eps)
        value = (weights * f(fake)).sum() + (weights * f(real)).sum()
        if self.loss in ZERO_SUM:
            generator = value
        elif self.loss == "non_saturating":
            generator = (weights * -f(-fake)).sum()
        else:  # mle
            generator = (weights * (-0.5 * torch.exp(-fake))).sum()
        return generator.reshape(()), (-value + self._penalty_torch(psi)).reshape(())

    def _penalty_torch(self, psi: torch.Tensor) -> torch.Tensor:
        if self.regularizer in ("r1", "r2"):
            return 0.5 * self.gamma * psi**2
        if self.regularizer == "wgan_gp":
            return 0.5 * self.gamma * (torch.abs(psi) - self.gp_target) ** 2
        return torch.zeros_like(psi)

    def equilibrium(
        self, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
    ) -> Params:
        r"""The equilibrium :math:`(\theta, \psi) = (0, 0)` (for WGAN-GP it sits at the kink of :math:`|\psi|`)."""
        zero = torch.zeros(1, dtype=dtype, device=device)
        return (zero, zero.clone())

    def symbolic(self) -> SymbolicGame:
        """The exact twin, written from the formulas (not from :meth:`losses`).

        Quadrature nodes and weights of instance noise enter as the exact rationals of
        the same floats, so the twin is the same discretised game.
        """
        theta, psi = sp.Symbol("theta", real=True), sp.Symbol("psi", real=True)
        if self.loss == "wgan":

            def f(t: Any) -> Any:
                return t
        else:

            def f(t: Any) -> Any:
                return -sp.log(1 + sp.exp(-t))

        if self.regularizer == "instance_noise":
            sigma = exact(self.noise_std)
            pairs = [(exact(float(w)), exact(float(z))) for w, z in zip(self._weights, self._nodes)]
        else:
            sigma, pairs = sp.Integer(0), [(sp.Integer(1), sp.Integer(0))]
        # L = E f(psi (theta + eps)) + E f(-psi eps), eps = sigma z
        value = sp.Add(
            *[w * (f(psi * (theta + sigma * z)) + f(-psi * sigma * z)) for w, z in pairs]
        )
        if self.loss in ZERO_SUM:
            generator = value
        elif self.loss == "non_saturating":  # -log D(G(z)) = -f(-psi theta)
            generator = sp.Add(*[-w * f(-psi * (theta + sigma * z)) for w, z in pairs])
        else:  # mle: -1/2 exp(logit D(G(z))) = -1/2 exp(-psi theta)
            generator = sp.Add(
                *[-w * sp.Rational(1, 2) * sp.exp(-psi * (theta + sigma * z)) for w, z in pairs]
            )
        if self.regularizer in ("r1", "r2"):
            penalty = exact(self.gamma) / 2 * psi**2
        elif self.regularizer == "wgan_gp":
            # |psi| as a Piecewise: its derivatives are sign(psi) and 0 (away from 0), where
            # sympy's Abs would bring DiracDelta terms into the Jacobian
            absolute = sp.Piecewise((psi, psi >= 0), (-psi, True))
            penalty = exact(self.gamma) / 2 * (absolute - exact(self.gp_target)) ** 2
        else:
            penalty = sp.Integer(0)
        return SymbolicGame([[theta], [psi]], [generator, -value + penalty], players=self.players)

    def __repr__(self) -> str:
        extra = ""
        if self.regularizer in ("r1", "r2", "wgan_gp"):
            extra = f", gamma={self.gamma}"
        elif self.regularizer == "instance_noise":
            extra = f", noise_std={self.noise_std}"
        return f"DiracGAN(loss={self.loss!r}, regularizer={self.regularizer!r}{extra})"
