r"""Spectra of a game's Jacobian at a point: dense, matrix-free (ARPACK), per player, exact.

The matrix-free paths wrap :class:`games.JacobianOperator` (the vector field's graph is
built once at the point and reused for every product) in a
:class:`scipy.sparse.linalg.LinearOperator`; no ``n x n`` matrix is ever allocated.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse.linalg as sla
import torch

from games import (
    Game,
    JacobianOperator,
    SymbolicGame,
    jacobian,
    sort_eigenvalues,
    validate_params,
)
from games.vocabulary import canonical_which

__all__ = [
    "Spectrum",
    "eigenvalues",
    "hessian_eigenvalues",
    "jacobian_operator",
    "symbolic_eigenvalues",
    "top_eigenvalues",
]

WHICH = {"magnitude": "LM", "imaginary": "LI", "smallest_real": "SR", "largest_real": "LR"}


@dataclass(frozen=True)
class Spectrum:
    """Eigenvalues and how they were obtained.

    Attributes
    ----------
    values : numpy.ndarray
        Complex eigenvalues (complex128), in gamedyn's one order
        (:func:`games.sort_eigenvalues`: decreasing modulus, then real, then imaginary
        part); ``top_eigenvalues(which="imaginary")`` by decreasing imaginary part.
    products : int
        Matrix-vector products used (0 for dense).
    method : str
        ``"dense"``, ``"arpack"`` or ``"lanczos"``.
    requested : int or None
        How many eigenvalues were asked for, when fewer converged (``len(values)`` are
        the converged ones: :func:`top_eigenvalues` with ``partial=True``); None when
        every requested eigenvalue converged.
    start : numpy.ndarray or None
        For the matrix-free methods, a starting vector for the same computation at a
        nearby point (the sum of the real and imaginary parts of the Ritz vectors,
        normalised): pass it as ``v0`` to warm-start ARPACK along training.
    """

    values: np.ndarray
    products: int
    method: str
    requested: int | None = None
    start: np.ndarray | None = None


@contextlib.contextmanager
def _serial_blas() -> Iterator[None]:
    """ARPACK's own linear algebra (numpy/scipy's BLAS) on one thread inside the block.

    ARPACK's reverse-communication loop alternates short BLAS calls on ``n x ncv``
    Krylov bases with the torch products; with the BLAS pool at its default (one thread
    per core) its threads contend with torch's OpenMP threads, and the ARPACK side of a
    run took about ten times longer than on one thread in ``benchmarks/ring_spectra.py``
    runs on a loaded machine.  Only the ``"blas"`` pools are limited (torch's OpenMP pool
    is not), and only when the optional ``threadpoolctl`` is installed (it comes with
    scikit-learn, the ``images`` extra; otherwise the pools are left alone).  The
    Krylov vectors' sums then have one fixed order (results do not depend on the pool).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is optional
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _sorted(values: np.ndarray) -> np.ndarray:
    return sort_eigenvalues(values)


def eigenvalues(game: Game, params: Sequence[torch.Tensor]) -> Spectrum:
    """All eigenvalues of the dense float64 Jacobian (LAPACK), for small games.

    Examples
    --------
    >>> from games import Bilinear
    >>> from analyses import eigenvalues
    >>> game = Bilinear.xy()
    >>> eigenvalues(game, game.equilibrium()).values
    array([0.-1.j, 0.+1.j])
    """
    values = jacobian(game, params).eigenvalues()
    return Spectrum(_sorted(values), 0, "dense")


def jacobian_operator(
    game: Game,
    params: Sequence[torch.Tensor],
    *,
    transpose: bool = False,
    dtype: torch.dtype = torch.float64,
) -> tuple[sla.LinearOperator, JacobianOperator]:
    r"""A scipy ``LinearOperator`` for :math:`J` (or :math:`J^\top`), and the torch operator behind it.

    ``J^T`` has the same spectrum and its product is one backward pass (cheaper than
    :math:`Jv`'s double-VJP); the eigenvalue routines use it by default.
    """
    op = JacobianOperator(game, params, dtype=dtype)
    return _wrap(op, transpose=transpose), op


