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

    **Who moves first.**  By default the *last* player moves first: in a (generator,
    discriminator) game the discriminator steps at the current generator, then the
    generator steps against the discriminator's new parameters (Goodfellow et al.,
    2014, Algorithm 1).  ``order=(0, 1)`` moves the generator (player 0) first.

    The step is a pure map of the flat parameters and the buffers (:meth:`flat_step`),
    so :func:`dynamics.linearize`, :func:`dynamics.run_batched` and
    :func:`analyses.stability_region` apply to it.  The state has as many buffers as the
    player's rule with the most, each a flat vector over *all* parameters (player ``i``'s
    buffers on its own slice, zeros where a player's rule has fewer): for one rule on
    every player the state has that rule's layout, e.g. ``(m,)`` for
    ``Alternating(Momentum(...))``.

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
    >>> from dynamics import Alternating, Momentum, SimultaneousGD, linearize
    >>> game, rule = Bilinear.xy(), Alternating(SimultaneousGD(lr=0.5))
    >>> params = as_params(game, [[1.0], [0.0]])
    >>> rule.step(game, params, rule.init(game, params))[0]  # y first, then x at the new y
    (tensor([0.7500], dtype=torch.float64), tensor([0.5000], dtype=torch.float64))

    Alternating negative momentum on x·y (Gidel et al., 2019), y first:

    >>> rule = Alternating(Momentum(0.5, beta=-0.5))
    >>> round(linearize(rule, game, game.equilibrium()).spectral_radius, 6)
    0.962544
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
        self.preserves_fixed_points = all(r.preserves_fixed_points for r in self._all())

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

    def _sub_states(self, game: Game, params: Params) -> list[RuleState]:
        """Each player's own initial state, from its rule on its one-player game."""
        return [
            rule.init(_PlayerGame(game, params, i), (params[i],))
            for i, rule in enumerate(self._per_player(game))
        ]

    def check_game(self, game: Game) -> None:
        super().check_game(game)
        self._plan(game)
        self._per_player(game)

    def init(self, game: Game, params: Params) -> RuleState:
        """Every player's rule's initial state, merged (nothing is stored on the rule)."""
        self.check_game(game)
        subs = self._sub_states(game, params)
        return RuleState(0, _merge(game, [s.buffers for s in subs], params[0]))

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        plan, repeats = self._plan(game)
        rules = self._per_player(game)
        sizes = list(game.sizes)
        current = list(torch.split(theta, sizes))
        # how many buffers each player's rule keeps (a structural fact of the rules: their
        # own init at the current values, outside any derivative)
        frozen = tuple(p.detach() for p in current)
        with torch.no_grad():
            counts = [len(s.buffers) for s in self._sub_states(game, frozen)]
        own = _split(game, state.buffers, counts)
        steps_taken = [0] * len(rules)
        for i in plan:
            sub = RuleState(state.t * repeats[i] + steps_taken[i], own[i])
            current[i], own[i] = rules[i].flat_step(
                _PlayerGame(game, tuple(current), i), current[i], sub
            )
            steps_taken[i] += 1
        return torch.cat(current), _merge(game, own, theta)


def _merge(
    game: Game, per_player: Sequence[Sequence[torch.Tensor]], like: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """Per-player buffers as full-length flat buffers (zeros where a player has fewer)."""
    slots = max((len(b) for b in per_player), default=0)
    return tuple(
        torch.cat(
            [
                b[j] if j < len(b) else torch.zeros(size, dtype=like.dtype, device=like.device)
                for b, size in zip(per_player, game.sizes)
            ]
        )
        for j in range(slots)
    )


def _split(
    game: Game, buffers: Sequence[torch.Tensor], counts: Sequence[int]
) -> list[tuple[torch.Tensor, ...]]:
    """Full-length buffers cut into each player's own.  Also reads the per-player layout
    (``sum(counts)`` buffers, player by player, each of the player's size) that earlier
    versions kept, e.g. in a trainer checkpoint: the next state has the full-length one."""
    sizes, n = list(game.sizes), sum(game.sizes)
    if len(buffers) == max(counts, default=0) and all(tuple(b.shape) == (n,) for b in buffers):
        parts = [torch.split(b, sizes) for b in buffers]
        return [tuple(parts[j][i] for j in range(counts[i])) for i in range(len(sizes))]
    if len(buffers) == sum(counts):
        out, at = [], 0
        for i, c in enumerate(counts):
            chunk = tuple(buffers[at : at + c])
            if any(tuple(b.shape) != (sizes[i],) for b in chunk):
                break
            out.append(chunk)
            at += c
        else:
            return out
    raise ValueError(
        f"state: expected {max(counts, default=0)} buffers of shape ({n},) (the players' "
        f"rules keep {list(counts)}), got {[tuple(b.shape) for b in buffers]}"
    )
