r"""Parameter sweeps that run serially, on a process pool or on a Dask cluster without losing work.

:func:`sweep` evaluates one function on every point of a grid of parameters, for every
seed, and appends each finished point to a JSON-lines results file. Running the same
sweep again reads the file and computes only the points that are missing, so a sweep
that was interrupted (Ctrl-C, a killed job, a lost worker) resumes where it stopped.

The contract of the swept function
----------------------------------
``function(**params, seed=derived_seed)`` is called once per point and returns a mapping
of result names (``str``) to JSON-serialisable values (numbers, strings, booleans,
``None``, lists and nested mappings; numpy scalars and arrays, and anything else with a
``tolist()`` method, are converted, complex numbers become ``[re, im]``). Anything else it
returns is stored under the name ``"value"``. Results go through JSON on their way back,
so a tuple comes back as a list, whichever executor ran the point. The function takes all its randomness from ``seed``
(``numpy.random.default_rng(seed)``, ``torch.Generator().manual_seed(seed)``, ...), so that
a point's result depends on the point only. An exception raised by the function
(any :class:`Exception`) is recorded for that point with status ``"error"`` and the sweep
goes on; a :class:`KeyboardInterrupt` stops the sweep, and every point finished before it
stays in the file.

Points, identities and seeds
----------------------------
A point is ``(params, seed)``: ``params`` one combination of the grid (parameter values
must be JSON-serialisable; ``1`` and ``1.0`` are different values), ``seed`` one of the
``seeds`` (replicate numbers). Its identity is the canonical JSON of
``{"params": params, "seed": seed}`` (sorted keys, no spaces). Its derived seed, the one
passed to the function, is

.. math::

    s = \big\lfloor \mathrm{SeedSequence}\big([b,\ w_0, \dots, w_7]\big)
        .\mathrm{generate\_state}(2, \mathrm{uint32}) \text{ as a 64-bit integer} / 2 \big\rfloor,

where :math:`b` is ``base_seed`` and :math:`w_0, \dots, w_7` are the eight little-endian
32-bit words of the SHA-256 digest of the identity (:func:`derive_seed`): a 63-bit integer
that every generator accepts, fixed by the point alone, not by the executor, the order of
the points or the other points of the grid. The function's name is not part of it, so two
functions swept over one grid see the same seeds (common random numbers).

The results file
----------------
One JSON object per line, strict JSON under gamedyn's convention
(:mod:`gan_models.jsonio`): a non-finite float is written as the string ``"inf"``,
``"-inf"`` or ``"nan"`` and read back as the float (so is a string value with exactly
that text); files with the bare ``Infinity``/``NaN`` tokens of older versions are read
and appended to as well. The first line is a header,
``{"format": "gamedyn.sweep", "version": 1, "function": "module.qualname", "base_seed": b}``;
every other line is one finished point, ``{"params", "seed", "derived_seed", "status",
"seconds", "finished"}`` with ``"result"`` (status ``"ok"``) or ``"error"`` (status
``"error"``: ``type``, ``message``, ``traceback``, the last frames). Lines are written by
the calling process as points finish, each flushed and ``fsync``-ed. Bytes after the last
newline are a line cut short by a kill: they are ignored and cut off the file before new
lines are appended. A point found twice counts by its last line (a retried error).
The file belongs to one function and one ``base_seed``: a sweep of another refuses it
(``overwrite=True`` starts the file anew). While a sweep runs it holds an advisory lock on
the file (POSIX), so a second sweep on the same file fails at once instead of mixing lines.

Executors
---------
``executor=None`` runs the points one after another in this process. Anything with the
:class:`concurrent.futures.Executor` interface runs them in parallel:
:class:`concurrent.futures.ProcessPoolExecutor` (the function is pickled by reference:
define it at module level in an importable module), or a Dask cluster through
``distributed.Client(...).get_executor()`` (cloudpickle). The sweep does not own the
executor: it neither starts nor shuts it down, and on an interruption it cancels the
points it submitted that have not started.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import hashlib
import itertools
import json
import numbers
import os
import pickle
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ._progress import SweepProgress
from .sweep_file import FORMAT, VERSION, _identity, _normalise, _ResultsFile
from .sweep_table import META_COLUMNS, SweepResult, _check_int, _row

__all__ = ["SweepResult", "derive_seed", "sweep"]

Progress = Callable[[int, int, dict[str, Any]], None]


# ---------------------------------------------------------------------------- seeds


def derive_seed(params: Mapping[str, Any], seed: int = 0, *, base_seed: int = 0) -> int:
    """The seed that :func:`sweep` passes to its function at the point ``(params, seed)``.

    A 63-bit integer from :class:`numpy.random.SeedSequence` over ``base_seed`` and the
    SHA-256 digest of the point's canonical JSON (see the module's notes): the same for
    the same point on every machine, executor and run, and independent of the other
    points.

    Parameters
    ----------
    params : mapping of str to JSON-serialisable values
        One point of the grid.
    seed : int
        The replicate number.
    base_seed : int
        A non-negative int that changes every derived seed of a sweep at once.

    Returns
    -------
    int
        In ``[0, 2**63)``.

    Examples
    --------
    >>> from analyses.sweep import derive_seed
    >>> s = derive_seed({"lr": 0.1}, 0)
    >>> 0 <= s < 2**63, s == derive_seed({"lr": 0.1}, 0), s == derive_seed({"lr": 0.1}, 1)
    (True, True, False)
    """
    params = _normalise_params(params, "params")
    seed = _check_int(seed, "seed")
    base_seed = _check_int(base_seed, "base_seed", minimum=0)
    return _derive(params, seed, base_seed)


def _derive(params: Mapping[str, Any], seed: int, base_seed: int) -> int:
    digest = hashlib.sha256(_identity(params, seed).encode("utf-8")).digest()
    words = np.frombuffer(digest, dtype="<u4").tolist()
    state = np.random.SeedSequence([base_seed, *words]).generate_state(2, np.uint32)
    return ((int(state[0]) << 32) | int(state[1])) >> 1


# ---------------------------------------------------------------------------- input


def _check_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"{where}: expected parameter names as non-empty str, got {name!r}")
    if name in META_COLUMNS:
        raise ValueError(
            f"{where}: the parameter name {name!r} is reserved (the sweep adds the columns "
            f"{list(META_COLUMNS)}; the seed is passed as seed=...)"
        )
    return name


def _normalise_params(params: Any, where: str) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise TypeError(
            f"{where}: expected a mapping of parameter name to value, got {type(params).__name__}"
        )
    for name in params:
        _check_name(name, where)
    try:
        normal = _normalise(dict(params))
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{where}: parameter values must be JSON-serialisable (numbers, str, bool, None, "
            f"lists, mappings): {error}"
        ) from None
    return dict(normal)


def _expand_grid(grid: Any) -> list[dict[str, Any]]:
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("grid: expected at least one parameter, got an empty mapping")
        names, columns = [], []
        for name, values in grid.items():
            _check_name(name, "grid")
            if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
                raise TypeError(
                    f"grid[{name!r}]: expected a list of values, got {type(values).__name__} "
                    f"{values!r} (write [{values!r}] for a single value)"
                )
            values = list(values)
            if not values:
                raise ValueError(f"grid[{name!r}]: expected at least one value, got none")
            names.append(name)
            columns.append(values)
        raw = [dict(zip(names, combo)) for combo in itertools.product(*columns)]
        where = ["grid" for _ in raw]
    elif isinstance(grid, (str, bytes)) or not isinstance(grid, Iterable):
        raise TypeError(
            "grid: expected a mapping of parameter name to a list of values, or a list of "
            f"parameter mappings, got {type(grid).__name__}"
        )
    else:
        raw = list(grid)
        if not raw:
            raise ValueError("grid: expected at least one point, got an empty list")
        where = [f"grid[{i}]" for i in range(len(raw))]
    return [_normalise_params(point, w) for point, w in zip(raw, where)]


def _check_seeds(seeds: Any) -> list[int]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds: expected a count >= 1 or a list of ints, got {seeds}")
        return list(range(int(seeds)))
    if isinstance(seeds, (str, bytes, Mapping)) or not isinstance(seeds, Iterable):
        raise TypeError(
            f"seeds: expected a count (int >= 1) or a list of ints, got {type(seeds).__name__}"
        )
    out = [_check_int(s, "seeds") for s in seeds]
    if not out:
        raise ValueError("seeds: expected at least one seed, got an empty list")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds: expected distinct seeds, got {out}")
    return out


def _function_name(function: Callable[..., Any]) -> str:
    if isinstance(function, functools.partial):
        return f"functools.partial({_function_name(function.func)})"
    module = getattr(function, "__module__", None) or type(function).__module__
    qualname = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"{module}.{qualname}"


def _check_picklable(function: Callable[..., Any], executor: Any, name: str) -> None:
    """Fail before anything is submitted when the executor cannot ship ``function``."""
    if executor is None or isinstance(executor, cf.ThreadPoolExecutor):
        return
    try:
        pickle.dumps(function)
        return
    except Exception as error:  # pickle raises PicklingError, AttributeError, TypeError
        failure: Exception = error
    if type(executor).__module__.split(".")[0] in ("distributed", "loky", "joblib"):
        try:  # these executors ship functions with cloudpickle (by value when needed)
            import cloudpickle

            cloudpickle.dumps(function)
            return
        except Exception as error:
            failure = error
    raise TypeError(
        f"function: expected a picklable callable to run on {type(executor).__name__} "
        f"(define it at module level in an importable module; a lambda or a nested "
        f"function cannot be sent to other processes), but pickling {name} failed: {failure}"
    ) from failure


def _check_path(results: Any) -> Path | None:
    if results is None:
        return None
    if not isinstance(results, (str, os.PathLike)):
        raise TypeError(
            f"results: expected a file path (str or os.PathLike) or None, got {type(results).__name__}"
        )
    path = Path(results)
    if path.is_dir():
        raise ValueError(f"results: expected a file path, got the directory {str(path)!r}")
    return path


# ---------------------------------------------------------------------------- one point


def _traceback_summary(error: BaseException, frames: int = 6) -> str:
    lines = traceback.format_exception(type(error), error, error.__traceback__, limit=-frames)
    return "".join(lines).rstrip()


def _run_point(function: Callable[..., Any], params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Call ``function`` at one point (in whichever process runs it) and never raise an
    ``Exception``: the outcome is a JSON-ready record fragment."""
    started = time.perf_counter()
    outcome: dict[str, Any]
    try:
        value = function(**params, seed=seed)
        try:
            if isinstance(value, Mapping):
                bad = [k for k in value if not isinstance(k, str)]
                if bad:
                    raise TypeError(f"result names must be str, got {bad[0]!r}")
                result = dict(value)
            else:
                result = {"value": value}
            result = _normalise(result)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"function returned a result that is not JSON-serialisable: {error}"
            ) from error
        outcome = {"status": "ok", "result": result}
    except Exception as error:
        outcome = {
            "status": "error",
            "error": {
                "type": type(error).__qualname__,
                "message": str(error),
                "traceback": _traceback_summary(error),
            },
        }
    outcome["seconds"] = time.perf_counter() - started
    return outcome


