r"""The classic game-optimisation rules as pure step maps.

Notation: :math:`\xi` is the simultaneous gradient, :math:`J` its Jacobian,
:math:`D = \mathrm{diag}(\eta)` the per-player step sizes expanded to every parameter.
Every player minimises its own loss, so gradient descent is :math:`\theta - D\xi`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch.func import jvp as _torch_jvp
from torch.func import vjp as func_vjp

from games import Game, Params, field_function, flatten_params

from ._base import RuleState, StepSize, UpdateRule, expand_per_player, per_player

__all__ = [
    "CGD",
    "LOLA",
    "SGA",
    "Adam",
    "Alternating",
    "AlternatingGD",
    "BestResponseGD",
    "Consensus",
    "Extragradient",
    "LookAhead",
    "Momentum",
    "OptimisticGD",
    "ProximalPoint",
    "RMSProp",
    "SimultaneousGD",
    "conjugate_gradient",
]


def func_jvp(
    fn: Callable[[torch.Tensor], torch.Tensor],
    primals: tuple[torch.Tensor],
    tangents: tuple[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.func.jvp`` with the tangent cast back to the primal's dtype (forward-mode AD
    in torch 2.13 can promote tangents of 0-d scalars to float64)."""
    result = _torch_jvp(fn, primals, tangents)
    return result[0], result[1].to(primals[0].dtype)


def _pair(
    result: tuple[object, ...],
) -> tuple[torch.Tensor, Callable[..., tuple[torch.Tensor, ...]]]:
    """(value, pullback) of ``torch.func.vjp`` (typed)."""
    return result[0], result[1]  # type: ignore[return-value]


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
        return theta - self.eta(game, state.t, theta) * self.field(game)(theta), ()


def _alternating_plan(
    game: Game, order: Sequence[int] | None, repeats: int | Sequence[int]
) -> tuple[list[int], tuple[int, ...]]:
    """The sequence of players moved in one alternating update, and steps per player."""
    count = len(game.sizes)
    order = tuple(range(count))[::-1] if order is None else tuple(order)
    if sorted(order) != list(range(count)):
        raise ValueError(
            f"order: expected a permutation of the players 0..{count - 1}, got {order}"
        )
    steps = per_player(repeats, count, "repeats", low=1)
    if any(r != int(r) for r in steps):
        raise ValueError(f"repeats: expected whole numbers of steps, got {steps}")
    return [i for i in order for _ in range(int(steps[i]))], tuple(int(r) for r in steps)


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
        return _alternating_plan(game, self.order, self.repeats)[0]

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
        b1, b2 = self.betas
        xi = self.field(game)(theta)
        m = b1 * m + (1 - b1) * xi
        v = b2 * v + (1 - b2) * xi * xi
        t = state.t + 1
        update = (m / (1 - b1**t)) / (torch.sqrt(v / (1 - b2**t)) + self.eps)
        return theta - self.eta(game, state.t, theta) * update, (m, v)


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


class Consensus(UpdateRule):
    r"""Consensus optimisation (Mescheder et al., 2017).

    .. math:: \theta_{t+1} = \theta_t - D\left(\xi + \gamma J^\top\xi\right), \qquad J^\top\xi = \nabla\tfrac12|\xi|^2,

    with :math:`J^\top\xi` from one vector-Jacobian product (matrix-free).
    Linearisation at a fixed point: :math:`I - D(J + \gamma J^\top J)`.
    """

    needs_jvp = True

    def __init__(self, lr: StepSize, gamma: float = 1.0) -> None:
        super().__init__(lr)
        per_player(gamma, 1, "gamma", low=0.0)
        self.gamma = float(gamma)

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        xi, pullback = _pair(func_vjp(self.field(game), theta))
        (jt_xi,) = pullback(xi)
        return theta - self.eta(game, state.t, theta) * (xi + self.gamma * jt_xi), ()


