"""A throwaway local Ray head for tests.

It listens on 127.0.0.1 only, on ports picked free at start (so it can share the
machine with other Ray clusters, tests run at the same time included), keeps its
files in its own temporary folder, and runs in its own process group, which is
how it is torn down: ``ray stop`` kills every Ray process on the machine by name.

Use it from a conftest::

    from ray_head import ray_head  # noqa: F401  (session fixture)

or as a context manager, or by hand: ``python tests/ray_head.py`` prints the
dashboard address and keeps the head up until Ctrl-C.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

RAY_BIN = Path(sys.executable).with_name("ray")


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class RayHead:
    def __init__(self, num_cpus: int = 4, num_gpus: int = 2, start_timeout: float = 180):
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.temp_dir: str | None = None
        self.address = ""

    def start(self, attempts: int = 3) -> "RayHead":
        # Ray gives its raylet a fixed 30 s to register, which a loaded machine can miss.
        for attempt in range(attempts):
            try:
                return self._start()
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
        return self

    def _start(self) -> "RayHead":
        if not RAY_BIN.exists():
            raise RuntimeError(f"no ray command next to {sys.executable}")
        (gcs, dash, client, agent_http, agent_grpc, runtime_env,
         metrics, node_manager, object_manager) = free_ports(9)
        # Unix socket paths live under the temp dir and must stay under ~100 chars.
        self.temp_dir = tempfile.mkdtemp(prefix="momo-ray-", dir="/tmp")
        self.address = f"http://127.0.0.1:{dash}"
        cmd = [
            str(RAY_BIN), "start", "--head", "--block",
            "--node-ip-address", "127.0.0.1", "--port", str(gcs),
            "--include-dashboard", "true", "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dash),
            "--ray-client-server-port", str(client),
            "--dashboard-agent-listen-port", str(agent_http),
            "--dashboard-agent-grpc-port", str(agent_grpc),
            "--runtime-env-agent-port", str(runtime_env),
            "--metrics-export-port", str(metrics),
            "--node-manager-port", str(node_manager),
            "--object-manager-port", str(object_manager),
            "--num-cpus", str(self.num_cpus), "--num-gpus", str(self.num_gpus),
            "--object-store-memory", str(100 * 1024 * 1024),
            "--temp-dir", self.temp_dir,
            "--disable-usage-stats",
            # Job logs are read from their files; the monitor that copies worker logs to drivers only costs CPU.
            "--include-log-monitor", "false",
        ]
        env = dict(os.environ)
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        # Without this, `ray start` swaps --node-ip-address 127.0.0.1 for the machine's
        # outward address and its servers listen there (a one-node cluster needs no more).
        env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        # Job entrypoints run `python ...`: make that the test interpreter.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.pop("RAY_ADDRESS", None)
        self._log = open(Path(self.temp_dir) / "ray-start.log", "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray start exited with {self.proc.returncode}:\n{self.startup_log()}")
            try:
                # The job API and the node list answer only once the head's modules are up.
                with urllib.request.urlopen(f"{self.address}/api/jobs/", timeout=5):
                    pass
                with urllib.request.urlopen(f"{self.address}/api/v0/nodes", timeout=5) as r:
                    if '"ALIVE"' in r.read().decode():
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Ray head not ready after {self.start_timeout}s:\n{self.startup_log()}")

    def startup_log(self) -> str:
        try:
            return (Path(self.temp_dir) / "ray-start.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def _processes(self) -> list:
        """The head's processes, the ones that left its process group (job drivers) included."""
        try:
            import psutil
        except ImportError:
            return []
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return []

    def stop(self) -> None:
        if self.proc is None:
            return
        strays = self._processes()
        for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever of the group is left
        except ProcessLookupError:
            pass
        for p in strays:
            try:
                p.kill()
            except Exception:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self._log.close()
        if not os.environ.get("MOMO_TEST_KEEP_RAY_LOGS"):  # set it to read a failed run's Ray logs
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> "RayHead":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture(scope="session")
def ray_head():
    """A running local Ray head (4 CPUs, 2 logical GPUs); ``ray_head.address`` is its dashboard."""
    pytest.importorskip("ray.job_submission")
    with RayHead() as head:
        yield head


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with RayHead() as head:
        print(head.address, flush=True)
        try:
            signal.pause()
        except (KeyboardInterrupt, SystemExit):
            pass
