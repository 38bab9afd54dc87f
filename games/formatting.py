"""Durations and rates as the progress lines print them, shared by the packages above
``games`` (the trainer's lines in :mod:`gan_models`, the sweeps' and the report's in
:mod:`analyses`).  Import them from this module (``from games.formatting import
format_duration``); they are not part of the ``games`` namespace itself.
"""

from __future__ import annotations

__all__ = ["format_duration", "format_rate"]


def format_duration(seconds: float) -> str:
    """``"4.2s"``, ``"42s"``, ``"3m07s"``, ``"2h05m"`` (negative times count as 0).

    Examples
    --------
    >>> from games.formatting import format_duration
    >>> [format_duration(s) for s in (4.2, 42, 187, 7500)]
    ['4.2s', '42s', '3m07s', '2h05m']
    """
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_rate(rate: float) -> str:
    """``"12.3 it/s"``, or ``"4.56 s/it"`` below one step a second (never ``"0.0 it/s"``).

    Examples
    --------
    >>> from games.formatting import format_rate
    >>> [format_rate(r) for r in (250.0, 12.34, 0.25, 0.0)]
    ['250 it/s', '12.3 it/s', '4 s/it', '? it/s']
    """
    if not rate > 0:
        return "? it/s"
    if rate >= 100:
        return f"{rate:.0f} it/s"
    if rate >= 1:
        return f"{rate:.1f} it/s"
    seconds = 1 / rate
    return f"{seconds:.3g} s/it" if seconds < 100 else f"{seconds:.0f} s/it"
