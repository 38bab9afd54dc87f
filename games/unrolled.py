r"""The unrolled-GAN transformation (Metz et al. 2017) for any game.

``unrolled(game, K)`` is a new game in which the generator's loss is evaluated at the
discriminator's parameters after ``K`` differentiable steps of an inner rule,

.. math::

    \psi_0 = \psi, \qquad \psi_{k+1} = \psi_k - \eta\,\nabla_\psi \ell_D(\theta, \psi_k)
    \quad\text{(SGD; or Adam)}, \qquad
    \ell_G^{(K)}(\theta, \psi) = \ell_G(\theta, \psi_K(\theta, \psi)),

while the discriminator (and any other player) keeps its own loss.  Because the
unrolled game is a game like any other, its vector field, Jacobian and spectra — and so
the effect of unroll depth on stability — come from the generic machinery of
:mod:`games`.

Second order (the default) back-propagates through the inner steps:
:math:`\xi_G = \partial_\theta \ell_G + (\partial\psi_K/\partial\theta)^\top
\partial_\psi \ell_G`.  First order drops the second term,
:math:`\xi_G = \partial_1 \ell_G(\theta, \psi_K)`, which is not the gradient of any
loss; the game then supplies its field through a ``gradients`` method (still
differentiable, so its Jacobian is exact).

On the Dirac-GAN with :math:`f'(0) = c` (and on the x·y game, :math:`c = 1`) and inner
SGD with step :math:`\eta`, the Jacobian at the equilibrium is

.. math::

    J_K = \begin{pmatrix} m K \eta c^2 & c \\ -c & 0 \end{pmatrix}, \qquad
    m = 2 \text{ (second order)}, \; 1 \text{ (first order)},

so unrolling adds damping linear in ``K``: the eigenvalues are
:math:`\tfrac12\big(a \pm \sqrt{a^2 - 4c^2}\big)` with :math:`a = m K \eta c^2`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch

from ._protocol import Game, Params
from .autodiff import _checked_losses, _grad_of, _resolve_player, _transformed, _values_only
from .steps import adam_step, sgd_step
from .validation import as_nonnegative, choice

__all__ = ["FirstOrderUnrolledGame", "UnrolledGame", "unrolled"]

INNER_RULES = ("sgd", "adam")


def _one_loss(game: Game, params: Params, player: int) -> torch.Tensor:
    """``losses(params)[player]``, through the game's cheaper ``player_loss`` if it has one."""
    player_loss = getattr(game, "player_loss", None)
    if callable(player_loss):
        return player_loss(params, player)
    return _checked_losses(game, params)[player]


class _DiscriminatorGame:
    """The one-player game of the discriminator with everyone else frozen (inner loop)."""

    def __init__(self, base: Game, params: Params, index: int) -> None:
        self.base, self.params, self.index = base, params, index
        self.players = (base.players[index],)
        self.sizes = (base.sizes[index],)

    def losses(self, params: Params) -> tuple[torch.Tensor]:
        full = list(self.params)
        full[self.index] = params[0]
        return (_one_loss(self.base, tuple(full), self.index),)


