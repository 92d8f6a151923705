"""Submit → a job's first line, through momo-jobs' Slurm backend, against ``sbatch``
of the same script directly on the same cluster.

A throwaway single-node Slurm cluster (tests/slurm_cluster.py), trials alternating,
in one run:

- ``sbatch`` itself (the baseline): ``sbatch --parsable --output=F --wrap "python first.py"``
  to the first byte in F;
- momo-jobs' Slurm backend: ``launch()`` (sbatch of the batch script that runs momo's
  supervisor on the node) to the first byte in the job's ``output.log``.

DESIGN §5: Slurm submit → first line within 1 s of ``sbatch`` running the same script
directly on the same cluster (p50).

    python bench/slurm_latency.py --trials 10
"""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from common import PYTHON, REPO, bounded_trials, header, summary, verdict, write_results

sys.path.insert(0, str(REPO / "tests"))

from momo_jobs.server.backends.slurm import SlurmBackend  # noqa: E402  (common puts the repo on the path)
from momo_jobs.job.files import RunSpec  # noqa: E402
from momo_jobs.vocabulary import JobFiles  # noqa: E402
from ray_latency import SCRIPT, SCRIPT_NAME, new_run  # noqa: E402  (the same one-line job; Ray is not imported)

TIMEOUT = 60.0
BAR_S = 1.0


async def first_byte(path: Path, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not (path.exists() and path.stat().st_size > 0):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def backend_trial(backend: SlurmBackend, run: RunSpec) -> float:
    start = time.perf_counter()
    await backend.launch(run)
    await first_byte(run.folder / JobFiles.LOG, f"{run.job_id}'s first line")
    elapsed = time.perf_counter() - start
    deadline = time.monotonic() + TIMEOUT
    while run.job_id in backend._jobs and time.monotonic() < deadline:  # its end seen: the node is free again
        await asyncio.sleep(0.05)
    return elapsed


async def sbatch_trial(cluster, cwd: Path, out_dir: Path) -> float:
    out = out_dir / f"direct-{secrets.token_hex(4)}.out"
    start = time.perf_counter()
    done = await asyncio.to_thread(cluster.run, "sbatch", "--parsable", f"--output={out}", f"--chdir={cwd}",
                                   "--cpus-per-task=1", f"--partition={cluster.partition}",
                                   "--wrap", f"{PYTHON} {SCRIPT_NAME}")
    await first_byte(out, "the direct sbatch job's first line")
    elapsed = time.perf_counter() - start
    slurm_id = done.stdout.strip().split(";")[0]
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        state = await asyncio.to_thread(cluster.run, "squeue", "-h", "-j", slurm_id, "-o", "%T", check=False)
        if not state.stdout.strip():
            break
        await asyncio.sleep(0.1)
    return elapsed


async def measure(cluster, tmp: Path, trials: int, budget: float) -> dict[str, list[float]]:
    cwd = tmp / "work"
    cwd.mkdir()
    (cwd / SCRIPT_NAME).write_text(SCRIPT)
    os.environ.update(cluster.env)
    backend = SlurmBackend(SimpleNamespace(slurm_partition=cluster.partition, slurm_options=None,
                                           stop_grace_seconds=1.0, data_dir=str(tmp)))
    times: dict[str, list[float]] = {"sbatch": [], "momo": []}
    await backend.start()
    try:
        await sbatch_trial(cluster, cwd, tmp)  # warm-up: the node's first job
        await backend_trial(backend, new_run(tmp, cwd))
        for _ in bounded_trials(trials, budget):
            times["sbatch"].append(await sbatch_trial(cluster, cwd, tmp))
            times["momo"].append(await backend_trial(backend, new_run(tmp, cwd)))
    finally:
        await backend.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="alternating pairs of trials")
    parser.add_argument("--budget", type=float, default=90.0, help="at most this many seconds of trials (3 at least)")
    args = parser.parse_args()
    from slurm_cluster import SlurmCluster, missing_tools

    header("submit → first line, Slurm backend")
    if missing_tools() or os.geteuid() != 0:
        print("  skipped: needs Slurm's Debian packages (scripts/slurm-packages.sh) and root for the "
              "throwaway cluster's daemons", flush=True)
        return 0
    print("  starting a single-node Slurm cluster (127.0.0.1, its own munge and config)…", flush=True)
    cluster = SlurmCluster().start()
    tmp = Path(tempfile.mkdtemp(prefix="momo-bench-slurm-"))
    try:
        times = asyncio.run(measure(cluster, tmp, args.trials, args.budget))
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    base = summary("sbatch directly (baseline)", times["sbatch"])
    momo = summary("momo-jobs Slurm backend", times["momo"])
    extra = momo["p50"] - base["p50"]
    verdict("Slurm submit → first line within 1 s of sbatch", extra < BAR_S,
            f"p50 {momo['p50'] * 1000:.0f} ms vs sbatch {base['p50'] * 1000:.0f} ms ({extra * 1000:+.0f} ms)")
    write_results("slurm_latency")
    return 0


if __name__ == "__main__":
    sys.exit(main())
