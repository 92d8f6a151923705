"""How a stored job looks through the API (DESIGN §3 "Job"), and why a queued job waits."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..job.protocol import finite_or_none
from ..vocabulary import Resource, Status
from .paths import relative_to_root

JOB_FIELDS = ("id", "name", "script", "resource", "gpus", "gpu_ids", "status", "created_at", "started_at",
              "finished_at", "exit_code", "reason", "backend", "args", "kernel", "kernel_id")


def results_dir(job: dict) -> Path:
    """Where a job's files land: ``results/`` beside its script."""
    return Path(job["cwd"]) / "results"


def waiting_reason(job: dict, position: int) -> str:
    """Like a pending Slurm job's reason: what a queued job waits for, and how many are ahead."""
    if job["resource"] == Resource.GPU.value:
        wanted = f"{job['gpus']} free GPU{'s' if job['gpus'] > 1 else ''}"
    else:
        wanted = "a free CPU slot"
    ahead = position - 1
    return f"waiting for {wanted}" + (f", {ahead} job{'s' if ahead > 1 else ''} ahead" if ahead else "")


def job_json(job: dict, position: int | None, root: Path,
             pending: tuple[str, int | None] | None = None) -> dict:
    """The API's view of a stored job; ``position`` is its place in its queue, if queued;
    ``pending``, for a job handed to a backend that still queues it (Slurm): why it
    waits there and its place, and the job shows queued."""
    out = {k: job.get(k) for k in JOB_FIELDS}
    out["queue_position"] = position if job["status"] == Status.QUEUED else None
    if out["queue_position"] is not None:
        out["reason"] = waiting_reason(job, position)
    if pending is not None and job["status"] == Status.RUNNING:
        out.update(status=Status.QUEUED.value, started_at=None, reason=pending[0], queue_position=pending[1])
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