class UnrolledGame:
    r"""A game whose generator looks ``steps`` discriminator updates ahead.

    Built by :func:`unrolled`; see there for the parameters.  ``players`` and ``sizes``
    are those of the base game.

    Attributes
    ----------
    base : Game
        The game that was unrolled.
    steps : int
        Unroll depth ``K``.
    first_order : bool
        Whether the gradient through the inner steps is dropped.
    """

    def __init__(
        self,
        base: Game,
        steps: int,
        *,
        lr: float | None,
        inner: str | Any,
        first_order: bool,
        generator: int,
        discriminator: int,
        betas: tuple[float, float],
        eps: float,
    ) -> None:
        self.base = base
        self.players = tuple(base.players)
        self.sizes = tuple(base.sizes)
        self.steps = steps
        self.lr = lr
        self.inner = inner
        self.first_order = first_order
        self.generator = generator
        self.discriminator = discriminator
        self.betas = betas
        self.eps = eps

    def __repr__(self) -> str:
        inner = self.inner if isinstance(self.inner, str) else repr(self.inner)
        return (
            f"unrolled({type(self.base).__name__}, steps={self.steps}, inner={inner}, "
            f"lr={self.lr}, first_order={self.first_order})"
        )

    # -- the inner loop -------------------------------------------------------------

    def unrolled_discriminator(self, params: Params) -> torch.Tensor:
        r"""The discriminator's parameters :math:`\psi_K(\theta, \psi)` after the inner
        steps, differentiable with respect to every player's parameters."""
        params = tuple(params)
        d = self.discriminator
        psi = params[d]
        if self.steps == 0:
            return psi

        def d_loss(value: torch.Tensor) -> torch.Tensor:
            full = list(params)
            full[d] = value
            return _one_loss(self.base, tuple(full), d)

        reuse = getattr(self.base, "reuse_generator_output", None)
        with reuse() if callable(reuse) else nullcontext():
            return self._inner_steps(params, psi, d_loss)

    def _inner_steps(
        self, params: Params, psi: torch.Tensor, d_loss: Callable[[torch.Tensor], torch.Tensor]
    ) -> torch.Tensor:
        d = self.discriminator
        if not isinstance(self.inner, str):
            if not _transformed() and not psi.requires_grad and not _values_only(params):
                # the rule's eager field is differentiable only in its argument: make
                # psi a fresh leaf so the graph to the other players' params is kept
                psi = psi.detach().requires_grad_(True)
            inner_game = _DiscriminatorGame(self.base, params, d)
            state = self.inner.init(inner_game, (psi,))
            current: Params = (psi,)
            for _ in range(self.steps):
                current, state = self.inner.step(inner_game, current, state)
            return current[0]
        assert self.lr is not None
        lr = self.lr
        if self.inner == "sgd":
            for _ in range(self.steps):
                psi = sgd_step(psi, _grad_of(d_loss, psi), lr)
            return psi
        # the moments start at zero at every evaluation (Metz et al.); the step is the
        # one dynamics.Adam takes (games.steps: v floored at tiny, a finite derivative at
        # an exact fixed point)
        m = torch.zeros_like(psi)
        v = torch.zeros_like(psi)
        for t in range(1, self.steps + 1):
            psi, m, v = adam_step(psi, _grad_of(d_loss, psi), m, v, t, lr, self.betas, self.eps)
        return psi

    # -- the Game protocol ------------------------------------------------------------

    def _batch(self) -> AbstractContextManager[None]:
        """One minibatch for every base-loss call of one evaluation (sampling-mode GANs)."""
        hold = getattr(self.base, "hold_batch", None)
        return hold() if callable(hold) else nullcontext()

    def losses(self, params: Params) -> tuple[torch.Tensor, ...]:
        """The base losses, the generator's evaluated at the unrolled discriminator.

        A base game with ``hold_batch`` (a sampling-mode :class:`ParameterizedGAN`) uses
        one minibatch for the inner steps and both losses of one evaluation.
        """
        with self._batch():
            return self._losses(tuple(params))

    def player_loss(self, params: Params, player: int) -> torch.Tensor:
        """``losses(params)[player]`` alone (the generator's skips the base losses at
        the current discriminator): used by rules that move one player at a time."""
        params = tuple(params)
        with self._batch():
            if player != self.generator or self.steps == 0:
                return _one_loss(self.base, params, player)
            ahead = list(params)
            psi_k = self.unrolled_discriminator(params)
            ahead[self.discriminator] = psi_k.detach() if self.first_order else psi_k
            value = _one_loss(self.base, tuple(ahead), player)
            return value.detach() if _values_only(params) else value

    def _losses(self, params: Params) -> tuple[torch.Tensor, ...]:
        base = _checked_losses(self.base, params)
        if self.steps == 0:
            return base
        g = self.generator
        ahead = list(params)
        psi_k = self.unrolled_discriminator(params)
        ahead[self.discriminator] = psi_k.detach() if self.first_order else psi_k
        out = list(base)
        out[g] = _one_loss(self.base, tuple(ahead), g)
        if _values_only(params):
            # values only: drop the graph the inner steps needed
            return tuple(value.detach() for value in out)
        return tuple(out)


class FirstOrderUnrolledGame(UnrolledGame):
    r"""First-order unrolling: :math:`\xi_G = \partial_1\ell_G(\theta, \psi_K(\theta,\psi))`.

    Supplies its field through :meth:`gradients` (it is not the gradient of any loss);
    :meth:`losses` gives the values :math:`\ell_G(\theta, \psi_K)`.
    """

    def gradients(self, params: Params) -> tuple[torch.Tensor, ...]:
        """Each player's update direction; the generator's holds ``psi_K`` fixed."""
        with self._batch():
            return self._gradients(tuple(params))

    def _gradients(self, params: Params) -> tuple[torch.Tensor, ...]:
        psi_k = self.unrolled_discriminator(params)
        g, d = self.generator, self.discriminator
        out = []
        for i, p in enumerate(params):
            # player i's loss as a function of its own block; the generator's at psi_K
            at = list(params)
            if i == g:
                at[d] = psi_k

            def own(value: torch.Tensor, at: list[torch.Tensor] = at, i: int = i) -> torch.Tensor:
                replaced = at.copy()
                replaced[i] = value
                return _one_loss(self.base, tuple(replaced), i)

            out.append(_grad_of(own, p))
        return tuple(out)


