"""How a stored job looks through the API (DESIGN §3 "Job"), and why a queued job waits."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from ..job.gpulocks import user_name
from ..job.protocol import finite_or_none
from ..vocabulary import Resource, Status
from .paths import relative_to_root
from .policies import deadline_iso
from .scheduler import Place

# The Unix user whose server runs the jobs it stores.
SERVER_USER = user_name(os.getuid())

JOB_FIELDS = ("id", "name", "script", "resource", "gpus", "gpu_ids", "status", "created_at", "started_at",
              "finished_at", "exit_code", "reason", "backend", "args", "kernel", "kernel_id",
              "time_limit", "time_limit_signal", "retries", "attempt", "attempts", "sweep_id")


def results_dir(job: dict) -> Path:
    """Where a job's files land: ``results/`` beside its script."""
    return Path(job["cwd"]) / "results"


def waiting_reason(job: dict, place: Place, notes: Sequence[str] = (), sweep_limit: int | None = None) -> str:
    """Like a pending Slurm job's reason: what a queued job waits for, how many are ahead
    (on a shared GPU machine, how many of them are other users' jobs), and why GPUs that
    look free are not; ``sweep_limit`` when it waits for its sweep (which runs that many
    at once)."""
    retry = f"attempt {job['attempt']} of {job['retries'] + 1}, " if job.get("attempt", 1) > 1 else ""
    if sweep_limit is not None:
        return f"{retry}waiting for its sweep (at most {sweep_limit} of its jobs at once)"
    if job["resource"] == Resource.GPU.value:
        wanted = f"{job['gpus']} free GPU{'s' if job['gpus'] > 1 else ''}"
    else:
        wanted = "a free CPU slot"
    ahead = place.position - 1
    reason = f"{retry}waiting for {wanted}"
    if ahead:
        reason += f", {ahead} job{'s' if ahead > 1 else ''} ahead"
        if place.others_ahead:
            reason += f" ({place.others_ahead} of other users)"
    if place.over_cap:
        reason += ": your jobs hold the most GPUs one user may (max_gpus_per_user)"
    return "; ".join([reason, *notes])


def job_json(job: dict, place: Place | None, root: Path, notes: Sequence[str] = (),
             sweep_limit: int | None = None, pending: tuple[str, int | None] | None = None) -> dict:
    """The API's view of a stored job; ``place`` is where it stands in its queue, if queued;
    ``sweep_limit`` its sweep's max_parallel when that is what it waits for; ``pending``,
    for a job handed to a backend that still queues it (Slurm): why it waits there and
    its place, and the job shows queued."""
    out = {k: job.get(k) for k in JOB_FIELDS}
    out["retry_on_time_limit"] = bool(job.get("retry_on_time_limit"))
    out["deadline"] = deadline_iso(job)
    queued = place is not None and job["status"] == Status.QUEUED
    out["queue_position"] = place.position if queued else None
    out["user"] = SERVER_USER
    if queued:
        out["reason"] = waiting_reason(job, place, notes, sweep_limit)
    if pending is not None and job["status"] == Status.RUNNING:
        out.update(status=Status.QUEUED.value, started_at=None, reason=pending[0], queue_position=pending[1])
    try:
        out["results_dir"] = relative_to_root(root, results_dir(job))
    except ValueError:
        out["results_dir"] = None
    return out


class JsonText(str):
    """An answer already encoded as JSON (a large one built from stored JSON text)."""


def json_with(obj: dict, **encoded: str) -> JsonText:
    """``obj`` as a JSON object, with more members whose values are JSON text already."""
    members = [json.dumps(obj, allow_nan=False)[1:-1]] if obj else []
    members += [f'"{name}": {text}' for name, text in encoded.items()]
    return JsonText(f'{{{", ".join(members)}}}')


def json_array(items: Sequence[str]) -> JsonText:
    """JSON texts as one JSON array."""
    return JsonText(f'[{", ".join(items)}]')


def json_safe(value: Any) -> Any:
    """A metric's value as strict JSON can carry it: NaN and Infinity become null."""
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value
