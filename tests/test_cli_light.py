"""A fast, quiet command line: ``gamedyn --help``, every ``gamedyn COMMAND --help``,
``gamedyn games`` and ``gamedyn rules`` import neither torch nor matplotlib; the lazy
package namespaces (``games.lazy``) resolve every public name; the parsers' light name
tables equal the library's."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("games", "dynamics", "gan_models", "analyses")
LAZY = ("games", "dynamics", "analyses")
HEAVY = ("torch", "matplotlib")


def _python(code: str) -> str:
    """Run ``code`` in a fresh interpreter at the repository root; its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


_LIGHT_RUN = """
import contextlib, io, json, sys
from analyses.cli import build_parser, main
commands = list(build_parser()._subparsers._group_actions[0].choices)
runs = [["--help"]] + [[c, "--help"] for c in commands]
runs += [["games"], ["games", "dirac", "--json"], ["rules"], ["rules", "--json"]]
report = []
for argv in runs:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in %r)
    report.append({"argv": argv, "code": code, "heavy": heavy, "chars": len(out.getvalue())})
print(json.dumps({"commands": commands, "report": report}))
"""


def test_help_games_and_rules_import_neither_torch_nor_matplotlib() -> None:
    result = json.loads(_python(_LIGHT_RUN % (HEAVY,)))
    # the subcommands found by the subprocess are the ones the CLI module lists
    from analyses.cli import COMMANDS

    assert len(result["commands"]) == len(COMMANDS) >= 9
    assert {"report", "train", "spectrum", "stability", "games", "rules"} <= set(result["commands"])
    for run in result["report"]:
        assert run["code"] in (0, None), run
        assert run["chars"] > 200, run  # it printed its help or listing
        assert run["heavy"] == [], f"gamedyn {' '.join(run['argv'])} imported {run['heavy']}"


def test_version_names_torch() -> None:
    """``--version`` is the one light option that imports torch (to name its version)."""
    import torch

    from games import __version__

    done = subprocess.run(
        [sys.executable, "-m", "analyses.cli", "--version"],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"gamedyn {__version__} (torch {torch.__version__})"


def test_importing_a_package_imports_none_of_its_modules() -> None:
    out = _python(
        "import sys, games, dynamics, analyses, dynamics.registry, analyses._registry\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sympy', "
        "'scipy', 'matplotlib')))"
    )
    assert out.strip() == "[]"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves(package: str) -> None:
    """Each name of ``__all__`` resolves, to the object its defining module holds, and
    ``from PACKAGE import *`` binds exactly ``__all__``."""
    code = (
        f"import {package}, json\n"
        f"names = {{n: type(getattr({package}, n)).__name__ for n in {package}.__all__}}\n"
        "scope = {}\n"
        f"exec('from {package} import *', scope)\n"
        "print(json.dumps([names, sorted(k for k in scope if k != '__builtins__')]))"
    )
    names, star = json.loads(_python(code))
    module = importlib.import_module(package)
    assert sorted(names) == sorted(module.__all__) == star
    assert len(set(module.__all__)) == len(module.__all__)
    for name in module.__all__:
        value = getattr(module, name)
        assert type(value).__name__ == names[name]
        assert not isinstance(value, type(sys)), f"{package}.{name} is a module"
        owner = getattr(value, "__module__", None)
        if owner and owner.startswith(package + "."):
            # the object is the one its own module defines (not a stale copy)
            assert getattr(importlib.import_module(owner), name, value) is value


def test_lazy_names_match_the_type_checking_blocks() -> None:
    """What mypy and the API reference see (the ``TYPE_CHECKING`` imports) is what the
    package resolves at run time, for every lazy package."""
    from games.lazy import exports

    for package in LAZY:
        module = importlib.import_module(package)
        assert module.__file__ is not None
        declared = exports(module.__file__)
        assert set(declared) == set(module.__all__) | {"__version__"} & set(declared)
        for name, (submodule, attribute) in declared.items():
            defining = importlib.import_module(f"{package}.{submodule}")
            assert getattr(module, name) is getattr(defining, attribute)


def test_a_public_name_wins_over_its_module() -> None:
    """``dynamics.linearize``, ``analyses.sweep``, ``games.unrolled`` are the functions,
    as with eager imports, even when their module is imported first."""
    out = _python(
        "import dynamics.linearize, analyses.sweep, games.unrolled, analyses.path_angle\n"
        "import dynamics, analyses, games\n"
        "print([type(x).__name__ for x in (dynamics.linearize, analyses.sweep, "
        "games.unrolled, analyses.path_angle)])"
    )
    assert json.loads(out.replace("'", '"')) == ["function"] * 4


def test_attach_refuses_a_name_the_block_does_not_import(tmp_path: Path) -> None:
    package = tmp_path / "half_lazy"
    package.mkdir()
    (package / "thing.py").write_text("def thing():\n    return 1\n")
    (package / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\nfrom games.lazy import attach\n"
        "if TYPE_CHECKING:\n    from .thing import thing\n"
        "__all__ = ['thing', 'other']\nattach(__name__)\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ImportError, match="other"):
            importlib.import_module("half_lazy")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("half_lazy", None)


# -- the parsers' light tables against the library ------------------------------------------


def test_light_tables_equal_the_library() -> None:
    from analyses.cli import _names
    from analyses.report import STUDIES
    from analyses.run_plots import RUN_FIGURES
    from games.unrolled import INNER_RULES
    from gan_models import config_names

    assert _names.STUDIES == tuple(STUDIES)
    assert _names.RUN_FIGURES == RUN_FIGURES
    assert _names.INNER_RULES == INNER_RULES
    assert _names.config_names() == config_names() != ()


def test_rule_entries_name_their_classes() -> None:
    """``class_name`` and ``scale_invariant`` (known without importing a rule) agree with
    the classes that ``build`` returns."""
    import dynamics
    from dynamics.registry import RULES, build

    for entry in RULES.values():
        cls = getattr(dynamics, entry.class_name)
        assert entry.cls is cls
        assert entry.scale_invariant is bool(cls.scale_invariant)
        values = {p.name: p.default for p in entry.params}
        assert type(build(entry, values, lr=0.1)) is cls
    assert {e.name for e in RULES.values() if e.scale_invariant} == {"adam", "rmsprop"}


@pytest.mark.parametrize("package", ["games", "dynamics", "analyses"])
def test_lazy_packages_pickle_as_references(package: str) -> None:
    # Dask ships a function defined in __main__ by value (cloudpickle), with the modules
    # it refers to: a lazy package must pickle as a reference to the importable package.
    import pickle

    module = importlib.import_module(package)
    assert pickle.loads(pickle.dumps(module)) is module
    cloudpickle = pytest.importorskip("cloudpickle")
    namespace: dict[str, object] = {"m": module}
    exec("def uses_module():\n    return m", namespace)  # a function not importable by name
    shipped = cloudpickle.dumps(namespace["uses_module"])
    assert cloudpickle.loads(shipped)() is module