def unrolled(
    game: Game,
    steps: int,
    *,
    lr: float | None = None,
    inner: str | Any = "sgd",
    first_order: bool = False,
    generator: int | str = 0,
    discriminator: int | str = 1,
    betas: Sequence[float] = (0.5, 0.999),
    eps: float = 1e-8,
) -> UnrolledGame:
    r"""The unrolled game: the generator's loss after ``steps`` discriminator updates.

    Parameters
    ----------
    game : Game
        Any game with at least two players (neural GANs, the Dirac-GAN, bilinear and
        quadratic games).
    steps : int
        Unroll depth ``K >= 0``.  ``K = 0`` is the base game exactly (same losses,
        field and Jacobian).
    lr : float
        The inner step size :math:`\eta` (required for ``inner="sgd"`` or ``"adam"``).
    inner : {"sgd", "adam"} or update rule
        The inner rule on the discriminator: plain gradient descent, Adam (with
        ``betas``, ``eps``; the moments start at zero at every evaluation, as in Metz et
        al.), or any :mod:`dynamics` update rule object (``init``/``step``), e.g.
        ``dynamics.Momentum(lr=0.1, beta=0.5)``, applied to the discriminator alone.
    first_order : bool
        Drop the gradient through the inner steps (the generator's field is
        :math:`\partial_1\ell_G(\theta, \psi_K)` with :math:`\psi_K` held fixed).
    generator, discriminator : int or str
        Which player looks ahead and which is unrolled (index or name).
    betas : (float, float)
        Adam's moment decays (default ``(0.5, 0.999)``, the unrolled-GAN paper's).
    eps : float
        Adam's denominator constant.

    Returns
    -------
    UnrolledGame
        A game (``players``, ``sizes``, ``losses``; first order adds ``gradients``).

    Examples
    --------
    Unrolling damps the x·y game: :math:`J = [[2K\eta, 1], [-1, 0]]`.

    >>> from games import Bilinear, as_params, jacobian, unrolled
    >>> game = unrolled(Bilinear.xy(), 2, lr=0.25)
    >>> jacobian(game, as_params(game, [[0.0], [0.0]])).matrix
    tensor([[ 1.,  1.],
            [-1.,  0.]], dtype=torch.float64)
    """
    for attr in ("players", "sizes", "losses"):
        if not hasattr(game, attr):
            raise TypeError(
                f"game: expected a games.Game, got {type(game).__name__} without {attr!r}"
            )
    if len(game.sizes) < 2:
        raise ValueError(f"game: expected at least two players to unroll, got {len(game.sizes)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected an int >= 0 (the unroll depth K), got {steps!r}")
    players = tuple(game.players)
    g = _resolve_player(generator, players, "generator")
    d = _resolve_player(discriminator, players, "discriminator")
    if g == d:
        raise ValueError(
            f"generator, discriminator: expected two different players, got {players[g]!r} twice"
        )
    if isinstance(inner, str):
        inner = choice(inner, "inner", INNER_RULES)
        if steps > 0:
            if lr is None:
                raise ValueError(f"lr: expected the inner step size for inner={inner!r}, got None")
            lr = as_nonnegative(lr, "lr")
    elif not (callable(getattr(inner, "init", None)) and callable(getattr(inner, "step", None))):
        raise TypeError(
            f"inner: expected 'sgd', 'adam' or an update rule with init/step, "
            f"got {type(inner).__name__}"
        )
    elif lr is not None:
        raise ValueError("lr: the inner update rule carries its own step size; pass lr=None")
    if len(tuple(betas)) != 2 or not all(0.0 <= float(b) < 1.0 for b in betas):
        raise ValueError(f"betas: expected two numbers in [0, 1), got {tuple(betas)}")
    eps = as_nonnegative(eps, "eps")
    if not isinstance(first_order, bool):
        raise TypeError(f"first_order: expected a bool, got {type(first_order).__name__}")
    cls = FirstOrderUnrolledGame if first_order and steps > 0 else UnrolledGame
    return cls(
        game,
        steps,
        lr=lr,
        inner=inner,
        first_order=first_order,
        generator=g,
        discriminator=d,
        betas=(float(betas[0]), float(betas[1])),
        eps=eps,
    )
