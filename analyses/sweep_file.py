"""The results file of :func:`analyses.sweep`: its format, point identities, the JSONL store.

The format is described in :mod:`analyses.sweep` (one JSON object per line through
:mod:`gan_models.jsonio`, a header line, one line per finished point, an advisory lock
while a sweep writes).  :class:`_ResultsFile` reads, repairs, locks and appends;
``_identity`` is the canonical JSON a point is known by (and its seed derived from).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from gan_models import jsonio

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks
    fcntl = None  # type: ignore[assignment]

__all__ = ["FORMAT", "VERSION"]

FORMAT = "gamedyn.sweep"
VERSION = 1


# ---------------------------------------------------------------------------- JSON


# Lines of the results file follow gamedyn's one JSON convention (gan_models.jsonio):
# strict JSON, non-finite floats as "inf", "-inf", "nan", read back as floats.  Files
# written before it (bare Infinity/NaN tokens) are read all the same.


def _normalise(obj: Any) -> Any:
    """``obj`` as it comes back from the results file (tuples as lists, numpy as Python)."""
    return jsonio.loads(jsonio.dumps(obj))


def _canonical(obj: Any) -> str:
    # hashed (identities, derived seeds), never parsed by a strict reader: ``obj`` is
    # already normalised, and a non-finite float keeps the bare token it always had here,
    # so derived seeds do not change
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _identity(params: Mapping[str, Any], seed: int) -> str:
    return _canonical({"params": params, "seed": seed})


# ---------------------------------------------------------------------------- the file


class _ResultsFile:
    """The JSONL file of one sweep: read, repaired and locked on open, appended to after."""

    def __init__(self, path: Path, header: dict[str, Any], overwrite: bool) -> None:
        self.path = path
        self.header = header
        path.parent.mkdir(parents=True, exist_ok=True)
        self.records: dict[str, dict[str, Any]] = self._open(overwrite)

    def _open(self, overwrite: bool) -> dict[str, dict[str, Any]]:
        """Open, lock, repair and read the file; its records by identity."""
        self.handle: IO[bytes] = open(self.path, "a+b")  # closed by close()
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise RuntimeError(
                        f"results: {str(self.path)!r} is being written by another sweep "
                        "(locked); wait for it or choose another file"
                    ) from None
            if overwrite:
                self.handle.truncate(0)
            return self._read()
        except BaseException:
            self.handle.close()
            raise

    def _replaced(self) -> bool:
        """Whether the path no longer names the open file (deleted, or replaced by e.g.
        ``git checkout``/``git stash``, an editor or a copy): appends would be lost."""
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return True
        mine = os.fstat(self.handle.fileno())
        return (on_disk.st_ino, on_disk.st_dev) != (mine.st_ino, mine.st_dev)

    def _reopen(self) -> None:
        """Follow a replaced file: lock and read the new one, write back the records it
        lacks (those this sweep knows), keep ``records`` the same dict object."""
        self.handle.close()
        known = dict(self.records)
        found = self._open(overwrite=False)
        for key, record in known.items():
            if key not in found:
                self._write(record)
                found[key] = record
        self.records.clear()
        self.records.update(found)

    def _read(self) -> dict[str, dict[str, Any]]:
        self.handle.seek(0)
        data = self.handle.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a line cut short by a kill
            self.handle.truncate(end)
            self._sync()
        lines = [(i + 1, line) for i, line in enumerate(data[:end].split(b"\n")) if line.strip()]
        if not lines:
            self._write(self.header)
            return {}
        records: dict[str, dict[str, Any]] = {}
        for number, line in lines:
            try:
                obj = jsonio.loads(line)
            except ValueError:
                raise ValueError(
                    f"results: line {number} of {str(self.path)!r} is not valid JSON: {line[:80]!r}"
                ) from None
            if number == lines[0][0]:
                self._check_header(obj)
                continue
            if not isinstance(obj, dict) or not {"params", "seed", "status"} <= obj.keys():
                raise ValueError(
                    f"results: line {number} of {str(self.path)!r} is not a sweep record"
                )
            records[_identity(obj["params"], obj["seed"])] = obj
        return records

    def _check_header(self, header: Any) -> None:
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(
                f"results: {str(self.path)!r} is not a sweep results file (its first line "
                f"has no 'format': {FORMAT!r}); choose another file or pass overwrite=True"
            )
        if header.get("version") != VERSION:
            raise ValueError(
                f"results: {str(self.path)!r} has format version {header.get('version')!r}, "
                f"this gamedyn reads version {VERSION}"
            )
        for key in ("function", "base_seed"):
            if header.get(key) != self.header[key]:
                raise ValueError(
                    f"results: {str(self.path)!r} holds results of function "
                    f"{header.get('function')!r} with base_seed {header.get('base_seed')!r}, "
                    f"not of {self.header['function']!r} with base_seed "
                    f"{self.header['base_seed']!r}; choose another file, pass name=... if the "
                    "function was renamed, or pass overwrite=True to discard them"
                )

    def _sync(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def _write(self, obj: dict[str, Any]) -> None:
        self.handle.write((jsonio.dumps(obj) + "\n").encode("utf-8"))
        self._sync()

    def append(self, record: dict[str, Any]) -> None:
        if self._replaced():
            self._reopen()
        self._write(record)

    def close(self) -> None:
        self.handle.close()  # closing releases the lock
