"""The :class:`Game` protocol and validation of parameter tuples.

Conventions (see ``docs/theory``): a game with ``n`` players has parameters
``params = (theta_1, ..., theta_n)``, one flat 1-D floating tensor per player, all of
one dtype and on one device.  Every player *minimises* its own loss
``l_i = game.losses(params)[i]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch

Params = tuple[torch.Tensor, ...]
"""One flat 1-D tensor per player."""

__all__ = ["Game", "Params", "as_params", "random_params", "validate_params"]


@runtime_checkable
class Game(Protocol):
    """A differentiable game: what every game in gamedyn provides.

    Attributes
    ----------
    players : tuple of str
        The players' names, e.g. ``("x", "y")`` or ``("generator", "discriminator")``.
    sizes : tuple of int
        Number of parameters of each player.

    Notes
    -----
    ``losses(params)`` returns one scalar tensor per player, computed in the dtype and
    on the device of ``params`` (a game casts its own constants), and must be
    differentiable twice with both :mod:`torch.autograd` and :mod:`torch.func`.
    """

    players: tuple[str, ...]
    sizes: tuple[int, ...]

    def losses(self, params: Params) -> tuple[torch.Tensor, ...]:
        """Each player's loss at ``params`` (scalars, one per player)."""
        ...


def _check_game(game: object) -> None:
    for attr in ("players", "sizes", "losses"):
        if not hasattr(game, attr):
            raise TypeError(
                f"game: expected an object with 'players', 'sizes' and 'losses' "
                f"(the games.Game protocol), got {type(game).__name__} without {attr!r}"
            )


def validate_params(game: Game, params: object, *, name: str = "params") -> Params:
    """Check that ``params`` fits ``game`` and return it as a tuple.

    Parameters
    ----------
    game : Game
        The game the parameters belong to.
    params : sequence of torch.Tensor
        One flat 1-D floating tensor per player, all of one dtype and device, finite.
    name : str
        The argument name used in error messages.

    Returns
    -------
    tuple of torch.Tensor

    Raises
    ------
    TypeError
        If ``params`` is not a sequence of tensors or a tensor is not floating point.
    ValueError
        On a wrong number of players, wrong sizes, non-1-D tensors, mixed dtypes or
        devices, or non-finite values.
    """
    _check_game(game)
    if isinstance(params, torch.Tensor) or not isinstance(params, Sequence):
        raise TypeError(
            f"{name}: expected a tuple with one 1-D tensor per player "
            f"({len(game.sizes)} players: {', '.join(game.players)}), "
            f"got {type(params).__name__}"
        )
    if len(params) != len(game.sizes):
        raise ValueError(
            f"{name}: expected {len(game.sizes)} tensors (one per player: "
            f"{', '.join(game.players)}), got {len(params)}"
        )
    first: torch.Tensor | None = None
    for i, (p, size) in enumerate(zip(params, game.sizes)):
        label = f"{name}[{i}] ({game.players[i]})"
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"{label}: expected a torch.Tensor, got {type(p).__name__}")
        if not p.is_floating_point():
            raise TypeError(f"{label}: expected a floating-point tensor, got dtype {p.dtype}")
        if p.dim() != 1:
            raise ValueError(
                f"{label}: expected a flat 1-D tensor of {size} values, got shape {tuple(p.shape)}"
            )
        if p.numel() != size:
            raise ValueError(f"{label}: expected {size} values, got {p.numel()}")
        if first is None:
            first = p
        else:
            if p.dtype != first.dtype:
                raise TypeError(
                    f"{label}: expected dtype {first.dtype} like {name}[0], got {p.dtype}"
                )
            if p.device != first.device:
                raise ValueError(
                    f"{label}: expected device {first.device} like {name}[0], got {p.device}"
                )
        if not bool(torch.isfinite(p.detach()).all()):
            raise ValueError(f"{label}: expected finite values, found NaN or Inf")
    return tuple(params)


def as_params(
    game: Game,
    values: Sequence[object],
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Params:
    """Build a validated params tuple from array-likes (lists, numpy arrays, tensors).

    Examples
    --------
    >>> from games import Bilinear, as_params
    >>> as_params(Bilinear.xy(), [[1.0], [0.5]])
    (tensor([1.], dtype=torch.float64), tensor([0.5000], dtype=torch.float64))
    """
    _check_game(game)
    if isinstance(values, torch.Tensor) or not isinstance(values, Sequence):
        raise TypeError(
            f"values: expected one array-like per player ({len(game.sizes)}), "
            f"got {type(values).__name__}"
        )
    tensors = tuple(
        torch.as_tensor(v, dtype=dtype, device=device).reshape(-1)
        if not isinstance(v, torch.Tensor)
        else v.to(dtype=dtype, device=device).reshape(-1)
        for v in values
    )
    return validate_params(game, tensors, name="values")


def random_params(
    game: Game,
    *,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    scale: float = 1.0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Params:
    """Standard-normal parameters times ``scale``, drawn from a seeded generator.

    Parameters
    ----------
    game : Game
    seed : int, optional
        Seed for a fresh CPU generator (ignored when ``generator`` is given).
    generator : torch.Generator, optional
        Generator to draw from (on CPU; values are then moved to ``device``).
    scale : float
        Standard deviation of every coordinate.
    dtype, device
        Of the returned tensors.
    """
    _check_game(game)
    if not (scale > 0 and torch.isfinite(torch.tensor(scale))):
        raise ValueError(f"scale: expected a positive finite number, got {scale!r}")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else int(seed))
    return tuple(
        (scale * torch.randn(size, generator=generator, dtype=torch.float64)).to(
            dtype=dtype, device=device
        )
        for size in game.sizes
    )
