"""A job's policies (DESIGN §2 "Policies"): how an attempt's end is decided (final,
or queued again for a retry) and when the server acts on a time limit.

Pure functions of the stored job and its exit record: the service applies what
they decide. A local job's time limit is kept by its supervisor beside it (from
its RunSpec); the backends whose jobs the server reaches only through an API
(console kernels, Ray) have it kept here, from the deadline in the store, so it
holds across a server restart.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..job.files import ExitRecord, iso_from_unix, utc_now
from ..job.limits import parse_time_limit_signal, time_limit_reason
from ..vocabulary import Status

MAX_RETRIES = 10
# time_limit_stage: where a server-kept time limit stands for the running attempt
WARNED = 1
STOPPED_FOR_TIME = 2


@dataclass(frozen=True)
class Ending:
    """What an attempt's end makes of the job: its status, the reason, and whether it
    runs again (then ``status`` is the attempt's, and the job goes back to queued)."""

    status: Status
    reason: str | None
    retry: bool = False


def ended_by_time_limit(job: dict, record: ExitRecord) -> bool:
    return bool(record.time_limit) or job.get("time_limit_stage", 0) >= STOPPED_FOR_TIME


def ending_of(job: dict, record: ExitRecord) -> Ending:
    """A person's stop ends the job stopped and never retries; a time limit fails it
    (reason "time limit …") and retries only with ``retry_on_time_limit``; any other
    failure (non-zero exit, killed, vanished, node lost) retries while retries are left."""
    retries_left = (job.get("attempt") or 1) <= (job.get("retries") or 0)
    if job["status"] == Status.STOPPING or (record.stopped and not ended_by_time_limit(job, record)):
        return Ending(Status.STOPPED, record.reason or "stopped by request")
    if ended_by_time_limit(job, record):
        reason = record.reason if (record.reason or "").startswith("time limit") else None
        return Ending(Status.FAILED, reason or time_limit_reason(job["time_limit"]),
                      retry=retries_left and bool(job.get("retry_on_time_limit")))
    if record.exit_code == 0:
        return Ending(Status.COMPLETED, record.reason)
    return Ending(Status.FAILED, record.reason or f"exit code {record.exit_code}", retry=retries_left)


def attempt_entry(job: dict, record: ExitRecord, ending: Ending) -> dict:
    """The attempt as ``attempts`` lists it."""
    return {"attempt": job.get("attempt") or 1, "started_at": job.get("started_at"),
            "finished_at": record.finished_at or utc_now(), "exit_code": record.exit_code,
            "reason": ending.reason}


def attempt_separator(job: dict, ending: Ending) -> bytes:
    """The line the log gets between an attempt and the next (the job's log keeps every attempt)."""
    attempt = job.get("attempt") or 1
    total = (job.get("retries") or 0) + 1
    return (f"\n===== momo-jobs: attempt {attempt} of {total} ended ({ending.reason}); "
            f"attempt {attempt + 1} of {total} follows =====\n").encode()


def deadline_of(job: dict, started_unix: float) -> float | None:
    """When the time limit of an attempt started at ``started_unix`` falls."""
    return started_unix + job["time_limit"] if job.get("time_limit") else None


def time_limit_due(job: dict, now: float) -> str | None:
    """What a server-kept time limit asks for now: ``"warn"`` (the warning signal is
    due), ``"stop"`` (the limit is reached), or None."""
    deadline = job.get("deadline_unix")
    stage = job.get("time_limit_stage", 0)
    if deadline is None or stage >= STOPPED_FOR_TIME:
        return None
    if now >= deadline:
        return "stop"
    if stage < WARNED and job.get("time_limit_signal"):
        _, before = parse_time_limit_signal(job["time_limit_signal"])
        if now >= deadline - before:
            return "warn"
    return None


def deadline_iso(job: dict) -> str | None:
    """The running attempt's deadline as the API shows it."""
    deadline = job.get("deadline_unix")
    return iso_from_unix(deadline) if deadline is not None and job["status"] in ("running", "stopping") else None
