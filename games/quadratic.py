r"""Games with affine vector fields: :class:`Bilinear` and :class:`Quadratic`.

For both, :math:`\xi(\theta) = M\theta + v` exactly; :meth:`affine_field` returns
``(M, v)`` in closed form (independently of autodiff) and :meth:`equilibrium` solves
:math:`M\theta = -v`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
import torch

from ._protocol import Params
from .symbolic import SymbolicGame, exact, exact_matrix
from .validation import as_matrix, as_vector

__all__ = ["Bilinear", "Quadratic"]


def _solve_affine(
    matrix: torch.Tensor,
    offset: torch.Tensor,
    sizes: tuple[int, ...],
    dtype: torch.dtype,
    device: torch.device | str | None,
) -> Params | None:
    """Least-norm solution of ``M theta = -v``, or None when the system is inconsistent."""
    solution = torch.linalg.lstsq(matrix, -offset.unsqueeze(1), driver="gelsd").solution.squeeze(1)
    residual = torch.linalg.vector_norm(matrix @ solution + offset)
    scale = (
        1.0
        + float(torch.linalg.matrix_norm(matrix, ord=2)) * float(torch.linalg.vector_norm(solution))
        + float(torch.linalg.vector_norm(offset))
    )
    if float(residual) > 1e-9 * scale:
        return None
    return tuple(p.to(dtype=dtype, device=device) for p in torch.split(solution, list(sizes)))


def _symbols(prefix: str, size: int) -> list[sp.Symbol]:
    if size == 1:
        return [sp.Symbol(prefix, real=True)]
    return list(sp.symbols(f"{prefix}_0:{size}", real=True))


class Bilinear:
    r"""The bilinear zero-sum game :math:`\ell_x = x^\top A y + b^\top x + c^\top y`, :math:`\ell_y = -\ell_x`.

    ``x`` (size ``m``) minimises, ``y`` (size ``p``) maximises :math:`x^\top A y + \dots`.
    The field is :math:`\xi = (Ay + b, -A^\top x - c)` and the Jacobian
    :math:`J = \begin{pmatrix} 0 & A \\ -A^\top & 0 \end{pmatrix}` is antisymmetric
    (a Hamiltonian game): the flow orbits, simultaneous GD spirals outward.

    Parameters
    ----------
    A : array-like, shape (m, p)
    b : array-like, shape (m,), optional
    c : array-like, shape (p,), optional

    Examples
    --------
    >>> from games import Bilinear, as_params, jacobian
    >>> game = Bilinear.xy()
    >>> game.equilibrium()
    (tensor([0.], dtype=torch.float64), tensor([0.], dtype=torch.float64))
    """

    players: tuple[str, ...] = ("x", "y")

    def __init__(self, A: object, b: object = None, c: object = None) -> None:
        self.A = as_matrix(A, "A")
        m, p = self.A.shape
        self.b = as_vector(b, "b", size=m)
        self.c = as_vector(c, "c", size=p)
        self.sizes: tuple[int, ...] = (m, p)

    @classmethod
    def xy(cls) -> Bilinear:
        r"""The scalar game :math:`V(x, y) = x y`: J = [[0, 1], [-1, 0]], eigenvalues :math:`\pm i`."""
        return cls([[1.0]])

    def losses(self, params: Params) -> tuple[torch.Tensor, ...]:
        x, y = params
        A, b, c = (t.to(dtype=x.dtype, device=x.device) for t in (self.A, self.b, self.c))
        value = x @ (A @ y) + b @ x + c @ y
        return value, -value

    def affine_field(self) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(M, v)`` with :math:`\xi(\theta) = M\theta + v`, in closed form (float64)."""
        m, p = self.sizes
        matrix = torch.zeros(m + p, m + p, dtype=torch.float64)
        matrix[:m, m:] = self.A
        matrix[m:, :m] = -self.A.T
        return matrix, torch.cat([self.b, -self.c])

    def equilibrium(
        self, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
    ) -> Params | None:
        r"""The least-norm point with :math:`\xi = 0` (:math:`Ay = -b`, :math:`A^\top x = -c`), or None if none exists."""
        return _solve_affine(*self.affine_field(), self.sizes, dtype, device)

    def symbolic(self) -> SymbolicGame:
        """The exact twin (entries as exact rationals)."""
        xs, ys = _symbols("x", self.sizes[0]), _symbols("y", self.sizes[1])
        x, y = sp.Matrix(xs), sp.Matrix(ys)
        value = (
            (x.T * exact_matrix(self.A) * y)[0, 0]
            + (exact_matrix(self.b).T * x)[0, 0]
            + (exact_matrix(self.c).T * y)[0, 0]
        )
        return SymbolicGame([xs, ys], [value, -value], players=self.players)

    def __repr__(self) -> str:
        return f"Bilinear(sizes={self.sizes})"


