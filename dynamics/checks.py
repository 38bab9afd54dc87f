"""The contract every update rule must satisfy: :func:`check_update_rule`."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from games import Game, flatten_params, random_params, vector_field

from ._base import RuleState, UpdateRule

__all__ = ["check_update_rule"]


def check_update_rule(
    rule: UpdateRule,
    games: Sequence[Game],
    *,
    seed: int = 0,
    fixed_points: Sequence[Sequence[torch.Tensor] | None] | None = None,
    atol: float = 1e-10,
) -> None:
    """Run the rule contract on each game and raise ``AssertionError`` naming what fails.

    Checks: the step is pure (same input, same output, inputs untouched); params keep
    their shapes, dtype and device (float64 and float32); the state keeps its
    structure; a fixed point (``game.equilibrium()`` or the given one, where the field
    is zero) stays fixed.  For scale-invariant rules (Adam, RMSProp), only points where
    the field is exactly zero are used: a round-off residual is a full step for them.
    """
    if not isinstance(rule, UpdateRule):
        raise TypeError(f"rule: expected a dynamics.UpdateRule, got {type(rule).__name__}")
    for k, game in enumerate(games):
        label = f"{type(rule).__name__} on {type(game).__name__}"
        for dtype in (torch.float64, torch.float32):
            params = random_params(game, seed=seed, scale=0.3, dtype=dtype)
            copies = tuple(p.clone() for p in params)
            state = rule.init(game, params)
            out1, state1 = rule.step(game, params, state)
            out2, state2 = rule.step(game, params, state)
            if not all(torch.equal(a, b) for a, b in zip(params, copies)):
                raise AssertionError(f"check_update_rule: {label} modified its input params")
            if not all(torch.equal(a, b) for a, b in zip(out1, out2)):
                raise AssertionError(
                    f"check_update_rule: {label} is not pure (two steps from one input differ)"
                )
            if not all(torch.equal(a, b) for a, b in zip(state1.buffers, state2.buffers)):
                raise AssertionError(f"check_update_rule: {label} state is not pure")
            for i, (a, p) in enumerate(zip(out1, params)):
                if a.shape != p.shape or a.dtype != p.dtype or a.device != p.device:
                    raise AssertionError(
                        f"check_update_rule: {label} changed params[{i}] from {tuple(p.shape)}/{p.dtype} "
                        f"to {tuple(a.shape)}/{a.dtype}"
                    )
            if (
                not isinstance(state1, RuleState)
                or len(state1.buffers) != len(state.buffers)
                or state1.t != state.t + 1
            ):
                raise AssertionError(
                    f"check_update_rule: {label} returned a state of another structure"
                )
        point = None if fixed_points is None else fixed_points[k]
        if point is None and hasattr(game, "equilibrium"):
            point = game.equilibrium()
        if point is None or not rule.preserves_fixed_points:
            continue
        point = tuple(p.to(torch.float64) for p in point)
        residual = float(flatten_params(vector_field(game, point)).abs().max())
        if residual > 1e-12:
            raise AssertionError(
                f"check_update_rule: the given fixed point of {type(game).__name__} is not a zero of the field"
            )
        if residual > 0 and rule.scale_invariant:
            # Adam/RMSProp normalise the gradient: a round-off residual of 1e-16 is a
            # full-size step for them, so only exact zeros can be asked to stay fixed.
            continue
        state = rule.init(game, point)
        moved = point
        for _ in range(3):
            moved, state = rule.step(game, moved, state)
        drift = float((flatten_params(moved) - flatten_params(point)).abs().max())
        if drift > atol:
            raise AssertionError(
                f"check_update_rule: {label} moved off a fixed point by {drift:.3e}"
            )
