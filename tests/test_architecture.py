"""The house rules of docs/architecture.md, checked on the source (ast, nothing imported).

- Four floors, ``games <- dynamics <- gan_models <- analyses``: a module imports from its
  own package or from a lower floor, never from a higher one (lazy imports inside
  functions and ``TYPE_CHECKING`` imports count too).
- Across packages only public names: no ``games._x`` module and no ``_name`` from
  another package (dunders such as ``__version__`` are public).
- No module over ``MAX_LINES`` lines: split it by concept.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOORS = ("games", "dynamics", "gan_models", "analyses")  # lowest first
MAX_LINES = 600


def _modules() -> list[tuple[str, Path]]:
    """(dotted module name, path) of every module of the four packages."""
    found = []
    for package in FLOORS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.append((".".join(parts), path))
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module imported from, names imported) for every import statement."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # the package the relative import starts from
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [alias.name for alias in node.names]
            if node.level and not node.module:
                # ``from . import x``: x may be a submodule
                out += [(node.lineno, f"{target}.{name}", []) for name in names]
            else:
                out.append((node.lineno, target, names))
    return out


def _floor(module: str) -> int | None:
    top = module.split(".")[0]
    return FLOORS.index(top) if top in FLOORS else None


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_the_four_packages_are_found() -> None:
    assert {m.split(".")[0] for m, _ in MODULES} == set(FLOORS)
    assert len(MODULES) > 20


def test_no_back_arrows() -> None:
    """A lower floor never imports a higher one."""
    arrows = []
    for module, path in MODULES:
        own = _floor(module)
        assert own is not None
        for line, target, _ in _imports(module, path):
            floor = _floor(target)
            if floor is not None and floor > own:
                arrows.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {target}")
    assert not arrows, "imports from a higher floor:\n" + "\n".join(arrows)


def test_no_private_cross_package_imports() -> None:
    """Across packages: public modules and public names only."""
    found = []
    for module, path in MODULES:
        package = module.split(".")[0]
        for line, target, names in _imports(module, path):
            top = target.split(".")[0]
            if top not in FLOORS or top == package:
                continue
            private = [part for part in target.split(".") if _private(part)]
            private += [name for name in names if _private(name)]
            if private:
                found.append(
                    f"{path.relative_to(ROOT)}:{line}: {module} imports "
                    f"{', '.join(private)} from {target}"
                )
    assert not found, "private names imported from another package:\n" + "\n".join(found)


def test_the_checks_see_relative_and_lazy_imports(tmp_path: Path) -> None:
    """The checker itself: relative, lazy and TYPE_CHECKING imports are resolved."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import autodiff\n"
        "from ..analyses import sweep\n"
        "if TYPE_CHECKING:\n"
        "    from gan_models import Trainer\n"
        "def f():\n"
        "    from games._protocol import _hidden\n"
    )
    path = tmp_path / "module.py"
    path.write_text(source)
    got = {(target, tuple(names)) for _, target, names in _imports("games.module", path)}
    assert ("games.autodiff", ()) in got
    assert ("analyses", ("sweep",)) in got
    assert ("gan_models", ("Trainer",)) in got
    assert ("games._protocol", ("_hidden",)) in got


@pytest.mark.parametrize("module, path", MODULES, ids=[m for m, _ in MODULES])
def test_modules_stay_small(module: str, path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, (
        f"{path.relative_to(ROOT)} has {lines} lines (at most {MAX_LINES}): split it by concept"
    )
