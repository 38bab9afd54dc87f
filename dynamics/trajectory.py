r"""Running a rule: trajectories (single and batched over initial points) and the flow.

``run`` iterates a rule's step map and records parameters, losses and :math:`|\xi|`; it
stops early, with a report of where, when anything becomes NaN/Inf or exceeds a bound.
``run_batched`` vectorises the step over many initial points with ``torch.func.vmap``.
``flow`` integrates :math:`\dot\theta = -\xi(\theta)` (or a rule's continuous-time limit)
with ``scipy.integrate.solve_ivp``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.integrate import solve_ivp
from torch.func import vjp as func_vjp
from torch.func import vmap

from games import Game, Params, field_function, flatten_params, unflatten_params, validate_params
from games.autodiff import quiet_jit_deprecation

from ._base import RuleState, UpdateRule, expand_per_player, per_player

__all__ = ["Divergence", "FlowResult", "Trajectory", "flow", "run", "run_batched"]


def _pair(
    result: tuple[object, ...],
) -> tuple[torch.Tensor, Callable[..., tuple[torch.Tensor, ...]]]:
    """(value, pullback) of ``torch.func.vjp`` (typed)."""
    return result[0], result[1]  # type: ignore[return-value]


@dataclass(frozen=True)
class Divergence:
    """Where a run stopped: the step, the reason and the last finite values."""

    step: int
    reason: str
    last_good: tuple[float, ...]

    def __str__(self) -> str:
        return f"diverged at step {self.step}: {self.reason}"


@dataclass
class Trajectory:
    r"""A recorded run.

    Attributes
    ----------
    params : torch.Tensor
        Shape ``(T + 1, n)``: the flat parameters at steps 0..T (``record_every`` apart).
    steps : numpy.ndarray
        The step index of each recorded row.
    losses : torch.Tensor
        Shape ``(T + 1, players)``.
    field_norm : torch.Tensor
        :math:`|\xi|` at each recorded row.
    final : tuple of torch.Tensor
        The last good parameters (per player).
    state : RuleState
        The rule's state after the last good step.
    divergence : Divergence or None
        Set when the run stopped early.
    """

    params: torch.Tensor
    steps: np.ndarray
    losses: torch.Tensor
    field_norm: torch.Tensor
    final: Params
    state: RuleState
    divergence: Divergence | None = None
    callbacks: list[Any] = field(default_factory=list)

    @property
    def diverged(self) -> bool:
        """True when the run stopped early."""
        return self.divergence is not None

    def norms(self, center: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        r"""Distance :math:`|\theta_t - \theta^*|` of every recorded point (to 0 by default)."""
        ref = (
            torch.zeros_like(self.params[0])
            if center is None
            else flatten_params(center).to(self.params)
        )
        return torch.linalg.vector_norm(self.params - ref, dim=1)

    def player(self, game: Game, i: int) -> torch.Tensor:
        """Player ``i``'s parameters over time, shape ``(T + 1, sizes[i])``."""
        start = sum(game.sizes[:i])
        return self.params[:, start : start + game.sizes[i]]


