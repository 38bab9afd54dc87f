"""Writing the report folder: :func:`generate_report`, ``summary.json`` and atomic writes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_models import jsonio

from . import dirac, function_space, neural, page, temperature, ttur, unroll, xy
from ._common import Context, Section, write_atomic

__all__ = ["STUDIES", "generate_report"]

_MODULES = (xy, dirac, ttur, unroll, function_space, temperature, neural)

STUDIES: dict[str, str] = {m.KEY: m.TITLE for m in _MODULES}
"""The report's studies, by key, in the order they appear."""

_INTROS: dict[str, str] = {m.KEY: m.INTRO for m in _MODULES}
_RUNNERS: dict[str, Callable[[Context, Section], None]] = {m.KEY: m.study for m in _MODULES}


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`._common.write_atomic`)."""

    def write(name: str) -> None:
        with open(name, "w", encoding="utf-8") as handle:
            handle.write(text)

    write_atomic(path, write)


def _check_studies(studies: Iterable[str] | None) -> list[str]:
    if studies is None:
        return list(STUDIES)
    if isinstance(studies, str):
        studies = [studies]
    chosen = list(studies)
    unknown = [s for s in chosen if s not in STUDIES]
    if unknown or not chosen:
        raise ValueError(
            f"studies: expected a non-empty selection of {', '.join(STUDIES)}; got {chosen!r}"
        )
    return [s for s in STUDIES if s in chosen]


def generate_report(
    out: str | os.PathLike[str] = "gamedyn-report",
    *,
    quick: bool = False,
    seed: int = 0,
    device: str = "auto",
    studies: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the canonical studies and write the report folder.

    Parameters
    ----------
    out : path
        The folder to write (created if missing; files in it are overwritten).
    quick : bool
        Smaller grids and shorter training (the whole report in under a minute on two
        CPU cores).
    seed : int
        Seeds every random choice (the neural GAN's initialisation and batches).
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda[:N]"``, for the neural GAN;
        the closed-form studies run on the CPU in float64.
    studies : iterable of str, optional
        Keys of :data:`STUDIES` to run (default: all).
    progress : callable, optional
        Called with one line per study started and finished (default: silent).

    Returns
    -------
    dict
        The summary written to ``summary.json`` (as written: complex numbers as
        ``[re, im]``, non-finite numbers as ``"inf"``, ``"-inf"``, ``"nan"``; see
        :mod:`gan_models.jsonio`).

    Raises
    ------
    ValueError
        If ``studies``, ``seed``, ``device`` or ``out`` is not valid (``out`` must be
        a writable folder, checked before any study runs).
    OSError
        If a file cannot be written later (a full disk); files already written stay.

    Examples
    --------
    >>> import tempfile
    >>> from analyses.report import generate_report
    >>> with tempfile.TemporaryDirectory() as out:
    ...     summary = generate_report(out, quick=True, studies=["dirac"])
    >>> round(summary["studies"]["dirac"]["r1_spectral_radius"], 6)  # |1 - 0.5 * 0.5|
    0.75
    """
    import matplotlib

    from games import __version__
    from gan_models import resolve_device

    chosen = _check_studies(studies)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= 2**62:
        raise ValueError(f"seed: expected an int in [0, 2**62], got {seed!r}")
    try:
        resolved = str(resolve_device(device))
    except ValueError as error:  # gan_models.ConfigError: names the device already
        raise ValueError(str(error)) from None
    except RuntimeError as error:
        raise ValueError(
            f"device: expected auto, cpu or cuda[:N], got {device!r} ({error})"
        ) from None
    out_path = Path(out)
    if out_path.exists() and not out_path.is_dir():
        raise ValueError(f"out: expected a folder, got the existing file {str(out_path)!r}")
    figures_dir = out_path / "figures"
    try:
        figures_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(figures_dir / ".probe", lambda name: None)
        (figures_dir / ".probe").unlink()
    except OSError as error:
        raise ValueError(
            f"out: cannot write in {str(out_path)!r} ({error.strerror or error})"
        ) from None
    say = progress or (lambda line: None)
    ctx = Context(out_path, bool(quick), int(seed), resolved, figures_dir)
    sections: list[Section] = []
    started = time.perf_counter()
    previous_backend = matplotlib.get_backend()
    matplotlib.use("Agg")
    try:
        for number, key in enumerate(chosen, 1):
            say(f"[{number}/{len(chosen)}] {STUDIES[key]} ...")
            torch.manual_seed(int(seed))
            section = Section(key, STUDIES[key], _INTROS[key])
            t0 = time.perf_counter()
            _RUNNERS[key](ctx, section)
            section.seconds = time.perf_counter() - t0
            sections.append(section)
            say(
                f"[{number}/{len(chosen)}] done in {section.seconds:.1f} s "
                f"({len(section.figures)} figures)"
            )
    finally:
        if previous_backend.lower() != "agg":
            try:
                matplotlib.use(previous_backend)
            except Exception:  # pragma: no cover - the previous backend may be unavailable
                pass
    meta = {
        "version": __version__,
        "torch": torch.__version__,
        "seed": int(seed),
        "quick": bool(quick),
        "device": resolved,
        "seconds": time.perf_counter() - started,
    }
    summary: dict[str, Any] = jsonio.to_jsonable(
        {
            **meta,
            "studies": {s.key: s.numbers for s in sections},
            "figures": {s.key: [f.name for f in s.figures] for s in sections},
            "timings": {s.key: s.seconds for s in sections},
        }
    )
    _write_atomic(out_path / "summary.json", jsonio.dumps(summary, indent=1) + "\n")
    _write_atomic(out_path / "index.html", page.render(sections, meta))
    say(f"report written to {out_path / 'index.html'} in {meta['seconds']:.1f} s")
    return summary
