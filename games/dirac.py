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

__all__ = ["DiracGAN"]

LOSSES = ("standard", "non_saturating", "mle", "wgan")
REGULARIZERS = ("none", "r1", "r2", "wgan_gp", "instance_noise")
_ALIASES = {"minimax": "standard", "saturating": "standard", "ns": "non_saturating"}


def _f_torch(loss: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if loss == "wgan":
        return lambda t: t

    # f(t) = -log(1 + exp(-t)) = -softplus(-t), computed stably.  (logsigmoid's
    # forward-over-reverse derivative fails in float32 in torch 2.13: its backward's
    # JVP decomposition mixes dtypes.)
    def f(t: torch.Tensor) -> torch.Tensor:
        return -torch.nn.functional.softplus(-t)

    return f


def _f_sympy(loss: str) -> Callable[[Any], Any]:
    if loss == "wgan":
        return lambda t: t
    return lambda t: -sp.log(1 + sp.exp(-t))


class DiracGAN:
    r"""The Dirac-GAN: generator :math:`\theta`, linear discriminator :math:`\psi`.

    Parameters
    ----------
    loss : {'standard', 'non_saturating', 'mle', 'wgan'}
        ``standard`` (alias ``minimax``/``saturating``): :math:`f(t) = -\log(1 + e^{-t})`,
        :math:`\ell_G = L`; ``non_saturating``: :math:`\ell_G = -f(-\psi\theta)`;
        ``mle``: Goodfellow's maximum-likelihood cost :math:`\ell_G = -\tfrac12 e^{-\psi\theta}`;
        ``wgan``: :math:`f(t) = t` (no weight clipping in the game: clipping is a
        projection an update rule may apply).
    regularizer : {'none', 'r1', 'r2', 'wgan_gp', 'instance_noise'}
        Added to the discriminator's loss: R1/R2 :math:`\tfrac\gamma2\psi^2` (the
        gradient penalty on real/fake data, identical for a Dirac-GAN); WGAN-GP
        :math:`\tfrac\gamma2(|\psi| - g_0)^2` (non-differentiable at :math:`\psi = 0`;
        autograd uses the subgradient 0 there); instance noise replaces both
        expectations by expectations over :math:`x + \epsilon`,
        :math:`\epsilon\sim N(0, \sigma^2)`, computed by Gauss–Hermite quadrature with
        ``quadrature_nodes`` nodes (exact for polynomials of degree ``2K-1``).
    gamma : float
        Penalty weight for ``r1``/``r2``/``wgan_gp``.
    noise_std : float
        :math:`\sigma` for ``instance_noise``.
    gp_target : float
        :math:`g_0` for ``wgan_gp``.
    quadrature_nodes : int
        Gauss–Hermite nodes for ``instance_noise``.

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
        loss: str = "standard",
        regularizer: str | None = None,
        *,
        gamma: float = 0.0,
        noise_std: float = 0.0,
        gp_target: float = 1.0,
        quadrature_nodes: int = 20,
    ) -> None:
        if isinstance(loss, str):
            loss = _ALIASES.get(loss.lower().replace("-", "_"), loss)
        self.loss = choice(loss, "loss", LOSSES)
        self.regularizer = choice(
            "none" if regularizer is None else regularizer, "regularizer", REGULARIZERS
        )
        self.gamma = as_nonnegative(gamma, "gamma")
        self.noise_std = as_nonnegative(noise_std, "noise_std")
        self.gp_target = as_nonnegative(gp_target, "gp_target")
        self.quadrature_nodes = as_positive_int(quadrature_nodes, "quadrature_nodes")
        if self.regularizer in ("r1", "r2", "wgan_gp") and self.gamma == 0.0:
            raise ValueError(f"gamma: the {self.regularizer!r} regulariser needs gamma > 0, got 0")
        if self.regularizer == "instance_noise" and self.noise_std == 0.0:
            raise ValueError(
                "noise_std: the 'instance_noise' regulariser needs noise_std > 0, got 0"
            )
        if self.regularizer == "instance_noise":
            nodes, weights = np.polynomial.hermite_e.hermegauss(self.quadrature_nodes)
            self._nodes = nodes
            self._weights = weights / math.sqrt(2.0 * math.pi)
        else:
            self._nodes = np.zeros(1)
            self._weights = np.ones(1)

    @property
    def f_prime_zero(self) -> float:
        r""":math:`f'(0)`: 1/2 for the logistic losses, 1 for WGAN."""
        return 1.0 if self.loss == "wgan" else 0.5

    @staticmethod
    def _value(
        theta: Any,
        psi: Any,
        f: Callable[[Any], Any],
        gen: Callable[[Any], Any],
        exp_sum: Callable[..., Any],
        sigma: Any,
        nodes: Any,
    ) -> tuple[Any, Any]:
        """(L, generator loss) as expectations over the (quadrature) noise; torch or sympy."""
        fake = [psi * (theta + sigma * z) for z in nodes]
        real = [-psi * (sigma * z) for z in nodes]
        value = exp_sum([f(t) for t in fake]) + exp_sum([f(t) for t in real])
        generator = exp_sum([gen(t) for t in fake]) + exp_sum([f(t) for t in real])
        return value, generator

    def losses(self, params: Params) -> tuple[torch.Tensor, ...]:
        # 1-element slices, not 0-d scalars: under forward-mode AD, torch 2.13 promotes
        # (0-d tensor op Python float) tangents to float64
        theta, psi = params[0], params[1]
        f = _f_torch(self.loss)
        gen = self._generator_torch(f)
        weights = torch.as_tensor(self._weights, dtype=theta.dtype, device=theta.device)

        def expectation(values: list[torch.Tensor]) -> torch.Tensor:
            return (weights * torch.cat(values)).sum()

        sigma = self.noise_std if self.regularizer == "instance_noise" else 0.0
        value, generator = self._value(
            theta, psi, f, gen, expectation, sigma, [float(z) for z in self._nodes]
        )
        return generator.reshape(()), (-value + self._penalty_torch(psi)).reshape(())

    def _generator_torch(
        self, f: Callable[[torch.Tensor], torch.Tensor]
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        if self.loss == "non_saturating":
            return lambda t: -f(-t)
        if self.loss == "mle":
            return lambda t: -0.5 * torch.exp(-t)
        return f

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
        """The exact twin (quadrature nodes and weights as exact rationals of the same floats)."""
        theta, psi = sp.Symbol("theta", real=True), sp.Symbol("psi", real=True)
        f = _f_sympy(self.loss)
        if self.loss == "non_saturating":

            def gen(t: Any) -> Any:
                return -f(-t)
        elif self.loss == "mle":

            def gen(t: Any) -> Any:
                return -sp.Rational(1, 2) * sp.exp(-t)
        else:

            def gen(t: Any) -> Any:
                return f(t)

        weights = [exact(float(w)) for w in self._weights]

        def expectation(values: list[Any]) -> Any:
            return sp.Add(*[w * v for w, v in zip(weights, values)])

        sigma = exact(self.noise_std) if self.regularizer == "instance_noise" else sp.Integer(0)
        nodes = [exact(float(z)) for z in self._nodes]
        value, generator = self._value(theta, psi, f, gen, expectation, sigma, nodes)
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