def _check_positive_int(value: object, name: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        raise ValueError(
            f"{name}: expected a {'non-negative' if allow_zero else 'positive'} int, got {value!r}"
        )
    return value


def run(
    game: Game,
    rule: UpdateRule,
    params0: Sequence[torch.Tensor],
    steps: int,
    *,
    record_every: int = 1,
    callback: Callable[[int, Params, RuleState], Any] | None = None,
    callback_every: int = 1,
    max_norm: float = 1e12,
) -> Trajectory:
    r"""Iterate ``rule`` on ``game`` from ``params0`` for ``steps`` steps.

    Parameters
    ----------
    game : Game
    rule : UpdateRule
    params0 : tuple of torch.Tensor
    steps : int
    record_every : int
        Record parameters, losses and :math:`|\xi|` every this many steps (and the last).
    callback : callable, optional
        ``callback(step, params, state)`` every ``callback_every`` steps; its return
        values are collected in ``Trajectory.callbacks``.
    max_norm : float
        A step whose parameters' norm exceeds this counts as divergence.

    Returns
    -------
    Trajectory
        Stopped early (``divergence`` set, the last good parameters kept) when the
        parameters or losses become NaN/Inf or exceed ``max_norm``.
    """
    if not isinstance(rule, UpdateRule):
        raise TypeError(f"rule: expected a dynamics.UpdateRule, got {type(rule).__name__}")
    params = validate_params(game, params0, name="params0")
    steps = _check_positive_int(steps, "steps", allow_zero=True)
    record_every = _check_positive_int(record_every, "record_every")
    callback_every = _check_positive_int(callback_every, "callback_every")
    if not max_norm > 0:
        raise ValueError(f"max_norm: expected a positive number, got {max_norm!r}")
    params = tuple(p.detach() for p in params)
    state = rule.init(game, params)
    field = field_function(game)

    rows, losses, norms, at = [], [], [], []
    outputs: list[Any] = []

    def losses_at(p: Params) -> torch.Tensor:
        return torch.stack([v.detach().reshape(()) for v in game.losses(p)])

    def record(t: int, p: Params, step_losses: torch.Tensor | None = None) -> None:
        theta = flatten_params(p)
        rows.append(theta)
        losses.append(losses_at(p) if step_losses is None else step_losses)
        norms.append(torch.linalg.vector_norm(field(theta)).detach())
        at.append(t)

    record(0, params)
    divergence = None
    for t in range(1, steps + 1):
        new_params, new_state = rule.step(game, params, state)
        new_params = tuple(p.detach() for p in new_params)
        theta = flatten_params(new_params)
        norm = float(torch.linalg.vector_norm(theta))
        bad = not math.isfinite(norm) or norm > max_norm
        step_losses = None
        if not bad:
            step_losses = losses_at(new_params)  # checked here, recorded below: computed once
            bad = not bool(torch.isfinite(step_losses).all())
            reason = "a loss became NaN/Inf" if bad else ""
        else:
            reason = (
                "parameters became NaN/Inf"
                if not math.isfinite(norm)
                else f"|theta| = {norm:.3g} exceeded max_norm = {max_norm:.3g}"
            )
        if bad:
            divergence = Divergence(t, reason, tuple(float(v) for v in flatten_params(params)[:8]))
            break
        params, state = (
            new_params,
            RuleState(
                new_state.t,
                tuple(b.detach() for b in new_state.buffers),
                tuple(e.detach() for e in new_state.extra),
            ),
        )
        if t % record_every == 0 or t == steps:
            record(t, params, step_losses)
        if callback is not None and t % callback_every == 0:
            outputs.append(callback(t, params, state))
    if divergence is not None and at[-1] != divergence.step - 1:
        record(divergence.step - 1, params)
    return Trajectory(
        params=torch.stack(rows),
        steps=np.asarray(at),
        losses=torch.stack(losses),
        field_norm=torch.stack(norms),
        final=params,
        state=state,
        divergence=divergence,
        callbacks=outputs,
    )


def run_batched(game: Game, rule: UpdateRule, thetas0: torch.Tensor, steps: int) -> torch.Tensor:
    """Run ``rule`` from many initial points at once (``torch.func.vmap`` over the step).

    Parameters
    ----------
    game : Game
    rule : UpdateRule
    thetas0 : torch.Tensor
        Shape ``(batch, n)``: flat initial points.
    steps : int

    Returns
    -------
    torch.Tensor
        Shape ``(steps + 1, batch, n)``.  Points that diverge become NaN/Inf and stay
        so (no early stop in a batch; check with ``torch.isfinite``).
    """
    n = sum(game.sizes)
    if not isinstance(thetas0, torch.Tensor) or thetas0.dim() != 2 or thetas0.shape[1] != n:
        raise ValueError(
            f"thetas0: expected a (batch, {n}) tensor of flat initial points, got {getattr(thetas0, 'shape', type(thetas0).__name__)}"
        )
    steps = _check_positive_int(steps, "steps", allow_zero=True)
    state0 = rule.init(game, unflatten_params(game, thetas0[0].detach()))
    buffers = tuple(
        vmap(lambda t, j=j: rule.init(game, unflatten_params(game, t)).buffers[j])(thetas0)
        for j in range(len(state0.buffers))
    )
    out = [thetas0.detach()]
    theta = thetas0.detach()
    for t in range(steps):

        def one(th: torch.Tensor, *bufs: torch.Tensor, t: int = t) -> tuple[torch.Tensor, ...]:
            new, new_bufs = rule.flat_step(game, th, RuleState(t, tuple(bufs)))
            return (new, *new_bufs)

        result = vmap(one)(theta, *buffers)
        theta, buffers = result[0].detach(), tuple(b.detach() for b in result[1:])
        out.append(theta)
    return torch.stack(out)


@dataclass(frozen=True)
class FlowResult:
    """A solution of the continuous-time dynamics: times ``t`` and points ``theta`` (T, n)."""

    t: np.ndarray
    theta: np.ndarray
    success: bool
    message: str


_LIMITS = ("gd", "consensus", "sga")


def flow(
    game: Game,
    params0: Sequence[torch.Tensor],
    t_span: tuple[float, float],
    *,
    t_eval: Sequence[float] | np.ndarray | None = None,
    rule: str = "gd",
    gamma: float = 1.0,
    timescales: Sequence[float] | None = None,
    method: str = "DOP853",
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> FlowResult:
    r"""Integrate a continuous-time limit of the dynamics with ``scipy.integrate.solve_ivp``.

    ``rule='gd'``: :math:`\dot\theta = -T\xi(\theta)`; ``'consensus'``:
    :math:`\dot\theta = -T(\xi + \gamma J^\top\xi)`; ``'sga'``:
    :math:`\dot\theta = -T(\xi + \gamma A^\top\xi)` (fixed :math:`\lambda = \gamma`), with
    :math:`T = \mathrm{diag}(\text{timescales})` (ones by default).  Computed in float64.

    Examples
    --------
    >>> from games import Bilinear, as_params
    >>> from dynamics import flow
    >>> sol = flow(Bilinear.xy(), as_params(Bilinear.xy(), [[1.0], [0.0]]), (0.0, 3.14159265))
    >>> [round(float(v), 6) + 0.0 for v in sol.theta[-1]]
    [-1.0, 0.0]
    """
    params = validate_params(game, params0, name="params0")
    if rule not in _LIMITS:
        raise ValueError(f"rule: expected one of {_LIMITS}, got {rule!r}")
    if len(t_span) != 2 or not all(math.isfinite(float(v)) for v in t_span):
        raise ValueError(f"t_span: expected (t0, t1) finite, got {t_span!r}")
    theta0 = flatten_params(params).detach().to(torch.float64)
    field = field_function(game)
    scales = torch.ones_like(theta0)
    if timescales is not None:
        scales = expand_per_player(
            per_player(timescales, len(game.sizes), "timescales", low=0.0), game, theta0
        )

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        theta = torch.from_numpy(y)
        if rule == "gd":
            direction = field(theta)
        else:
            xi, pullback = _pair(func_vjp(field, theta))
            (jt_xi,) = pullback(xi)
            if rule == "consensus":
                direction = xi + gamma * jt_xi
            else:
                with quiet_jit_deprecation():
                    j_xi = torch.func.jvp(field, (theta,), (xi,))[1]
                direction = xi + gamma * 0.5 * (jt_xi - j_xi)
        return (-(scales * direction)).detach().numpy()

    sol = solve_ivp(
        rhs,
        (float(t_span[0]), float(t_span[1])),
        theta0.numpy(),
        method=method,
        t_eval=None if t_eval is None else np.asarray(t_eval, dtype=float),
        rtol=rtol,
        atol=atol,
    )
    return FlowResult(t=sol.t, theta=sol.y.T, success=bool(sol.success), message=str(sol.message))
