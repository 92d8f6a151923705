"""Slurm backend: each job is an sbatch job that runs momo's own supervisor on a node,
in the job folder on the cluster's shared filesystem, so the log, the metrics and the
exit record are written as for a local job (no ``sacct``, which needs accounting storage).

Slurm's queue is the queue: every job is handed to sbatch at once (``queues_jobs``),
and while Slurm holds it PENDING the API shows it ``queued`` with Slurm's reason and
its place among the partition's pending jobs (``pending``). One ``squeue`` call per
look follows all jobs; a controller that doesn't answer fails none of them.

The supervisor writes its record as ``exit.node.json``; once Slurm says the job is
over, this backend writes ``exit.json`` from it and from Slurm's final state, which
alone knows of a time limit, a lost node or the out-of-memory killer.
"""
from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ....job.files import ExitRecord, RunSpec, iso_from_unix, read_json, write_json_atomic
from ....vocabulary import GpuInfo, Inventory, JobFiles, Resource
from ..base import Backend, LaunchError
from .commands import (SINFO_FORMAT, SQUEUE_FORMAT, SlurmJob, SlurmRefused, SlurmUnavailable, batch_script,
                       parse_sinfo, parse_squeue, pending_places, sbatch_argv, slurm)

POLL_MIN = 2.0  # seconds between squeue calls while something changes
POLL_MAX = 15.0  # the longest, once nothing has changed for a while
NODES_EVERY = 30.0  # seconds between looks at the partition's nodes (sinfo)
# How long a job Slurm reports over may take to show its exit record on the shared
# filesystem (an NFS client caches what it saw) before it is ended without one.
EXIT_RECORD_WAIT = 15.0
STOP_KILL_AFTER = 5.0  # beyond the grace: the supervisor's own SIGKILL and exit record come first

WAITING = ("PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD")
ON_NODE = ("RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING")
# Final states whose cause only Slurm knows: the reason the job shows, and it failed.
SLURM_ENDED = {
    "TIMEOUT": "time limit",
    "OUT_OF_MEMORY": "out of memory",
    "NODE_FAIL": "its node failed",
    "PREEMPTED": "preempted by a higher-priority job",
    "BOOT_FAIL": "its node failed to boot",
    "DEADLINE": "its Slurm deadline passed",
}
GONE = "GONE"  # no longer in squeue: over, and past Slurm's MinJobAge


def final_record(state: str, slurm_reason: str, node: ExitRecord | None, stop_requested: bool,
                 started: bool) -> ExitRecord:
    """How a job ended, from Slurm's final state and the supervisor's record (if any)."""
    if state in SLURM_ENDED:
        reason = SLURM_ENDED[state]
        if slurm_reason and slurm_reason not in ("None", "(null)") and state in ("NODE_FAIL", "PREEMPTED"):
            reason = f"{reason} (Slurm: {slurm_reason})"
        return ExitRecord(exit_code=None, signal=node.signal if node else None, reason=reason)
    if node is not None:
        if stop_requested:
            node.stopped = True
            node.reason = "stopped by request"
        return node
    if stop_requested:
        return ExitRecord(exit_code=None, stopped=True,
                          reason="stopped by request" if started else "stopped while pending in Slurm")
    if state == "CANCELLED":
        return ExitRecord(exit_code=None, stopped=True, reason="cancelled in Slurm (scancel)")
    if state == GONE:
        return ExitRecord(exit_code=None, reason="Slurm no longer knows the job, and it left no exit record")
    return ExitRecord(exit_code=None, reason=f"Slurm reports the job {state}, and it left no exit record")


@dataclass
class _Job:
    run: RunSpec
    slurm_id: str
    stop_requested: bool = False
    state: str = "PENDING"
    reason: str = ""
    place: int | None = None
    started: bool = False
    gpus_known: bool = False
    over_since: float | None = None  # when Slurm was first seen to say it is over
    tracked_at: float = field(default_factory=time.monotonic)


