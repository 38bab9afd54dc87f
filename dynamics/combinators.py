"""Combinators: update rules built from other rules.

:class:`Alternating` applies any rule to one player at a time (Gauss–Seidel), each
player with its own optimiser state.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch

from games import Game, Params

from ._base import RuleState, UpdateRule, alternating_plan

__all__ = ["Alternating"]


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
        return alternating_plan(game, self.order, self.repeats)

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
