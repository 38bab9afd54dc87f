"""Writing the report folder: :func:`generate_report`, ``summary.json`` and atomic writes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from games.formatting import format_duration
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


# The studies' usual cost, longest first: the order a pool of workers takes them in.
_LONGEST_FIRST = ("neural", "temperature", "dirac", "unroll", "xy", "ttur", "function_space")


def _run_study(ctx: Context, key: str, threads: int | None = None) -> Section:
    """Run one study into a fresh :class:`Section` (in a worker: with ``threads`` threads)."""
    import matplotlib

    if threads is not None:
        torch.set_num_threads(threads)
    previous_backend = matplotlib.get_backend()
    matplotlib.use("Agg")
    try:
        torch.manual_seed(ctx.seed)
        section = Section(key, STUDIES[key], _INTROS[key])
        t0 = time.perf_counter()
        _RUNNERS[key](ctx, section)
        section.seconds = time.perf_counter() - t0
    finally:
        if previous_backend.lower() != "agg":
            try:
                matplotlib.use(previous_backend)
            except Exception:  # pragma: no cover - the previous backend may be unavailable
                pass
    return section


def _elapsed(started: float) -> str:
    """``elapsed 1m07s``: the report's wall time so far."""
    return f"elapsed {format_duration(time.perf_counter() - started)}"


def _run_serial(
    ctx: Context, chosen: list[str], say: Callable[[str], None], started: float
) -> list[Section]:
    sections = []
    for number, key in enumerate(chosen, 1):
        say(f"[{number}/{len(chosen)}] {STUDIES[key]} ... ({_elapsed(started)})")
        section = _run_study(ctx, key)
        sections.append(section)
        say(
            f"[{number}/{len(chosen)}] done in {section.seconds:.1f} s "
            f"({len(section.figures)} figures; {_elapsed(started)})"
        )
    return sections


def _run_parallel(
    ctx: Context, chosen: list[str], jobs: int, say: Callable[[str], None], started: float
) -> list[Section]:
    """The studies in ``jobs`` processes, each with one torch thread.

    On Linux the workers are forked (they start with everything already imported, as
    torch's own data-loader workers do); elsewhere they are spawned.
    """
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor, as_completed

    order = sorted(chosen, key=lambda k: _LONGEST_FIRST.index(k))
    say(f"running {len(chosen)} studies in {jobs} processes ...")
    done: dict[str, Section] = {}
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method)) as pool:
        futures = {pool.submit(_run_study, ctx, key, 1): key for key in order}
        for future in as_completed(futures):
            section = future.result()
            done[section.key] = section
            say(
                f"[{len(done)}/{len(chosen)}] {STUDIES[section.key]}: done in "
                f"{section.seconds:.1f} s ({len(section.figures)} figures; {_elapsed(started)})"
            )
    return [done[key] for key in chosen]


def generate_report(
    out: str | os.PathLike[str] = "gamedyn-report",
    *,
    quick: bool = False,
    seed: int = 0,
    device: str = "auto",
    studies: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
    jobs: int = 1,
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
        Called with one line per study started and finished (with the report's elapsed
        wall time; studies run in parallel announce their end only) and one line when
        the report is written, which announces its completion (default: silent).
    jobs : int
        Studies run at once, each in its own process with one torch thread when
        ``jobs > 1`` (default 1: in this process, one after the other). Every study seeds
        itself, so the numbers do not depend on ``jobs``; only the wall time does.

    Returns
    -------
    dict
        The summary written to ``summary.json`` (as written: complex numbers as
        ``[re, im]``, non-finite numbers as ``"inf"``, ``"-inf"``, ``"nan"``; see
        :mod:`gan_models.jsonio`).

    Raises
    ------
    ValueError
        If ``studies``, ``seed``, ``device``, ``jobs`` or ``out`` is not valid (``out``
        must be a writable folder, checked before any study runs).
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
    from games import __version__
    from gan_models import resolve_device

    chosen = _check_studies(studies)
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise ValueError(f"jobs: expected an int >= 1, got {jobs!r}")
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
    started = time.perf_counter()
    if jobs > 1 and len(chosen) > 1:
        sections = _run_parallel(ctx, chosen, min(int(jobs), len(chosen)), say, started)
    else:
        sections = _run_serial(ctx, chosen, say, started)
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
    figures = sum(len(s.figures) for s in sections)
    formats = "PNG" if quick else "PNG and SVG"
    say(
        f"report written to {out_path / 'index.html'}: {figures} figures ({formats}) and "
        f"summary.json, in {meta['seconds']:.1f} s"
    )
    return summary
