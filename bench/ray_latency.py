"""Submit → a job's first line in its output.log, through momo-jobs' Ray backend.

The same one-line script, trials alternating, in one run, on a throwaway local
Ray head (tests/ray_head.py):

- Ray Jobs itself (the baseline): ``submit_job`` with the script's folder as
  ``working_dir``, as the backend submits it, to the first ``get_job_logs``
  that holds the line;
- momo-jobs' Ray backend: ``launch()`` to the first byte in the job's
  ``output.log`` (Ray's own lines cut out);
- momo-jobs' local backend, the same way, for scale.

It prints median and p95 of each, and the Ray backend against Ray Jobs and
against the local backend. DESIGN §5 sets no bar for Ray (Ray Jobs itself needs
1–2 s): nothing is judged.

    python bench/ray_latency.py --trials 10
"""
from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from common import PYTHON, bounded_trials, header, kill_job_supervisors, summary

from momo_jobs.server.backends.local import LocalBackend  # noqa: E402  (common puts the repo on the path)
from momo_jobs.server.backends.ray import RayBackend  # noqa: E402  (Ray itself is imported on first use)
from momo_jobs.server.backends.ray.logcopy import POLL_MIN  # noqa: E402
from momo_jobs.job.files import RunSpec  # noqa: E402
from momo_jobs.server.environment import run_spec_for  # noqa: E402
from momo_jobs.vocabulary import JobFiles  # noqa: E402

LINE = "momo-first-line"
SCRIPT_NAME = "first.py"
SCRIPT = f'print("{LINE}")\n'
TIMEOUT = 120.0  # seconds for one trial; a busy 2-core machine takes a while to start a Ray job


def new_run(data_dir: Path, cwd: Path) -> RunSpec:
    """A CPU job of the script, with the RunSpec the server would give it."""
    job_id = f"lat-{secrets.token_hex(4)}"
    folder = data_dir / "jobs" / job_id
    (folder / JobFiles.SNAPSHOT).mkdir(parents=True)
    (folder / JobFiles.SNAPSHOT / SCRIPT_NAME).write_text(SCRIPT)
    job = {"id": job_id, "job_dir": str(folder), "interpreter": PYTHON, "snapshot_script": SCRIPT_NAME,
           "args": [], "cwd": str(cwd), "env": {}, "resource": "cpu", "gpus": 0}
    run = run_spec_for(job, [], stop_grace=1.0)
    run.save()
    return run


async def wait_for(check, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def backend_trial(backend, run: RunSpec) -> float:
    log = run.folder / JobFiles.LOG
    start = time.perf_counter()
    await backend.launch(run)
    await wait_for(lambda: log.exists() and log.stat().st_size > 0, f"{run.job_id}'s first line")
    elapsed = time.perf_counter() - start
    await wait_for((run.folder / JobFiles.EXIT).exists, f"{run.job_id} to end")
    return elapsed


def ray_jobs_trial(client, working_dir: Path) -> float:
    """Blocking, as Ray's client is. Its log is read as often as the backend reads it
    at most, so that the reads don't slow the dashboard it measures."""
    start = time.perf_counter()
    job_id = client.submit_job(entrypoint=f"python {SCRIPT_NAME}", runtime_env={"working_dir": str(working_dir)},
                               submission_id=f"bench-{secrets.token_hex(4)}")
    deadline = time.monotonic() + TIMEOUT
    while LINE not in client.get_job_logs(job_id):
        if time.monotonic() > deadline:
            raise RuntimeError(f"Ray job {job_id}: no first line in {TIMEOUT:.0f} s")
        time.sleep(POLL_MIN)
    elapsed = time.perf_counter() - start
    while not client.get_job_status(job_id).is_terminal() and time.monotonic() < deadline:
        time.sleep(0.05)
    return elapsed


async def measure(address: str, tmp: Path, trials: int, budget: float) -> dict[str, list[float]]:
    from ray.job_submission import JobSubmissionClient

    cwd = tmp / "work"  # the jobs' cwd; Ray Jobs gets a folder like a job's snapshot, the script alone
    cwd.mkdir()
    script_dir = tmp / "script"
    script_dir.mkdir()
    (script_dir / SCRIPT_NAME).write_text(SCRIPT)
    client = JobSubmissionClient(address)
    ray = RayBackend(SimpleNamespace(ray_address=address, stop_grace_seconds=1.0, data_dir=str(tmp)))
    local = LocalBackend(SimpleNamespace(gpus="", cpu_slots=1, stop_grace_seconds=1.0, data_dir=str(tmp)))
    times: dict[str, list[float]] = {"ray_jobs": [], "ray_backend": [], "local": []}
    await ray.start()
    await local.start()
    try:
        print("  warming up (Ray's first job on a new head sets up its runtime env)…", flush=True)
        await asyncio.to_thread(ray_jobs_trial, client, script_dir)
        await backend_trial(ray, new_run(tmp, cwd))
        await backend_trial(local, new_run(tmp, cwd))
        for _ in bounded_trials(trials, budget):
            times["ray_jobs"].append(await asyncio.to_thread(ray_jobs_trial, client, script_dir))
            times["ray_backend"].append(await backend_trial(ray, new_run(tmp, cwd)))
            times["local"].append(await backend_trial(local, new_run(tmp, cwd)))
    finally:
        await ray.close()
        await local.close()
        kill_job_supervisors(tmp)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--budget", type=float, default=90.0, help="seconds of trials at most (at least 3 trials)")
    args = parser.parse_args()
    try:
        import ray.job_submission  # noqa: F401

        from tests.ray_head import RayHead
    except ImportError as exc:
        print(f"  skipped ({exc}); install momo-jobs[ray] to measure the Ray backend", flush=True)
        return 0

    header("submit → first line, Ray backend")
    print("  starting a local Ray head (127.0.0.1, own process group)…", flush=True)
    with RayHead(num_cpus=2, num_gpus=0, start_timeout=90) as head, \
            tempfile.TemporaryDirectory(prefix="momo-bench-ray-") as tmp:
        times = asyncio.run(measure(head.address, Path(tmp), args.trials, args.budget))
    base = summary("Ray Jobs itself (baseline)", times["ray_jobs"])
    momo = summary("momo-jobs Ray backend", times["ray_backend"])
    local = summary("momo-jobs local backend", times["local"])
    print(f"  Ray backend − Ray Jobs: p50 {(momo['p50'] - base['p50']) * 1000:+.0f} ms, "
          f"ratio {momo['p50'] / base['p50']:.2f}×", flush=True)
    print(f"  Ray backend / local backend: p50 ratio {momo['p50'] / local['p50']:.1f}×", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
