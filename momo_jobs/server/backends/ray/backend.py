"""Ray backend: jobs run on a Ray cluster through Ray's Job Submission API.

momo-jobs keeps its own FIFO queue in front of Ray and submits a job only when
the cluster has room for it (room.py; Ray's PENDING gives up after a while and
keeps no order). The job id is Ray's submission id, so a retried submit never
runs a job twice. Each job's log is copied into its folder as Ray writes it
(logcopy.py). Every call to Ray goes through http.py.
"""
from __future__ import annotations

import asyncio
import math
import os
from dataclasses import dataclass

from ....job.files import RunSpec
from ....vocabulary import Inventory
from ..base import Backend
from .http import RETRY_MAX, TERMINAL, RayDashboard, RayUnavailable, launch_error
from .logcopy import LogCopy, submission_id
from .room import Room, Share, needs
from .workdir import entrypoint_for, stage, unstage

RESOURCES_EVERY = 2.0  # seconds between looks at the cluster's resources
REATTACH_WAIT = 60.0  # how long reattach records what an ended job left before returning


def ray_env(run: RunSpec) -> dict[str, str]:
    env = {k: str(v) for k, v in run.env.items()}
    env["PYTHONUNBUFFERED"] = "1"
    # The server's folder means nothing on the node: Ray puts the working dir on the path.
    path = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != run.cwd]
    if path:
        env["PYTHONPATH"] = os.pathsep.join(path)
    else:
        env.pop("PYTHONPATH", None)
    env.pop("MOMO_RESULTS_DIR", None)  # carryback sets it to the node's results/
    if run.resource == "gpu":
        env.pop("CUDA_VISIBLE_DEVICES", None)  # Ray sets it to the GPUs it assigns
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""
    # Ray's supervisor reads its stop grace period from its environment.
    env["RAY_JOB_STOP_WAIT_TIME_S"] = str(max(1, math.ceil(run.stop_grace)))
    return env


@dataclass
class _Job:
    """A job this backend submitted or follows."""

    share: Share  # what it takes from the cluster
    log_copy: LogCopy
    task: asyncio.Task | None = None  # the log copy, from the submit until Ray reports the end

    @property
    def copying(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def copied(self) -> bool:
        """The copy has ended: it wrote exit.json (or the backend closed)."""
        return self.task is not None and self.task.done()


class RayBackend(Backend):
    name = "ray"

    def __init__(self, settings, log=None):
        super().__init__(settings, log)
        self.dashboard = RayDashboard(getattr(settings, "ray_address", None) or None)
        self._jobs: dict[str, _Job] = {}
        self.room = Room(self.dashboard, lambda: (job.share for job in self._jobs.values()))
        self._refresher: asyncio.Task | None = None

    def _new_job(self, run: RunSpec, entrypoint: str, start_ms: int | None = None) -> _Job:
        cpus, gpus = needs(run.resource, run.gpus)
        share = Share(cpus=cpus, gpus=gpus, start_ms=start_ms)
        return _Job(share=share, log_copy=LogCopy(self.dashboard, run, entrypoint, share, self.log))

    async def start(self) -> None:
        for attempt in range(3):
            try:
                await self.room.measure()
                break
            except (RayUnavailable, asyncio.TimeoutError) as exc:
                if attempt == 2:
                    self.log.warning("momo-jobs: the Ray cluster does not answer yet: %s", exc)
                else:
                    await asyncio.sleep(1.0)
        self._refresher = asyncio.create_task(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        failures = 0
        while True:
            await asyncio.sleep(RESOURCES_EVERY if not failures else min(RETRY_MAX, RESOURCES_EVERY * 2 ** failures))
            try:
                before = self.room.inventory()
                await self.room.measure()
                self._forget_ended()
                # A queue held back by has_room, or by an inventory that lacked room (none
                # measured yet: no CPU slots), may start now.
                if self.room.held_back or self.room.inventory() != before:
                    self.room.held_back = False
                    self.on_room()
                if failures:
                    self.log.info("momo-jobs: the Ray cluster answers again")
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failures:
                    self.log.warning("momo-jobs: could not read the Ray cluster's resources: %s", exc)
                failures += 1

    def _forget_ended(self) -> None:
        """Drops ended jobs that the cluster's measurement no longer counts."""
        for job_id, job in list(self._jobs.items()):
            if job.copied and self.room.no_longer_counts(job.share):
                del self._jobs[job_id]

    async def close(self) -> None:
        tasks = [t for t in ([self._refresher] + [j.task for j in self._jobs.values()]) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.dashboard.close()

    def inventory(self) -> Inventory:
        return self.room.inventory()

    def has_room(self, resource: str, gpus: int) -> bool:
        return self.room.has_room(resource, gpus)

    async def launch(self, run: RunSpec) -> None:
        if self._following(run.job_id):
            return
        entrypoint = entrypoint_for(run)
        job = self._new_job(run, entrypoint)
        self.room.take_reservation(job.share.gpus)
        self._jobs[run.job_id] = job  # counted against the cluster's room from now on
        try:
            working_dir = await asyncio.to_thread(stage, run)
        except Exception:
            self._jobs.pop(run.job_id, None)
            raise
        try:
            await self.dashboard.submit(submission_id(run), entrypoint, str(working_dir), ray_env(run),
                                        cpus=job.share.cpus, gpus=job.share.gpus)
        except Exception as exc:
            if isinstance(exc, RayUnavailable) or (
                    "already exists" not in str(exc) and not await self._exists_after_error(submission_id(run))):
                self._jobs.pop(run.job_id, None)
                raise launch_error(exc) from exc
            # Submitted before (a retry, or an answer lost on the way): it runs once.
        finally:
            await asyncio.to_thread(unstage, run)
        self._follow(job)

    def _following(self, job_id: str) -> bool:
        job = self._jobs.get(job_id)
        return job is not None and job.copying

    async def _exists_after_error(self, job_id: str) -> bool:
        try:
            return await self.dashboard.job_info(job_id) is not None
        except Exception:
            return False

    async def stop(self, run: RunSpec) -> None:
        await self.dashboard.stop_job(submission_id(run))

    async def is_alive(self, run: RunSpec) -> bool:
        job = self._jobs.get(run.job_id)
        if job is not None and job.share.ended_at is None and not job.copied:
            return True  # being submitted, or followed: the copy writes exit.json once Ray reports the end
        try:
            info = await self.dashboard.job_info(submission_id(run))
        except Exception:
            return True  # can't tell: the cluster may be back in a moment
        return info is not None and info.get("status") not in TERMINAL

    async def reattach(self, run: RunSpec) -> bool:
        try:
            info = await self.dashboard.job_info(submission_id(run))
        except Exception as exc:
            # The cluster may come back: keep following, the copy retries meanwhile.
            self.log.warning("momo-jobs: Ray does not answer about job %s yet: %s", run.job_id, exc)
            info = {}
        if info is None:
            return False
        job = self._new_job(run, info.get("entrypoint") or entrypoint_for(run), start_ms=info.get("start_time"))
        self._follow(job)
        if info.get("status") in TERMINAL:
            # It ended while the server was down: record the rest now, unless that takes long.
            done, _ = await asyncio.wait({job.task}, timeout=REATTACH_WAIT)
            return not done
        return True

    def _follow(self, job: _Job) -> None:
        run = job.log_copy.run
        if self._following(run.job_id):
            return
        self._jobs[run.job_id] = job
        job.task = asyncio.create_task(job.log_copy.follow(), name=f"momo-ray-{run.job_id}")