_Item = tuple[str, dict[str, Any], int, int]
_Finish = Callable[[_Item, dict[str, Any]], None]


def _run_on(
    executor: cf.Executor, function: Callable[..., Any], items: list[_Item], finish: _Finish
) -> list[_Item]:
    """Run ``items`` on ``executor``; return those lost to a broken process pool."""
    futures: dict[cf.Future[dict[str, Any]], _Item] = {}
    broken: list[_Item] = []
    try:
        for number, item in enumerate(items):
            try:
                futures[executor.submit(_run_point, function, item[1], item[3])] = item
            except BrokenProcessPool:
                broken.extend(items[number:])
                break
        for future in cf.as_completed(futures):
            try:
                outcome = future.result()
            except BrokenProcessPool:
                broken.append(futures[future])
                continue
            finish(futures[future], outcome)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    order = {item[0]: i for i, item in enumerate(items)}
    return sorted(broken, key=lambda item: order[item[0]])


def _run_isolated(
    executor: cf.Executor, function: Callable[..., Any], items: list[_Item], finish: _Finish
) -> None:
    """Run ``items`` one at a time in a fresh one-worker process pool (a new one after
    each break), so that a point that kills its worker is recorded as its own error."""
    context = getattr(executor, "_mp_context", None)
    pool: cf.ProcessPoolExecutor | None = None
    try:
        for item in items:
            if pool is None:
                pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=context)
            started = time.perf_counter()
            try:
                outcome = pool.submit(_run_point, function, item[1], item[3]).result()
            except BrokenProcessPool:
                pool.shutdown(wait=True, cancel_futures=True)
                pool = None
                outcome = {
                    "status": "error",
                    "error": {
                        "type": "BrokenProcessPool",
                        "message": "the worker process running this point died (killed, out "
                        "of memory, or a crash in native code); the sweep went on in a "
                        "fresh process pool",
                        "traceback": "",
                    },
                    "seconds": time.perf_counter() - started,
                }
            finish(item, outcome)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------- sweep


