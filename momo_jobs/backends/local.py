"""Local backend: each job runs under a detached supervisor process (supervisor.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ..gpus import gpu_inventory
from ..jobfiles import SUPERVISOR, RunSpec, read_json
from .base import Backend, Inventory, LaunchError

SUPERVISOR_PID = "supervisor.pid"
SUPERVISOR_ERR = "supervisor.err"


def process_alive(pid: int, marker: str) -> bool:
    """Whether ``pid`` runs and its command line holds ``marker``; a zombie is not alive.

    The marker guards against a pid reused by another process after a restart.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in (b"Z", b"X") and marker in cmdline


class LocalBackend(Backend):
    name = "local"

    def __init__(self, settings, log=None):
        super().__init__(settings, log)
        self._children: dict[str, subprocess.Popen] = {}
        self._inventory = Inventory(gpus=gpu_inventory(settings.gpus), cpu_slots=settings.cpu_slots)

    def inventory(self) -> Inventory:
        return self._inventory

    async def launch(self, run: RunSpec) -> None:
        folder = run.folder
        run.save()
        try:
            with open(folder / SUPERVISOR_ERR, "ab") as err:
                child = subprocess.Popen(
                    [sys.executable, "-m", "momo_jobs.supervisor", str(folder)],
                    cwd=folder, stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT,
                    start_new_session=True, close_fds=True,
                )
        except OSError as exc:
            raise LaunchError(f"could not start the job's supervisor: {exc}") from exc
        (folder / SUPERVISOR_PID).write_text(str(child.pid))
        self._children[run.job_id] = child

    def _supervisor_pid(self, run: RunSpec) -> int | None:
        try:
            return int((run.folder / SUPERVISOR_PID).read_text())
        except (FileNotFoundError, ValueError):
            return None

    async def is_alive(self, run: RunSpec) -> bool:
        child = self._children.get(run.job_id)
        if child is not None:
            if child.poll() is None:
                return True
            del self._children[run.job_id]  # reaped
            return False
        pid = self._supervisor_pid(run)
        return pid is not None and process_alive(pid, str(run.folder))

    async def stop(self, run: RunSpec) -> None:
        pid = self._supervisor_pid(run)
        if pid is not None and await self.is_alive(run):
            os.kill(pid, signal.SIGTERM)
            return
        # The supervisor is gone: end what it left behind directly.
        info = read_json(Path(run.folder) / SUPERVISOR) or {}
        if info.get("pgid"):
            try:
                os.killpg(int(info["pgid"]), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