def _wrap(op: JacobianOperator, *, transpose: bool) -> sla.LinearOperator:
    """``op`` as a scipy LinearOperator for J (or J^T), in the operator's dtype."""
    dtype, device = op.dtype, op.device

    def apply(v: np.ndarray, fn: object) -> np.ndarray:
        vector = torch.as_tensor(np.ascontiguousarray(v).reshape(-1), dtype=dtype, device=device)
        if np.iscomplexobj(v):
            re = fn(torch.as_tensor(np.real(v).reshape(-1).copy(), dtype=dtype, device=device))  # type: ignore[operator]
            im = fn(torch.as_tensor(np.imag(v).reshape(-1).copy(), dtype=dtype, device=device))  # type: ignore[operator]
            return re.double().cpu().numpy() + 1j * im.double().cpu().numpy()
        return fn(vector).double().cpu().numpy()  # type: ignore[operator]

    forward = op.rmatvec if transpose else op.matvec
    backward = op.matvec if transpose else op.rmatvec
    return sla.LinearOperator(
        (op.n, op.n),
        matvec=lambda v: apply(v, forward),
        rmatvec=lambda v: apply(v, backward),
        dtype=np.float64,
    )


def top_eigenvalues(
    game: Game,
    params: Sequence[torch.Tensor],
    k: int = 6,
    *,
    which: str = "magnitude",
    tol: float = 1e-6,
    maxiter: int | None = None,
    seed: int = 0,
    partial: bool = False,
    v0: np.ndarray | None = None,
    operator: JacobianOperator | None = None,
    return_start: bool = False,
) -> Spectrum:
    r"""The top-``k`` eigenvalues of :math:`J`, matrix-free (ARPACK's implicitly restarted Arnoldi).

    Parameters
    ----------
    game, params
        The game and the point.
    k : int
        How many eigenvalues (``k < n - 1``).
    which : {'magnitude', 'imaginary', 'largest_real', 'smallest_real'}
        Largest magnitude, largest imaginary part in absolute value (for the real
        Jacobian these come in conjugate pairs), largest or smallest real part
        (the last needs many more products: ARPACK converges slowly to interior ends).
        ARPACK's codes ``LM``, ``LI``, ``LR``, ``SR`` are aliases (:mod:`games.vocabulary`).
    tol : float
        ARPACK's relative tolerance.
    seed : int
        Seeds ARPACK's starting vector (results are reproducible).
    partial : bool
        When ARPACK does not converge: return the eigenvalues that did converge (with
        ``requested=k``) instead of raising.
    v0 : numpy.ndarray, optional
        ARPACK's starting vector (default: seeded Gaussian); e.g. the ``start`` of the
        previous :class:`Spectrum` along training (a warm start).
    operator : games.JacobianOperator, optional
        The operator at ``params`` to take the products from (its graph built once and
        shared between several spectra at one point); built here by default, in
        float64.  A float32 operator (ARPACK still works in float64) gives eigenvalues
        to about 1e-5 relative: keep ``tol`` at 1e-5 or above with it.  Whether its
        products are cheaper depends on the network (``docs/benchmarks.md``).
    return_start : bool
        Also compute the Ritz vectors and return their combination as
        :attr:`Spectrum.start` (for a warm start at the next point).  Off by default:
        ARPACK's eigenvector post-processing can choose a different member of a
        conjugate pair at the k-th place, or (``which='imaginary'`` with a near tie at
        zero imaginary part) different eigenvalues, than the eigenvalue-only path.

    Returns
    -------
    Spectrum
        With the number of Jacobian-vector products used.

    Raises
    ------
    scipy.sparse.linalg.ArpackNoConvergence
        If ARPACK does not converge within ``maxiter`` (and ``partial`` is false, or no
        eigenvalue converged).
    """
    params = validate_params(game, params)
    n = sum(game.sizes)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < n - 1:
        raise ValueError(f"k: expected an int with 1 <= k < n - 1 = {n - 1}, got {k!r}")
    which = canonical_which(which, tuple(WHICH))
    linear, op = _linear_operator(game, params, operator, transpose=True)
    before = op.products
    start = _start_vector(v0, n, seed, "v0")
    requested = None
    try:
        with _serial_blas():
            found = sla.eigs(
                linear,
                k=k,
                which=WHICH[which],
                tol=tol,
                v0=start,
                maxiter=maxiter,
                return_eigenvectors=return_start,
            )
    except sla.ArpackNoConvergence as error:
        if not partial or len(error.eigenvalues) == 0:
            raise
        values, requested = np.asarray(error.eigenvalues, dtype=complex), k
        vectors = np.asarray(error.eigenvectors) if return_start else None
    else:
        values, vectors = found if return_start else (found, None)
    products = op.products - before
    following = _combined(vectors) if vectors is not None else None
    if which == "imaginary":
        # ARPACK's 'LI' returns the k eigenvalues of largest |imaginary part| (conjugate
        # pairs of a real matrix); report them by decreasing imaginary part, pairs together
        return Spectrum(
            values[np.lexsort((-values.imag, -np.abs(values.imag)))],
            products,
            "arpack",
            requested,
            following,
        )
    return Spectrum(_sorted(values), products, "arpack", requested, following)


