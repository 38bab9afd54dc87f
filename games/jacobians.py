"""Jacobians of any game's vector field: dense with block views, matrix-free, products.

The game Jacobian is ``J = d xi / d theta`` (row block ``i``: derivatives of player
``i``'s gradient), with ``xi`` the simultaneous gradient of :mod:`games.autodiff`.
:func:`jacobian` assembles it densely (:class:`BlockJacobian`, choosing between a
vectorised and a looped strategy), :class:`JacobianOperator` applies it without forming
it, and :func:`jvp`/:func:`vjp` give single products.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import jacrev
from torch.func import jvp as _func_jvp
from torch.func import vjp as _func_vjp

from ._protocol import Game, Params, validate_params
from .autodiff import (
    _autograd_field,
    _player_gradient_function,
    _player_views,
    _resolve_player,
    _transformed,
    field_function,
    flatten_params,
    quiet_jit_deprecation,
    unflatten_params,
    vector_field_graph,
)

__all__ = [
    "BlockJacobian",
    "FieldProducts",
    "JacobianOperator",
    "jacobian",
    "jvp",
    "sort_eigenvalues",
    "vjp",
]


def sort_eigenvalues(values: object) -> np.ndarray:
    """Eigenvalues in gamedyn's one order and type: a complex128 numpy array, by decreasing
    modulus, ties by increasing real part, then increasing imaginary part.

    Every eigenvalue gamedyn returns (``BlockJacobian.eigenvalues``,
    ``Linearization.eigenvalues``, ``analyses.eigenvalues``, the unroll study) is in
    this order (``docs/conventions.md``).

    Parameters
    ----------
    values : array_like or torch.Tensor
        Complex or real numbers (a tensor on any device).

    Examples
    --------
    >>> sort_eigenvalues([1j, 0.5, -1j, -2.0])
    array([-2. +0.j,  0. -1.j,  0. +1.j,  0.5+0.j])
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    v = np.asarray(values, dtype=np.complex128).reshape(-1) + 0.0  # -0.0 -> 0.0
    return v[np.lexsort((v.imag, v.real, -np.abs(v)))]


@dataclass(frozen=True)
class BlockJacobian:
    r"""A dense game Jacobian with per-player block access.

    ``J[a, b] = d xi_a / d theta_b``; block ``(i, j)`` holds the derivatives of player
    ``i``'s gradient with respect to player ``j``'s parameters.

    Attributes
    ----------
    matrix : torch.Tensor
        The ``n x n`` Jacobian.
    sizes : tuple of int
        Parameters per player (block sizes).
    players : tuple of str
        The players' names.
    """

    matrix: torch.Tensor
    sizes: tuple[int, ...]
    players: tuple[str, ...]

    def __post_init__(self) -> None:
        n = sum(self.sizes)
        if tuple(self.matrix.shape) != (n, n):
            raise ValueError(
                f"matrix: expected shape ({n}, {n}) for sizes {self.sizes}, "
                f"got {tuple(self.matrix.shape)}"
            )
        if len(self.players) != len(self.sizes):
            raise ValueError(f"players: expected {len(self.sizes)} names, got {len(self.players)}")

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, n)``."""
        n = sum(self.sizes)
        return (n, n)

    def _slice(self, i: int) -> slice:
        start = sum(self.sizes[:i])
        return slice(start, start + self.sizes[i])

    def block(self, i: int | str, j: int | str) -> torch.Tensor:
        """Block ``d xi_i / d theta_j`` (a view), players given by index or name."""
        a = _resolve_player(i, self.players, "i")
        b = _resolve_player(j, self.players, "j")
        return self.matrix[self._slice(a), self._slice(b)]

    def hessian(self, i: int | str) -> torch.Tensor:
        r"""Player ``i``'s own Hessian :math:`\nabla^2_{\theta_i} \ell_i` (the diagonal block)."""
        return self.block(i, i)

    @property
    def symmetric(self) -> torch.Tensor:
        r"""The symmetric part :math:`S = (J + J^\top)/2` (zero for Hamiltonian games)."""
        return 0.5 * (self.matrix + self.matrix.T)

    @property
    def antisymmetric(self) -> torch.Tensor:
        r"""The antisymmetric part :math:`A = (J - J^\top)/2` (zero for potential games)."""
        return 0.5 * (self.matrix - self.matrix.T)

    def eigenvalues(self) -> np.ndarray:
        """All eigenvalues of ``J`` (LAPACK), as :func:`sort_eigenvalues` orders them.

        A complex128 numpy array by decreasing modulus, then real, then imaginary part.

        Raises
        ------
        ValueError
            If ``J`` holds NaN or Inf entries (the game's field overflows or is undefined
            at the point), or its eigenvalues overflow.
        """
        bad = int((~torch.isfinite(self.matrix)).sum())
        if bad:
            raise ValueError(
                f"point: the Jacobian holds {bad} non-finite entr{'y' if bad == 1 else 'ies'} "
                "(NaN or Inf): the game's field overflows or is undefined at this point; "
                "no eigenvalues"
            )
        values = torch.linalg.eigvals(self.matrix)
        if not bool(torch.isfinite(values).all()):
            raise ValueError(
                "point: the Jacobian's eigenvalues overflow (NaN or Inf): the game's scale is "
                "beyond float64; no eigenvalues"
            )
        return sort_eigenvalues(values)

    def numpy(self) -> np.ndarray:
        """The matrix as a numpy array (copied to CPU)."""
        return self.matrix.detach().cpu().numpy()

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)


