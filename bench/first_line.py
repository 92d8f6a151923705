"""Submit → the job's first line visible through the API.

The same one-line script is run four ways, in one run:

- directly: ``python script.py`` with a pipe, timed from the spawn to the line
  read from the pipe (the baseline);
- momo-jobs local: from the POST /jobs to the log read (long-poll) that holds
  the line;
- Ray Jobs on a throwaway local head (when ``ray`` imports): from
  ``submit_job`` to the first ``get_job_logs`` that holds the line;
- jupyter-scheduler (installed into bench/.venvs/scheduler when PyPI answers)
  running the equivalent one-cell notebook: from the POST to the job being
  COMPLETED, the first moment its output can be seen.

Bar (DESIGN §5): momo-jobs p50 under direct p50 + 100 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from common import (PYTHON, REPO, Server, bounded_trials, free_port, header, kill_group, median,
                    summary, verdict, write_results)

LINE = "momo-first-line"
SCRIPT = f'print("{LINE}")\n'
SCHED_VENV = REPO / "bench" / ".venvs" / "scheduler"


def direct_trial(script: Path) -> float:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    start = time.perf_counter()
    proc = subprocess.Popen([PYTHON, str(script)], stdout=subprocess.PIPE, env=env, cwd=script.parent)
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    proc.wait()
    assert LINE.encode() in line, line
    return elapsed


STAGES = ("submit answered", "supervisor started the script", "first byte in the log", "line read through the API")


def _unix(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def momo_trial(server: Server, rel: str, stages: dict | None = None) -> float:
    """Seconds from the POST to the line read through the API; ``stages`` gets the
    time of each step from the job's own files (same clock, ms resolution)."""
    start = time.perf_counter()
    wall0 = time.time()
    job = server.client.submit(server.root / rel)
    submitted = time.time()
    offset, text = 0, ""
    deadline = time.monotonic() + 30
    while LINE not in text:
        chunk = server.client.log(job["id"], offset, wait=5.0)
        text += chunk["text"]
        offset = chunk["next_offset"]
        if time.monotonic() > deadline or (chunk["eof"] and LINE not in text):
            raise RuntimeError(f"no first line from job {job['id']}: {text!r}")
    elapsed = time.perf_counter() - start
    server.wait_final(job["id"], 30)
    if stages is not None:
        folder = server.data_dir / "jobs" / job["id"]
        spawned = _unix(json.loads((folder / "supervisor.json").read_text())["started_at"])
        first_byte = float((folder / "output.idx").read_text().split()[0])
        for name, t in zip(STAGES, (submitted, spawned, first_byte, wall0 + elapsed)):
            stages.setdefault(name, []).append(t - wall0)
    return elapsed


def run_ray(script: Path, trials: int) -> list[float] | None:
    try:
        from ray.job_submission import JobStatus, JobSubmissionClient
        sys.path.insert(0, str(REPO))
        from tests.ray_head import RayHead
    except ImportError as exc:
        print(f"  Ray: skipped ({exc}); install momo-jobs[ray] to compare", flush=True)
        return None
    times = []
    print("  Ray: starting a local head (127.0.0.1, own process group)…", flush=True)
    with RayHead(num_cpus=2, num_gpus=0, start_timeout=90) as head:
        client = JobSubmissionClient(head.address)
        deadline = time.monotonic() + 90
        while True:  # the head answers before its job agent is up
            try:
                warm = client.submit_job(entrypoint=f"{PYTHON} {script}")
                break
            except Exception:  # "no available agent", or a dropped connection
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        while client.get_job_status(warm) not in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED):
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for i in bounded_trials(trials, 60):
            start = time.perf_counter()
            # An absolute path and no runtime_env: Ray's fastest case (no upload).
            sub = client.submit_job(entrypoint=f"{PYTHON} {script}", submission_id=f"bench-{secrets.token_hex(4)}")
            deadline = time.monotonic() + 60
            while True:
                if LINE in client.get_job_logs(sub):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Ray job {sub}: no first line in 60 s")
                time.sleep(0.01)
            times.append(time.perf_counter() - start)
            while client.get_job_status(sub) not in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
    return times


def ensure_scheduler_venv() -> Path | None:
    python = SCHED_VENV / "bin" / "python"
    jupyter = SCHED_VENV / "bin" / "jupyter"
    ok = python.exists() and subprocess.run([str(python), "-c", "import jupyter_scheduler, ipykernel"],
                                            capture_output=True).returncode == 0
    if ok:
        return jupyter
    print(f"  jupyter-scheduler: installing into {SCHED_VENV.relative_to(REPO)} (once)…", flush=True)
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(SCHED_VENV)], check=True, timeout=120)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "jupyter-scheduler", "ipykernel"],
                       check=True, timeout=420, capture_output=True)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"  jupyter-scheduler: skipped, it did not install ({exc})", flush=True)
        return None
    return jupyter