def _linear_operator(
    game: Game,
    params: Sequence[torch.Tensor],
    operator: JacobianOperator | None,
    *,
    transpose: bool,
) -> tuple[sla.LinearOperator, JacobianOperator]:
    if operator is None:
        return jacobian_operator(game, params, transpose=transpose)
    if not isinstance(operator, JacobianOperator) or operator.n != sum(game.sizes):
        raise TypeError(
            f"operator: expected a games.JacobianOperator of the game ({sum(game.sizes)} "
            f"parameters), got {type(operator).__name__}"
        )
    if operator.dtype not in (torch.float64, torch.float32):
        raise TypeError(f"operator: expected a float64 or float32 operator, got {operator.dtype}")
    return _wrap(operator, transpose=transpose), operator


def _start_vector(v0: object, n: int, seed: int, name: str) -> np.ndarray:
    if v0 is None:
        return np.random.default_rng(seed).standard_normal(n)
    start = np.asarray(v0, dtype=np.float64).reshape(-1)
    if start.shape != (n,) or not np.all(np.isfinite(start)) or not np.any(start):
        raise ValueError(
            f"{name}: expected a finite, nonzero vector of {n} values, got shape {start.shape}"
        )
    return start


def _combined(vectors: np.ndarray) -> np.ndarray | None:
    """One real starting vector from Ritz vectors (columns): sum of real and imaginary parts."""
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        return None
    total = np.real(vectors).sum(axis=1) + np.imag(vectors).sum(axis=1)
    norm = float(np.linalg.norm(total))
    return total / norm if norm > 0 and np.isfinite(norm) else None


