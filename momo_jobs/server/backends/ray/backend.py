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
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from ....job.files import RunSpec
from ....job.limits import parse_time_limit_signal
from ....vocabulary import Inventory, JobFiles
from ..base import Backend
from .http import RETRY_MAX, TERMINAL, RayDashboard, RayUnavailable, launch_error
from .logcopy import LogCopy, submission_id
from .room import Room, Share, needs

RESOURCES_EVERY = 2.0  # seconds between looks at the cluster's resources
REATTACH_WAIT = 60.0  # how long reattach records what an ended job left before returning


# Runs the script on the node when its time limit has a warning signal, which Ray has no
# call for: the signal to the script's process group at the unix time given (the server's
# deadline less the warning's lead: Ray may take a while to start the job, and the server
# stops it at its deadline). Ray's stop reaches the script itself (Ray signals the
# entrypoint's whole process tree), so this one ignores it.
_WARNER = ";".join([
    "import os,signal,subprocess,sys,threading,time",
    "s,w=int(sys.argv[1]),max(0.0,float(sys.argv[2])-time.time())",
    "p=subprocess.Popen(sys.argv[3:],start_new_session=True)",
    "[signal.signal(g,signal.SIG_IGN) for g in (signal.SIGTERM,signal.SIGINT)]",
    "t=threading.Timer(w,lambda:p.poll() is None and os.killpg(p.pid,s))",
    "t.daemon=True",
    "t.start()",
    "c=p.wait()",
    "c<0 and (signal.signal(-c,signal.SIG_DFL),os.kill(os.getpid(),-c))",
    "sys.exit(c if c>=0 else 1)",
])


def entrypoint_for(run: RunSpec, launched_at: float | None = None) -> tuple[str, str]:
    """The working dir that travels to the cluster, and the command run there
    (``launched_at``: when the server started the attempt, which its time limit counts from)."""
    script = Path(run.script)
    snapshot = run.folder / JobFiles.SNAPSHOT
    working_dir = snapshot if snapshot in script.parents else script.parent
    rel = script.relative_to(working_dir).as_posix()
    # The cluster's Python: the interpreter path of this server means nothing there.
    command = ["python", rel, *run.args]
    if run.time_limit and run.time_limit_signal:
        sig, before = parse_time_limit_signal(run.time_limit_signal)
        warn_at = (launched_at or time.time()) + max(0.0, run.time_limit - before)
        command = ["python", "-c", _WARNER, str(int(sig)), f"{warn_at:.3f}", *command]
    return str(working_dir), shlex.join(command)


def ray_env(run: RunSpec) -> dict[str, str]:
    env = {k: str(v) for k, v in run.env.items()}
    env["PYTHONUNBUFFERED"] = "1"
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
                await self.room.measure()
                self._forget_ended()
                if self.room.held_back:
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
        working_dir, entrypoint = entrypoint_for(run)
        job = self._new_job(run, entrypoint)
        self.room.take_reservation(job.share.gpus)
        self._jobs[run.job_id] = job  # counted against the cluster's room from now on
        try:
            await self.dashboard.submit(submission_id(run), entrypoint, working_dir, ray_env(run),
                                        cpus=job.share.cpus, gpus=job.share.gpus)
        except Exception as exc:
            if isinstance(exc, RayUnavailable) or (
                    "already exists" not in str(exc) and not await self._exists_after_error(submission_id(run))):
                self._jobs.pop(run.job_id, None)
                raise launch_error(exc) from exc
            # Submitted before (a retry, or an answer lost on the way): it runs once.
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
        _, entrypoint = entrypoint_for(run)
        job = self._new_job(run, info.get("entrypoint") or entrypoint, start_ms=info.get("start_time"))
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
