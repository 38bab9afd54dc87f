"""The :class:`UpdateRule` interface, its state, and per-player step sizes.

A rule is a pair of pure functions, ``init(game, params) -> state`` and
``step(game, params, state) -> (params, state)``, written with ``torch.func``-composable
operations only (no data-dependent Python branching), so a step can be differentiated
(``linearize``), vectorised over initial points (``vmap``) and run on any device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch

from games import Game, Params, field_function, flatten_params, unflatten_params

__all__ = ["RuleState", "StepSize", "UpdateRule"]

StepSize = float | Sequence[float] | Callable[[int], float | Sequence[float]]
"""A step size: one number for all players, one per player, or a schedule ``t -> either``."""


class RuleState(NamedTuple):
    """A rule's state: the step index ``t``, the rule's buffers (flat tensors of size n)
    and ``extra``, data a rule carries between eager steps (CGD's warm starts).

    Only ``buffers`` are dynamic variables of the step map (``linearize`` differentiates
    with respect to them); ``t`` drives schedules and bias corrections.  ``extra`` only
    speeds up the next step (it never changes its result beyond a solver's tolerance)
    and is not saved in checkpoints: a resumed run starts without it.
    """

    t: int
    buffers: tuple[torch.Tensor, ...]
    extra: tuple[torch.Tensor, ...] = ()


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = float(value)
        else:
            raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return number


def per_player(
    value: object, count: int, name: str, *, low: float | None = None, high: float | None = None
) -> tuple[float, ...]:
    """One number per player from a scalar or a sequence, checked to lie in [low, high)."""
    if (
        isinstance(value, (int, float, torch.Tensor))
        and not isinstance(value, bool)
        and (not isinstance(value, torch.Tensor) or value.numel() == 1)
    ):
        values = (_number(value, name),) * count
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != count:
            raise ValueError(f"{name}: expected one value per player ({count}), got {len(value)}")
        values = tuple(_number(v, f"{name}[{i}]") for i, v in enumerate(value))
    else:
        raise TypeError(
            f"{name}: expected a number or one number per player, got {type(value).__name__}"
        )
    for i, v in enumerate(values):
        if low is not None and v < low:
            raise ValueError(f"{name}: expected values >= {low}, got {v} (player {i})")
        if high is not None and v >= high:
            raise ValueError(f"{name}: expected values < {high}, got {v} (player {i})")
    return values


def check_step_size(lr: StepSize, name: str = "lr") -> None:
    """Reject an invalid constant step size at construction (schedules are checked per step)."""
    if callable(lr):
        return
    if isinstance(lr, Sequence) and not isinstance(lr, str):
        for i, v in enumerate(lr):
            if _number(v, f"{name}[{i}]") < 0:
                raise ValueError(f"{name}[{i}]: expected a step size >= 0, got {v}")
        return
    if _number(lr, name) < 0:
        raise ValueError(f"{name}: expected a step size >= 0, got {lr}")


class UpdateRule:
    """Base class of the update rules: per-player step sizes and the game's field.

    Subclasses implement :meth:`init` and :meth:`step`.  Each works on every game
    (params a tuple of flat tensors) and keeps params' shapes, dtype and device.

    Attributes
    ----------
    needs_jvp : bool
        True when the rule uses Jacobian-vector products of the field (such rules
        refuse games that declare ``differentiable_twice = False``).
    scale_invariant : bool
        True when the step normalises the gradient (Adam, RMSProp).
    preserves_fixed_points : bool
        False for rules whose step can move off a zero of the field (LOLA in
        general-sum games).
    """

    needs_jvp: bool = False
    scale_invariant: bool = False
    preserves_fixed_points: bool = True

    def __init__(self, lr: StepSize) -> None:
        check_step_size(lr)
        self.lr = lr

    # -- helpers shared by the rules -------------------------------------------------

    def step_sizes(self, game: Game, count: int) -> tuple[float, ...]:
        """The per-player step sizes at step ``count`` (schedules evaluated)."""
        value = self.lr(count) if callable(self.lr) else self.lr
        return per_player(
            value, len(game.sizes), "lr" if not callable(self.lr) else f"lr({count})", low=0.0
        )

    def eta(self, game: Game, count: int, like: torch.Tensor) -> torch.Tensor:
        """The step sizes expanded to a flat vector (one entry per parameter)."""
        return expand_per_player(self.step_sizes(game, count), game, like)

    def check_game(self, game: Game) -> None:
        """Refuse games this rule cannot run on, with a clear error."""
        for attr in ("players", "sizes", "losses"):
            if not hasattr(game, attr):
                raise TypeError(
                    f"game: expected a games.Game, got {type(game).__name__} without {attr!r}"
                )
        if self.needs_jvp and getattr(game, "differentiable_twice", True) is False:
            raise TypeError(
                f"{type(self).__name__} needs Jacobian-vector products of the vector field, but "
                f"game {type(game).__name__} declares differentiable_twice = False"
            )

    @staticmethod
    def field(game: Game) -> Callable[[torch.Tensor], torch.Tensor]:
        """The flat field ``theta -> xi(theta)`` (``torch.func``-composable)."""
        return field_function(game)

    # -- the interface ---------------------------------------------------------------

    def init(self, game: Game, params: Params) -> RuleState:
        """The initial state at ``params``."""
        self.check_game(game)
        return RuleState(0, ())

    def step(self, game: Game, params: Params, state: RuleState) -> tuple[Params, RuleState]:
        """One update: new params and state."""
        theta = flatten_params(params)
        new_theta, buffers = self.flat_step(game, theta, state)
        return unflatten_params(game, new_theta), RuleState(state.t + 1, buffers)

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """The update on the flat vector: ``(theta', buffers')``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


def expand_per_player(values: Sequence[float], game: Game, like: torch.Tensor) -> torch.Tensor:
    """Per-player numbers expanded to a flat vector shaped like ``theta``."""
    return torch.cat(
        [
            torch.full((size,), float(v), dtype=like.dtype, device=like.device)
            for v, size in zip(values, game.sizes)
        ]
    )


def alternating_plan(
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
