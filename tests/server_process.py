"""A real ``jupyter server`` with momo-jobs in a subprocess, for tests that kill,
restart or talk to it from other processes (CLI, kernels)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from momo_jobs.user.client import ClientError, JobsClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``env`` is added to the server's environment (a value None removes that variable);
    ``run_as`` (uid, gid) starts it as another Unix user, on ``python`` (that user's
    Python, with momo-jobs installed)."""

    def __init__(self, base: Path, env: dict | None = None, python: str | None = None,
                 run_as: tuple[int, int] | None = None):
        self.base = Path(base)
        self.python = python or sys.executable
        self.run_as = run_as
        self.root = self.base / "root"
        self.data_dir = self.base / "momo-data"
        self.jupyter_dirs = {name: self.base / "jupyter" / name for name in ("config", "data", "runtime")}
        for path in (self.root, self.data_dir, *self.jupyter_dirs.values()):
            path.mkdir(parents=True, exist_ok=True)
        (self.jupyter_dirs["config"] / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": {"momo_jobs": True}}}))
        self.token = uuid.uuid4().hex
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = self.base / "server.log"

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOMO_JOBS_")}
        env.update({
            "JUPYTER_CONFIG_DIR": str(self.jupyter_dirs["config"]),
            "JUPYTER_DATA_DIR": str(self.jupyter_dirs["data"]),
            "JUPYTER_RUNTIME_DIR": str(self.jupyter_dirs["runtime"]),
            "MOMO_JOBS_DATA_DIR": str(self.data_dir),
            "MOMO_JOBS_GPUS": "",
            "MOMO_JOBS_CPU_SLOTS": "2",
            "MOMO_JOBS_STOP_GRACE": "2",
            "MOMO_JOBS_TELEMETRY": "0",  # a test's jobs have only the series they print, unless it asks
        })
        if self.run_as is not None:  # the other user's own Python and home, not the caller's
            env.pop("PYTHONPATH", None)
            env["HOME"] = str(self.base / "home")
        env.update(self.extra_env)
        return {k: v for k, v in env.items() if v is not None}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def client_env(self) -> dict:
        """The environment for a client process (CLI, kernel) of this server."""
        env = {k: v for k, v in self.env.items() if not k.startswith("MOMO_JOBS_")}
        env.update({"MOMO_JOBS_URL": self.url, "MOMO_JOBS_TOKEN": self.token, "MOMO_JOBS_ROOT": str(self.root)})
        return env

    def client(self) -> JobsClient:
        return JobsClient(self.url, self.token, self.root, timeout=30)

    def start(self, timeout: float = 60) -> "ServerProcess":
        self.port = free_port()
        log = open(self.log_path, "ab")
        prefix = []
        if self.run_as is not None:
            uid, gid = self.run_as
            (self.base / "home").mkdir(exist_ok=True)
            for path in [self.base, *self.base.rglob("*")]:
                os.chown(path, uid, gid)
            prefix = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        self.proc = subprocess.Popen(
            [*prefix, self.python, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={self.root}",
             f"--IdentityProvider.token={self.token}", "--ServerApp.allow_root=True"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        client = self.client()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log_path.read_text()[-3000:]}")
            try:
                client.resources()
                return self
            except ClientError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not answer: {self.log_path.read_text()[-3000:]}")
                time.sleep(0.2)

    def kill9(self) -> None:
        """Kills the server process alone; its jobs' supervisors live in sessions of their own."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
