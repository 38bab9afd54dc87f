"""Lazy package namespaces (PEP 562), shared by the four packages (public module).

``import games`` (``dynamics``, ``gan_models``, ``analyses``) imports none of the
package's modules: each public name is imported from its module on first use, so a
program that needs one light corner of gamedyn (``gamedyn --help``, ``gamedyn rules``,
``from games.vocabulary import ...``) does not pay for torch, sympy, scipy or
matplotlib.  ``from games import jacobian``, ``games.jacobian``, ``dir(games)`` and
``from games import *`` behave as with eager imports.

A package declares its names once, as ordinary relative imports inside an
``if TYPE_CHECKING:`` block of its ``__init__.py`` (so mypy, editors and the API
reference see every name), and ends with ``attach(__name__)``: the block is read from
the source, and each name is imported from its module when it is first looked up.
"""

from __future__ import annotations

import ast
import importlib
import sys
import types
from pathlib import Path
from typing import Any

__all__ = ["attach", "exports"]


def exports(init_file: str | Path) -> dict[str, tuple[str, str]]:
    """The names a package's ``if TYPE_CHECKING:`` block imports from its own modules.

    Parameters
    ----------
    init_file : str or Path
        The package's ``__init__.py``.

    Returns
    -------
    dict
        ``{name: (module, attribute)}``: ``from .spectra import eigenvalues`` gives
        ``{"eigenvalues": ("spectra", "eigenvalues")}``, ``from .m import a as b`` gives
        ``{"b": ("m", "a")}``.
    """
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    found: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        test = node.test if isinstance(node, ast.If) else None
        if not (
            (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
        ):
            continue
        assert isinstance(node, ast.If)
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom) and statement.level == 1 and statement.module:
                for alias in statement.names:
                    found[alias.asname or alias.name] = (statement.module, alias.name)
    return found


class _LazyPackage(types.ModuleType):
    """A package module whose public names are imported on first use."""

    _lazy: dict[str, tuple[str, str]]

    def __getattr__(self, name: str) -> Any:
        lazy = self.__dict__.get("_lazy", {})
        if name not in lazy:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        module, attribute = lazy[name]
        value = getattr(importlib.import_module(f"{self.__name__}.{module}"), attribute)
        self.__dict__[name] = value
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        # Importing a submodule binds it on its package.  Where a public name is also the
        # name of its module (dynamics.linearize, analyses.sweep), the public name wins,
        # as it does with eager imports (the ``from .m import m`` line runs last).
        lazy = self.__dict__.get("_lazy", {})
        if (
            isinstance(value, types.ModuleType)
            and name in lazy
            and value.__name__ == f"{self.__name__}.{lazy[name][0]}"
        ):
            value = getattr(value, lazy[name][1])
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.__dict__.get("_lazy", {})))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # pickle and cloudpickle (Dask) dispatch modules on the exact type
        # ``types.ModuleType``, so a subclass would not pickle at all: pickle it as what
        # it is, a reference to an importable package.
        return importlib.import_module, (self.__name__,)


def attach(package: str) -> None:
    """Make the package ``package`` import its public names on first use.

    Call it as ``attach(__name__)`` at the end of the package's ``__init__.py``, after
    an ``if TYPE_CHECKING:`` block of ``from .module import name`` lines and ``__all__``.

    Raises
    ------
    ImportError
        A name of ``__all__`` that the block does not import (and the package does not
        define): the namespace and its public surface disagree.
    """
    module = sys.modules[package]
    if module.__file__ is None:
        raise ImportError(f"{package}: attach needs the package's __init__.py source")
    lazy = exports(module.__file__)
    missing = [
        name
        for name in getattr(module, "__all__", ())
        if name not in lazy and name not in module.__dict__
    ]
    if missing:
        raise ImportError(
            f"{package}: __all__ names {', '.join(missing)}, which the TYPE_CHECKING "
            "block does not import"
        )
    module.__dict__["_lazy"] = lazy
    module.__class__ = _LazyPackage
