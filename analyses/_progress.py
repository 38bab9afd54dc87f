"""Progress lines of the long analyses: a sweep's points (done / total, ETA) and the
report's studies (elapsed time).

One plain line per event, written and flushed at once (a pipe or a log file reads the
same as a terminal); the completion is announced once, by :meth:`SweepProgress.finish`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from games.formatting import format_duration

__all__ = ["SweepProgress"]


def _point(row: Mapping[str, Any], parameters: tuple[str, ...]) -> str:
    shown = [f"{key}={row[key]}" for key in (*parameters, "seed") if key in row]
    return ", ".join(shown)


class SweepProgress:
    """The progress lines of one :func:`analyses.sweep` call (its ``progress=True``).

    Each computed point gets ``[done/total] pct | point: status in seconds | wall time a
    point | ETA``, where the rate is the wall time of this call over the points it
    computed (with an executor, points finish in parallel: the rate is the pool's), and
    the ETA is the points left at that rate.  :meth:`finish` announces the end once.

    Parameters
    ----------
    name : str
        The sweep's function name.
    total, loaded : int
        Points of the sweep, and those read back from the results file.
    parameters : tuple of str
        The grid's parameter names, for the point's label.
    stream : text stream, optional
        Default: ``sys.stderr`` at the time of each line.
    clock : callable
        Seconds (``time.perf_counter``); replaceable in tests.
    """

    def __init__(
        self,
        name: str,
        total: int,
        loaded: int,
        parameters: tuple[str, ...] = (),
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.name, self.total, self.loaded, self.parameters = name, total, loaded, parameters
        self.stream, self.clock = stream, clock
        self.started = clock()
        self.finished = False
        self.errors = 0

    def _write(self, line: str) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(line + "\n")
        stream.flush()

    def start(self) -> None:
        """The opening line: what is to compute, what was loaded."""
        todo = self.total - self.loaded
        loaded = f" ({self.loaded} loaded from the results file)" if self.loaded else ""
        self._write(f"sweep {self.name}: {todo} of {self.total} points to compute{loaded}")
        self.started = self.clock()

    def __call__(self, done: int, total: int, row: Mapping[str, Any]) -> str:
        """The line of a computed point (the ``progress(done, total, row)`` callback)."""
        computed = done - self.loaded
        elapsed = self.clock() - self.started
        status = row.get("status", "ok")
        if status != "ok":
            self.errors += 1
        parts = [f"[{done}/{total}] {100 * done / max(total, 1):.0f}%"]
        label = _point(row, self.parameters)
        seconds = row.get("seconds")
        took = f" in {seconds:.2f} s" if isinstance(seconds, (int, float)) else ""
        parts.append(f"{label}: {status}{took}" if label else f"{status}{took}")
        if computed > 0:
            per_point = elapsed / computed
            parts.append(f"{format_duration(per_point)}/point")
            if done < total:
                parts.append(f"ETA {format_duration((total - done) * per_point)}")
        line = " | ".join(parts)
        self._write(line)
        return line

    def finish(self) -> str | None:
        """The closing line, once (later calls write nothing and return ``None``)."""
        if self.finished:
            return None
        self.finished = True
        computed = self.total - self.loaded
        errors = f", {self.errors} error{'s' if self.errors != 1 else ''}" if self.errors else ""
        line = (
            f"sweep {self.name}: all {self.total} points done in "
            f"{format_duration(self.clock() - self.started)} ({computed} computed, "
            f"{self.loaded} loaded{errors})"
        )
        self._write(line)
        return line
