r"""First-order rules: each step uses only values of the simultaneous gradient :math:`\xi`.

Notation: :math:`\xi` is the simultaneous gradient, :math:`J` its Jacobian,
:math:`D = \mathrm{diag}(\eta)` the per-player step sizes expanded to every parameter.
Every player minimises its own loss, so gradient descent is :math:`\theta - D\xi`.
Rules that also apply :math:`J` to vectors are in :mod:`dynamics.jacobian_rules`; rules
built from other rules in :mod:`dynamics.combinators`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from games import Game, Params, field_function, flatten_params
from games.steps import adam_step, sgd_step

from ._base import (
    RuleState,
    StepSize,
    UpdateRule,
    alternating_plan,
    expand_per_player,
    per_player,
)

__all__ = [
    "Adam",
    "AlternatingGD",
    "BestResponseGD",
    "Extragradient",
    "Momentum",
    "OptimisticGD",
    "ProximalPoint",
    "RMSProp",
    "SimultaneousGD",
]


class SimultaneousGD(UpdateRule):
    r"""Simultaneous gradient descent: :math:`\theta_{t+1} = \theta_t - D\,\xi(\theta_t)`.

    Linearisation at a fixed point: :math:`I - DJ`.  On the x·y game the norm grows by
    exactly :math:`\sqrt{1 + \eta^2}` per step.

    Parameters
    ----------
    lr : float, sequence of float, or callable
        Step size: one for all players, one per player (two timescales), or a schedule
        ``t -> either``.

    Examples
    --------
    >>> from games import Bilinear, as_params
    >>> from dynamics import SimultaneousGD
    >>> game, rule = Bilinear.xy(), SimultaneousGD(lr=0.1)
    >>> params = as_params(game, [[1.0], [0.0]])
    >>> params, state = rule.step(game, params, rule.init(game, params))
    >>> params
    (tensor([1.], dtype=torch.float64), tensor([0.1000], dtype=torch.float64))
    """

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        return sgd_step(theta, self.field(game)(theta), self.eta(game, state.t, theta)), ()


class AlternatingGD(UpdateRule):
    r"""Alternating (Gauss–Seidel) gradient descent with ``repeats[i]`` steps per player.

    Players move one after another in ``order``; player ``i`` takes ``repeats[i]``
    gradient steps :math:`\theta_i \leftarrow \theta_i - \eta_i \nabla_{\theta_i}\ell_i`
    at the current parameters of the others.  With ``order=(1, 0)`` and
    ``repeats=(1, k)`` this is Goodfellow et al. (2014)'s Algorithm 1: k discriminator
    steps, then one generator step.  On the x·y game it stays bounded for
    :math:`\eta < 2`.

    Parameters
    ----------
    lr : step size (see :class:`SimultaneousGD`)
    order : sequence of int, optional
        The order of the players (default: last player first, i.e. the discriminator
        of a (generator, discriminator) game).
    repeats : int or sequence of int
        Steps per player per update.
    """

    def __init__(
        self, lr: StepSize, order: Sequence[int] | None = None, repeats: int | Sequence[int] = 1
    ) -> None:
        super().__init__(lr)
        self.order = None if order is None else tuple(int(i) for i in order)
        self.repeats = repeats

    def _plan(self, game: Game) -> list[int]:
        return alternating_plan(game, self.order, self.repeats)[0]

    def init(self, game: Game, params: Params) -> RuleState:
        self._plan(game)
        return super().init(game, params)

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        etas = self.step_sizes(game, state.t)
        starts = [sum(game.sizes[:i]) for i in range(len(game.sizes))]
        for i in self._plan(game):
            grad_i = field_function(game, player=i)(theta)
            lo, hi = starts[i], starts[i] + game.sizes[i]
            theta = torch.cat([theta[:lo], theta[lo:hi] - etas[i] * grad_i, theta[hi:]])
        return theta, ()


class Momentum(UpdateRule):
    r"""Heavy-ball momentum (Polyak), including negative momentum (Gidel et al., 2019).

    .. math::  m_{t+1} = \beta m_t - D\xi(\theta_t), \qquad \theta_{t+1} = \theta_t + m_{t+1}.

    Linearisation at a fixed point, in :math:`(\theta, m)`:
    :math:`\begin{pmatrix} I - DJ & \beta I \\ -DJ & \beta I\end{pmatrix}`.

    Parameters
    ----------
    lr : step size
    beta : float or sequence of float
        Momentum in (-1, 1) per player; negative values damp the rotation of
        adversarial games.
    """

    def __init__(self, lr: StepSize, beta: float | Sequence[float] = 0.9) -> None:
        super().__init__(lr)
        per_player(beta, len(beta) if isinstance(beta, Sequence) else 1, "beta", low=-1.0, high=1.0)
        if isinstance(beta, Sequence) and any(b <= -1.0 for b in beta):
            raise ValueError("beta: expected values in (-1, 1)")
        if not isinstance(beta, Sequence) and beta <= -1.0:
            raise ValueError(f"beta: expected a value in (-1, 1), got {beta}")
        self.beta = beta

    def init(self, game: Game, params: Params) -> RuleState:
        self.check_game(game)
        per_player(self.beta, len(game.sizes), "beta")
        return RuleState(0, (torch.zeros_like(flatten_params(params)),))

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        (m,) = state.buffers
        beta = expand_per_player(per_player(self.beta, len(game.sizes), "beta"), game, theta)
        m = beta * m - self.eta(game, state.t, theta) * self.field(game)(theta)
        return theta + m, (m,)


class Adam(UpdateRule):
    r"""Adam (Kingma & Ba, 2015) applied to each player's own gradient.

    .. math::
        m_{t+1} = \beta_1 m_t + (1-\beta_1)\xi, \quad v_{t+1} = \beta_2 v_t + (1-\beta_2)\xi^2, \\
        \theta_{t+1} = \theta_t - D\,\frac{m_{t+1}/(1-\beta_1^{t+1})}{\sqrt{v_{t+1}/(1-\beta_2^{t+1})} + \epsilon}.

    The step is :func:`games.steps.adam_step`, the one the unrolled game's inner
    ``"adam"`` takes too (the two agree to the last bit).  Where the bias-corrected
    :math:`v` is below ``torch.finfo(dtype).tiny`` (a zero or tiny gradient, e.g. at an
    exact fixed point) the square root is taken of ``tiny`` instead: the value moves by
    at most :math:`\sqrt{\text{tiny}} \ll \epsilon`, and the step's derivative there
    (:func:`dynamics.linearize`) is finite instead of NaN.

    Parameters
    ----------
    lr : step size
    betas : (float, float)
        :math:`(\beta_1, \beta_2)` in [0, 1); :math:`\beta_1 = 0.5` is the common GAN setting.
    eps : float
    """

    scale_invariant = True

    def __init__(
        self, lr: StepSize, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        super().__init__(lr)
        if len(betas) != 2:
            raise ValueError(f"betas: expected two numbers (beta1, beta2), got {betas!r}")
        per_player(list(betas), 2, "betas", low=0.0, high=1.0)
        if not eps > 0:
            raise ValueError(f"eps: expected a number > 0, got {eps!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)

    def init(self, game: Game, params: Params) -> RuleState:
        self.check_game(game)
        zeros = torch.zeros_like(flatten_params(params))
        return RuleState(0, (zeros, zeros.clone()))

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        m, v = state.buffers
        xi = self.field(game)(theta)
        eta = self.eta(game, state.t, theta)
        theta, m, v = adam_step(theta, xi, m, v, state.t + 1, eta, self.betas, self.eps)
        return theta, (m, v)


class RMSProp(UpdateRule):
    r"""RMSProp (Tieleman & Hinton, 2012) per player.

    .. math:: v_{t+1} = \rho v_t + (1-\rho)\xi^2, \qquad \theta_{t+1} = \theta_t - D\,\xi / (\sqrt{v_{t+1}} + \epsilon).
    """

    scale_invariant = True

    def __init__(self, lr: StepSize, rho: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(lr)
        per_player(rho, 1, "rho", low=0.0, high=1.0)
        if not eps > 0:
            raise ValueError(f"eps: expected a number > 0, got {eps!r}")
        self.rho, self.eps = float(rho), float(eps)

    def init(self, game: Game, params: Params) -> RuleState:
        self.check_game(game)
        return RuleState(0, (torch.zeros_like(flatten_params(params)),))

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        (v,) = state.buffers
        xi = self.field(game)(theta)
        v = self.rho * v + (1 - self.rho) * xi * xi
        return theta - self.eta(game, state.t, theta) * xi / (torch.sqrt(v) + self.eps), (v,)


class Extragradient(UpdateRule):
    r"""Extragradient (Korpelevich, 1976; Gidel et al., 2019).

    .. math:: \theta_{t+1/2} = \theta_t - D\xi(\theta_t), \qquad \theta_{t+1} = \theta_t - D\xi(\theta_{t+1/2}).

    Linearisation: :math:`I - DJ + DJDJ` (with one step size, :math:`I - \eta J + \eta^2 J^2`).
    """

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        eta, field = self.eta(game, state.t, theta), self.field(game)
        half = theta - eta * field(theta)
        return theta - eta * field(half), ()


class OptimisticGD(UpdateRule):
    r"""Optimistic gradient descent (OGDA; Daskalakis et al., 2018).

    .. math:: \theta_{t+1} = \theta_t - 2D\xi(\theta_t) + D\xi(\theta_{t-1}),

    with :math:`\xi(\theta_{-1}) = \xi(\theta_0)` (the first step is plain GD).
    Linearisation in :math:`(\theta, g)`, :math:`g` the previous gradient:
    :math:`\begin{pmatrix} I - 2DJ & D \\ J & 0\end{pmatrix}`.
    """

    def init(self, game: Game, params: Params) -> RuleState:
        self.check_game(game)
        return RuleState(0, (self.field(game)(flatten_params(params)).detach(),))

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        (previous,) = state.buffers
        xi = self.field(game)(theta)
        eta = self.eta(game, state.t, theta)
        return theta - 2 * eta * xi + eta * previous, (xi,)


class ProximalPoint(UpdateRule):
    r"""The proximal point method: the implicit step :math:`\theta_{t+1} = \theta_t - D\xi(\theta_{t+1})`.

    Exact (one linear solve) on games with an affine field (``game.affine_field()``,
    e.g. :class:`games.Bilinear`, :class:`games.Quadratic`):
    :math:`(I + DM)\theta_{t+1} = \theta_t - Dv`.  Otherwise ``inner_steps`` fixed-point
    iterations :math:`\theta \leftarrow \theta_t - D\xi(\theta)` (a contraction when
    :math:`\eta L < 1`).  Linearisation: :math:`(I + DJ)^{-1}`.
    """

    def __init__(self, lr: StepSize, inner_steps: int = 50, exact: bool | None = None) -> None:
        super().__init__(lr)
        if isinstance(inner_steps, bool) or not isinstance(inner_steps, int) or inner_steps < 1:
            raise ValueError(f"inner_steps: expected a positive int, got {inner_steps!r}")
        self.inner_steps = inner_steps
        self.exact = exact

    def init(self, game: Game, params: Params) -> RuleState:
        if self.exact and not hasattr(game, "affine_field"):
            raise TypeError(
                f"exact: game {type(game).__name__} has no affine_field(); use exact=None or False"
            )
        return super().init(game, params)

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        eta = self.eta(game, state.t, theta)
        exact = hasattr(game, "affine_field") if self.exact is None else self.exact
        if exact:
            M, v = (t.to(theta) for t in game.affine_field())  # type: ignore[attr-defined]
            system = (
                torch.eye(M.shape[0], dtype=theta.dtype, device=theta.device) + eta[:, None] * M
            )
            return torch.linalg.solve(system, theta - eta * v), ()
        field, point = self.field(game), theta
        for _ in range(self.inner_steps):
            point = theta - eta * field(point)
        return point, ()


class BestResponseGD(UpdateRule):
    r"""One player plays a best response, the others take a gradient step against it.

    Each step: :math:`\theta_i \leftarrow \mathrm{BR}_i(\theta)` for the ``inner`` player, then
    :math:`\theta_{-i} \leftarrow \theta_{-i} - D_{-i}\,\xi_{-i}(\theta)` at the new
    :math:`\theta_i`.  With the discriminator inner this is the min–max order of
    Goodfellow et al. (2014) (training converges to the data); with the generator inner,
    the max–min order, whose generator jumps to the discriminator's favourite point
    (non-equilibrium mode collapse).

    Parameters
    ----------
    lr : step size (the inner player's entry is ignored)
    inner : int
        The player who best-responds.
    best_response : callable
        ``best_response(params) -> tensor``: the inner player's new flat parameters,
        e.g. :meth:`games.FunctionSpaceGAN.discriminator_best_response`.
    """

    def __init__(
        self, lr: StepSize, inner: int, best_response: Callable[[Params], torch.Tensor]
    ) -> None:
        super().__init__(lr)
        if isinstance(inner, bool) or not isinstance(inner, int) or inner < 0:
            raise ValueError(f"inner: expected a player index, got {inner!r}")
        if not callable(best_response):
            raise TypeError(
                f"best_response: expected a callable params -> tensor, got {type(best_response).__name__}"
            )
        self.inner, self.best_response = inner, best_response

    def init(self, game: Game, params: Params) -> RuleState:
        if self.inner >= len(game.sizes):
            raise ValueError(
                f"inner: player {self.inner} out of range for {len(game.sizes)} players"
            )
        return super().init(game, params)

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        sizes = list(game.sizes)
        parts = list(torch.split(theta, sizes))
        parts[self.inner] = self.best_response(tuple(parts)).to(theta)
        theta = torch.cat(parts)
        eta = self.eta(game, state.t, theta)
        lo = sum(sizes[: self.inner])
        mask = torch.ones_like(theta)
        mask[lo : lo + sizes[self.inner]] = 0.0
        return theta - mask * eta * self.field(game)(theta), ()
