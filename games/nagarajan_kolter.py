r"""The gradient regulariser of Nagarajan & Kolter (2017) as a transformation of any game.

``nagarajan_kolter(game, eta)`` is a new game in which the generator's loss is
penalised by the squared norm of the discriminator's gradient,

.. math::

    \ell_G^{\mathrm{NK}}(\theta, \psi) = \ell_G(\theta, \psi)
        + \eta\,\big\|\nabla_\psi \ell_D(\theta, \psi)\big\|^2,

while the discriminator (and any other player) keeps its own loss (Nagarajan & Kolter,
2017, "Gradient descent GAN optimization is locally stable", eq. 5: the generator
descends :math:`V + \eta\|\nabla_D V\|^2`; with :math:`\ell_D = -V` the two norms are
equal).  The penalty is computed by autodiff and differentiated again for the field
(second order), and once more for the Jacobian.

The penalty's gradient :math:`2\eta\,(\partial_\theta\nabla_\psi\ell_D)^\top\nabla_\psi\ell_D`
vanishes wherever :math:`\nabla_\psi \ell_D = 0`, so every fixed point of the base game
is one of the regularised game; there the generator's block of the Jacobian gains
:math:`2\eta\,J_{D G}^\top J_{D G}` (:math:`J_{DG} = \partial_\theta\nabla_\psi\ell_D`).  On
the Dirac-GAN, :math:`J_{DG} = -f'(0)` and

.. math::

    J^{\mathrm{NK}} = \begin{pmatrix} 2\eta f'(0)^2 & f'(0) \\ -f'(0) & 0 \end{pmatrix},

eigenvalues :math:`\eta f'(0)^2 \pm \sqrt{\eta^2 f'(0)^4 - f'(0)^2}`: a damped rotation
for every :math:`\eta > 0`, where the unregularised game has :math:`\pm i f'(0)`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import sympy as sp
import torch

from ._protocol import Game, Params
from .autodiff import _checked_losses, _grad_of, _resolve_player, _values_only
from .symbolic import SymbolicGame, exact
from .validation import as_nonnegative

__all__ = ["NagarajanKolterGame", "nagarajan_kolter"]


class NagarajanKolterGame:
    r"""A game whose generator's loss carries :math:`\eta\|\nabla_\psi\ell_D\|^2`.

    Built by :func:`nagarajan_kolter`; see there for the parameters.  ``players`` and
    ``sizes`` are those of the base game; ``equilibrium()`` (when the base game has
    one) is the base game's, a fixed point of this game too.

    Attributes
    ----------
    base : Game
        The regularised game.
    eta : float
        The weight :math:`\eta`.
    generator, discriminator : int
        The penalised player and the player whose gradient is penalised.
    """

    def __init__(self, base: Game, eta: float, generator: int, discriminator: int) -> None:
        self.base = base
        self.players: tuple[str, ...] = tuple(base.players)
        self.sizes: tuple[int, ...] = tuple(base.sizes)
        self.eta = eta
        self.generator = generator
        self.discriminator = discriminator
        equilibrium = getattr(base, "equilibrium", None)
        if callable(equilibrium):
            self.equilibrium = equilibrium

    def __repr__(self) -> str:
        return f"nagarajan_kolter({type(self.base).__name__}, eta={self.eta})"

    def _batch(self) -> AbstractContextManager[None]:
        """One minibatch for every base-loss call of one evaluation (sampling-mode GANs)."""
        hold = getattr(self.base, "hold_batch", None)
        return hold() if callable(hold) else nullcontext()

    def discriminator_gradient(self, params: Params) -> torch.Tensor:
        r""":math:`\nabla_\psi \ell_D`, differentiable with respect to every player's parameters.

        The base game's own ``gradients`` block where it supplies its field that way.
        """
        params = tuple(params)
        d = self.discriminator
        gradients = getattr(self.base, "gradients", None)
        if callable(gradients):
            return gradients(params)[d]

        def d_loss(value: torch.Tensor) -> torch.Tensor:
            full = list(params)
            full[d] = value
            player_loss = getattr(self.base, "player_loss", None)
            if callable(player_loss):
                return player_loss(tuple(full), d)
            return _checked_losses(self.base, tuple(full))[d]

        return _grad_of(d_loss, params[d])

    def penalty(self, params: Params) -> torch.Tensor:
        r""":math:`\eta\|\nabla_\psi\ell_D\|^2` at ``params``."""
        g = self.discriminator_gradient(params)
        return self.eta * (g * g).sum()

    def losses(self, params: Params) -> tuple[torch.Tensor, ...]:
        """The base losses, the generator's plus the penalty."""
        params = tuple(params)
        with self._batch():
            out = list(_checked_losses(self.base, params))
            out[self.generator] = out[self.generator] + self.penalty(params)
        if _values_only(params):
            return tuple(value.detach() for value in out)
        return tuple(out)

    def player_loss(self, params: Params, player: int) -> torch.Tensor:
        """``losses(params)[player]`` alone (used by rules that move one player at a time)."""
        params = tuple(params)
        with self._batch():
            player_loss = getattr(self.base, "player_loss", None)
            if callable(player_loss):
                value = player_loss(params, player)
            else:
                value = _checked_losses(self.base, params)[player]
            if player == self.generator:
                value = value + self.penalty(params)
        return value.detach() if _values_only(params) else value

    def symbolic(self) -> SymbolicGame:
        """The exact twin, from the base game's (``base.symbolic()``)."""
        twin = getattr(self.base, "symbolic", None)
        if not callable(twin):
            raise TypeError(f"symbolic: the base game {type(self.base).__name__} has no twin")
        base: SymbolicGame = twin()
        d = self.discriminator
        gradient = [sp.diff(base.loss_exprs[d], s) for s in base.symbols[d]]
        losses = list(base.loss_exprs)
        losses[self.generator] = losses[self.generator] + exact(self.eta) * sp.Add(
            *[g**2 for g in gradient]
        )
        return SymbolicGame(base.symbols, losses, players=base.players)


