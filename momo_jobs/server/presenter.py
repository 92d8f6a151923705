"""How a stored job looks through the API (DESIGN §3 "Job"), and why a queued job waits."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ..job.gpulocks import user_name
from ..job.protocol import finite_or_none
from ..vocabulary import Resource, Status
from .paths import relative_to_root
from .scheduler import Place

# The Unix user whose server runs the jobs it stores.
SERVER_USER = user_name(os.getuid())

JOB_FIELDS = ("id", "name", "script", "resource", "gpus", "gpu_ids", "status", "created_at", "started_at",
              "finished_at", "exit_code", "reason", "backend", "args", "kernel", "kernel_id")


def results_dir(job: dict) -> Path:
    """Where a job's files land: ``results/`` beside its script."""
    return Path(job["cwd"]) / "results"


def waiting_reason(job: dict, place: Place, notes: Sequence[str] = ()) -> str:
    """Like a pending Slurm job's reason: what a queued job waits for, how many are ahead
    (on a shared GPU machine, how many of them are other users' jobs), and why GPUs that
    look free are not."""
    if job["resource"] == Resource.GPU.value:
        wanted = f"{job['gpus']} free GPU{'s' if job['gpus'] > 1 else ''}"
    else:
        wanted = "a free CPU slot"
    ahead = place.position - 1
    reason = f"waiting for {wanted}"
    if ahead:
        reason += f", {ahead} job{'s' if ahead > 1 else ''} ahead"
        if place.others_ahead:
            reason += f" ({place.others_ahead} of other users)"
    if place.over_cap:
        reason += ": your jobs hold the most GPUs one user may (max_gpus_per_user)"
    return "; ".join([reason, *notes])


def job_json(job: dict, place: Place | None, root: Path, notes: Sequence[str] = ()) -> dict:
    """The API's view of a stored job; ``place`` is where it stands in its queue, if queued."""
    out = {k: job.get(k) for k in JOB_FIELDS}
    queued = place is not None and job["status"] == Status.QUEUED
    out["queue_position"] = place.position if queued else None
    out["user"] = SERVER_USER
    if queued:
        out["reason"] = waiting_reason(job, place, notes)
    try:
        out["results_dir"] = relative_to_root(root, results_dir(job))
    except ValueError:
        out["results_dir"] = None
    return out


def json_safe(value: Any) -> Any:
    """A metric's value as strict JSON can carry it: NaN and Infinity become null."""
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value
