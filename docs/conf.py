"""Sphinx configuration of the gamedyn documentation.

Build (warnings are errors; the gallery runs every example):

    GAMEDYN_QUICK=1 .venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

``GAMEDYN_QUICK=1`` makes the example scripts shrink their work (CI sets it); setting
``GAMEDYN_DOCS_QUICK`` has the same effect from here.  ``-D plot_gallery=0`` skips running
the examples altogether (for quick iterations on the text).

The site loads nothing from another host: MathJax comes from sphinx-mathjax-offline
(copied into ``_static/mathjax``), the theme (pydata-sphinx-theme), copy buttons and cards
ship their own files; ``tests/test_docs_site.py`` checks a built site
(``GAMEDYN_DOCS_HTML=docs/_build/html``).  Navigation: the landing page's hidden toctree
lists the sections (user guide, tutorials, how-to guides, gallery, theory, benchmarks and
results, API); a new page goes into its section's index page, not into ``index.rst``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import types
from pathlib import Path

import matplotlib
from numpydoc.xref import DEFAULT_LINKS

matplotlib.use("Agg")  # before anything imports pyplot: headless builds

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # the packages, also when gamedyn is not installed

if os.environ.get("GAMEDYN_DOCS_QUICK"):
    os.environ.setdefault("GAMEDYN_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import analyses  # noqa: E402
import dynamics  # noqa: E402
import games  # noqa: E402
import gan_models  # noqa: E402

# -- project ---------------------------------------------------------------------------

project = "gamedyn"
author = "the gamedyn developers"
copyright = "the gamedyn developers"
version = release = games.__version__

# -- general ---------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax 3 (scripts and fonts) copied into _static/mathjax: maths renders offline
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "sphinx_design",
    # `.. plot::` runs its code at build time (the landing page's example and figure)
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_generated",
    "Thumbs.db",
    ".DS_Store",
    # inputs of the gallery (sphinx-gallery renders them into auto_examples/)
    "examples",
    # run folders and raw results of the benchmarks, not pages
    "mode_coverage/runs",
    "mode_coverage/quick",
    # the stacked-digits benchmark's files (table.md is for a results page to include)
    "stacked_digits",
]
language = "en"
pygments_style = "sphinx"

# -- MyST (the Markdown pages) ---------------------------------------------------------

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# -- autodoc, autosummary, numpydoc ----------------------------------------------------

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_preserve_defaults = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()

# -- cross-links -----------------------------------------------------------------------
#
# Types link to their pages, in signatures and in the numpydoc "Parameters"/"Returns"
# sections.  Signatures show the annotations with short names (``Game``, not
# ``games._protocol.Game``); every public class is defined in a private module, so
# ``_public_target`` below resolves ``games._protocol.Game`` to the documented
# ``games.Game``.  In the numpydoc sections a public name of the four packages in a
# type (``game : Game``) links to its page (``numpydoc_xref_aliases``); every other word
# of a type ("tuple of", "optional", "float") stays text.
#
# No intersphinx: torch, numpy, scipy, matplotlib and networkx publish their
# ``objects.inv`` only on their own sites, none of the installed packages ships one, and
# the build fetches nothing from another host.  Their names (``torch.Tensor``,
# ``numpy.ndarray``) are therefore plain code, not links; nitpicky mode stays off, so
# a name without a page is shown as code and is not a warning.
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
python_use_unqualified_type_names = True
numpydoc_xref_param_type = True
# numpydoc's own aliases point into the Python and NumPy inventories (``bool`` to
# ``python:bltin-boolean-values``, ``array_like`` to ``numpy:array_like``): without
# intersphinx those are broken references, so each of its names stays a plain name
numpydoc_xref_aliases = {name: name for name in DEFAULT_LINKS} | {
    name: f"{package.__name__}.{name}"
    for package in (games, dynamics, analyses, gan_models)
    for name in package.__all__
}
numpydoc_xref_ignore = "all"  # only the aliases above become links

# -- the gallery -----------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "download_all_examples": False,
    # the summary page would load table scripts from a CDN; the per-example times
    # are still printed in each example's page
    "write_computation_times": False,
    "remove_config_comments": True,
    # no "<matplotlib.legend.Legend object at 0x...>" lines under a cell ending in a call
    "ignore_repr_types": r"matplotlib[\.\w]*",
    # "Examples using X" on the API pages: the gallery records which public names of the
    # four packages each example uses (the autosummary templates add a minigallery)
    "doc_module": ("games", "dynamics", "analyses", "gan_models"),
    "backreferences_dir": "_generated/backreferences",
    "inspect_global_variables": True,
}

# -- figures made at build time (``.. plot::``) ----------------------------------------

# The landing page's and the theory page's figures are self-contained ``.. plot::``
# blocks.  The tutorials and how-to guides are run at build time as a whole: every code
# block of such a page is a ``.. plot::`` (inside ``{eval-rst}``) with ``:context:``, so
# the blocks share one namespace in page order (the first says ``:context: reset``),
# blocks without a figure say ``:nofigs:`` and the others ``:context: close-figs`` and a
# ``:caption:``.  tests/test_docs.py runs the pages the same way.  Their runs are short
# (tens of steps, small grids) and their text says so.
plot_formats = [("png", 110)]
plot_html_show_formats = False
plot_html_show_source_link = False
plot_include_source = True
plot_rcparams = {"figure.figsize": (6.0, 5.0), "figure.autolayout": True}
# the pages write files (a TOML configuration, a training run's folder): into a scratch
# folder emptied when a build starts (``_fresh_plot_folder``), not next to their sources
plot_working_directory = str(DOCS / "_build" / "plot_work")

# -- HTML ------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"gamedyn {release}"
html_static_path = ["_static"]
html_css_files = ["gamedyn.css"]
html_theme_options = {
    # the top bar lists the sections of the landing page's toctree, in that order
    "header_links_before_dropdown": 8,
    "navigation_depth": 3,
    "show_toc_level": 2,
    "navbar_align": "left",
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
    # nothing is fetched from another host: no icon links, no analytics, no version switcher
    "icon_links": [],
}
# a first visit (nothing in localStorage) follows the reader's system colours; without it
# the theme's script logs "Got invalid theme mode" as a console error on every first page
html_context = {"default_mode": "auto"}
html_sidebars = {"index": []}  # the landing page uses the full width
html_show_sourcelink = True
# sphinx-mathjax-offline sets this too; stated here so the page loads the bundled copy
mathjax_path = "mathjax/tex-chtml.js"

# sphinx-copybutton: copy the code without prompts (">>> ", "... ", "$ ") or outputs
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

# -- the CLI page: `gamedyn --help` of every subcommand, generated at build time ------


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def write_cli_help(target: Path) -> Path:
    """Write the ``--help`` text of ``gamedyn`` and of every subcommand as reST to ``target``."""
    from analyses.cli import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "90"  # argparse wraps to the terminal width: make it fixed
    try:
        parser = build_parser()
        parts = [
            ".. This file is generated by docs/conf.py from analyses.cli.build_parser(); "
            "do not edit.",
            "",
            "``gamedyn --help``",
            "-" * 80,
            "",
            ".. code-block:: text",
            "",
            *("   " + line for line in parser.format_help().rstrip().splitlines()),
            "",
        ]
        seen: set[int] = set()
        for name, sub in _subcommands(parser).items():  # in the parser's order
            if id(sub) in seen:  # an alias of a subcommand already written
                continue
            seen.add(id(sub))
            title = f"``gamedyn {name}``"
            parts += [
                "",
                f".. _cli-{name}:",
                "",
                title,
                "-" * 80,
                "",
                ".. code-block:: text",
                "",
                *("   " + line for line in sub.format_help().rstrip().splitlines()),
                "",
            ]
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    text = "\n".join(line.rstrip() for line in parts) + "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != text:  # unchanged: no rebuild
        target.write_text(text)
    return target


write_cli_help(DOCS / "_generated" / "cli_help.rst")


# -- hooks -----------------------------------------------------------------------------


def _no_signature_for_data(app, what, name, obj, options, signature, return_annotation):
    """Type aliases (``games.Params``, ``dynamics.StepSize``) get no call signature.

    numpydoc's signature hook treats a callable alias such as ``tuple[Tensor, ...]`` as
    a function and returns one, which autodoc cannot place on a data object.  Returning
    an empty, non-None result first stops the chain without changing anything.
    """
    if what == "data":
        return ()
    return None


def _alias_docstring(app, what, name, obj, options, lines):
    """A re-exported type alias keeps the docstring written under it in its own module.

    ``games.Params`` is defined (and documented) in ``games._protocol``; the analyser
    only reads the package's ``__init__``, and the alias object itself carries the
    docstring of ``tuple`` or of ``types.UnionType``.
    """
    if what != "data":
        return
    from sphinx.pycode import ModuleAnalyzer

    package, _, attr = name.rpartition(".")
    for module_name in sorted(sys.modules):
        module = sys.modules[module_name]
        if not module_name.startswith(package + ".") or getattr(module, attr, None) is not obj:
            continue
        found = ModuleAnalyzer.for_module(module_name).find_attr_docs().get(("", attr))
        if found:
            lines[:] = list(found)
            if not isinstance(obj, types.GenericAlias):  # autodoc names those itself
                lines += ["", f"Alias of ``{obj!r}``.".replace("collections.abc.", ""), ""]
            return


def _public_target(app, env, node, contnode):
    """``games._protocol.Game`` (a signature's annotation) links to the page of ``games.Game``.

    The public classes and functions live in private modules and are documented under
    their package; Sphinx writes an annotation with the defining module.  A target
    ``package._module.Name`` whose ``Name`` the package exports resolves to
    ``package.Name``; any other missing reference is left to Sphinx (shown as code).
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    package, _, rest = target.partition(".")
    name = rest.rpartition(".")[2]
    if package not in ("games", "dynamics", "analyses", "gan_models") or rest == name:
        return None
    if not rest.startswith("_") and "._" not in "." + rest:
        return None
    module = sys.modules.get(package)
    if module is None or name not in getattr(module, "__all__", ()):
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node.get("refdoc"), app.builder, node.get("reftype"), f"{package}.{name}",
        node, contnode,
    )  # fmt: skip


def _fresh_plot_folder(app):
    """An empty working folder for the pages' code at the start of every build."""
    folder = Path(app.config.plot_working_directory)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def _drop_object_base(app, name, obj, options, bases):
    """No "Bases: object" line on every plain class."""
    bases[:] = [base for base in bases if base is not object]


def setup(app):
    """Sphinx calls this for a conf.py that defines it: connect the hooks above."""
    app.connect("autodoc-process-signature", _no_signature_for_data, priority=100)
    app.connect("autodoc-process-docstring", _alias_docstring)
    app.connect("autodoc-process-bases", _drop_object_base)
    app.connect("missing-reference", _public_target)
    app.connect("builder-inited", _fresh_plot_folder)