class Quadratic:
    r"""A general quadratic game: player ``i`` minimises :math:`\ell_i = \tfrac12\theta^\top C_i\theta + c_i^\top\theta + k_i`.

    Here :math:`\theta` is all players' parameters concatenated and each :math:`C_i` is a
    symmetric ``n x n`` matrix (the Hessian of player ``i``'s loss over all parameters).
    Player ``i``'s gradient is rows ``block_i`` of :math:`C_i\theta + c_i`, so the game
    Jacobian's block row ``i`` is rows ``block_i`` of :math:`C_i`.  Zero-sum and
    general-sum games with any number of players are special cases; see the
    constructors :meth:`zero_sum`, :meth:`potential`, :meth:`hamiltonian`,
    :meth:`tandem` and :meth:`matching_pennies`.

    Parameters
    ----------
    hessians : sequence of array-like, each (n, n), symmetric
        One per player.
    gradients : sequence of array-like, each (n,), optional
        The linear terms :math:`c_i` (zeros by default).
    constants : sequence of float, optional
        The constant terms :math:`k_i` (zeros by default; they change no gradient).
    sizes : sequence of int, optional
        Parameters per player; default one parameter each (needs ``n`` players).
    players : sequence of str, optional
        Names (default ``player0``, ...).
    """

    def __init__(
        self,
        hessians: Sequence[object],
        gradients: Sequence[object] | None = None,
        constants: Sequence[float] | None = None,
        sizes: Sequence[int] | None = None,
        players: Sequence[str] | None = None,
    ) -> None:
        if (
            isinstance(hessians, torch.Tensor)
            or not isinstance(hessians, Sequence)
            or len(hessians) < 1
        ):
            raise TypeError("hessians: expected a sequence with one (n, n) matrix per player")
        count = len(hessians)
        first = as_matrix(hessians[0], "hessians[0]")
        n = first.shape[0]
        self.hessians = tuple(
            as_matrix(h, f"hessians[{i}]", shape=(n, n)) for i, h in enumerate(hessians)
        )
        for i, h in enumerate(self.hessians):
            asym = float((h - h.T).abs().max())
            if asym > 1e-12 * (1.0 + float(h.abs().max())):
                raise ValueError(
                    f"hessians[{i}]: expected a symmetric matrix (the Hessian of player {i}'s loss), "
                    f"max |C - C^T| = {asym:.3g}"
                )
        if sizes is None:
            if n != count:
                raise ValueError(
                    f"sizes: required when n ({n}) differs from the number of players ({count})"
                )
            sizes = [1] * count
        if len(sizes) != count or any(
            not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in sizes
        ):
            raise ValueError(f"sizes: expected {count} positive ints, got {list(sizes)!r}")
        if sum(sizes) != n:
            raise ValueError(
                f"sizes: expected sizes summing to n = {n}, got {list(sizes)} (sum {sum(sizes)})"
            )
        self.sizes = tuple(int(s) for s in sizes)
        if gradients is None:
            gradients = [None] * count
        if len(gradients) != count:
            raise ValueError(f"gradients: expected {count} vectors, got {len(gradients)}")
        self.gradients = tuple(
            as_vector(g, f"gradients[{i}]", size=n) for i, g in enumerate(gradients)
        )
        if constants is None:
            constants = [0.0] * count
        if len(constants) != count:
            raise ValueError(f"constants: expected {count} numbers, got {len(constants)}")
        self.constants = tuple(float(k) for k in constants)
        if players is None:
            players = [f"player{i}" for i in range(count)]
        if len(players) != count:
            raise ValueError(f"players: expected {count} names, got {len(players)}")
        self.players = tuple(players)

    # -- classic constructors -------------------------------------------------

    @classmethod
    def zero_sum(
        cls,
        P: object,
        Q: object,
        R: object,
        a: object = None,
        b: object = None,
        *,
        constant: float = 0.0,
    ) -> Quadratic:
        r"""Two-player zero-sum: :math:`\ell_x = \tfrac12 x^\top P x + x^\top Q y - \tfrac12 y^\top R y + a^\top x + b^\top y + k`, :math:`\ell_y = -\ell_x`.

        ``J = [[P, Q], [-Q^T, R]]``: P and R positive definite make the equilibrium a
        strict local Nash equilibrium, stable for the flow.
        """
        Qm = as_matrix(Q, "Q")
        m, p = Qm.shape
        Pm = as_matrix(P, "P", shape=(m, m))
        Rm = as_matrix(R, "R", shape=(p, p))
        for name, mat in (("P", Pm), ("R", Rm)):
            if float((mat - mat.T).abs().max()) > 1e-12 * (1.0 + float(mat.abs().max())):
                raise ValueError(f"{name}: expected a symmetric matrix")
        C = torch.zeros(m + p, m + p, dtype=torch.float64)
        C[:m, :m], C[:m, m:], C[m:, :m], C[m:, m:] = Pm, Qm, Qm.T, -Rm
        c = torch.cat([as_vector(a, "a", size=m), as_vector(b, "b", size=p)])
        return cls([C, -C], [c, -c], [constant, -constant], sizes=[m, p], players=("x", "y"))

    @classmethod
    def potential(
        cls,
        C: object,
        c: object = None,
        sizes: Sequence[int] | None = None,
        players: Sequence[str] | None = None,
    ) -> Quadratic:
        r"""A potential game: every player minimises the same :math:`\tfrac12\theta^\top C\theta + c^\top\theta` (so ``A = 0``)."""
        Cm = as_matrix(C, "C")
        n = Cm.shape[0]
        if sizes is None:
            sizes = [n // 2, n - n // 2] if n >= 2 else [1]
        count = len(sizes)
        cv = as_vector(c, "c", size=n)
        return cls([Cm] * count, [cv] * count, sizes=sizes, players=players)

    @classmethod
    def hamiltonian(cls, Q: object) -> Quadratic:
        r"""A Hamiltonian game (``S = 0``): :math:`\ell_x = x^\top Q y = -\ell_y`; :math:`\tfrac12|\xi|^2` is conserved by the flow."""
        Qm = as_matrix(Q, "Q")
        m, p = Qm.shape
        return cls.zero_sum(torch.zeros(m, m), Qm, torch.zeros(p, p))

    @classmethod
    def tandem(cls) -> Quadratic:
        r"""Letcher et al. (2019)'s Tandem game: :math:`\ell_1 = (x+y)^2 - 2x`, :math:`\ell_2 = (x+y)^2 - 2y`."""
        C = [[2.0, 2.0], [2.0, 2.0]]
        return cls([C, C], [[-2.0, 0.0], [0.0, -2.0]], players=("x", "y"))

    @classmethod
    def matching_pennies(cls) -> Quadratic:
        r"""Mixed-strategy matching pennies, unconstrained: :math:`\ell_1 = -(2p-1)(2q-1) = -\ell_2`.

        ``p``, ``q`` are the probabilities of heads (not projected onto [0, 1]); the
        equilibrium is (1/2, 1/2) and ``J = [[0, -4], [4, 0]]`` (eigenvalues :math:`\pm 4i`).
        """
        # -(2p-1)(2q-1) = -4pq + 2p + 2q - 1 = 1/2 theta^T C theta + c^T theta + k
        C = torch.tensor([[0.0, -4.0], [-4.0, 0.0]])
        c = torch.tensor([2.0, 2.0])
        return cls([C, -C], [c, -c], [-1.0, 1.0], players=("p", "q"))

    # -- the game ----------------------------------------------------------------

    def losses(self, params: Params) -> tuple[torch.Tensor, ...]:
        theta = torch.cat([p.reshape(-1) for p in params])
        out = []
        for C, c, k in zip(self.hessians, self.gradients, self.constants):
            Ct, ct = C.to(theta), c.to(theta)
            out.append(0.5 * theta @ (Ct @ theta) + ct @ theta + k)
        return tuple(out)

    def affine_field(self) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(M, v)`` with :math:`\xi(\theta) = M\theta + v`, in closed form (float64)."""
        rows, offsets, start = [], [], 0
        for C, c, size in zip(self.hessians, self.gradients, self.sizes):
            rows.append(C[start : start + size])
            offsets.append(c[start : start + size])
            start += size
        return torch.cat(rows), torch.cat(offsets)

    def equilibrium(
        self, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
    ) -> Params | None:
        r"""The least-norm point with :math:`\xi = 0`, or None if none exists."""
        return _solve_affine(*self.affine_field(), self.sizes, dtype, device)

    def symbolic(self) -> SymbolicGame:
        """The exact twin (entries as exact rationals)."""
        blocks = [_symbols(f"theta{i}", s) for i, s in enumerate(self.sizes)]
        theta = sp.Matrix([s for b in blocks for s in b])
        losses = []
        for C, c, k in zip(self.hessians, self.gradients, self.constants):
            expr = (
                sp.Rational(1, 2) * (theta.T * exact_matrix(C) * theta)[0, 0]
                + (exact_matrix(c).T * theta)[0, 0]
                + exact(k)
            )
            losses.append(sp.expand(expr))
        return SymbolicGame(blocks, losses, players=self.players)

    def kind(self) -> str:
        """'zero-sum' (two players, l_2 = -l_1), else 'potential' (xi is a gradient field:
        the affine field's matrix is symmetric, A = 0), else 'general-sum'. Exact tests."""
        if (
            len(self.hessians) == 2
            and torch.equal(self.hessians[0], -self.hessians[1])
            and torch.equal(self.gradients[0], -self.gradients[1])
        ):
            return "zero-sum"
        matrix, _ = self.affine_field()
        if torch.equal(matrix, matrix.T):
            return "potential"
        return "general-sum"

    def __repr__(self) -> str:
        return f"Quadratic(players={self.players}, sizes={self.sizes}, kind={self.kind()!r})"
