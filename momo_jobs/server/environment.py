"""The RunSpec of a job about to start: what it runs, where, and its environment
(DESIGN §2 "Job environment")."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ..job.files import RunSpec
from ..vocabulary import GpuInfo, JobFiles
from .errors import BadRequest
from .presenter import results_dir


def interpreter_for(kernel: str | None) -> str:
    """The Python that runs a job: the server's own, or that of the kernelspec named."""
    if kernel is None:
        return sys.executable
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        raise BadRequest(f"no kernel named {kernel!r}", code="kernel_not_found") from None
    if (spec.language or "").lower() != "python" or not spec.argv:
        raise BadRequest(f"kernel {kernel!r} is not a Python kernel", code="kernel_not_python")
    python = spec.argv[0]
    if python in ("python", "python3", "{python}"):
        return sys.executable
    return python if os.path.isabs(python) else (shutil.which(python) or python)


def checkpoint_dir(job: dict) -> Path:
    """The folder kept across a job's attempts, for a retried attempt to resume from."""
    return Path(job["job_dir"]) / JobFiles.CHECKPOINT


def visible_devices(gpus: list[GpuInfo]) -> dict[str, str]:
    """``CUDA_VISIBLE_DEVICES`` naming the same GPUs for CUDA as for NVML: their UUIDs,
    or their ids in PCI order (which NVML's indexes follow)."""
    if not gpus:
        return {"CUDA_VISIBLE_DEVICES": ""}
    if all(g.uuid for g in gpus):
        return {"CUDA_VISIBLE_DEVICES": ",".join(g.uuid for g in gpus)}
    return {"CUDA_VISIBLE_DEVICES": ",".join(g.index for g in gpus), "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}


def job_environment(job: dict, gpus: list[GpuInfo], results: Path) -> dict[str, str]:
    """The user's variables, then momo-jobs' own: prints arrive live, the job sees only
    its GPUs (none for a CPU job), knows its id, results folder, attempt and checkpoint
    folder, and imports modules beside its script as the notebook did."""
    env = dict(job["env"])
    cwd = job["cwd"]
    inherited = env.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    env.update(visible_devices(gpus))
    env.update({
        "PYTHONUNBUFFERED": "1",
        "MOMO_JOB_ID": job["id"],
        "MOMO_RESULTS_DIR": str(results),
        "MOMO_ATTEMPT": str(job.get("attempt") or 1),
        "MOMO_CHECKPOINT_DIR": str(checkpoint_dir(job)),
        "PYTHONPATH": os.pathsep.join(p for p in (cwd, inherited) if p),
    })
    return env


def run_spec_for(job: dict, gpus: list[GpuInfo], stop_grace: float, telemetry_seconds: float = 1.0,
                 gpu_lock_dir: str | None = None) -> RunSpec:
    """The job's snapshot run in its script's folder, on the GPUs it was given (held
    through the locks of ``gpu_lock_dir`` on a shared machine); makes sure that folder's
    ``results/`` exists."""
    results = results_dir(job)
    results.mkdir(parents=True, exist_ok=True)
    checkpoint_dir(job).mkdir(exist_ok=True)
    folder = Path(job["job_dir"])
    try:
        log_start = (folder / JobFiles.LOG).stat().st_size
    except FileNotFoundError:
        log_start = 0
    return RunSpec(job_id=job["id"], job_dir=str(folder), interpreter=job["interpreter"],
                   script=str(folder / JobFiles.SNAPSHOT / job["snapshot_script"]), args=list(job["args"]),
                   cwd=job["cwd"], env=job_environment(job, gpus, results), resource=job["resource"],
                   gpus=job["gpus"], gpu_ids=[g.index for g in gpus], stop_grace=stop_grace, kernel=job.get("kernel"),
                   gpu_lock_dir=gpu_lock_dir if gpus else None, gpu_locks=[g.lock_name for g in gpus],
                   telemetry_seconds=telemetry_seconds, time_limit=job.get("time_limit"),
                   time_limit_signal=job.get("time_limit_signal"), attempt=job.get("attempt") or 1,
                   log_start=log_start)
