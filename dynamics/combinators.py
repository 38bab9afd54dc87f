"""Combinators: update rules built from other rules.

:class:`Alternating` applies any rule to one player at a time (Gauss–Seidel), each
player with its own optimiser state; :class:`Projected` follows any rule with a
projection of the parameters (WGAN's weight clipping).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence

import torch

from games import Game, Params

from ._base import RuleState, StepSize, UpdateRule, alternating_plan, expand_per_player

__all__ = ["Alternating", "Projected"]


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


Bound = float | tuple[float, float] | None
"""One player's box: ``None`` (unconstrained), ``c`` (the box ``[-c, c]``) or ``(low, high)``."""

Projection = Callable[[Game, Params], Params]
"""A projection ``project(game, params) -> params`` (``torch.func``-composable)."""


class Projected(UpdateRule):
    r"""Any rule followed by a projection of the parameters, e.g. WGAN's weight clipping.

    .. math:: \theta_{t+1} = \Pi\big(\theta_t + \Delta_{\text{rule}}(\theta_t)\big),

    with :math:`\Pi` the Euclidean projection onto a box (each coordinate clipped to
    ``[low, high]``), or any projection you give.  Arjovsky et al. (2017, "Wasserstein
    GAN", Algorithm 1) clip the critic's weights to :math:`[-c, c]`, :math:`c = 0.01`,
    after every critic update (with RMSProp, :math:`\eta = 5\cdot10^{-5}`, five critic
    steps per generator step): ``Alternating(Projected(RMSProp(5e-5), {"discriminator":
    0.01}), repeats=(1, 5))``.  Inside :class:`Alternating` each player's one-player game
    keeps its player's name, so the projection follows every critic step; outside,
    ``Projected(Alternating(...), bounds)`` projects once per update.

    The rule's buffers are not projected.  The step stays a pure map of the flat
    parameters and buffers: :func:`dynamics.linearize` differentiates through the clip
    (derivative 1 inside the box, 0 on a clipped coordinate), so the linearisation
    is exact wherever no coordinate sits exactly on a bound.  A fixed point of the rule
    inside the box stays fixed; one outside is moved to the box.

    Parameters
    ----------
    rule : UpdateRule
        The update before the projection.
    bounds : sequence, mapping or callable
        A box per player: ``None`` (unconstrained), ``c >= 0`` (``[-c, c]``) or
        ``(low, high)`` with ``low <= high``; given as one entry per player, or as a
        mapping from player names to boxes (players not named are unconstrained).  Or a
        callable ``project(game, params) -> params`` (one flat tensor per player in and
        out, ``torch.func``-composable: ``torch.clamp``, ``torch.where``, norms).

    Examples
    --------
    >>> from games import DiracGAN, as_params
    >>> from dynamics import Projected, SimultaneousGD
    >>> game = DiracGAN("wgan")      # l_D = -psi theta: the critic's psi runs off
    >>> rule = Projected(SimultaneousGD(lr=0.5), {"discriminator": 0.01})
    >>> params = as_params(game, [[1.0], [0.0]])
    >>> rule.step(game, params, rule.init(game, params))[0]
    (tensor([1.], dtype=torch.float64), tensor([0.0100], dtype=torch.float64))
    """

    def __init__(
        self,
        rule: UpdateRule,
        bounds: Sequence[Bound] | Mapping[str, Bound] | Projection,
    ) -> None:
        if not isinstance(rule, UpdateRule):
            raise TypeError(f"rule: expected a dynamics.UpdateRule, got {type(rule).__name__}")
        self.rule = rule
        self.bounds: tuple[tuple[float, float], ...] | dict[str, tuple[float, float]] | None
        self.project: Projection | None
        if callable(bounds) and not isinstance(bounds, (Mapping, Sequence)):
            self.bounds, self.project = None, bounds
        elif isinstance(bounds, Mapping):
            self.bounds = {str(k): _box(v, f"bounds[{k!r}]") for k, v in bounds.items()}
            self.project = None
        elif isinstance(bounds, Sequence) and not isinstance(bounds, str):
            self.bounds = tuple(_box(v, f"bounds[{i}]") for i, v in enumerate(bounds))
            self.project = None
        else:
            raise TypeError(
                "bounds: expected one box per player (None, c or (low, high)), a mapping "
                "from player names to boxes, or a callable project(game, params) -> params; "
                f"got {type(bounds).__name__}"
            )
        self.needs_jvp = rule.needs_jvp
        self.scale_invariant = rule.scale_invariant
        self.preserves_fixed_points = rule.preserves_fixed_points

    @property
    def lr(self) -> StepSize:
        """The wrapped rule's step size (setting it sets a copy's: ``Alternating`` splits
        a per-player step size among copies of the rule)."""
        return self.rule.lr

    @lr.setter
    def lr(self, value: StepSize) -> None:
        self.rule = copy.copy(self.rule)
        self.rule.lr = value

    def step_sizes(self, game: Game, count: int) -> tuple[float, ...]:
        return self.rule.step_sizes(game, count)

    def _boxes(self, game: Game) -> tuple[tuple[float, float], ...]:
        count = len(game.sizes)
        if isinstance(self.bounds, dict):
            unknown = sorted(set(self.bounds) - set(game.players))
            if unknown and count > 1:  # one-player games are Alternating's, per player
                raise ValueError(
                    f"bounds: unknown players {unknown}, expected names among {list(game.players)}"
                )
            free = (-math.inf, math.inf)
            return tuple(self.bounds.get(name, free) for name in game.players)
        assert self.bounds is not None
        if len(self.bounds) != count:
            raise ValueError(
                f"bounds: expected one box per player ({count}), got {len(self.bounds)}"
            )
        return self.bounds

    def check_game(self, game: Game) -> None:
        super().check_game(game)
        if self.bounds is not None:
            self._boxes(game)

    def init(self, game: Game, params: Params) -> RuleState:
        self.check_game(game)
        return self.rule.init(game, params)

    def flat_step(
        self, game: Game, theta: torch.Tensor, state: RuleState
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        new, buffers = self.rule.flat_step(game, theta, state)
        if self.project is not None:
            parts = tuple(torch.split(new, list(game.sizes)))
            out = tuple(self.project(game, parts))
            if len(out) != len(parts) or any(
                not isinstance(o, torch.Tensor) or o.shape != p.shape for o, p in zip(out, parts)
            ):
                raise ValueError(
                    "bounds: the projection must return one tensor per player shaped like "
                    f"its input {[tuple(p.shape) for p in parts]}"
                )
            return torch.cat(out), buffers
        boxes = self._boxes(game)
        low = expand_per_player([b[0] for b in boxes], game, new)
        high = expand_per_player([b[1] for b in boxes], game, new)
        return torch.clamp(new, min=low, max=high), buffers


def _box(value: object, name: str) -> tuple[float, float]:
    """``None``, ``c`` or ``(low, high)`` as ``(low, high)``."""
    if value is None:
        return (-math.inf, math.inf)
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ValueError(f"{name}: expected (low, high), got {value!r}")
        low, high = (_real(v, name) for v in value)
        if not low <= high:
            raise ValueError(f"{name}: expected low <= high, got ({low:g}, {high:g})")
        return (low, high)
    c = _real(value, name)
    if not (math.isfinite(c) and c >= 0):
        raise ValueError(f"{name}: expected a bound c >= 0 (the box [-c, c]), got {value!r}")
    return (-c, c)


def _real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{name}: expected a number, got nan")
    return number