def _unit_rows(n: int, rows: Sequence[int] | range, like: torch.Tensor) -> torch.Tensor:
    """The rows ``rows`` of the n x n identity, with ``like``'s dtype and device."""
    out = torch.zeros(len(rows), n, dtype=like.dtype, device=like.device)
    out[torch.arange(len(rows)), torch.as_tensor(list(rows), dtype=torch.long)] = 1
    return out


def _default_chunk(n: int) -> int:
    # Measured on 2 CPU cores (benchmarks/jacobian.py): 32 rows per batch is best up to
    # n ~ 2,000; beyond, large batches make glibc's allocator page-fault (at n = 8,000,
    # chunks of 32-64 spent more time in the kernel than computing: 60 s against 20 s
    # with chunks of 8).  Keep chunk * n <= 64,000.
    return max(1, min(n, 32, max(4, 64_000 // max(n, 1))))


_AUTO_PROBE_MIN = 512


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _probe_strategy(game: Game, params: Params, chunk_size: int) -> tuple[str, JacobianOperator]:
    """Time the two strategies on the same first rows of player 0 on the params' device;
    return the faster and the probe's operator (its graph serves the loop strategy)."""
    theta = flatten_params(params).detach()
    k = max(1, min(chunk_size, game.sizes[0]))
    eye = _unit_rows(theta.numel(), range(k), theta)  # k rows, never the n x n identity
    cotangents = eye[:, : game.sizes[0]]
    # setup (tracing the pullback, building the graph) is paid once per player in the
    # full assembly, so only the per-row work is timed, after one warm-up row each
    pullback = _func_vjp(_player_gradient_function(game, 0), theta)[1]
    operator = JacobianOperator(game, params)
    torch.func.vmap(pullback)(cotangents[:1])
    operator.rmatvec(eye[0])

    def batched() -> None:
        torch.func.vmap(pullback)(cotangents)

    def looped() -> None:
        for row in eye:
            operator.rmatvec(row)

    times: dict[str, float] = {}
    for name, fn in (("vmap", batched), ("loop", looped)):
        _synchronize(theta.device)
        started = time.perf_counter()
        fn()
        _synchronize(theta.device)
        times[name] = time.perf_counter() - started
    return min(times, key=times.__getitem__), operator


def jacobian(
    game: Game,
    params: Sequence[torch.Tensor],
    *,
    dtype: torch.dtype | None = torch.float64,
    chunk_size: int | None = None,
    method: str = "auto",
) -> BlockJacobian:
    r"""The dense game Jacobian :math:`J = \partial \xi / \partial \theta`.

    Two strategies (``method``):

    - ``"vmap"``: block row by block row, for each player ``i`` ``torch.func.jacrev`` of
      :math:`\theta \mapsto \nabla_{\theta_i}\ell_i(\theta)`, vectorised over chunks of
      rows (no Python loop over rows).  Differentiating only player ``i``'s loss for its
      rows back-propagates through that player's gradient graph alone, not the whole
      field's; the measured ratio to a row loop is in ``docs/benchmarks.md``
      (``benchmarks/jacobian.py``).
    - ``"loop"``: the field's graph built once (:class:`JacobianOperator`) and one
      backward pass through it per row, :math:`J^\top e_r`: no batched memory (a batch
      of rows holds ``chunk_size`` copies of the graph's activations), so it can be the
      faster or the only feasible one on some devices and sizes.
    - ``"auto"`` (default): ``"vmap"`` up to 512 parameters; above, both strategies
      compute the same first rows on the actual device, timed, and the faster one
      computes the rest (the probe costs about two chunks of rows).

    Parameters
    ----------
    game : Game
    params : tuple of torch.Tensor
        The point, one flat tensor per player.
    dtype : torch.dtype or None
        Compute in this dtype (float64 by default); ``None`` keeps the params' dtype.
    chunk_size : int, optional
        Rows computed per vectorised batch (default: 32, fewer above n = 2,000 so that
        ``chunk_size * n <= 64,000``; see ``docs/benchmarks.md``).
    method : {"auto", "vmap", "loop"}
        The assembly strategy (see above); all give the same matrix up to rounding.

    Returns
    -------
    BlockJacobian

    Examples
    --------
    >>> from games import Bilinear, as_params, jacobian
    >>> game = Bilinear.xy()
    >>> J = jacobian(game, as_params(game, [[0.0], [0.0]]))
    >>> J.matrix
    tensor([[ 0.,  1.],
            [-1.,  0.]], dtype=torch.float64)
    >>> J.eigenvalues()
    array([0.-1.j, 0.+1.j])
    """
    params = validate_params(game, params)
    if dtype is not None:
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(
                f"dtype: expected a real floating torch dtype (torch.float64, torch.float32) "
                f"or None, got {dtype!r}"
            )
        params = tuple(p.detach().to(dtype) for p in params)
    n = sum(game.sizes)
    if chunk_size is None:
        chunk_size = _default_chunk(n)
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size: expected a positive int, got {chunk_size!r}")
    if method not in ("auto", "vmap", "loop"):
        raise ValueError(f"method: expected 'auto', 'vmap' or 'loop', got {method!r}")
    theta = flatten_params(params).detach()
    operator: JacobianOperator | None = None
    if method == "auto":
        if n <= _AUTO_PROBE_MIN:
            method = "vmap"
        else:
            method, operator = _probe_strategy(game, params, chunk_size)
    if method == "loop":
        operator = operator or JacobianOperator(game, params)
        matrix = torch.stack([operator.rmatvec(_unit_rows(n, (r,), theta)[0]) for r in range(n)])
    else:
        rows = [
            jacrev(_player_gradient_function(game, i), chunk_size=min(chunk_size, size))(theta)
            for i, size in enumerate(game.sizes)
        ]
        matrix = torch.cat(rows, dim=0)
    # "+ 0.0" turns the -0.0 entries autodiff produces into +0.0 (cleaner printing)
    return BlockJacobian(matrix.detach() + 0.0, tuple(game.sizes), tuple(game.players))


def _validated_pair(
    game: Game, params: Sequence[torch.Tensor], vectors: Sequence[torch.Tensor], name: str
) -> tuple[Params, Params]:
    params = validate_params(game, params)
    vectors = validate_params(game, vectors, name=name)
    if vectors[0].dtype != params[0].dtype or vectors[0].device != params[0].device:
        raise TypeError(
            f"{name}: expected dtype {params[0].dtype} on {params[0].device} like params, "
            f"got {vectors[0].dtype} on {vectors[0].device}"
        )
    return params, vectors


def jvp(game: Game, params: Sequence[torch.Tensor], tangents: Sequence[torch.Tensor]) -> Params:
    r"""Matrix-free Jacobian-vector product :math:`J v` (forward-over-reverse, ``torch.func``).

    Parameters
    ----------
    game : Game
    params : tuple of torch.Tensor
        The point.
    tangents : tuple of torch.Tensor
        The vector ``v``, one block per player (same shapes as ``params``).

    Returns
    -------
    tuple of torch.Tensor
        ``J v`` split per player.

    Notes
    -----
    Each call re-traces the field; for many products at one point use
    :class:`JacobianOperator`, which builds the graph once.
    """
    params, tangents = _validated_pair(game, params, tangents, "tangents")
    theta = flatten_params(params).detach()
    with quiet_jit_deprecation():
        out = _func_jvp(field_function(game), (theta,), (flatten_params(tangents).detach(),))[1]
    # forward-mode AD can promote tangents of 0-d scalars to float64 (torch 2.13)
    return unflatten_params(game, out.detach().to(theta.dtype))


def vjp(game: Game, params: Sequence[torch.Tensor], cotangents: Sequence[torch.Tensor]) -> Params:
    r"""Matrix-free vector-Jacobian product :math:`J^\top u` (reverse over reverse).

    Parameters
    ----------
    game : Game
    params : tuple of torch.Tensor
        The point.
    cotangents : tuple of torch.Tensor
        The vector ``u``, one block per player.

    Returns
    -------
    tuple of torch.Tensor
        ``J^T u`` split per player.
    """
    params, cotangents = _validated_pair(game, params, cotangents, "cotangents")
    theta = flatten_params(params).detach()
    pullback = _func_vjp(field_function(game), theta)[1]
    (out,) = pullback(flatten_params(cotangents).detach())
    return unflatten_params(game, out.detach())


class JacobianOperator:
    r"""Matrix-free :math:`J v` and :math:`J^\top u` at one point, graph built once.

    The vector field's graph is built once with ``create_graph=True``; every
    :meth:`rmatvec` is then one backward pass through it, and every :meth:`matvec` one
    backward pass through the (also cached) graph of :math:`u \mapsto J^\top u`
    (the "double-VJP" trick).  Never allocates an ``n x n`` matrix.

    Parameters
    ----------
    game : Game
    params : tuple of torch.Tensor
        The point.
    dtype : torch.dtype or None
        Compute in this dtype (``None`` keeps the params' dtype).

    Attributes
    ----------
    n : int
        Total number of parameters.
    products : int
        Number of products computed so far (``matvec`` plus ``rmatvec`` calls).
    field : torch.Tensor
        The flat vector field at the point (detached).
    """

    def __init__(
        self, game: Game, params: Sequence[torch.Tensor], *, dtype: torch.dtype | None = None
    ) -> None:
        params = validate_params(game, params)
        if dtype is not None:
            params = tuple(p.detach().to(dtype) for p in params)
        self.game = game
        self.n = sum(game.sizes)
        self.dtype = params[0].dtype
        self.device = params[0].device
        self.products = 0
        self._theta = flatten_params(params).detach().requires_grad_(True)
        with torch.enable_grad():
            parts = vector_field_graph(game, _player_views(self._theta, game.sizes))
            self._xi = torch.cat(parts)
        self.field = self._xi.detach()
        self._dummy: torch.Tensor | None = None
        self._jt_dummy: torch.Tensor | None = None

    def _check(self, v: torch.Tensor, name: str) -> torch.Tensor:
        v = torch.as_tensor(v)
        if v.shape != (self.n,):
            raise ValueError(
                f"{name}: expected a flat vector of {self.n} values, got {tuple(v.shape)}"
            )
        return v.to(dtype=self.dtype, device=self.device)

    def rmatvec(self, u: torch.Tensor) -> torch.Tensor:
        r""":math:`J^\top u` for a flat vector ``u``."""
        u = self._check(u, "u")
        self.products += 1
        if not self._xi.requires_grad:
            return torch.zeros_like(u)
        (out,) = torch.autograd.grad(self._xi, self._theta, u, retain_graph=True, allow_unused=True)
        return torch.zeros_like(u) if out is None else out.detach()

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        r""":math:`J v` for a flat vector ``v``."""
        v = self._check(v, "v")
        self.products += 1
        if not self._xi.requires_grad:
            return torch.zeros_like(v)
        if self._jt_dummy is None:
            with torch.enable_grad():
                self._dummy = torch.zeros(
                    self.n, dtype=self.dtype, device=self.device, requires_grad=True
                )
                (jt,) = torch.autograd.grad(
                    self._xi, self._theta, self._dummy, create_graph=True, allow_unused=True
                )
                self._jt_dummy = jt
        if self._dummy is None or self._jt_dummy is None or not self._jt_dummy.requires_grad:
            return torch.zeros_like(v)
        (out,) = torch.autograd.grad(
            self._jt_dummy, self._dummy, v, retain_graph=True, allow_unused=True
        )
        return torch.zeros_like(v) if out is None else out.detach()


class FieldProducts:
    r"""The field :math:`\xi(\theta)` at a flat point and products :math:`Jv`, :math:`J^\top u` there.

    What an update rule's step needs: one field value and a few Jacobian(-transpose)
    products at the same point, with the field's graph built once.

    - Eager (no :mod:`torch.func` transform active, ``theta`` not requiring grad, the
      training case): the field is computed once by autograd with its graph kept;
      every :meth:`vjp` is one backward pass through that graph and every :meth:`jvp`
      one backward pass through the graph of :math:`u \mapsto J^\top u` (the
      double-VJP trick, that graph built on the first :meth:`jvp`, or by the first
      :meth:`vjp` when ``jvp=True``).  Results are detached.
    - Inside a transform (``linearize``'s ``jacrev``, ``vmap``) or when ``theta``
      requires grad: ``torch.func.vjp`` once (its pullback serves every
      :meth:`vjp`) and ``torch.func.jvp`` per :meth:`jvp`; the results are
      differentiable with respect to ``theta`` and the vectors.

    Both give the same products up to rounding (``tests/test_rule_products.py``).

    Parameters
    ----------
    game : Game
    theta : torch.Tensor
        The flat point (``flatten_params``), any dtype and device.
    jvp : bool
        The caller will take :meth:`jvp` products: the first eager :meth:`vjp` then
        also builds the graph they need (it costs one backward pass less in total).

    Attributes
    ----------
    xi : torch.Tensor
        The flat field at ``theta``.
    reused : bool
        True on the eager, graph-once path.
    products : int
        Backward passes taken so far beyond the field's own (eager), or products
        (transforms): one per product, plus one when the graph Jacobian-vector products
        need is built by a :meth:`jvp` (not by a :meth:`vjp` that returns its value).

    Examples
    --------
    >>> import torch
    >>> from games import Bilinear, FieldProducts
    >>> products = FieldProducts(Bilinear.xy(), torch.tensor([1.0, 2.0], dtype=torch.float64))
    >>> products.xi, products.jvp(products.xi), products.vjp(products.xi)
    (tensor([ 2., -1.], dtype=torch.float64), tensor([-1., -2.], dtype=torch.float64), tensor([1., 2.], dtype=torch.float64))
    """

    def __init__(self, game: Game, theta: torch.Tensor, *, jvp: bool = False) -> None:
        if not isinstance(theta, torch.Tensor) or theta.dim() != 1:
            raise ValueError(
                f"theta: expected a flat 1-D tensor, got {getattr(theta, 'shape', type(theta).__name__)}"
            )
        self.products = 0
        self._want_jvp = bool(jvp)
        self._dummy: torch.Tensor | None = None
        self._jt_dummy: torch.Tensor | None = None
        self.reused = not _transformed() and not (torch.is_grad_enabled() and theta.requires_grad)
        sizes = self._sizes = list(game.sizes)
        if self.reused:
            self._theta = theta.detach().requires_grad_(True)
            with torch.enable_grad():
                # a node per player: block_vjp's backward pass prunes the other blocks
                self._split = _player_views(self._theta, sizes)
                self._parts = _autograd_field(game, self._split, create_graph=True)
                self._xi = torch.cat(self._parts)
            self.xi = self._xi.detach()
        else:
            self._field = field_function(game)
            self._theta = theta
            value, pullback = _func_vjp(self._field, theta)[:2]
            self.xi = value
            self._pullback = pullback

    def _build_double(self, value: torch.Tensor) -> torch.Tensor | None:
        """Build the graph of u -> J^T u at u = ``value``; return J^T value (detached)."""
        with torch.enable_grad():
            self._dummy = value.detach().clone().requires_grad_(True)
            (jt,) = torch.autograd.grad(
                self._xi, self._theta, self._dummy, create_graph=True, allow_unused=True
            )
        self._jt_dummy = jt
        return None if jt is None else jt.detach()

    def vjp(self, u: torch.Tensor) -> torch.Tensor:
        r""":math:`J^\top u` for a flat vector ``u``."""
        self.products += 1
        if not self.reused:
            return self._pullback(u)[0]
        if not self._xi.requires_grad:
            return torch.zeros_like(self.xi)
        if self._want_jvp and self._jt_dummy is None:
            out = self._build_double(u)
            return torch.zeros_like(self.xi) if out is None else out
        (out,) = torch.autograd.grad(
            self._xi, self._theta, u.detach(), retain_graph=True, allow_unused=True
        )
        return torch.zeros_like(self.xi) if out is None else out

    def block_vjp(self, u: torch.Tensor, of: int, wrt: int) -> torch.Tensor:
        r""":math:`J_{ij}^\top u` (``i = of``, ``j = wrt``): ``u`` on player ``i``'s block,
        the result on player ``j``'s.  Eager: one backward pass through :math:`\xi_i`'s
        graph alone, to :math:`\theta_j`'s block alone (what CGD's solves take; the
        block of :meth:`vjp` of ``u`` placed on block ``i``, at about half its cost)."""
        lo, hi = sum(self._sizes[:wrt]), sum(self._sizes[: wrt + 1])
        if not self.reused or (self._want_jvp and self._jt_dummy is None):
            full = [torch.zeros(s, dtype=u.dtype, device=u.device) for s in self._sizes]
            full[of] = u
            return self.vjp(torch.cat(full))[lo:hi]
        self.products += 1
        part = self._parts[of]
        if not part.requires_grad:
            return torch.zeros_like(self.xi[lo:hi])
        (out,) = torch.autograd.grad(
            part, self._split[wrt], u.detach(), retain_graph=True, allow_unused=True
        )
        return torch.zeros_like(self.xi[lo:hi]) if out is None else out

    def jvp(self, v: torch.Tensor) -> torch.Tensor:
        r""":math:`J v` for a flat vector ``v``."""
        self.products += 1
        if not self.reused:
            with quiet_jit_deprecation():
                out = _func_jvp(self._field, (self._theta,), (v,))[1]
            # forward-mode AD can promote tangents of 0-d scalars to float64 (torch 2.13)
            return out.to(self._theta.dtype)
        if not self._xi.requires_grad:
            return torch.zeros_like(self.xi)
        if self._jt_dummy is None:
            self._build_double(torch.zeros_like(self.xi))
            self.products += 1
        if self._dummy is None or self._jt_dummy is None or not self._jt_dummy.requires_grad:
            return torch.zeros_like(self.xi)
        (out,) = torch.autograd.grad(
            self._jt_dummy, self._dummy, v.detach(), retain_graph=True, allow_unused=True
        )
        return torch.zeros_like(self.xi) if out is None else out