def hessian_eigenvalues(
    game: Game,
    params: Sequence[torch.Tensor],
    player: int | str,
    k: int = 6,
    *,
    which: str = "both_ends",
    tol: float = 1e-6,
    seed: int = 0,
    v0: np.ndarray | None = None,
    operator: JacobianOperator | None = None,
) -> Spectrum:
    r"""Top-``k`` eigenvalues of player ``i``'s own Hessian :math:`\nabla^2_{\theta_i}\ell_i` (symmetric: Lanczos).

    ``which``: ``'largest'``, ``'smallest'`` (algebraic) or ``'both_ends'`` (half from each
    end; a negative smallest eigenvalue means the player is not at a local minimum).
    Products are :math:`J^\top` applied to vectors supported on player ``i``'s block
    (one backward pass each).  ``v0`` (length: the player's size) and ``operator`` as
    for :func:`top_eigenvalues`.
    """
    params = validate_params(game, params)
    index = (
        game.players.index(player) if isinstance(player, str) and player in game.players else player
    )
    if isinstance(index, str) or not isinstance(index, int) or not 0 <= index < len(game.sizes):
        raise ValueError(f"player: expected one of {game.players} or an index, got {player!r}")
    size = game.sizes[index]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < size:
        raise ValueError(
            f"k: expected an int with 1 <= k < {size} (player {index}'s size), got {k!r}"
        )
    if which == "both_ends" and k < 2:
        raise ValueError(f"k: which='both_ends' needs k >= 2 (half from each end), got {k!r}")
    modes = {"largest": "LA", "smallest": "SA", "both_ends": "BE"}
    if which not in modes:
        raise ValueError(f"which: expected one of {tuple(modes)}, got {which!r}")
    _, op = _linear_operator(game, params, operator, transpose=True)
    before = op.products
    start = sum(game.sizes[:index])

    def matvec(v: np.ndarray) -> np.ndarray:
        full = torch.zeros(op.n, dtype=torch.float64, device=op.device)
        full[start : start + size] = torch.as_tensor(np.asarray(v).reshape(-1), dtype=torch.float64)
        # the diagonal block of J^T is H_i^T = H_i
        return op.rmatvec(full)[start : start + size].double().cpu().numpy()

    linear = sla.LinearOperator((size, size), matvec=matvec, rmatvec=matvec, dtype=np.float64)
    with _serial_blas():
        values, vectors = sla.eigsh(
            linear,
            k=k,
            which=modes[which],
            tol=tol,
            v0=_start_vector(v0, size, seed, "v0"),
            return_eigenvectors=True,
        )
    return Spectrum(
        np.sort(values.astype(complex))[::-1],
        op.products - before,
        "lanczos",
        None,
        _combined(vectors),
    )


def symbolic_eigenvalues(game: SymbolicGame | object, point: Sequence[object]) -> Spectrum:
    """Eigenvalues of the exact Jacobian at ``point`` (a :class:`games.SymbolicGame`, or a game with ``.symbolic()``)."""
    twin = game if isinstance(game, SymbolicGame) else getattr(game, "symbolic", None)
    if twin is None:
        raise TypeError(
            f"game: expected a SymbolicGame or a game with .symbolic(), got {type(game).__name__}"
        )
    if not isinstance(twin, SymbolicGame):
        twin = twin()
    return Spectrum(_sorted(np.array(twin.eigenvalues_at(point))), 0, "symbolic")


# -- probing a GAN without changing it -----------------------------------------------------


def _networks(game: Any) -> list[torch.nn.Module]:
    """The torch modules behind a game's players (for a ParameterizedGAN: G and D)."""
    modules = []
    for name in ("G", "D"):
        flat = getattr(game, name, None)
        module = getattr(flat, "module", None)
        if isinstance(module, torch.nn.Module):
            modules.append(module)
    return modules


class _PureForward:
    """Eval mode and untouched buffers while a landscape is probed (spectra, path angles).

    Spectral normalisation's power iteration updates its buffers in place on every
    training-mode forward pass, even through ``functional_call``: the spectra would
    then change training.  In eval mode the forward pass is a pure function of the
    parameters; buffers and modes are restored on exit all the same.
    """

    def __init__(self, game: Any) -> None:
        self.modules = _networks(game)

    def __enter__(self) -> None:
        self.saved = [
            (
                m,
                [(sub, sub.training) for sub in m.modules()],
                {k: b.detach().clone() for k, b in m.named_buffers()},
            )
            for m in self.modules
        ]
        for m in self.modules:
            m.eval()

    def __exit__(self, *exc: object) -> None:
        for module, modes, buffers in self.saved:
            own = dict(module.named_buffers())
            with torch.no_grad():
                for name, value in buffers.items():
                    own[name].copy_(value)
            for sub, training in modes:
                sub.training = training
