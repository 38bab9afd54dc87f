"""The trainer's progress lines (private to :mod:`gan_models`; the trainer is the user).

One line per logged step: the step, the rate over the wall time since the previous line
(so it includes evaluations, checkpoints and callbacks, not only the updates), the time
left at the mean rate of this call, and the losses and metrics of the step.  A terminal
gets one live line rewritten in place; any other stream (a pipe, a file, CI) gets plain
lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from games.formatting import format_duration, format_rate

__all__ = ["Progress", "format_duration", "format_rate"]

_METRICS = (
    ("loss_generator", "l_G"),
    ("loss_discriminator", "l_D"),
    ("modes_covered", "modes"),
    ("high_quality_percent", "hq%"),
)


class Progress:
    """Wall-clock rates and progress lines of one :meth:`Trainer.train` call.

    Parameters
    ----------
    stream : text stream
    total : int
        The step the run ends at.
    live : bool
        Rewrite one line in place (a terminal) instead of printing plain lines.
    clock : callable
        Seconds (``time.perf_counter``); replaceable in tests.
    """

    def __init__(
        self,
        stream: TextIO,
        total: int,
        *,
        live: bool = False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.stream, self.total, self.live, self.clock = stream, total, live, clock
        self.first_step = self.last_step = 0
        self.started = self.last_time = clock()
        self._dirty = False

    def start(self, step: int) -> None:
        """Start the clock at ``step`` (the step this call continues from)."""
        self.first_step = self.last_step = step
        self.started = self.last_time = self.clock()

    def rate(self, step: int) -> float:
        """Steps a second since the previous call (or :meth:`start`), wall time; moves the
        window to ``step``."""
        now = self.clock()
        rate = (step - self.last_step) / max(now - self.last_time, 1e-9)
        self.last_step, self.last_time = step, now
        return rate

    def mean_rate(self) -> float:
        """Steps a second over this call so far (0.0 before the first step)."""
        done = self.last_step - self.first_step
        return done / max(self.last_time - self.started, 1e-9) if done > 0 else 0.0

    def elapsed(self) -> float:
        """Seconds since :meth:`start`."""
        return self.clock() - self.started

    def show(self, step: int, record: Mapping[str, Any], rate: float) -> str:
        """Write the line of ``step`` and return it (without the newline)."""
        parts = [f"step {step}/{self.total}", format_rate(rate)]
        mean = self.mean_rate()
        if step < self.total and mean > 0:
            parts.append(f"ETA {format_duration((self.total - step) / mean)}")
        for key, label in _METRICS:
            value = record.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                parts.append(f"{label} {value:.3g}")
        line = " | ".join(parts)
        if self.live:
            self.stream.write("\r" + line.ljust(100))
            self._dirty = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        return line

    def message(self, text: str) -> None:
        """A line of its own (after ending a live line)."""
        self.end()
        self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        """End a live line with a newline (no-op for plain lines)."""
        if self._dirty:
            self.stream.write("\n")
            self.stream.flush()
            self._dirty = False
