"""The contract every game must satisfy: :func:`check_game`.

Like scikit-learn's estimator checks, one suite runs on every game: shapes and dtypes
kept, determinism, the vector field against central finite differences of the losses,
the Jacobian against finite differences of the vector field, and the matrix-free
products against the dense Jacobian.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._protocol import Game, random_params, validate_params
from .autodiff import _custom_gradients, flatten_params, unflatten_params, vector_field
from .jacobians import JacobianOperator, jacobian, jvp, vjp

__all__ = ["check_game"]


def _close(name: str, got: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float) -> float:
    error = float((got - expected).abs().max()) if got.numel() else 0.0
    bound = atol + rtol * float(expected.abs().max()) if expected.numel() else atol
    if error > bound:
        raise AssertionError(f"check_game: {name} differs by {error:.3e} (allowed {bound:.3e})")
    return error


def _coordinates(n: int, limit: int, generator: torch.Generator) -> list[int]:
    if n <= limit:
        return list(range(n))
    return sorted(torch.randperm(n, generator=generator)[:limit].tolist())


def check_game(
    game: Game,
    params: Sequence[torch.Tensor] | None = None,
    *,
    seed: int = 0,
    scale: float = 0.5,
    fd_step: float = 1e-5,
    rtol: float = 1e-6,
    atol: float = 1e-7,
    max_coordinates: int = 64,
) -> dict[str, float]:
    """Run the game contract and return the largest error found for each check.

    Parameters
    ----------
    game : Game
    params : tuple of torch.Tensor, optional
        The point (float64 is used for the finite-difference checks); by default a
        seeded random point with standard deviation ``scale``.
    seed : int
        Seed for the random point, the random directions and the coordinate sample.
    fd_step : float
        Central finite-difference step.
    rtol, atol : float
        Tolerances, relative to the largest magnitude of the compared quantity.
    max_coordinates : int
        At most this many coordinates (sampled, seeded) are checked by finite
        differences, so large games stay cheap.

    Returns
    -------
    dict of str to float
        Maximum absolute error of each check.  A game that supplies its field through
        a ``gradients`` method (e.g. a first-order :func:`games.unrolled` game) has no
        ``field_vs_fd`` entry: its field is not the gradient of its losses.

    Raises
    ------
    AssertionError
        Naming the first check that fails and by how much.
    """
    generator = torch.Generator().manual_seed(seed)
    if params is None:
        params = random_params(game, generator=generator, scale=scale)
    params = tuple(p.detach().to(torch.float64) for p in validate_params(game, params))
    report: dict[str, float] = {}

    losses = tuple(game.losses(params))
    if len(losses) != len(game.sizes):
        raise AssertionError(
            f"check_game: losses returned {len(losses)} values for {len(game.sizes)} players"
        )
    for i, value in enumerate(losses):
        if value.numel() != 1 or value.dtype != torch.float64:
            raise AssertionError(
                f"check_game: loss {i} is not a float64 scalar (shape {tuple(value.shape)}, {value.dtype})"
            )

    field = vector_field(game, params)
    for i, (g, p) in enumerate(zip(field, params)):
        if g.shape != p.shape or g.dtype != p.dtype or g.device != p.device:
            raise AssertionError(
                f"check_game: field block {i} has shape/dtype {tuple(g.shape)}/{g.dtype}, params {tuple(p.shape)}/{p.dtype}"
            )
    again = vector_field(game, params)
    if not all(torch.equal(a, b) for a, b in zip(field, again)):
        raise AssertionError("check_game: the vector field is not deterministic (two calls differ)")
    if not all(torch.equal(a, b) for a, b in zip(losses, game.losses(params))):
        raise AssertionError("check_game: the losses are not deterministic (two calls differ)")
    report["deterministic"] = 0.0

    # float32 in, float32 out
    field32 = vector_field(game, tuple(p.float() for p in params))
    if any(g.dtype != torch.float32 for g in field32):
        raise AssertionError("check_game: float32 params did not give a float32 vector field")

    theta = flatten_params(params)
    xi = flatten_params(field)
    n = theta.numel()
    coords = _coordinates(n, max_coordinates, generator)
    owner = [i for i, s in enumerate(game.sizes) for _ in range(s)]

    def losses_at(t: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(game.losses(unflatten_params(game, t)))

    if _custom_gradients(game) is None:
        fd_field = []
        for k in coords:
            step = torch.zeros(n, dtype=torch.float64)
            step[k] = fd_step
            i = owner[k]
            fd_field.append(
                (losses_at(theta + step)[i] - losses_at(theta - step)[i]) / (2 * fd_step)
            )
        report["field_vs_fd"] = _close(
            "vector field vs finite differences of the losses",
            xi[coords],
            torch.stack(fd_field).reshape(-1),
            1e3 * rtol,
            1e3 * atol,
        )

    J = jacobian(game, params)
    if J.matrix.shape != (n, n) or J.matrix.dtype != torch.float64:
        raise AssertionError(
            f"check_game: Jacobian has shape {tuple(J.matrix.shape)}, dtype {J.matrix.dtype}"
        )
    columns = []
    for k in coords:
        step = torch.zeros(n, dtype=torch.float64)
        step[k] = fd_step
        plus = flatten_params(vector_field(game, unflatten_params(game, theta + step)))
        minus = flatten_params(vector_field(game, unflatten_params(game, theta - step)))
        columns.append((plus - minus) / (2 * fd_step))
    report["jacobian_vs_fd"] = _close(
        "Jacobian vs finite differences of the field",
        J.matrix[:, coords],
        torch.stack(columns, dim=1),
        1e3 * rtol,
        1e3 * atol,
    )

    v = torch.randn(n, generator=generator, dtype=torch.float64)
    u = torch.randn(n, generator=generator, dtype=torch.float64)
    report["jvp_vs_dense"] = _close(
        "jvp vs dense J v",
        flatten_params(jvp(game, params, unflatten_params(game, v))),
        J.matrix @ v,
        rtol,
        atol,
    )
    report["vjp_vs_dense"] = _close(
        "vjp vs dense J^T u",
        flatten_params(vjp(game, params, unflatten_params(game, u))),
        J.matrix.T @ u,
        rtol,
        atol,
    )
    operator = JacobianOperator(game, params)
    report["operator_matvec"] = _close(
        "JacobianOperator.matvec vs dense", operator.matvec(v), J.matrix @ v, rtol, atol
    )
    report["operator_rmatvec"] = _close(
        "JacobianOperator.rmatvec vs dense", operator.rmatvec(u), J.matrix.T @ u, rtol, atol
    )
    report["operator_field"] = _close(
        "JacobianOperator.field vs vector_field", operator.field, xi, rtol, atol
    )
    return report