def nagarajan_kolter(
    game: Game,
    eta: float,
    *,
    generator: int | str = 0,
    discriminator: int | str = 1,
) -> NagarajanKolterGame:
    r"""The Nagarajan–Kolter gradient regulariser: :math:`\ell_G + \eta\|\nabla_\psi\ell_D\|^2`.

    Nagarajan & Kolter (2017), "Gradient descent GAN optimization is locally stable"
    (NeurIPS), eq. 5: the generator descends the value plus :math:`\eta` times the squared
    norm of the discriminator's gradient, which damps the rotation of the simultaneous
    dynamics near an equilibrium (their Theorem 3.1 and section 4).

    Parameters
    ----------
    game : Game
        Any game with at least two players whose losses are differentiable twice (the
        regularised field needs second derivatives, its Jacobian third).
    eta : float
        The weight :math:`\eta \ge 0` (``0`` is the base game).
    generator, discriminator : int or str
        The penalised player and the player whose gradient is penalised (index or name).

    Returns
    -------
    NagarajanKolterGame
        A game (``players``, ``sizes``, ``losses``, ``player_loss``; ``equilibrium`` and
        ``symbolic`` where the base game has them).

    Examples
    --------
    On the Dirac-GAN, :math:`J = [[2\eta f'(0)^2, f'(0)], [-f'(0), 0]]` with
    :math:`f'(0) = 1/2`:

    >>> from games import DiracGAN, jacobian, nagarajan_kolter
    >>> game = nagarajan_kolter(DiracGAN(), 0.5)
    >>> jacobian(game, game.equilibrium()).eigenvalues()
    tensor([0.1250-0.4841j, 0.1250+0.4841j], dtype=torch.complex128)
    """
    for attr in ("players", "sizes", "losses"):
        if not hasattr(game, attr):
            raise TypeError(
                f"game: expected a games.Game, got {type(game).__name__} without {attr!r}"
            )
    if len(game.sizes) < 2:
        raise ValueError(f"game: expected at least two players, got {len(game.sizes)}")
    if getattr(game, "differentiable_twice", True) is False:
        raise TypeError(
            f"game: the regulariser differentiates the field of {type(game).__name__}, which "
            "declares differentiable_twice = False"
        )
    eta = as_nonnegative(eta, "eta")
    players = tuple(game.players)
    g = _resolve_player(generator, players, "generator")
    d = _resolve_player(discriminator, players, "discriminator")
    if g == d:
        raise ValueError(
            f"generator, discriminator: expected two different players, got {players[g]!r} twice"
        )
    return NagarajanKolterGame(game, eta, g, d)
