"""The files of a training run: atomic writes, the JSONL log, stale temporary files,
the output folder, and the configuration a checkpoint belongs to.

Private to :mod:`gan_models`; :mod:`gan_models.trainer` is the user.

- Every file is written through a temporary file in the same folder, named
  ``.<name>.<pid>.<random>.tmp`` (unique, created with ``O_EXCL`` so a planted link is
  never followed), flushed to disk and renamed over the target; a kill leaves at most a
  temporary file, which :func:`remove_stale_temporaries` removes once its process is dead.
- A log line is one complete JSON object followed by ``"\\n"``, written with one
  ``write`` call: a line without its newline is a line cut short (disk full, a kill),
  detected and dropped by :func:`read_log`.
- The configuration hash covers the keys that change the trained parameters
  (:func:`training_relevant`), not the cadence of logs, evaluations and checkpoints,
  the device, the ``[checkpoint]`` and ``[spectra]`` tables or (without a learning-rate
  decay) the number of steps.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from . import jsonio

# keys of TrainConfig.to_dict() that do not change the trained parameters
NOT_TRAINING = (
    "device",
    "steps",
    "eval_every",
    "eval_samples",
    "checkpoint_every",
    "log_every",
    "checkpoint",
    "spectra",
)

_TEMPORARY = re.compile(r"^\..+?\.(\d+)(\.[A-Za-z0-9_]{1,16})?\.tmp$")


# -- atomic writes ---------------------------------------------------------------------------


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a unique temporary file in ``path``'s folder, fsync, then rename.

    ``write(tmp)`` writes the content to the (already created, empty) file ``tmp``.  The
    temporary name is created with ``O_EXCL`` (``tempfile.mkstemp``): a link planted
    under any name is never followed, and ``os.replace`` replaces a link at ``path``
    itself rather than writing through it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
    )
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process (or not ours to judge): keep its files
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the ``.<name>.<pid>....tmp`` files of processes that no longer run.

    Looks in ``folder`` and its ``samples`` and ``checkpoints`` subfolders; returns the
    removed paths.
    """
    removed: list[Path] = []
    for where in (folder, folder / "samples", folder / "checkpoints"):
        if not where.is_dir():
            continue
        for path in where.iterdir():
            match = _TEMPORARY.match(path.name)
            if match is None or path.is_dir() or _alive(int(match.group(1))):
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
    return removed


# -- the output folder -----------------------------------------------------------------------


def check_out_dir(folder: Path, names: tuple[str, ...]) -> None:
    """Make sure ``folder`` is (or can be made) a writable folder, before any training.

    ``names`` are the files the run writes there (each must not be a folder).

    Raises
    ------
    OSError
        Naming the folder or file and what is wrong with it.
    """
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(
            errno.ENOTDIR, f"out_dir: {str(folder)!r} is a file, expected a folder"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise type(error)(
            error.errno, f"out_dir: cannot create the folder {str(folder)!r} ({error.strerror})"
        ) from None
    for name in names:
        if (folder / name).is_dir():
            raise IsADirectoryError(
                errno.EISDIR,
                f"out_dir: {str(folder / name)!r} is a folder, where the run writes a file; "
                "move it away or choose another output folder",
            )
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".probe.{os.getpid()}.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise type(error)(
            error.errno, f"out_dir: cannot write in {str(folder)!r} ({error.strerror})"
        ) from None


def move_aside(folder: Path, names: tuple[str, ...]) -> Path | None:
    """Move the files ``names`` of an earlier run in ``folder`` to ``folder/previous/N/``.

    ``N`` is the first free number (1, 2, ...).  Returns the new folder, or None when
    there was nothing to move.
    """
    present = [name for name in names if os.path.lexists(folder / name)]
    if not present:
        return None
    number = 1
    while (folder / "previous" / str(number)).exists():
        number += 1
    target = folder / "previous" / str(number)
    target.mkdir(parents=True)
    for name in present:
        os.replace(folder / name, target / name)
    return target


# -- the log -----------------------------------------------------------------------------------


def log_line(record: Mapping[str, Any]) -> bytes:
    """One log line: strict JSON and a newline (the newline marks it complete)."""
    return (jsonio.dumps(dict(record)) + "\n").encode("utf-8")


def append_line(path: Path, line: bytes) -> None:
    """Append one complete line with a single ``write`` (O_APPEND) and flush it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            if written != len(line):  # a short write: the disk is full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        finally:
            os.close(fd)
    except OSError as error:
        raise OSError(
            error.errno, f"log: cannot write {str(path)!r} ({error.strerror or error})"
        ) from None


def read_log(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """The records of a log and the numbers of the lines that could not be used.

    A last line without its newline (cut short) and lines that are not a JSON object are
    skipped and reported by line number (1-based).
    """
    data = path.read_bytes()
    records: list[dict[str, Any]] = []
    bad: list[int] = []
    lines = data.split(b"\n")
    complete = len(lines) - 1  # the piece after the last newline is not a complete line
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if number > complete:
            bad.append(number)
            continue
        try:
            record = jsonio.loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            bad.append(number)
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            bad.append(number)
    return records, bad


def _step(record: Mapping[str, Any]) -> int:
    step = record.get("step", 0)
    return step if isinstance(step, int) and not isinstance(step, bool) else 0


def trim_log(path: Path, step: int) -> tuple[int, list[int]]:
    """Keep the log records up to ``step`` (atomically); returns (kept, bad line numbers)."""
    records, bad = read_log(path)
    kept = [r for r in records if _step(r) <= step]
    text = b"".join(log_line(r) for r in kept)

    def write(tmp: Path) -> None:
        tmp.write_bytes(text)

    atomic_write(path, write)
    return len(kept), bad


# -- the configuration a checkpoint belongs to ---------------------------------------------------


ADDED_KEYS: dict[str, dict[str, Any]] = {
    "generator": {"kind": "mlp", "batch_norm": False},
    "discriminator": {"kind": "mlp"},
}
"""Keys added after configuration hashes, with the value that means what their absence
meant: left out at that value, so checkpoints written before the key existed resume."""


def training_relevant(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``TrainConfig.to_dict()`` that changes the trained parameters.

    Keys of :data:`ADDED_KEYS` at their old-behaviour value are left out.

    ``steps`` counts when the learning rate decays over the run
    (``optimizer.final_lr < 1``).
    """
    relevant = {k: v for k, v in config.items() if k not in NOT_TRAINING}
    for section, defaults in ADDED_KEYS.items():  # older configurations lack these keys
        table = relevant.get(section)
        if isinstance(table, Mapping):
            relevant[section] = {
                k: v for k, v in table.items() if not (k in defaults and v == defaults[k])
            }
    optimizer = config.get("optimizer")
    if isinstance(optimizer, Mapping) and optimizer.get("final_lr", 1.0) != 1.0:
        relevant["steps"] = config.get("steps")
    return relevant


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of :func:`training_relevant` ``(config)``."""
    text = json.dumps(
        jsonio.to_jsonable(training_relevant(config)), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _flat(mapping: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in mapping.items():
        if isinstance(value, Mapping) and value:
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def config_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], *, both_only: bool = False
) -> dict[str, list[Any]]:
    """``{dotted key: [old, new]}`` for the training-relevant keys that differ.

    ``both_only``: compare only keys present in both (a configuration saved by an older
    version may lack keys added since).
    """
    a = dict(_flat(training_relevant(old)))
    b = dict(_flat(training_relevant(new)))
    keys = sorted(set(a) & set(b) if both_only else set(a) | set(b))
    return {k: [a.get(k), b.get(k)] for k in keys if a.get(k) != b.get(k)}