class SGA(UpdateRule):
    r"""Symplectic gradient adjustment (Balduzzi et al., 2018; Letcher et al., 2019).

    .. math:: \theta_{t+1} = \theta_t - D(\xi + \lambda A^\top\xi), \qquad A^\top\xi = \tfrac12(J^\top\xi - J\xi),

    with one JVP and one VJP per step.  With ``align=True`` the sign of :math:`\lambda` follows
    the alignment rule :math:`\lambda = \lambda_0\,\mathrm{sign}\big(\tfrac1d\langle\xi,\nabla H\rangle
    \langle A^\top\xi, \nabla H\rangle + \epsilon\big)`, :math:`\nabla H = J^\top\xi`.
    """

    needs_jvp = True

    def __init__(
        self, lr: StepSize, lam: float = 1.0, align: bool = True, eps: float = 0.1
    ) -> None:
        super().__init__(lr)
        per_player(lam, 1, "lam", low=0.0)
        self.lam, self.align, self.eps = float(lam), bool(align), float(eps)

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        field = self.field(game)
        xi, pullback = _pair(func_vjp(field, theta))
        (jt_xi,) = pullback(xi)
        j_xi = func_jvp(field, (theta,), (xi,))[1]
        at_xi = 0.5 * (jt_xi - j_xi)
        lam = torch.as_tensor(self.lam, dtype=theta.dtype, device=theta.device)
        if self.align:
            d = theta.shape[-1]
            lam = lam * torch.sign((xi @ jt_xi) * (at_xi @ jt_xi) / d + self.eps)
        return theta - self.eta(game, state.t, theta) * (xi + lam * at_xi), ()


