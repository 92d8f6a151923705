"""The RunSpec of a job about to start: what it runs, where, and its environment
(DESIGN §2 "Job environment")."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ..job.files import RunSpec
from ..vocabulary import JobFiles
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


def job_environment(job: dict, gpu_ids: list[str], results: Path) -> dict[str, str]:
    """The user's variables, then momo-jobs' own: prints arrive live, the job sees only
    its GPUs (none for a CPU job), knows its id and results folder, and imports modules
    beside its script as the notebook did."""
    env = dict(job["env"])
    cwd = job["cwd"]
    inherited = env.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    env.update({
        "PYTHONUNBUFFERED": "1",
        "CUDA_VISIBLE_DEVICES": ",".join(gpu_ids),
        "MOMO_JOB_ID": job["id"],
        "MOMO_RESULTS_DIR": str(results),
        "PYTHONPATH": os.pathsep.join(p for p in (cwd, inherited) if p),
    })
    return env


def run_spec_for(job: dict, gpu_ids: list[str], stop_grace: float) -> RunSpec:
    """The job's snapshot run in its script's folder, on the GPUs it was given;
    makes sure that folder's ``results/`` exists."""
    results = results_dir(job)
    results.mkdir(parents=True, exist_ok=True)
    folder = Path(job["job_dir"])
    return RunSpec(job_id=job["id"], job_dir=str(folder), interpreter=job["interpreter"],
                   script=str(folder / JobFiles.SNAPSHOT / job["snapshot_script"]), args=list(job["args"]),
                   cwd=job["cwd"], env=job_environment(job, gpu_ids, results), resource=job["resource"],
                   gpus=job["gpus"], gpu_ids=gpu_ids, stop_grace=stop_grace, kernel=job.get("kernel"))
