"""Shared helpers of the benchmarks: a real server subprocess, timing, figures.

Every benchmark measures momo-jobs and its baseline in the same run (the
machine may be shared and noisy) and prints raw figures (median and p95 over
repeated trials), the ratio or difference against the baseline, and whether
the bar of DESIGN.md §5 is met. Only 127.0.0.1 is used; every process started
here runs in its own process group and is ended, even on failure.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from momo_jobs.user.client import JobsClient  # noqa: E402

# A SIGTERM (bench/run_all.py's time limit) unwinds like an exception, so every
# server, supervisor and cluster a bench started is ended by its `finally`.
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

PYTHON = sys.executable
JUPYTER = str(Path(sys.executable).with_name("jupyter"))
FINAL = ("completed", "failed", "stopped")


# figures

def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0..100), linear between the closest ranks."""
    data = sorted(values)
    if not data:
        return float("nan")
    k = (len(data) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def median(values: Iterable[float]) -> float:
    return percentile(values, 50)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def summary(label: str, seconds: list[float]) -> dict:
    """Prints and returns median/p95 of a list of durations (seconds)."""
    p50, p95 = median(seconds), percentile(seconds, 95)
    print(f"  {label:<44} p50 {ms(p50)}   p95 {ms(p95)}   (n={len(seconds)})", flush=True)
    return {"p50": p50, "p95": p95, "n": len(seconds)}


def verdict(name: str, met: bool, detail: str) -> dict:
    mark = "MET" if met else "MISSED"
    print(f"  BAR {name}: {mark} — {detail}", flush=True)
    record = {"bar": name, "met": bool(met), "detail": detail}
    _RESULTS.append(record)
    return record


_RESULTS: list[dict] = []


def write_results(bench: str) -> None:
    """Appends this bench's verdicts to $MOMO_BENCH_RESULTS (a JSON-lines file) if set."""
    target = os.environ.get("MOMO_BENCH_RESULTS")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            for record in _RESULTS:
                f.write(json.dumps({"bench": bench, **record}) + "\n")


def header(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


# processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_group(proc: subprocess.Popen | None, grace: float = 5.0) -> None:
    """Ends a process started with start_new_session=True and all of its group."""
    if proc is None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # what is left of the group
    except ProcessLookupError:
        pass
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def kill_job_supervisors(data_dir: Path) -> None:
    """Supervisors are detached (their own session): end any a bench left behind."""
    jobs = Path(data_dir) / "jobs"
    if not jobs.is_dir():
        return
    for pid_file in jobs.glob("*/supervisor.pid"):
        try:
            pid = int(pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            continue
        if str(pid_file.parent) in cmdline:
            info = json.loads((pid_file.parent / "supervisor.json").read_text() or "{}") \
                if (pid_file.parent / "supervisor.json").exists() else {}
            for target, group in ((info.get("pgid"), True), (pid, False)):
                if not target:
                    continue
                try:
                    os.killpg(target, signal.SIGKILL) if group else os.kill(target, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


class Server:
    """``jupyter server`` with the momo_jobs extension, in a process group of its own.

    ``with Server() as server:`` gives ``server.client`` (a JobsClient),
    ``server.root`` (its root folder) and ``server.data_dir``.
    """

    def __init__(self, root: Path | None = None, data_dir: Path | None = None, cpu_slots: int = 4,
                 extra_env: dict | None = None, start_timeout: float = 60.0, extra_args: list[str] | None = None):
        self._tmp = Path(tempfile.mkdtemp(prefix="momo-bench-"))
        self.root = Path(root) if root else self._tmp / "root"
        self.data_dir = Path(data_dir) if data_dir else self._tmp / "data"
        self.root.mkdir(parents=True, exist_ok=True)
        self.cpu_slots = cpu_slots
        self.extra_env = extra_env or {}
        self.extra_args = extra_args or []
        self.start_timeout = start_timeout
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None
        self.client = JobsClient(self.url, self.token, self.root)

    def start(self) -> "Server":
        env = dict(os.environ)
        for key in list(env):
            if key.startswith("MOMO_JOBS_"):
                del env[key]
        env.update({
            "MOMO_JOBS_DATA_DIR": str(self.data_dir),
            "MOMO_JOBS_CPU_SLOTS": str(self.cpu_slots),
            "MOMO_JOBS_GPUS": "",
            "JUPYTER_CONFIG_DIR": str(self._tmp / "config"),
            "JUPYTER_RUNTIME_DIR": str(self._tmp / "runtime"),
        })
        env.update(self.extra_env)
        cmd = [JUPYTER, "server", f"--ServerApp.port={self.port}", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--no-browser", "--ServerApp.allow_root=True", "--ServerApp.port_retries=0",
               "--ServerApp.jpserver_extensions={'momo_jobs': True}", *self.extra_args]
        self._log = open(self._tmp / "server.log", "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.client.resources()
                return self
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the server did not answer in {self.start_timeout} s:\n{self.log_tail()}")
                time.sleep(0.1)

    def log_tail(self, n: int = 3000) -> str:
        try:
            return (self._tmp / "server.log").read_text(errors="replace")[-n:]
        except OSError:
            return ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def write(self, rel: str, source: str) -> str:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        return rel

    def wait_final(self, job_id: str, timeout: float, poll: float = 0.02) -> dict:
        """Polls the job until it ended (a long job: poll less often, the server's CPU
        counts in the figures)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.client.get(job_id)
            if job["status"] in FINAL:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s")
            time.sleep(poll)

    def stop(self, keep: bool = False) -> None:
        try:
            kill_group(self.proc)
        finally:
            self.proc = None
            kill_job_supervisors(self.data_dir)
            if hasattr(self, "_log"):
                self._log.close()
            if not keep:
                shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def bounded_trials(n: int, budget_s: float) -> Iterable[int]:
    """range(n), cut short once budget_s seconds have gone by (at least 3 trials)."""
    start = time.monotonic()
    for i in range(n):
        if i >= 3 and time.monotonic() - start > budget_s:
            print(f"  (time budget {budget_s:.0f} s spent after {i} trials)", flush=True)
            return
        yield i