def sweep(
    function: Callable[..., Any],
    grid: Mapping[str, Iterable[Any]] | Iterable[Mapping[str, Any]],
    *,
    seeds: int | Iterable[int] = (0,),
    results: str | os.PathLike[str] | None = None,
    executor: cf.Executor | None = None,
    base_seed: int = 0,
    name: str | None = None,
    retry_errors: bool = False,
    overwrite: bool = False,
    progress: Progress | bool | None = None,
) -> SweepResult:
    r"""Evaluate ``function`` on every point of ``grid`` for every seed, resumably.

    Each point ``(params, seed)`` is computed at most once: its result is appended to the
    ``results`` file as soon as it finishes, and a later call with the same file reads
    the finished points back and computes only the others. See the module's notes for
    the function's contract, the seed derivation and the file format.

    Parameters
    ----------
    function : callable
        ``function(**params, seed=derived_seed)``, returning a mapping of result names to
        JSON-serialisable values (anything else is stored as ``"value"``). Must be
        picklable for a process or Dask executor.
    grid : mapping of str to list, or list of mappings
        ``{"lr": [0.1, 0.2], "gamma": [0, 1]}`` is the Cartesian product (the last name
        varies fastest); a list of mappings gives the points explicitly. Values must be
        JSON-serialisable; the function receives them as JSON gives them back.
    seeds : int or iterable of int
        A count ``n`` (seeds ``0, ..., n - 1``) or distinct replicate numbers.
    results : str or os.PathLike, optional
        The JSONL results file (created, with its folder, if missing). ``None`` keeps
        nothing on disk: nothing to resume from.
    executor : concurrent.futures.Executor, optional
        ``None`` runs in this process, one point after the other; otherwise points are
        submitted with ``executor.submit`` (a ``ProcessPoolExecutor``, a
        ``distributed.Client(...).get_executor()``, ...). Not shut down here.
    base_seed : int
        Non-negative; changes every derived seed (:func:`derive_seed`).
    name : str, optional
        The function's name recorded in the file (default ``module.qualname``). A file
        of another name or base seed is refused.
    retry_errors : bool
        Compute again the points recorded with status ``"error"`` (default: keep them).
    overwrite : bool
        Discard the file's contents and start anew.
    progress : callable or bool, optional
        ``progress(done, total, row)``, called in this process after each computed point;
        ``True`` prints progress lines to ``sys.stderr``: one when the sweep starts, one
        per computed point (``[done/total]``, the point, its status and seconds, the wall
        time a point and the ETA) and one when it is complete.

    Returns
    -------
    SweepResult
        One row per point in grid order (seeds innermost).

    Raises
    ------
    TypeError, ValueError
        On bad arguments, naming the argument; ValueError also for a results file of
        another function or base seed.
    RuntimeError
        When another sweep holds the results file.

    Notes
    -----
    An exception raised by ``function`` marks its point ``"error"`` (type, message and
    the traceback's last frames are kept) and the sweep goes on. A point that kills its
    worker process (a segfault, ``os._exit``, the out-of-memory killer) breaks a process
    pool: the points lost with it then run one at a time in a fresh one-worker pool
    (the same multiprocessing context), so the point that kills its worker again is
    recorded as an ``"error"`` of type ``BrokenProcessPool`` and the sweep completes
    (``executor`` itself stays broken; it is not ours to shut down). A
    :class:`KeyboardInterrupt` (or another failure of the executor) cancels the
    submitted points that have not started and propagates; the file keeps every point
    finished before it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from analyses.sweep import sweep
    >>> def noisy_square(x, seed):
    ...     return {"y": x**2 + np.random.default_rng(seed).normal(scale=0.01)}
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "squares.jsonl"
    >>> result = sweep(noisy_square, {"x": [1.0, 2.0]}, seeds=3, results=path)
    >>> len(result), result.computed
    (6, 6)
    >>> sorted(result.rows[0])
    ['derived_seed', 'seconds', 'seed', 'status', 'x', 'y']
    >>> again = sweep(noisy_square, {"x": [1.0, 2.0]}, seeds=3, results=path)
    >>> again.computed, again.loaded, again.rows[5]["y"] == result.rows[5]["y"]
    (0, 6, True)
    >>> print(result.table(metrics="y", digits=1))
    | x | n | y |
    |---|---|---|
    | 1.0 | 3 | 1.0 ± 0.0 |
    | 2.0 | 3 | 4.0 ± 0.0 |
    >>> folder.cleanup()
    """
    if not callable(function):
        raise TypeError(f"function: expected a callable, got {type(function).__name__}")
    points = _expand_grid(grid)
    seed_list = _check_seeds(seeds)
    base_seed = _check_int(base_seed, "base_seed", minimum=0)
    path = _check_path(results)
    if name is None:
        name = _function_name(function)
    elif not isinstance(name, str) or not name:
        raise TypeError(f"name: expected a non-empty str, got {name!r}")
    for flag, value in (("retry_errors", retry_errors), ("overwrite", overwrite)):
        if not isinstance(value, bool):
            raise TypeError(f"{flag}: expected a bool, got {type(value).__name__}")
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise TypeError(
            f"progress: expected a callable, a bool or None, got {type(progress).__name__}"
        )
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(
            "executor: expected None or an object with the concurrent.futures.Executor "
            f"interface (submit), got {type(executor).__name__}"
        )
    _check_picklable(function, executor, name)

    parameters = tuple(dict.fromkeys(k for p in points for k in p))
    todo: list[tuple[str, dict[str, Any], int, int]] = []
    order: list[str] = []
    for params in points:
        for seed in seed_list:
            todo.append((_identity(params, seed), params, seed, _derive(params, seed, base_seed)))
            order.append(todo[-1][0])
    seen: set[str] = set()
    for key in order:
        if key in seen:
            raise ValueError(f"grid: the point {json.loads(key)['params']} appears more than once")
        seen.add(key)

    header = {"format": FORMAT, "version": VERSION, "function": name, "base_seed": base_seed}
    store = _ResultsFile(path, header, overwrite) if path is not None else None
    records: dict[str, dict[str, Any]] = store.records if store is not None else {}
    try:
        missing = [
            item
            for item in todo
            if item[0] not in records or (retry_errors and records[item[0]]["status"] == "error")
        ]
        loaded = len(todo) - len(missing)
        done = loaded
        lines = SweepProgress(name, len(todo), loaded, parameters) if progress is True else None
        report: Callable[[int, int, dict[str, Any]], Any] | None = None
        if lines is not None:
            report = lines
            lines.start()
        elif callable(progress):
            report = progress

        def finish(item: tuple[str, dict[str, Any], int, int], outcome: dict[str, Any]) -> None:
            nonlocal done
            key, params, seed, derived = item
            record = {
                "params": params,
                "seed": seed,
                "derived_seed": derived,
                "status": outcome["status"],
                "seconds": outcome["seconds"],
                "finished": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            }
            record["result" if outcome["status"] == "ok" else "error"] = outcome.get(
                "result", outcome.get("error")
            )
            if store is not None:
                store.append(record)
            records[key] = record
            done += 1
            if report is not None:
                report(done, len(todo), _row(record))

        if executor is None:
            for item in missing:
                finish(item, _run_point(function, item[1], item[3]))
        else:
            broken = _run_on(executor, function, missing, finish)
            if broken:  # a point killed its worker: find it, one point per fresh worker
                _run_isolated(executor, function, broken, finish)
        if lines is not None:
            lines.finish()
    finally:
        if store is not None:
            store.close()
    rows = [_row(records[key]) for key in order]
    return SweepResult(
        rows=rows,
        parameters=parameters,
        function=name,
        path=path,
        computed=len(missing),
        loaded=loaded,
    )
