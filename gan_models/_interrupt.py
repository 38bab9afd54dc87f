"""Stop requests for a training loop (private to :mod:`gan_models`; the trainer is the user).

A SIGINT (Ctrl-C) or SIGTERM during :meth:`Trainer.train` does not kill the run in the
middle of a step: it asks the loop to stop at the end of the current step, where the
trainer writes its checkpoint and raises :class:`TrainingInterrupted`, so that a rerun
continues exactly where it stopped. A second Ctrl-C interrupts at once (the last
checkpoint written stays). Handlers are installed only in the main thread of the main
interpreter (elsewhere signals cannot be caught) and restored when the loop ends.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

__all__ = ["StopRequests", "TrainingInterrupted"]

_SIGNALS = tuple(
    s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s
)


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped by a signal after a complete step, with the checkpoint written.

    A subclass of :class:`KeyboardInterrupt` so that code which stops on Ctrl-C keeps
    doing so. ``step`` is the last completed step; ``checkpoint`` the file written (None
    for a trainer without an output folder); ``signal_name`` e.g. ``"SIGTERM"``.
    """

    def __init__(self, step: int, checkpoint: Any, signal_name: str) -> None:
        where = f"; checkpoint written to {checkpoint}, rerun to resume" if checkpoint else ""
        super().__init__(f"training interrupted by {signal_name} after step {step}{where}")
        self.step = step
        self.checkpoint = checkpoint
        self.signal_name = signal_name


class StopRequests:
    """Context manager: while active, SIGINT/SIGTERM set :attr:`requested` instead of
    killing the process (a second SIGINT raises :class:`KeyboardInterrupt` at once)."""

    def __init__(self) -> None:
        self.requested: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.requested).name if self.requested is not None else ""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signum

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                try:
                    self._previous[sig] = signal.signal(sig, self._handle)
                except (ValueError, OSError):  # not the main interpreter
                    pass
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()
