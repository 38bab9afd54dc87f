"""The field and its Jacobian at many points in one batched call (grids, many starts).

One :func:`torch.func.vmap` over the points of :func:`games.field_function` (and of its
``jacrev``) replaces a Python loop over the points.  A game whose field cannot be batched
(data-dependent control flow, ``.item()``, in-place updates of captured tensors) is
evaluated point by point instead, with the same result.
"""

from __future__ import annotations

import torch

from games import Game, field_function, flatten_params, jacobian, unflatten_params, vector_field

_NOT_BATCHABLE = (RuntimeError, NotImplementedError, ValueError, TypeError)


_POINT_ELEMENTS = 2**17
"""Points per batched call times parameters at most (13 points of a 10,000-parameter game,
132 of a 1,000-parameter one, every point of a small game).  Chosen by measurement on the
MLP GAN game of ``benchmarks/_mlp_game.py`` (one thread, per point, in units of one bare
field evaluation): n = 93, 900 points: 0.42 in chunks of 8, 0.085 of 128, 0.078 of 900
(the loop 1.26); n = 993: 0.83 (4), 0.47 (16), 0.42 (64), 0.55 (300; the loop 1.09);
n = 9,993: 1.81 (1), 1.36 (4), 1.2 (8), 1.16 (24), and 2.7 in chunks of 100 in another
run (the former 2**20 budget: each chunk's activations, ~10 MB a point, leave the cache).  A
large game's field is compute-bound (its own kernels take ~80 % of one evaluation), so
batching gains little there; a small game's is dispatch-bound, and batching gains
10-13x."""


def field_on_points(game: Game, points: torch.Tensor) -> torch.Tensor:
    """The field at each row of ``points`` (``(m, n)`` flat parameter vectors): ``(m, n)``."""
    fieldfn = field_function(game)
    chunk = max(1, _POINT_ELEMENTS // max(1, points.shape[-1]))
    try:
        return torch.func.vmap(fieldfn, chunk_size=chunk)(points)
    except _NOT_BATCHABLE:
        return torch.stack([fieldfn(p) for p in points])


def field_and_jacobian_on_points(
    game: Game, points: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The field ``(m, n)`` and the dense game Jacobian ``(m, n, n)`` at each row of ``points``.

    Batched: ``vmap`` of ``jacrev`` of the field (the field itself comes out as the
    auxiliary output of the same pass).  Point by point (a game that cannot be batched):
    :func:`games.vector_field` and :func:`games.jacobian` (``method="loop"``: plain
    autograd, no ``torch.func`` transform) at each point, in the points'
    dtype.
    """
    fieldfn = field_function(game)

    def both(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xi = fieldfn(theta)
        return xi, xi

    try:
        J, xi = torch.func.vmap(torch.func.jacrev(both, has_aux=True))(points)
        return xi.detach(), J.detach() + 0.0
    except _NOT_BATCHABLE:
        fields, matrices = [], []
        for theta in points:
            params = unflatten_params(game, theta)
            fields.append(flatten_params(vector_field(game, params)).detach())
            matrices.append(jacobian(game, params, dtype=None, method="loop").matrix)
        return torch.stack(fields), torch.stack(matrices)