class SlurmBackend(Backend):
    name = "slurm"
    queues_jobs = True  # Slurm's queue is the queue: hand every job over at once
    keeps_time_limit = True  # sbatch --time and --signal, and the supervisor on the node, from job.json

    def __init__(self, settings, log=None):
        super().__init__(settings, log)
        self.partition = getattr(settings, "slurm_partition", None) or None
        self.extra_options = getattr(settings, "slurm_options", None) or None
        self._jobs: dict[str, _Job] = {}
        self._squeue: dict[str, SlurmJob] = {}
        self._nodes: list[tuple[str, int, int]] = []
        self._nodes_at = 0.0
        self._wake = asyncio.Event()
        self._poller: asyncio.Task | None = None
        self._kills: set[asyncio.Task] = set()
        self._launching: set[str] = set()  # handed to sbatch, no answer yet
        self.unavailable: str | None = None  # why the last squeue failed, while it does

    # life

    async def start(self) -> None:
        try:
            await self._measure_nodes()
        except SlurmUnavailable as exc:
            self.log.warning("momo-jobs: the Slurm controller does not answer yet: %s", exc)
        self._poller = asyncio.create_task(self._poll_loop(), name="momo-slurm-poll")

    async def close(self) -> None:
        tasks = [t for t in (self._poller, *self._kills) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # what the scheduler and the API ask

    def inventory(self) -> Inventory:
        ours = {gpu: job_id for job_id, job in self._jobs.items() for gpu in job.run.gpu_ids}
        others: dict[str, list[SlurmJob]] = {}
        for sj in self._squeue.values():
            if sj.state in ON_NODE and sj.gpus and not any(j.slurm_id == sj.id for j in self._jobs.values()):
                others.setdefault(sj.nodes, []).append(sj)
        gpus = []
        for node, count, _ in self._nodes:
            holders = [f"{sj.user} (Slurm job {sj.id})" for sj in others.get(node, []) for _ in range(sj.gpus)]
            for i in range(count):
                index = f"{node}:{i}"
                holder = None if index in ours or not holders else holders.pop(0)
                gpus.append(GpuInfo(index=index, name=f"GPU on {node}", holder=holder))
        return Inventory(gpus=gpus, cpu_slots=sum(cpus for _, _, cpus in self._nodes) or 1)

    def pending(self, job_id: str) -> tuple[str, int | None] | None:
        """While Slurm holds the job pending: its reason and its place in the partition."""
        job = self._jobs.get(job_id)
        if job is None or job.started or job.state not in WAITING:
            return None
        if (job.run.folder / JobFiles.SUPERVISOR).exists():
            return None  # it runs already; the next squeue will say so
        why = job.reason if job.reason and job.reason not in ("None", "(null)") else "submitted"
        text = f"pending in Slurm: {why}"
        if job.place and job.place > 1:
            ahead = job.place - 1
            text += f", {ahead} job{'s' if ahead > 1 else ''} ahead"
        if self.unavailable:
            text += " (the Slurm controller does not answer)"
        return text, job.place

    # launch and stop

    async def launch(self, run: RunSpec) -> None:
        if run.job_id in self._jobs:
            return
        folder = run.folder
        known = read_json(folder / JobFiles.SLURM)
        if known and known.get("slurm_id"):  # submitted before: it runs once
            self._track(run, known)
            return
        if run.resource == Resource.GPU.value:
            run.env.pop("CUDA_VISIBLE_DEVICES", None)  # Slurm sets it to the GPUs it gives the job
            run.save()
        script = folder / JobFiles.SLURM_SCRIPT
        script.write_text(batch_script(sys.executable, str(folder), str(folder / JobFiles.SLURM_NODE),
                                       JobFiles.NODE_EXIT))
        script.chmod(0o755)
        argv = sbatch_argv(run, str(script), str(folder / JobFiles.SLURM_OUT), f"momo-{run.job_id}",
                           self.partition, self.extra_options)
        self._launching.add(run.job_id)
        try:
            out = await slurm(*argv)
        except SlurmRefused as exc:
            raise LaunchError(f"Slurm refused the job: {exc}") from exc
        except SlurmUnavailable as exc:
            raise LaunchError(f"could not reach the Slurm controller: {exc}") from exc
        finally:
            self._launching.discard(run.job_id)
        slurm_id = out.strip().split(";")[0]
        if not slurm_id.isdigit():
            raise LaunchError(f"sbatch answered {out.strip()!r}, not a job id")
        record = {"slurm_id": slurm_id, "stop_requested": False}
        write_json_atomic(folder / JobFiles.SLURM, record)
        self._track(run, record)

    def _track(self, run: RunSpec, record: dict) -> _Job:
        job = _Job(run=run, slurm_id=str(record["slurm_id"]), stop_requested=bool(record.get("stop_requested")))
        self._jobs[run.job_id] = job
        self._wake.set()
        return job

    async def stop(self, run: RunSpec) -> None:
        job = self._jobs.get(run.job_id)
        if job is None:
            return
        job.stop_requested = True
        write_json_atomic(run.folder / JobFiles.SLURM, {"slurm_id": job.slurm_id, "stop_requested": True})
        try:
            if job.started or job.state in ON_NODE:
                await slurm("scancel", "--signal=TERM", "--full", job.slurm_id)
                kill = asyncio.create_task(self._cancel_after(job.slurm_id, run.stop_grace + STOP_KILL_AFTER))
                self._kills.add(kill)
                kill.add_done_callback(self._kills.discard)
            else:
                await slurm("scancel", job.slurm_id)
        except SlurmRefused as exc:
            if "already completing" not in str(exc) and "Invalid job id" not in str(exc):
                raise
        self._wake.set()

    async def _cancel_after(self, slurm_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        for _ in range(10):
            try:
                await slurm("scancel", slurm_id)
                return
            except SlurmRefused:
                return  # over already
            except SlurmUnavailable:
                await asyncio.sleep(2.0)

    async def is_alive(self, run: RunSpec) -> bool:
        # Followed until this backend wrote exit.json from Slurm's final word.
        return run.job_id in self._jobs or run.job_id in self._launching

    async def reattach(self, run: RunSpec) -> bool:
        known = read_json(run.folder / JobFiles.SLURM)
        if not known or not known.get("slurm_id"):
            return False
        job = self._track(run, known)
        job.started = (run.folder / JobFiles.SUPERVISOR).exists()
        try:
            await self._poll_once()
        except SlurmUnavailable as exc:
            self.log.warning("momo-jobs: Slurm does not answer about job %s yet: %s", run.job_id, exc)
        return run.job_id in self._jobs or ExitRecord.load(run.folder) is not None

    async def forget(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)

    # following

    async def _measure_nodes(self) -> None:
        argv = ["sinfo", "-h", "-N", "-o", SINFO_FORMAT] + ([f"--partition={self.partition}"] if self.partition else [])
        try:
            self._nodes = parse_sinfo(await slurm(*argv))
        except SlurmRefused as exc:
            raise SlurmUnavailable(str(exc)) from exc
        self._nodes_at = time.monotonic()

    async def _poll_once(self) -> bool:
        """One squeue for all jobs; True when something changed."""
        argv = ["squeue", "-h", "--states=all", "-o", SQUEUE_FORMAT]
        asked_at = time.monotonic()
        try:
            text = await slurm(*argv)
        except SlurmRefused as exc:
            raise SlurmUnavailable(str(exc)) from exc
        self._squeue = parse_squeue(text)
        if self.unavailable:
            self.log.info("momo-jobs: the Slurm controller answers again")
            self.unavailable = None
        return self._apply(self._squeue, asked_at)

    async def _poll_loop(self) -> None:
        interval = POLL_MIN
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), interval)
            except asyncio.TimeoutError:
                pass
            woken = self._wake.is_set()
            self._wake.clear()
            try:
                if time.monotonic() - self._nodes_at > NODES_EVERY:
                    await self._measure_nodes()
                changed = await self._poll_once() if self._jobs else False
                interval = POLL_MIN if changed or woken or self._ending() else min(POLL_MAX, interval * 1.5)
            except asyncio.CancelledError:
                raise
            except SlurmUnavailable as exc:
                if not self.unavailable:
                    self.log.warning("momo-jobs: the Slurm controller does not answer: %s", exc)
                    self._notify_all()
                self.unavailable = str(exc)
                interval = min(POLL_MAX, interval * 2)
            except Exception:
                self.log.exception("momo-jobs: following Slurm jobs failed")
                interval = POLL_MAX
            if woken:
                await asyncio.sleep(POLL_MIN)  # at most one squeue per POLL_MIN, however many launches

    def _ending(self) -> bool:
        return any(job.over_since is not None for job in self._jobs.values())

    def _notify_all(self) -> None:
        for job_id, job in self._jobs.items():
            if not job.started:
                self.on_change(job_id, {})

    def _apply(self, squeue: dict[str, SlurmJob], asked_at: float) -> bool:
        changed = False
        places = pending_places(squeue)
        for job_id, job in list(self._jobs.items()):
            sj = squeue.get(job.slurm_id)
            if sj is None and job.tracked_at >= asked_at:
                continue  # submitted after squeue was asked
            state = sj.state if sj else GONE
            if state in WAITING:
                seen = (state, sj.reason, places.get(sj.id))
                if seen != (job.state, job.reason, job.place):
                    job.state, job.reason, job.place = seen
                    changed = True
                    self.on_change(job_id, {})
                continue
            job.state = state
            if state in ON_NODE or (job.run.folder / JobFiles.SLURM_NODE).exists():
                changed |= self._note_started(job_id, job, sj)
            if state not in ON_NODE:
                changed |= self._end(job_id, job, sj)
        return changed

    def _note_started(self, job_id: str, job: _Job, sj: SlurmJob | None) -> bool:
        if job.gpus_known or (not job.started and sj is None):
            return False
        fields = {}
        if not job.started:
            job.started = True
            started = sj.start if sj and sj.start else time.time()
            fields.update(started_at=iso_from_unix(started), started_unix=started)
        gpu_ids = self._node_gpus(job)
        if gpu_ids is not None:
            job.gpus_known = True
            job.run.gpu_ids = gpu_ids
            fields["gpu_ids"] = gpu_ids
        if fields:
            self.on_change(job_id, fields)
        return bool(fields)

    def _node_gpus(self, job: _Job) -> list[str] | None:
        """The GPUs Slurm gave the job, as the batch script noted them: ``node:index``."""
        try:
            node, _, gpus = (job.run.folder / JobFiles.SLURM_NODE).read_text().strip().partition(" ")
        except OSError:
            return None
        if job.run.resource != Resource.GPU.value:
            return []
        return [f"{node}:{g}" for g in gpus.split(",") if g.strip()]

    def _end(self, job_id: str, job: _Job, sj: SlurmJob | None) -> bool:
        """Writes exit.json once Slurm says the job is over and the supervisor's record
        is there (or was waited for long enough)."""
        folder = job.run.folder
        node = ExitRecord.load(folder, JobFiles.NODE_EXIT)
        now = time.monotonic()
        job.over_since = job.over_since or now
        ran = job.started or (folder / JobFiles.SUPERVISOR).exists()
        if node is None and ran and job.state not in SLURM_ENDED and now - job.over_since < EXIT_RECORD_WAIT:
            return False
        if ExitRecord.load(folder) is None:
            final_record(job.state, sj.reason if sj else "", node, job.stop_requested, ran).save(folder)
        del self._jobs[job_id]
        return True

