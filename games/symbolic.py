"""Exact (sympy) games: the symbolic twins of the closed-form games.

A :class:`SymbolicGame` is built from sympy symbols (one list per player) and one loss
expression per player.  It gives the exact vector field, Jacobian, eigenvalues and
equilibria, and converts to a numeric :class:`games.Game` by ``lambdify`` to torch, so
every numeric result can be compared with an exact one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import mpmath
import numpy as np
import sympy as sp
import torch

from ._protocol import Params

__all__ = ["LambdifiedGame", "SymbolicGame", "exact"]


def exact(value: float | int | sp.Basic) -> sp.Expr:
    """The exact rational value of a float (its binary value, not a decimal guess).

    Sympy expressions pass through unchanged.
    """
    if isinstance(value, sp.Basic):
        return value
    return sp.Rational(float(value)) if not isinstance(value, int) else sp.Integer(value)


def exact_matrix(tensor: torch.Tensor | np.ndarray) -> sp.Matrix:
    """A sympy matrix with the exact rational values of a float matrix."""
    array = np.asarray(
        tensor.detach().cpu() if isinstance(tensor, torch.Tensor) else tensor, dtype=np.float64
    )
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    return sp.Matrix(array.shape[0], array.shape[1], [exact(float(v)) for v in array.ravel()])


class SymbolicGame:
    """An exact game: sympy symbols per player and one loss expression per player.

    Parameters
    ----------
    symbols : sequence of sequences of sympy.Symbol
        Player ``i``'s parameters, in the order of its flat parameter vector.
    losses : sequence of sympy.Expr
        Player ``i``'s loss (to be minimised).
    players : sequence of str, optional
        Names (default ``player0``, ``player1``, ...).

    Examples
    --------
    >>> import sympy as sp
    >>> from games import SymbolicGame
    >>> x, y = sp.symbols("x y", real=True)
    >>> g = SymbolicGame([[x], [y]], [x * y, -x * y], players=("x", "y"))
    >>> g.jacobian()
    Matrix([
    [ 0, 1],
    [-1, 0]])
    >>> sorted(g.eigenvalues(), key=str)
    [-I, I]
    """

    def __init__(
        self,
        symbols: Sequence[Sequence[sp.Symbol]],
        losses: Sequence[sp.Expr],
        players: Sequence[str] | None = None,
    ) -> None:
        if isinstance(symbols, (str, sp.Basic)) or not isinstance(symbols, Sequence):
            raise TypeError("symbols: expected one sequence of sympy symbols per player")
        self.symbols: tuple[tuple[sp.Symbol, ...], ...] = tuple(tuple(s) for s in symbols)
        if any(len(s) == 0 for s in self.symbols):
            raise ValueError("symbols: every player needs at least one symbol")
        for block in self.symbols:
            for s in block:
                if not isinstance(s, sp.Symbol):
                    raise TypeError(
                        f"symbols: expected sympy Symbols, got {type(s).__name__} {s!r}"
                    )
        flat = [s for block in self.symbols for s in block]
        if len(set(flat)) != len(flat):
            raise ValueError("symbols: a symbol appears twice")
        if isinstance(losses, sp.Basic) or len(losses) != len(self.symbols):
            raise ValueError(
                f"losses: expected {len(self.symbols)} expressions (one per player), "
                f"got {1 if isinstance(losses, sp.Basic) else len(losses)}"
            )
        self.loss_exprs: tuple[sp.Expr, ...] = tuple(sp.sympify(e) for e in losses)
        if players is None:
            players = tuple(f"player{i}" for i in range(len(self.symbols)))
        if len(players) != len(self.symbols):
            raise ValueError(f"players: expected {len(self.symbols)} names, got {len(players)}")
        self.players: tuple[str, ...] = tuple(players)
        self.sizes: tuple[int, ...] = tuple(len(s) for s in self.symbols)
        self._flat = tuple(flat)
        self._jacobian_mpmath: Callable[..., Any] | None = None

    @property
    def all_symbols(self) -> tuple[sp.Symbol, ...]:
        """All parameter symbols in flat order."""
        return self._flat

    def vector_field(self) -> sp.Matrix:
        r"""Exact :math:`\xi` as an ``n x 1`` matrix."""
        rows = [
            sp.diff(loss, s) for loss, block in zip(self.loss_exprs, self.symbols) for s in block
        ]
        return sp.Matrix(rows)

    def jacobian(self) -> sp.Matrix:
        r"""Exact :math:`J = \partial\xi/\partial\theta` (``n x n``)."""
        return self.vector_field().jacobian(sp.Matrix(self._flat))

    def substitution(
        self, point: Sequence[Any] | Mapping[sp.Symbol, Any]
    ) -> dict[sp.Symbol, sp.Expr]:
        """A substitution dict from a params-like point (exact rationals) or a mapping."""
        if isinstance(point, Mapping):
            return {k: exact(v) for k, v in point.items()}
        if len(point) != len(self.symbols):
            raise ValueError(
                f"point: expected {len(self.symbols)} blocks (one per player), got {len(point)}"
            )
        subs: dict[sp.Symbol, sp.Expr] = {}
        for i, (block, values) in enumerate(zip(self.symbols, point)):
            array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else values
            if isinstance(array, sp.Basic) or np.ndim(array) == 0:
                array = [array]
            entries = list(array)
            if len(entries) != len(block):
                raise ValueError(f"point[{i}]: expected {len(block)} values, got {len(entries)}")
            for s, v in zip(block, entries):
                subs[s] = exact(v if isinstance(v, sp.Basic) else float(v))
        return subs

    def jacobian_at(self, point: Sequence[Any] | Mapping[sp.Symbol, Any]) -> sp.Matrix:
        """The exact Jacobian at a point (params-like values are taken as exact rationals)."""
        return self.jacobian().subs(self.substitution(point))

    def eigenvalues_at(
        self, point: Sequence[Any] | Mapping[sp.Symbol, Any], *, digits: int = 30
    ) -> list[complex]:
        """Eigenvalues of the exact Jacobian at a point, computed with ``digits`` digits.

        The Jacobian expression is evaluated with mpmath at ``digits + 20`` digits at the
        exact (rational) point and its eigenvalues found by mpmath's QR algorithm: an
        independent channel from LAPACK's float64 ``eig``, for any size (where
        :meth:`eigenvalues` needs roots in radicals).
        """
        subs = self.substitution(point)
        if self._jacobian_mpmath is None:
            self._jacobian_mpmath = sp.lambdify(list(self._flat), self.jacobian(), modules="mpmath")
        with mpmath.workdps(digits + 20):
            args = [mpmath.mpmathify(subs.get(s, s).evalf(digits + 20)) for s in self._flat]
            matrix = mpmath.matrix(self._jacobian_mpmath(*args).tolist())
            values = mpmath.eig(matrix, left=False, right=False)
            out = [complex(v) for v in values]
        return sorted(out, key=lambda z: (round(z.real, 12), round(z.imag, 12)))

    def eigenvalues(
        self, point: Sequence[Any] | Mapping[sp.Symbol, Any] | None = None
    ) -> dict[sp.Expr, int]:
        """Exact eigenvalues of ``J`` (with multiplicities), at ``point`` if given."""
        matrix = self.jacobian() if point is None else self.jacobian_at(point)
        return matrix.eigenvals()

    def equilibria(self, **solve_kwargs: Any) -> list[dict[sp.Symbol, sp.Expr]]:
        r"""Solutions of :math:`\xi(\theta) = 0` found by ``sympy.solve``."""
        return sp.solve(list(self.vector_field()), list(self._flat), dict=True, **solve_kwargs)

    def to_game(self) -> LambdifiedGame:
        """A numeric :class:`games.Game` computing the same losses with torch."""
        return LambdifiedGame(self)

    def __repr__(self) -> str:
        return f"SymbolicGame(players={self.players}, sizes={self.sizes})"


class LambdifiedGame:
    """The numeric twin of a :class:`SymbolicGame` (losses lambdified to torch).

    Follows the :class:`games.Game` protocol; free symbols other than the parameters
    are not allowed (substitute them first).
    """

    def __init__(self, symbolic: SymbolicGame) -> None:
        extra = set().union(*(e.free_symbols for e in symbolic.loss_exprs)) - set(
            symbolic.all_symbols
        )
        if extra:
            raise ValueError(
                f"symbolic: the losses have free symbols that are not parameters: "
                f"{sorted(map(str, extra))}; substitute values for them first"
            )
        self.symbolic = symbolic
        self.players = symbolic.players
        self.sizes = symbolic.sizes
        self._functions: list[Callable[..., Any]] = [
            # evalf: constants such as log(2) become floats (torch's log rejects Python ints)
            sp.lambdify(list(symbolic.all_symbols), expr.evalf(20), modules="torch")
            for expr in symbolic.loss_exprs
        ]

    def losses(self, params: Params) -> tuple[torch.Tensor, ...]:
        flat = torch.cat([p.reshape(-1) for p in params])
        # 1-element slices, not 0-d scalars (see games.dirac: forward-mode AD dtype bug)
        scalars = list(flat.split(1))
        out = []
        for fn in self._functions:
            value = fn(*scalars)
            if not isinstance(value, torch.Tensor):
                value = flat.sum() * 0 + float(value)
            out.append(value.reshape(()))
        return tuple(out)

    def __repr__(self) -> str:
        return f"LambdifiedGame(players={self.players}, sizes={self.sizes})"