def run_scheduler(trials: int) -> list[float] | None:
    jupyter = ensure_scheduler_venv()
    if jupyter is None:
        return None
    tmp = Path(tempfile.mkdtemp(prefix="momo-bench-sched-"))
    root = tmp / "root"
    root.mkdir()
    (tmp / "data").mkdir()  # its SQLite file goes there, and it does not create the folder
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
                   "source": [SCRIPT]}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (root / "first.ipynb").write_text(json.dumps(notebook))
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "MOMO_"))}
    env.update({"JUPYTER_DATA_DIR": str(tmp / "data"), "JUPYTER_CONFIG_DIR": str(tmp / "config"),
                "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")})
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen([str(jupyter), "server", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
                             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--no-browser",
                             "--ServerApp.allow_root=True", "--ServerApp.port_retries=0"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}/scheduler"

    def call(method, path, body=None):
        req = urllib.request.Request(base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    times = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                envs = call("GET", "/runtime_environments")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    print("  jupyter-scheduler: skipped, its server did not start:\n"
                          + (tmp / "server.log").read_text(errors="replace")[-1500:], flush=True)
                    return None
                time.sleep(0.2)
        env_name = envs[0]["name"]
        for i in bounded_trials(trials, 60):
            start = time.perf_counter()
            job_id = call("POST", "/jobs", {"input_uri": "first.ipynb", "runtime_environment_name": env_name,
                                            "name": f"first-{i}", "output_formats": ["ipynb"]})["job_id"]
            deadline = time.monotonic() + 120
            while True:
                job = call("GET", f"/jobs/{job_id}")
                # A new job reads STOPPED (its default) until its process starts.
                if job["status"] in ("COMPLETED", "FAILED") or (job["status"] == "STOPPED" and job.get("start_time")):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter-scheduler job {job_id} still {job['status']}")
                time.sleep(0.01)
            times.append(time.perf_counter() - start)
            if job["status"] != "COMPLETED":
                raise RuntimeError(f"jupyter-scheduler job {job_id}: {job['status']} {job.get('status_message')}")
            outputs = list((tmp / "data" / "scheduler_staging_area").glob(f"{job_id}/*.ipynb"))
            if not any(LINE in p.read_text() for p in outputs):
                raise RuntimeError(f"jupyter-scheduler job {job_id}: the line is not in its output notebook")
    finally:
        kill_group(proc)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return times


def measure_peer(short: str, title: str, run, direct: dict, momo: dict) -> None:
    """Times a peer (its failure is reported, not raised) and prints it against the direct run and momo-jobs."""
    try:
        times = run()
    except Exception as exc:
        print(f"  {short}: failed ({type(exc).__name__}: {exc})", flush=True)
        return
    if times:
        peer = summary(title, times)
        print(f"  {short} − direct: p50 {(peer['p50'] - direct['p50']) * 1000:+.0f} ms, "
              f"{peer['p50'] / momo['p50']:.1f}× momo-jobs", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--peer-trials", type=int, default=8, help="trials for Ray and jupyter-scheduler")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--no-scheduler", action="store_true")
    parser.add_argument("--prepare", action="store_true", help="only install jupyter-scheduler's venv (once)")
    args = parser.parse_args()
    if args.prepare:
        return 0 if ensure_scheduler_venv() else 1

    header("submit → first line visible")
    direct, momo, stages = [], [], {}
    with Server(cpu_slots=2) as server:
        rel = server.write("first/first.py", SCRIPT)
        script = server.root / rel
        for _ in range(2):  # warm both paths (page cache, .pyc)
            direct_trial(script)
            momo_trial(server, rel)
        for _ in bounded_trials(args.trials, 120):  # interleaved, so noise hits both alike
            direct.append(direct_trial(script))
            momo.append(momo_trial(server, rel, stages))
    d = summary("direct python (baseline)", direct)
    m = summary("momo-jobs local", momo)
    print("  momo-jobs, where the time goes (p50 from the POST; ms resolution):", flush=True)
    for name in STAGES:
        print(f"    {name:<34} {median(stages[name]) * 1000:7.1f} ms", flush=True)
    extra = m["p50"] - d["p50"]
    print(f"  momo-jobs − direct: p50 {extra * 1000:+.1f} ms, ratio {m['p50'] / d['p50']:.2f}×", flush=True)
    verdict("submit→first line p50 < direct + 100 ms", extra < 0.100,
            f"momo p50 {m['p50'] * 1000:.0f} ms (p95 {m['p95'] * 1000:.0f}) vs direct p50 {d['p50'] * 1000:.0f} ms "
            f"(p95 {d['p95'] * 1000:.0f}): {extra * 1000:+.0f} ms")

    tmp = Path(tempfile.mkdtemp(prefix="momo-bench-ray-"))
    try:
        (tmp / "first.py").write_text(SCRIPT)
        if not args.no_ray:
            measure_peer("Ray", "Ray Jobs, local head", lambda: run_ray(tmp / "first.py", args.peer_trials), d, m)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.no_scheduler:
        measure_peer("jupyter-scheduler", "jupyter-scheduler (output at job end)",
                     lambda: run_scheduler(args.peer_trials), d, m)
    write_results("first_line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