def _block_products(game: Game) -> tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], ...]:
    """Matrix-free J_xy w and J_yx v of a two-player game, by JVPs of the field."""
    field = UpdateRule.field(game)
    nx = game.sizes[0]

    def j_xy(theta: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        tangent = torch.cat([torch.zeros_like(theta[:nx]), w])
        return func_jvp(field, (theta,), (tangent,))[1][:nx]

    def j_yx(theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        tangent = torch.cat([v, torch.zeros_like(theta[nx:])])
        return func_jvp(field, (theta,), (tangent,))[1][nx:]

    def j_xy_t(theta: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return func_vjp(field, theta)[1](torch.cat([u, torch.zeros_like(theta[nx:])]))[0][nx:]

    def j_yx_t(theta: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return func_vjp(field, theta)[1](torch.cat([torch.zeros_like(theta[:nx]), u]))[0][:nx]

    return j_xy, j_yx, j_xy_t, j_yx_t


def _safe_divide(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    # branch-free: 0/0 -> 0 (converged CG), vmap-safe
    return num / torch.where(den == 0, torch.ones_like(den), den)


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor], rhs: torch.Tensor, iterations: int
) -> torch.Tensor:
    """Solve ``A x = rhs`` for symmetric positive definite ``A`` (matrix-free, fixed iterations).

    Branch-free, so it composes with ``vmap`` and differentiation; a converged residual
    stays converged (0/0 is taken as 0).
    """
    x = torch.zeros_like(rhs)
    r = rhs.clone()
    p = r.clone()
    rr = r @ r
    for _ in range(iterations):
        ap = matvec(p)
        alpha = _safe_divide(rr, p @ ap)
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = r @ r
        p = r + _safe_divide(rr_new, rr) * p
        rr = rr_new
    return x


class CGD(UpdateRule):
    r"""Competitive gradient descent (Schäfer & Anandkumar, 2019), two players, matrix-free.

    .. math::
        \Delta x = -\eta_x (I - \eta_x\eta_y J_{xy}J_{yx})^{-1}(\xi_x - \eta_y J_{xy}\xi_y), \\
        \Delta y = -\eta_y (I - \eta_x\eta_y J_{yx}J_{xy})^{-1}(\xi_y - \eta_x J_{yx}\xi_x),

    with :math:`J_{xy} = \partial\xi_x/\partial y`, :math:`J_{yx} = \partial\xi_y/\partial x`
    applied by Jacobian-vector products and the systems solved by conjugate gradient on
    the normal equations (``solver='cgnr'``, any game) or plain conjugate gradient
    (``solver='cg'``, zero-sum games, where the matrix is symmetric positive definite);
    these never form a dense matrix.  ``solver='dense'`` builds the two off-diagonal
    blocks once per step (one batched forward-mode pass) and solves exactly with LU;
    ``solver='auto'`` (the default) is ``'dense'`` for games of at most
    :attr:`dense_max` parameters, where it is many times faster than a dozen separate
    Jacobian-vector products per step, and ``'cgnr'`` above.  On bilinear games CGD
    coincides with the proximal point method.  ``iterations`` CG steps are run (default
    ``min(size, 100)``: exact for players of up to 100 parameters).
    """

    needs_jvp = True
    dense_max = 256
    """``solver='auto'`` solves densely up to this many parameters (both players)."""

    def __init__(self, lr: StepSize, solver: str = "auto", iterations: int | None = None) -> None:
        super().__init__(lr)
        if solver not in ("auto", "dense", "cg", "cgnr"):
            raise ValueError(f"solver: expected 'auto', 'dense', 'cg' or 'cgnr', got {solver!r}")
        if iterations is not None and (
            isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1
        ):
            raise ValueError(f"iterations: expected a positive int, got {iterations!r}")
        self.solver, self.iterations = solver, iterations

    def check_game(self, game: Game) -> None:
        super().check_game(game)
        if len(game.sizes) != 2:
            raise ValueError(f"game: CGD is defined for two players, got {len(game.sizes)}")

    def _solve(
        self,
        apply: Callable[[torch.Tensor], torch.Tensor],
        apply_t: Callable[[torch.Tensor], torch.Tensor],
        rhs: torch.Tensor,
    ) -> torch.Tensor:
        iterations = self.iterations or min(rhs.shape[-1], 100)

        def solve(b: torch.Tensor) -> torch.Tensor:
            if self.solver == "cg":
                return conjugate_gradient(apply, b, iterations)
            return conjugate_gradient(lambda v: apply_t(apply(v)), apply_t(b), iterations)

        # CG's coefficients are 0/0 at b = 0, where autodiff then sees a zero derivative
        # (a fixed point is exactly where linearize differentiates).  The solution is
        # linear in b, so solve(b) = solve(b + s) - solve(s) for a fixed s != 0, and both
        # solves are away from the degenerate point.
        shift = torch.ones_like(rhs)
        return solve(rhs + shift) - solve(shift)

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        ex, ey = self.step_sizes(game, state.t)
        nx = game.sizes[0]
        dense = self.solver == "dense" or (
            self.solver == "auto" and theta.numel() <= self.dense_max
        )
        if dense:
            return self._dense_step(game, theta, ex, ey), ()
        xi = self.field(game)(theta)
        xi_x, xi_y = xi[:nx], xi[nx:]
        j_xy, j_yx, j_xy_t, j_yx_t = _block_products(game)

        def mx(v: torch.Tensor) -> torch.Tensor:
            return v - ex * ey * j_xy(theta, j_yx(theta, v))

        def mx_t(v: torch.Tensor) -> torch.Tensor:
            return v - ex * ey * j_yx_t(theta, j_xy_t(theta, v))

        def my(v: torch.Tensor) -> torch.Tensor:
            return v - ex * ey * j_yx(theta, j_xy(theta, v))

        def my_t(v: torch.Tensor) -> torch.Tensor:
            return v - ex * ey * j_xy_t(theta, j_yx_t(theta, v))

        dx = -ex * self._solve(mx, mx_t, xi_x - ey * j_xy(theta, xi_y))
        dy = -ey * self._solve(my, my_t, xi_y - ex * j_yx(theta, xi_x))
        return theta + torch.cat([dx, dy]), ()

    def _dense_step(
        self, game: Game, theta: torch.Tensor, ex: torch.Tensor | float, ey: torch.Tensor | float
    ) -> torch.Tensor:
        """The same update with the off-diagonal blocks formed once and an exact solve."""
        nx, n = game.sizes[0], theta.numel()
        field = self.field(game)
        basis = torch.eye(n, dtype=theta.dtype, device=theta.device)
        # column k of J: one forward-mode pass per basis vector, batched by vmap; xi comes
        # out of the same pass
        xi_rows, columns = torch.func.vmap(
            lambda v: func_jvp(field, (theta,), (v,)), out_dims=(0, 1)
        )(basis)
        xi = xi_rows[0]
        xi_x, xi_y = xi[:nx], xi[nx:]
        j_xy, j_yx = columns[:nx, nx:], columns[nx:, :nx]
        eye_x = torch.eye(nx, dtype=theta.dtype, device=theta.device)
        eye_y = torch.eye(n - nx, dtype=theta.dtype, device=theta.device)
        dx = -ex * torch.linalg.solve(eye_x - ex * ey * (j_xy @ j_yx), xi_x - ey * (j_xy @ xi_y))
        dy = -ey * torch.linalg.solve(eye_y - ex * ey * (j_yx @ j_xy), xi_y - ex * (j_yx @ xi_x))
        return theta + torch.cat([dx, dy])


class LookAhead(UpdateRule):
    r"""Look-ahead (Zhang & Lesser, 2010; Letcher et al., 2019): each player anticipates the others' step.

    .. math:: \theta_{t+1} = \theta_t - D(\xi - \alpha H_o\xi),

    where :math:`H_o` is the off-diagonal block part of :math:`J`
    (:math:`(H_o\xi)_i = \sum_{j\ne i} J_{ij}\xi_j`), from one JVP per player.
    """

    needs_jvp = True

    def __init__(self, lr: StepSize, alpha: float = 0.1) -> None:
        super().__init__(lr)
        per_player(alpha, 1, "alpha", low=0.0)
        self.alpha = float(alpha)

    def _adjustment(self, game: Game, theta: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        field = self.field(game)
        starts = [sum(game.sizes[:i]) for i in range(len(game.sizes))]
        own = torch.zeros_like(xi)
        for i, size in enumerate(game.sizes):
            lo, hi = starts[i], starts[i] + size
            tangent = torch.cat([torch.zeros_like(xi[:lo]), xi[lo:hi], torch.zeros_like(xi[hi:])])
            # J applied to player i's block alone: subtract its own (diagonal) part
            own = own + torch.cat(
                [
                    torch.zeros_like(xi[:lo]),
                    func_jvp(field, (theta,), (tangent,))[1][lo:hi],
                    torch.zeros_like(xi[hi:]),
                ]
            )
        full = func_jvp(field, (theta,), (xi,))[1]
        return full - own

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        xi = self.field(game)(theta)
        direction = xi - self.alpha * self._adjustment(game, theta, xi)
        return theta - self.eta(game, state.t, theta) * direction, ()


class LOLA(LookAhead):
    r"""Learning with opponent-learning awareness (Foerster et al., 2018), in the form of Letcher et al. (2019).

    .. math:: \theta_{t+1} = \theta_t - D\left(\xi - \alpha H_o\xi - \alpha\,\mathrm{diag}(H_o^\top\nabla L)\right),

    where the shaping term of player ``i`` is :math:`\sum_{j\ne i} J_{ji}^\top\nabla_{\theta_j}\ell_i`
    (how ``i`` changes ``j``'s step, times how that step changes ``i``'s loss): one VJP per
    player.  LOLA does not preserve fixed points of general-sum games (the shaping term
    need not vanish where :math:`\xi = 0`; Letcher et al. 2019's SOS corrects this): in
    zero-sum games it does.
    """

    preserves_fixed_points = False

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        field = self.field(game)
        xi, pullback = _pair(func_vjp(field, theta))
        sizes = list(game.sizes)
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        shaping = []
        for i, size in enumerate(sizes):
            lo, hi = starts[i], starts[i] + size
            # gradient of player i's loss with respect to everybody's parameters
            full_grad = torch.func.grad(
                lambda t, i=i: game.losses(tuple(torch.split(t, sizes)))[i]
            )(theta)
            cotangent = torch.cat(
                [full_grad[:lo], torch.zeros_like(full_grad[lo:hi]), full_grad[hi:]]
            )
            shaping.append(pullback(cotangent)[0][lo:hi])
        direction = (
            xi - self.alpha * self._adjustment(game, theta, xi) - self.alpha * torch.cat(shaping)
        )
        return theta - self.eta(game, state.t, theta) * direction, ()


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


class _PlayerGame:
    """Player ``index`` alone, every other player frozen at ``params`` (a one-player game)."""

    def __init__(self, game: Game, params: Params, index: int) -> None:
        self.game, self.params, self.index = game, params, index
        self.players: tuple[str, ...] = (game.players[index],)
        self.sizes: tuple[int, ...] = (game.sizes[index],)
        if callable(getattr(game, "gradients", None)):
            self.gradients = self._gradients

    def _full(self, own: Params) -> Params:
        full = list(self.params)
        full[self.index] = own[0]
        return tuple(full)

    def losses(self, params: Params) -> tuple[torch.Tensor]:
        player_loss = getattr(self.game, "player_loss", None)
        if callable(player_loss):  # a game that can compute one player's loss alone
            return (player_loss(self._full(params), self.index),)
        return (self.game.losses(self._full(params))[self.index],)

    def _gradients(self, params: Params) -> tuple[torch.Tensor]:
        return (self.game.gradients(self._full(params))[self.index],)  # type: ignore[attr-defined]


class Alternating(UpdateRule):
    r"""Any rule applied to one player at a time (Gauss–Seidel), ``repeats[i]`` steps each.

    The usual way GANs are trained: ``Alternating(Adam(lr=1e-4, betas=(0.5, 0.999)),
    repeats=(1, k))`` takes ``k`` Adam steps on the discriminator, then one on the
    generator, each player with its own optimiser state (its own moments and step count,
    so Adam's bias correction counts that player's steps).  :class:`AlternatingGD` is
    ``Alternating(SimultaneousGD(lr))``.

    Parameters
    ----------
    rules : UpdateRule or sequence of UpdateRule
        One rule for every player (a per-player ``lr`` sequence is split among them), or
        one rule per player.
    order : sequence of int, optional
        Order of the players (default: last first, i.e. the discriminator of a
        (generator, discriminator) game).
    repeats : int or sequence of int
        Steps per player per update.

    Examples
    --------
    >>> from games import Bilinear, as_params
    >>> from dynamics import Alternating, SimultaneousGD
    >>> game, rule = Bilinear.xy(), Alternating(SimultaneousGD(lr=0.5))
    >>> params = as_params(game, [[1.0], [0.0]])
    >>> rule.step(game, params, rule.init(game, params))[0]  # y first, then x at the new y
    (tensor([0.7500], dtype=torch.float64), tensor([0.5000], dtype=torch.float64))
    """

    def __init__(
        self,
        rules: UpdateRule | Sequence[UpdateRule],
        order: Sequence[int] | None = None,
        repeats: int | Sequence[int] = 1,
    ) -> None:
        if isinstance(rules, UpdateRule):
            self.rules: UpdateRule | tuple[UpdateRule, ...] = rules
        elif isinstance(rules, Sequence) and all(isinstance(r, UpdateRule) for r in rules):
            self.rules = tuple(rules)
        else:
            raise TypeError(
                f"rules: expected an UpdateRule or one UpdateRule per player, got {rules!r}"
            )
        self.lr = 0.0
        self.order = None if order is None else tuple(int(i) for i in order)
        self.repeats = repeats
        self.needs_jvp = any(r.needs_jvp for r in self._all())
        self.scale_invariant = any(r.scale_invariant for r in self._all())

    def _all(self) -> tuple[UpdateRule, ...]:
        return self.rules if isinstance(self.rules, tuple) else (self.rules,)

    def _per_player(self, game: Game) -> tuple[UpdateRule, ...]:
        count = len(game.sizes)
        if isinstance(self.rules, tuple):
            if len(self.rules) != count:
                raise ValueError(
                    f"rules: expected one rule per player ({count}), got {len(self.rules)}"
                )
            return self.rules
        rule, lr = self.rules, self.rules.lr
        if isinstance(lr, Sequence) and not isinstance(lr, str):
            if len(lr) != count:
                raise ValueError(f"rules.lr: expected one step size per player ({count}), got {lr}")
            out = []
            for value in lr:
                clone = copy.copy(rule)
                clone.lr = value
                out.append(clone)
            return tuple(out)
        return (rule,) * count

    def _plan(self, game: Game) -> tuple[list[int], tuple[int, ...]]:
        return _alternating_plan(game, self.order, self.repeats)

    def init(self, game: Game, params: Params) -> RuleState:
        self.check_game(game)
        self._plan(game)
        buffers: list[torch.Tensor] = []
        counts = []
        for i, rule in enumerate(self._per_player(game)):
            sub = rule.init(_PlayerGame(game, params, i), (params[i],))
            counts.append(len(sub.buffers))
            buffers.extend(sub.buffers)
        self._counts = tuple(counts)  # buffers per player (fixed by the rules' types)
        return RuleState(0, tuple(buffers))

    def step(self, game: Game, params: Params, state: RuleState) -> tuple[Params, RuleState]:
        plan, repeats = self._plan(game)
        rules = self._per_player(game)
        # each player's buffers, in player order, and its own step count
        counts = getattr(self, "_counts", None)
        if counts is None or len(counts) != len(rules):
            counts = tuple(
                len(r.init(_PlayerGame(game, params, i), (params[i],)).buffers)
                for i, r in enumerate(rules)
            )
            self._counts = counts
        starts = [sum(counts[:i]) for i in range(len(counts))]
        subs = [
            RuleState(state.t * repeats[i], tuple(state.buffers[starts[i] : starts[i] + counts[i]]))
            for i in range(len(rules))
        ]
        current = list(params)
        for i in plan:
            (new,), subs[i] = rules[i].step(
                _PlayerGame(game, tuple(current), i), (current[i],), subs[i]
            )
            current[i] = new
        buffers = tuple(b for sub in subs for b in sub.buffers)
        return tuple(current), RuleState(state.t + 1, buffers)
