"""A job's time limit as the job side reads it: the warning signal (``"USR1@60"``:
SIGUSR1 60 s before the limit) and how a duration is written in a reason.

Standard library only: the supervisor beside each job enforces the limit from its
RunSpec, and the server parses the same text when a job is submitted.
"""
from __future__ import annotations

import signal


def parse_time_limit_signal(text: str) -> tuple[signal.Signals, float]:
    """``"USR1@60"`` (or ``"SIGUSR1@60"``) → (SIGUSR1, 60.0). ValueError for anything else."""
    name, sep, seconds = str(text).partition("@")
    name = name.strip().upper()
    if not sep or not name:
        raise ValueError(f"{text!r} is not SIGNAL@SECONDS (e.g. USR1@60)")
    try:
        sig = signal.Signals[name if name.startswith("SIG") else f"SIG{name}"]
    except KeyError:
        raise ValueError(f"{name!r} is not a signal name (e.g. USR1, TERM, INT)") from None
    if sig in (signal.SIGKILL, signal.SIGSTOP):
        raise ValueError(f"{sig.name} can't be caught, so it can't warn a job")
    try:
        before = float(seconds)
    except ValueError:
        raise ValueError(f"{seconds!r} is not a number of seconds") from None
    if not before > 0 or before != before or before == float("inf"):
        raise ValueError("the warning must come a positive number of seconds before the limit")
    return sig, before


def format_duration(seconds: float) -> str:
    """9000 → ``2h30m``, 90 → ``1m30s``, 3 → ``3s``, 0.5 → ``0.5s``."""
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    rest = int(round(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size or (unit == "s" and not parts):
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


def time_limit_reason(seconds: float) -> str:
    """The reason of a job ended by its time limit (it starts with ``time limit``)."""
    return f"time limit of {format_duration(seconds)} reached"
