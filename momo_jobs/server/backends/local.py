"""Local backend: each job runs under a detached supervisor process (supervisor.py).

One supervisor is kept started ahead, waiting (``--spare``): a job is handed to
it, so that the job's script starts without waiting for a Python to start and
import the supervisor first; the next spare starts behind it.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from ..gpus import gpu_inventory
from ...job.files import RunSpec, read_json
from ...vocabulary import Inventory, JobFiles
from .base import Backend, LaunchError
from .processes import process_alive, processes_of_job, signal_if_there, supervisor_serves


class LocalBackend(Backend):
    name = "local"
    keeps_time_limit = True  # the supervisor does, from job.json

    def __init__(self, settings, log=None):
        super().__init__(settings, log)
        self._children: dict[str, subprocess.Popen] = {}
        self._spare: subprocess.Popen | None = None
        self._closed = False
        self._inventory = Inventory(gpus=gpu_inventory(settings.gpus), cpu_slots=settings.cpu_slots)

    async def start(self) -> None:
        self._start_spare()

    async def close(self) -> None:
        self._closed = True
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.stdin.close()  # it ends when its input ends
            try:
                spare.wait(5)
            except subprocess.TimeoutExpired:
                spare.kill()
                spare.wait()

    def _start_spare(self) -> None:
        if self._closed or (self._spare is not None and self._spare.poll() is None):
            return
        try:
            self._spare = subprocess.Popen(
                [sys.executable, "-m", "momo_jobs.supervisor", "--spare"],
                cwd=Path(self.settings.data_dir), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            self.log.warning("momo-jobs: could not start a spare supervisor: %s", exc)
            self._spare = None

    def _hand_to_spare(self, folder: Path) -> subprocess.Popen | None:
        spare, self._spare = self._spare, None
        if spare is None or spare.poll() is not None:
            return None
        try:
            # The environment of now, as a supervisor started now would have it.
            spare.stdin.write(json.dumps({"folder": str(folder), "env": dict(os.environ)}).encode() + b"\n")
            spare.stdin.close()
        except OSError:
            spare.kill()
            spare.wait()
            return None
        return spare

    def inventory(self) -> Inventory:
        return self._inventory

    async def launch(self, run: RunSpec) -> None:
        folder = run.folder  # the service saved job.json (run.save) just before
        child = self._hand_to_spare(folder)
        if child is None:
            try:
                with open(folder / JobFiles.SUPERVISOR_ERR, "ab") as err:
                    child = subprocess.Popen(
                        [sys.executable, "-m", "momo_jobs.supervisor", str(folder)],
                        cwd=folder, stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT,
                        start_new_session=True, close_fds=True,
                    )
            except OSError as exc:
                raise LaunchError(f"could not start the job's supervisor: {exc}") from exc
        (folder / JobFiles.SUPERVISOR_PID).write_text(str(child.pid))
        self._children[run.job_id] = child
        # The next spare starts once this request has been answered.
        asyncio.get_running_loop().call_soon(self._start_spare)

    def _supervisor_pid(self, run: RunSpec) -> int | None:
        try:
            return int((run.folder / JobFiles.SUPERVISOR_PID).read_text())
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
        return pid is not None and (process_alive(pid, str(run.folder)) or supervisor_serves(pid, run.folder))

    async def stop(self, run: RunSpec) -> None:
        pid = self._supervisor_pid(run)
        if pid is not None and await self.is_alive(run):
            os.kill(pid, signal.SIGTERM)
            return
        # The supervisor is gone: end what it left behind directly.
        info = read_json(Path(run.folder) / JobFiles.SUPERVISOR) or {}
        if info.get("pgid"):
            signal_if_there(int(info["pgid"]), signal.SIGKILL, group=True)

    async def end_leftovers(self, run: RunSpec) -> str | None:
        info = read_json(Path(run.folder) / JobFiles.SUPERVISOR) or {}
        if info.get("pgid"):
            signal_if_there(int(info["pgid"]), signal.SIGKILL, group=True)
        for pid in processes_of_job(run.job_id):
            signal_if_there(pid, signal.SIGKILL)
        return "the job's supervisor died (nothing recorded its processes any more, so they were ended)"
