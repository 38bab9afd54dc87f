"""The vector field of any game, by autodiff: the simultaneous gradient and its helpers.

All functions work on any object following the :class:`games.Game` protocol.  The
simultaneous gradient is ``xi(theta) = (d l_1/d theta_1, ..., d l_n/d theta_n)``; params
are a tuple of flat tensors, ``theta`` their concatenation.  Jacobians of the field
(dense, matrix-free, products) are in :mod:`games.jacobians`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch._C._functorch import peek_interpreter_stack
from torch.func import grad as torch_grad
from torch.func import vjp as _func_vjp

from ._protocol import Game, Params, validate_params

__all__ = [
    "field_function",
    "flatten_params",
    "quiet_jit_deprecation",
    "unflatten_params",
    "vector_field",
]


@contextlib.contextmanager
def quiet_jit_deprecation() -> Iterator[None]:
    """Silence torch's "``torch.jit.script`` is deprecated" warning inside the block only.

    torch's forward-mode AD imports ``torch._decomp.decompositions_for_jvp`` on its first
    use, and that import scripts functions with ``torch.jit.script``, which warns
    (``FutureWarning`` or ``DeprecationWarning`` by torch version) in user code that never
    asked for TorchScript.  gamedyn wraps its forward-mode calls in this context manager
    (``warnings.catch_warnings``: the process's filters are restored on exit); every
    other warning still reaches the user.
    """
    with warnings.catch_warnings():
        for category in (FutureWarning, DeprecationWarning):
            warnings.filterwarnings(
                "ignore", message=r".*torch\.jit\.script.* is deprecated", category=category
            )
        yield


def _transformed() -> bool:
    """True inside a :mod:`torch.func` transform (``grad``, ``jvp``, ``vmap``, ...).

    Eager code takes the faster plain-autograd paths; inside a transform only
    ``torch.func``-composable operations are allowed.  torch has no public query for
    this: ``peek_interpreter_stack`` (functorch's stack of active transforms) is the one
    private torch API of the package, and this is its only caller.
    """
    return peek_interpreter_stack() is not None


def flatten_params(params: Sequence[torch.Tensor]) -> torch.Tensor:
    """Concatenate a params tuple into one flat vector ``theta``."""
    return torch.cat([p.reshape(-1) for p in params])


def unflatten_params(game: Game, theta: torch.Tensor) -> Params:
    """Split a flat vector ``theta`` into one view per player (no copy)."""
    if theta.dim() != 1 or theta.numel() != sum(game.sizes):
        raise ValueError(
            f"theta: expected a 1-D tensor of {sum(game.sizes)} values "
            f"(sizes {game.sizes}), got shape {tuple(theta.shape)}"
        )
    return tuple(torch.split(theta, list(game.sizes)))


def _player_views(theta: torch.Tensor, sizes: Sequence[int]) -> tuple[torch.Tensor, ...]:
    """One view of ``theta`` per player, each its own autograd node.

    ``torch.split``'s views share one backward node, so a backward pass asked for one
    player's block also runs every path to the other blocks (and throws the result away).
    With a node per view, ``autograd.grad(..., views[i])`` prunes those paths: a player's
    own gradient, or one off-diagonal block product, costs only its own part.
    """
    return tuple(part.view_as(part) for part in torch.split(theta, list(sizes)))


def _checked_losses(game: Game, params: Params) -> tuple[torch.Tensor, ...]:
    losses = tuple(game.losses(params))
    if len(losses) != len(game.sizes):
        raise ValueError(
            f"{type(game).__name__}.losses returned {len(losses)} values, "
            f"expected one per player ({len(game.sizes)})"
        )
    for i, value in enumerate(losses):
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise ValueError(
                f"{type(game).__name__}.losses: loss {i} ({game.players[i]}) must be a "
                f"scalar tensor, got {type(value).__name__} "
                f"{tuple(getattr(value, 'shape', ()))}"
            )
    return tuple(v.reshape(()) for v in losses)


def _custom_gradients(game: Game) -> Callable[[Params], Sequence[torch.Tensor]] | None:
    """The game's own ``gradients(params)`` method, if it supplies its field directly.

    A game whose update directions are not the gradients of its losses (e.g. the
    first-order unrolled GAN, :func:`games.unrolled`) defines
    ``gradients(params) -> tuple`` (one block per player, differentiable with both
    :mod:`torch.autograd` and :mod:`torch.func`); every generic function then uses it
    in place of differentiating ``losses``.
    """
    method = getattr(game, "gradients", None)
    return method if callable(method) else None


def _checked_gradients(game: Game, params: Params) -> tuple[torch.Tensor, ...]:
    method = _custom_gradients(game)
    assert method is not None
    parts = tuple(method(params))
    if len(parts) != len(params) or any(
        not isinstance(g, torch.Tensor) or g.shape != p.shape for g, p in zip(parts, params)
    ):
        raise ValueError(
            f"{type(game).__name__}.gradients: expected one tensor per player shaped like "
            f"params {[tuple(p.shape) for p in params]}, got "
            f"{[tuple(getattr(g, 'shape', ())) for g in parts]}"
        )
    return parts


def _field_from_losses_func(game: Game, params: Params) -> tuple[torch.Tensor, ...]:
    """xi with one shared forward pass and one VJP per player (composable with torch.func)."""
    if _custom_gradients(game) is not None:
        return _checked_gradients(game, params)
    n = len(params)
    traced = _func_vjp(lambda *p: _checked_losses(game, p), *params)
    losses, pullback = traced[0], traced[1]
    parts = []
    for i in range(n):
        cotangent = tuple(
            torch.ones_like(loss) if j == i else torch.zeros_like(loss)
            for j, loss in enumerate(losses)
        )
        parts.append(pullback(cotangent)[i])
    return tuple(parts)


def field_function(
    game: Game, player: int | str | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The game's vector field as a pure function of the flat vector ``theta``.

    With ``player=i``, only player ``i``'s block :math:`\\nabla_{\\theta_i}\\ell_i(\\theta)`
    (only that loss is differentiated).

    The returned function composes with :mod:`torch.func` transforms (``jacrev``,
    ``jvp``, ``vmap``), so it is what Jacobians and update-rule linearisations build on.
    It does not validate its input.

    Examples
    --------
    >>> import torch
    >>> from games import Bilinear, field_function
    >>> xi = field_function(Bilinear.xy())
    >>> xi(torch.tensor([1.0, 2.0], dtype=torch.float64))
    tensor([ 2., -1.], dtype=torch.float64)
    """

    if player is not None:
        return _player_gradient_function(
            game, _resolve_player(player, tuple(game.players), "player")
        )

    sizes = list(game.sizes)

    def xi(theta: torch.Tensor) -> torch.Tensor:
        if not _transformed():
            return _eager_field(game, theta)
        return torch.cat(_field_from_losses_func(game, tuple(torch.split(theta, sizes))))

    return xi


def _eager_field(game: Game, theta: torch.Tensor) -> torch.Tensor:
    """The flat field by plain autograd (no functorch dispatch, so cheaper than the
    torch.func form), used when no torch.func transform is active.  The result is
    differentiable when ``theta`` requires grad (and grad mode is on), detached otherwise:
    a plain gradient under ``torch.no_grad`` or on a detached ``theta``."""
    graph = torch.is_grad_enabled() and theta.requires_grad
    leaf = theta if theta.requires_grad else theta.detach().requires_grad_(True)
    with torch.enable_grad():
        parts = _autograd_field(game, _player_views(leaf, game.sizes), create_graph=graph)
    out = torch.cat(parts)
    return out if graph else out.detach()


def _player_gradient_function(game: Game, i: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """theta -> grad_{theta_i} l_i(theta): only player i's loss is differentiated."""
    sizes = list(game.sizes)
    if _custom_gradients(game) is not None:

        def block(theta: torch.Tensor) -> torch.Tensor:
            return _checked_gradients(game, tuple(torch.split(theta, sizes)))[i]

        return block

    def gradient(theta: torch.Tensor) -> torch.Tensor:
        parts = list(torch.split(theta, sizes))

        def own_loss(own: torch.Tensor) -> torch.Tensor:
            replaced = parts.copy()
            replaced[i] = own
            return _checked_losses(game, tuple(replaced))[i]

        return torch_grad(own_loss)(parts[i])

    return gradient


def vector_field(
    game: Game, params: Sequence[torch.Tensor], *, create_graph: bool = False
) -> Params:
    r"""The simultaneous gradient :math:`\xi(\theta) = (\nabla_{\theta_i} \ell_i)_i`.

    Parameters
    ----------
    game : Game
    params : tuple of torch.Tensor
        One flat 1-D tensor per player.
    create_graph : bool
        Keep the graph so that the result can be differentiated again (used by
        matrix-free Jacobian products); otherwise the result is detached.

    Returns
    -------
    tuple of torch.Tensor
        One gradient per player, same shapes, dtype and device as ``params``.

    Examples
    --------
    >>> from games import Bilinear, as_params, vector_field
    >>> game = Bilinear.xy()          # l_x = x y, l_y = -x y
    >>> vector_field(game, as_params(game, [[1.0], [2.0]]))
    (tensor([2.], dtype=torch.float64), tensor([-1.], dtype=torch.float64))
    """
    params = validate_params(game, params)
    leaves = tuple(p.detach().requires_grad_(True) for p in params)
    with torch.enable_grad():
        parts = _autograd_field(game, leaves, create_graph=create_graph)
    if create_graph:
        return tuple(parts)
    return tuple(p.detach() for p in parts)


def _resolve_player(index: int | str, players: tuple[str, ...], name: str) -> int:
    if isinstance(index, str):
        if index not in players:
            raise ValueError(f"{name}: unknown player {index!r}, expected one of {players}")
        return players.index(index)
    if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
        if not -len(players) <= int(index) < len(players):
            raise ValueError(
                f"{name}: player index {index} out of range for {len(players)} players"
            )
        return int(index) % len(players)
    raise TypeError(f"{name}: expected a player index or name, got {type(index).__name__}")


def _autograd_field(game: Game, params: Params, *, create_graph: bool) -> tuple[torch.Tensor, ...]:
    """xi by one shared forward pass and one ``autograd.grad`` per player (params as given)."""
    if _custom_gradients(game) is not None:
        custom = _checked_gradients(game, params)
        return custom if create_graph else tuple(g.detach() for g in custom)
    losses = _checked_losses(game, params)
    parts = []
    for i, (loss, p) in enumerate(zip(losses, params)):
        if not loss.requires_grad:
            parts.append(torch.zeros_like(p))
            continue
        (g,) = torch.autograd.grad(
            loss,
            p,
            retain_graph=create_graph or i < len(params) - 1,
            create_graph=create_graph,
            allow_unused=True,
        )
        parts.append(torch.zeros_like(p) if g is None else g)
    return tuple(parts)


def _values_only(params: Sequence[torch.Tensor]) -> bool:
    """True when nobody will differentiate a result computed from ``params``: no
    :mod:`torch.func` transform is active and no param requires grad (with grad on)."""
    return not _transformed() and not (
        torch.is_grad_enabled() and any(p.requires_grad for p in params)
    )


def _grad_of(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``d fn / d x``, itself differentiable with respect to everything ``x`` and ``fn``
    depend on: plain autograd (``create_graph=True``) when no :mod:`torch.func` transform
    is active — the fast path for training — and ``torch.func.grad`` inside transforms
    (dense Jacobians, ``jvp``, ``vmap``)."""
    if _transformed():
        return torch_grad(fn)(x)
    with torch.enable_grad():
        # a fresh node: d/d(leaf) follows only the paths through fn's argument, not other
        # paths from x (the first-order unrolled generator holds psi_K(x) fixed)
        leaf = x.view_as(x) if x.requires_grad else x.detach().requires_grad_(True)
        value = fn(leaf)
        if not value.requires_grad:
            return torch.zeros_like(x)
        (g,) = torch.autograd.grad(value, leaf, create_graph=True, allow_unused=True)
    return torch.zeros_like(x) if g is None else g


def vector_field_graph(game: Game, params: Params) -> tuple[torch.Tensor, ...]:
    """xi with its graph kept (``create_graph=True``), params taken as given (no detach)."""
    return _autograd_field(game, params, create_graph=True)
