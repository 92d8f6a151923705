"""Ray backend: jobs run on a Ray cluster through Ray's Job Submission API.

momo-jobs keeps its own FIFO queue in front of Ray and submits a job only when
the cluster has room for it (Ray's PENDING gives up after a while and keeps no
order). The job id is Ray's submission id, so a retried submit never runs a job
twice. Ray writes a job's output to a file on the node that runs it; a task per
job copies it into the job folder through ``LogRecorder`` as it arrives and
writes ``exit.json`` once Ray reports the job over. After a server restart the
copy resumes where the job's ``output.log`` ends.

Ray's log API has no byte offsets: it returns the whole log, or a websocket that
streams it from the start. A small log is polled whole (quick to show a new
line); past ``POLL_LIMIT`` the websocket takes over. Either way the first
``output.log``-size bytes are skipped, which is what makes a resumed copy exact.
Ray reads the log as text with universal newlines, so a lone ``\\r`` (progress
bars) arrives as ``\\n``.

Ray is imported only when this backend is used (the ``momo-jobs[ray]`` extra).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import math
import re
import shlex
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ....job.files import ExitRecord, RunSpec, iso_from_unix
from ....job.recorder import LogRecorder
from ....vocabulary import GpuInfo, Inventory, JobFiles
from ....job.protocol import MAX_METRIC_LINE
from ..base import Backend, LaunchError

TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
# A log polled whole while it is shorter than this (characters); streamed after.
POLL_LIMIT = 256 << 10
POLL_MIN = 0.1  # seconds between polls while output flows
POLL_MAX = 0.5  # ... and at most, when it doesn't
POLL_FIRST = 0.2  # ... and at most until the job's first output (that wait is what users notice)
POLL_FIRST_FOR = 120.0  # seconds after which a silent job is polled at POLL_MAX
STATUS_EVERY = 1.0
RESOURCES_EVERY = 2.0
RETRY_MAX = 10.0
MISSING_GRACE = 30.0  # how long Ray may not know a job before it counts as gone
# Failed reads of an ended job's log before its exit is recorded without the rest
# (Ray's log API fails for good on a log that is not UTF-8).
GIVE_UP_AFTER = 8
REATTACH_WAIT = 60.0  # how long reattach records what an ended job left before returning
HTTP_TIMEOUT = 30.0
SUBMIT_TIMEOUT = 600.0  # a working dir is zipped and uploaded first
# How long a yes from has_room holds the resources for the launch that follows.
RESERVATION_TTL = 10.0
# How old Ray's resource usage may be when it comes without its time (the
# autoscaler's report interval is 5 s) and a job's start or end may be missing from it.
USAGE_AGE = 8.0
# Ray's driver log starts with its own setup lines, and Ray adds this line once the job
# runs (see _LogCursor).
ENTRYPOINT_MARKER = "Running entrypoint for job {job_id}: {entrypoint}\n"
RAY_SETUP_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\s+[A-Z]+ "
                            r"(job_manager|job_supervisor|runtime_env\w*|packaging|working_dir|setup_hook\w*)\.py:\d+ -- ")
# The marker is looked for in this many characters of the job's output; past them it is the job's.
MARKER_SEARCH_LIMIT = 1 << 20

_USAGE_TEXT = re.compile(r"([\d.]+)\s*/\s*([\d.]+)\s+(CPU|GPU)\b")


class RayUnavailable(Exception):
    """The cluster could not be asked (unreachable, timed out, or an unexpected answer)."""


class JobMissing(Exception):
    """Ray does not know the job (any more, or, briefly after a busy submit, yet)."""


@dataclass
class _Cluster:
    """One look at the cluster's resources."""

    total_cpu: float
    avail_cpu: float
    total_gpu: float
    avail_gpu: float
    gpus: list[GpuInfo]
    time: float | None  # when Ray measured the usage (Ray's clock, unix seconds)
    fetched_at: float = field(default_factory=time.monotonic)


@dataclass
class _Job:
    run: RunSpec
    entrypoint: str
    cpus: float
    gpus: float
    start_ms: int | None = None  # Ray's clock
    end_ms: int | None = None
    launched_at: float = field(default_factory=time.monotonic)
    ended_at: float | None = None
    missing_since: float | None = None
    failures: int = 0  # reads of Ray that failed in a row
    last_info: dict | None = None
    task: asyncio.Task | None = None

    def counted_in(self, cluster: _Cluster) -> tuple[bool, bool]:
        """Whether the cluster's measured usage may include this job, and whether the job holds resources now."""
        holds = self.ended_at is None
        if cluster.time is not None:
            started = self.start_ms is not None and self.start_ms / 1000 <= cluster.time
            ended = self.end_ms is not None and self.end_ms / 1000 <= cluster.time
        else:
            started = self.launched_at <= cluster.fetched_at - USAGE_AGE
            ended = self.ended_at is not None and self.ended_at <= cluster.fetched_at - USAGE_AGE
        return started and not ended, holds


@dataclass
class _Reservation:
    cpus: float
    gpus: float
    at: float = field(default_factory=time.monotonic)


class _LogCursor:
    """Turns Ray's driver log, read from its start, into what output.log lacks.

    Ray's lines come out: the setup lines it writes before the job starts, and
    the line naming the entrypoint, which Ray flushes only after starting the
    job, so that it can land anywhere in the job's first output, even inside a
    line. Each decision depends on the log's text alone, so every read of the
    log from its start cuts it alike. Then the first ``recorded`` bytes, already
    in output.log, are skipped.
    """

    def __init__(self, marker: str, recorded: int):
        self.marker = marker
        self.skip = recorded
        self.phase = "setup"  # then "search" (for the marker), then "pass"
        self.held = ""  # text not yet decided on
        self.searched = 0  # characters of the job's output passed while searching

    def feed(self, text: str, final: bool = False) -> bytes:
        out = self._cut(text, final)
        data = out.encode("utf-8", "replace")
        if self.skip:
            n = min(self.skip, len(data))
            data = data[n:]
            self.skip -= n
        return data

    def _cut(self, text: str, final: bool) -> str:
        if self.phase == "pass":
            return text
        text, self.held = self.held + text, ""
        if self.phase == "setup":
            while True:
                nl = text.find("\n")
                if nl < 0:
                    if final or len(text) > MAX_METRIC_LINE:
                        break
                    self.held = text
                    return ""
                line = text[:nl + 1]
                if line == self.marker:
                    self.phase = "pass"
                    return text[nl + 1:]
                if not RAY_SETUP_LINE.match(line):
                    break
                text = text[nl + 1:]
            self.phase = "search"
        i = text.find(self.marker)
        if 0 <= i and self.searched + i < MARKER_SEARCH_LIMIT:
            self.phase = "pass"
            return text[:i] + text[i + len(self.marker):]
        if final or self.searched + len(text) >= MARKER_SEARCH_LIMIT + len(self.marker):
            self.phase = "pass"  # no marker where Ray puts it: the text is all the job's
            return text
        keep = next((k for k in range(min(len(text), len(self.marker) - 1), 0, -1)
                     if self.marker.startswith(text[-k:])), 0)
        self.held = text[len(text) - keep:]
        out = text[:len(text) - keep]
        self.searched += len(out)
        return out


def entrypoint_for(run: RunSpec) -> tuple[str, str]:
    """The working dir that travels to the cluster, and the command run there."""
    script = Path(run.script)
    snapshot = run.folder / JobFiles.SNAPSHOT
    working_dir = snapshot if snapshot in script.parents else script.parent
    rel = script.relative_to(working_dir).as_posix()
    # The cluster's Python: the interpreter path of this server means nothing there.
    return str(working_dir), shlex.join(["python", rel, *run.args])


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


def launch_error(exc: BaseException) -> LaunchError:
    text = str(exc)
    if isinstance(exc, OSError):  # requests' errors are OSErrors
        return LaunchError(f"could not reach the Ray cluster: {_gist(text)}")
    if "exceeds the maximum size" in text:
        m = re.search(r"Package size \(([^)]*)\) exceeds the maximum size of ([\d.]+\s*\w+)", text)
        size = f" ({m.group(1)}, over Ray's limit of {m.group(2)})" if m else " (over Ray's size limit)"
        return LaunchError(f"the job's working dir is too big to send to the Ray cluster{size}; "
                           "keep data files out of the script's folder and load them from shared storage")
    return LaunchError(f"the Ray cluster refused the job: {_gist(text)}")


def _gist(text: str, limit: int = 500) -> str:
    """The line of an error text that says what went wrong."""
    lines = [line.strip() for line in (text or "").splitlines() if any(c.isalnum() for c in line)]
    # Ray's errors put a server traceback first and the actual error last.
    line = next((l for l in reversed(lines) if not l.startswith(("File ", "^", "raise ", "Traceback"))), "")
    return line[:limit]


def exit_record(info: dict) -> ExitRecord:
    status = info.get("status")
    end = info.get("end_time")
    finished = iso_from_unix(end / 1000) if end else None
    extra = {"finished_at": finished} if finished else {}
    if status == "SUCCEEDED":
        return ExitRecord(exit_code=0, **extra)
    if status == "STOPPED":
        return ExitRecord(exit_code=None, stopped=True, **extra)
    code = info.get("driver_exit_code")
    signal_name = None
    if isinstance(code, int) and code < 0:
        try:
            signal_name = signal.Signals(-code).name
        except ValueError:
            signal_name = f"signal {-code}"
    # Ray's message ends with the log's last lines, which output.log already has.
    message = (info.get("message") or "").split(", last available logs", 1)[0].strip()
    return ExitRecord(exit_code=code, signal=signal_name, reason=message or f"Ray reports the job {status}", **extra)


def parse_usage(status: dict) -> tuple[dict[str, tuple[float, float]], float | None]:
    """``{"CPU": (used, total), "GPU": ...}`` and the time of the measurement, from
    the dashboard's /api/cluster_status answer."""
    data = status.get("data") or {}
    cluster = data.get("clusterStatus")
    if isinstance(cluster, dict):
        usage = (cluster.get("loadMetricsReport") or {}).get("usage")
        if isinstance(usage, dict) and "CPU" in usage:
            return ({k: (float(v[0]), float(v[1])) for k, v in usage.items() if k in ("CPU", "GPU")},
                    cluster.get("time"))
    text = data.get("autoscalingStatus") or (cluster if isinstance(cluster, str) else "") or ""
    found = {kind: (float(used), float(total)) for used, total, kind in _USAGE_TEXT.findall(text)}
    return found, None


def cluster_gpus(nodes: list[dict]) -> list[GpuInfo]:
    alive = [n for n in nodes if n.get("state", "ALIVE") == "ALIVE"]
    alive.sort(key=lambda n: (not n.get("is_head_node"), n.get("node_ip") or "", n.get("node_id") or ""))
    gpus: list[GpuInfo] = []
    for node in alive:
        resources = node.get("resources_total") or {}
        kind = next((k.split(":", 1)[1] for k in resources if k.startswith("accelerator_type:")), "GPU")
        where = node.get("node_name") or node.get("node_ip") or "?"
        for _ in range(int(resources.get("GPU", 0))):
            gpus.append(GpuInfo(index=str(len(gpus)), name=f"{kind} on {where}"))
    return gpus


class RayBackend(Backend):
    name = "ray"

    def __init__(self, settings, log=None):
        super().__init__(settings, log)
        self.address: str | None = getattr(settings, "ray_address", None) or None
        self._client = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="momo-ray")
        self._jobs: dict[str, _Job] = {}
        self._cluster: _Cluster | None = None
        self._reservations: list[_Reservation] = []
        self._refresher: asyncio.Task | None = None
        self._held_back = False  # has_room said no: look at the queue again after the next measurement

    # talking to Ray (blocking calls, each in the backend's own threads)

    async def _call(self, fn: Callable, *args, timeout: float = HTTP_TIMEOUT + 5) -> Any:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._pool, fn, *args), timeout)

    def _connect(self):
        if self._client is None:
            try:
                from ray.job_submission import JobSubmissionClient
            except ImportError as exc:
                raise RayUnavailable("the ray backend needs Ray: pip install 'momo-jobs[ray]'") from exc
            try:
                self._client = JobSubmissionClient(self.address)
            except Exception as exc:
                raise RayUnavailable(f"could not reach the Ray cluster at {self.address or '(RAY_ADDRESS)'}: "
                                     f"{_gist(str(exc))}") from exc
        return self._client

    def _get(self, path: str, missing_ok: bool = False) -> Any:
        client = self._connect()
        try:
            r = client._do_request("GET", path, timeout=HTTP_TIMEOUT)
        except Exception as exc:
            raise RayUnavailable(f"{path}: {exc}") from exc
        if missing_ok and r.status_code == 404:
            return None
        if r.status_code != 200:
            raise RayUnavailable(f"{path}: HTTP {r.status_code}: {_gist(r.text)}")
        try:
            return r.json()
        except ValueError as exc:
            raise RayUnavailable(f"{path}: not JSON") from exc

    async def _info(self, job_id: str) -> dict | None:
        """Ray's record of a job, None if Ray doesn't know it."""
        return await self._call(self._get, f"/api/jobs/{job_id}", True)

    async def _logs(self, job_id: str) -> str:
        answer = await self._call(self._get, f"/api/jobs/{job_id}/logs")
        return answer.get("logs") or ""

    def _submit(self, run: RunSpec, job: _Job) -> None:
        working_dir, _ = entrypoint_for(run)
        kwargs: dict[str, Any] = dict(
            entrypoint=job.entrypoint, submission_id=run.job_id,
            runtime_env={"working_dir": working_dir, "env_vars": ray_env(run)},
            metadata={"submitted_by": "momo-jobs"},
            entrypoint_num_cpus=job.cpus,
        )
        if job.gpus:
            kwargs["entrypoint_num_gpus"] = job.gpus
        self._connect().submit_job(**kwargs)

    def _refresh_cluster(self) -> _Cluster:
        try:
            usage, measured = parse_usage(self._get("/api/cluster_status"))
        except RayUnavailable:
            usage, measured = {}, None
        try:
            answer = self._get("/api/v0/nodes?limit=10000&detail=false")
        except RayUnavailable:
            if "CPU" not in usage:
                raise
            nodes = None  # no node list (an older or trimmed dashboard): the usage report's totals
        else:
            nodes = [n for n in ((answer.get("data") or {}).get("result") or {}).get("result") or []
                     if n.get("state", "ALIVE") == "ALIVE"]
        if nodes is None:
            total = {kind: usage.get(kind, (0.0, 0.0))[1] for kind in ("CPU", "GPU")}
            gpus = [GpuInfo(index=str(i), name="GPU") for i in range(int(total["GPU"]))]
        else:
            total = {kind: sum(float((n.get("resources_total") or {}).get(kind, 0)) for n in nodes)
                     for kind in ("CPU", "GPU")}
            gpus = cluster_gpus(nodes)
        if "CPU" not in usage:
            # No usage report yet (the autoscaler writes one every few seconds): only our jobs count.
            usage, measured = {}, None
        used = {kind: usage.get(kind, (0.0, 0.0))[0] for kind in ("CPU", "GPU")}
        return _Cluster(total_cpu=total["CPU"], avail_cpu=total["CPU"] - used["CPU"], total_gpu=total["GPU"],
                        avail_gpu=total["GPU"] - used["GPU"], gpus=gpus, time=measured)

    # the service's side

    async def start(self) -> None:
        for attempt in range(3):
            try:
                self._cluster = await self._call(self._refresh_cluster, timeout=2 * HTTP_TIMEOUT)
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
                self._cluster = await self._call(self._refresh_cluster, timeout=2 * HTTP_TIMEOUT)
                self._forget_ended()
                if self._held_back:
                    self._held_back = False
                    self.on_change("", {})
                if failures:
                    self.log.info("momo-jobs: the Ray cluster answers again")
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failures:
                    self.log.warning("momo-jobs: could not read the Ray cluster's resources: %s", exc)
                failures += 1

    async def close(self) -> None:
        tasks = [t for t in ([self._refresher] + [j.task for j in self._jobs.values()]) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def inventory(self) -> Inventory:
        cluster = self._cluster
        if cluster is None:
            return Inventory(gpus=[], cpu_slots=0)
        return Inventory(gpus=list(cluster.gpus), cpu_slots=int(cluster.total_cpu))

    def _forget_ended(self) -> None:
        """Drops ended jobs that the cluster's measurement no longer counts."""
        cluster = self._cluster
        if cluster is None:
            return
        for job_id, job in list(self._jobs.items()):
            if job.ended_at is not None and job.task is not None and job.task.done():
                if job.counted_in(cluster) == (False, False):
                    del self._jobs[job_id]

    def _free(self) -> tuple[float, float]:
        """The cluster's free CPUs and GPUs: its last measurement, corrected for
        what our own jobs took or gave back since. In doubt it counts less."""
        cluster = self._cluster
        cpu, gpu = cluster.avail_cpu, cluster.avail_gpu
        for job in self._jobs.values():
            counted, holds = job.counted_in(cluster)
            if counted and not holds:
                cpu += job.cpus
                gpu += job.gpus
            elif holds and not counted:
                cpu -= job.cpus
                gpu -= job.gpus
        now = time.monotonic()
        self._reservations = [r for r in self._reservations if now - r.at < RESERVATION_TTL]
        for r in self._reservations:
            cpu -= r.cpus
            gpu -= r.gpus
        return cpu, gpu

    def has_room(self, resource: str, gpus: int) -> bool:
        if self._cluster is None:
            self._held_back = True
            return False
        need_gpu = gpus if resource == "gpu" else 0
        cpu, gpu = self._free()
        if cpu < 1 - 1e-6 or gpu < need_gpu - 1e-6:
            self._held_back = True
            return False
        self._reservations.append(_Reservation(cpus=1, gpus=need_gpu))
        return True

    def _take_reservation(self, gpus: float) -> None:
        for r in self._reservations:
            if r.gpus == gpus:
                self._reservations.remove(r)
                return

    async def launch(self, run: RunSpec) -> None:
        if self._following(run.job_id):
            return
        _, entrypoint = entrypoint_for(run)
        job = _Job(run=run, entrypoint=entrypoint, cpus=1, gpus=run.gpus if run.resource == "gpu" else 0)
        self._take_reservation(job.gpus)
        self._jobs[run.job_id] = job  # counted against the cluster's room from now on
        try:
            await self._call(self._submit, run, job, timeout=SUBMIT_TIMEOUT)
        except Exception as exc:
            if isinstance(exc, RayUnavailable) or (
                    "already exists" not in str(exc) and not await self._exists_after_error(run.job_id)):
                self._jobs.pop(run.job_id, None)
                if isinstance(exc, RayUnavailable):
                    raise LaunchError(str(exc)) from exc
                if isinstance(exc, asyncio.TimeoutError):
                    raise LaunchError("the Ray cluster did not answer the submission in time") from exc
                raise launch_error(exc) from exc
            # Submitted before (a retry, or an answer lost on the way): it runs once.
        self._follow(job)

    def _following(self, job_id: str) -> bool:
        job = self._jobs.get(job_id)
        return job is not None and job.task is not None and not job.task.done()

    async def _exists_after_error(self, job_id: str) -> bool:
        try:
            return await self._info(job_id) is not None
        except Exception:
            return False

    async def stop(self, run: RunSpec) -> None:
        def stop():
            r = self._connect()._do_request("POST", f"/api/jobs/{run.job_id}/stop", timeout=HTTP_TIMEOUT)
            if r.status_code not in (200, 404):
                raise RayUnavailable(f"stopping {run.job_id}: HTTP {r.status_code}: {_gist(r.text)}")

        await self._call(stop)

    async def is_alive(self, run: RunSpec) -> bool:
        job = self._jobs.get(run.job_id)
        if job is not None and job.ended_at is None and (job.task is None or not job.task.done()):
            return True  # being submitted, or followed: the copy writes exit.json once Ray reports the end
        try:
            info = await self._info(run.job_id)
        except Exception:
            return True  # can't tell: the cluster may be back in a moment
        return info is not None and info.get("status") not in TERMINAL

    async def reattach(self, run: RunSpec) -> bool:
        try:
            info = await self._info(run.job_id)
        except Exception as exc:
            # The cluster may come back: keep following, the copy retries meanwhile.
            self.log.warning("momo-jobs: Ray does not answer about job %s yet: %s", run.job_id, exc)
            info = {}
        if info is None:
            return False
        _, entrypoint = entrypoint_for(run)
        job = _Job(run=run, entrypoint=info.get("entrypoint") or entrypoint, cpus=1,
                   gpus=run.gpus if run.resource == "gpu" else 0, start_ms=info.get("start_time"))
        self._follow(job)
        if info.get("status") in TERMINAL:
            # It ended while the server was down: record the rest now, unless that takes long.
            done, _ = await asyncio.wait({job.task}, timeout=REATTACH_WAIT)
            return not done
        return True

    # following a job

    def _follow(self, job: _Job) -> None:
        if self._following(job.run.job_id):
            return
        self._jobs[job.run.job_id] = job
        job.task = asyncio.create_task(self._copy(job), name=f"momo-ray-{job.run.job_id}")

    async def _copy(self, job: _Job) -> None:
        """Copies the job's log from Ray into output.log until Ray reports the end,
        then writes exit.json. Retries while Ray can't be reached."""
        run = job.run
        recorder = LogRecorder(run.folder, resume=True)
        lost = None
        streaming = recorder.size >= POLL_LIMIT
        try:
            while True:
                try:
                    if not streaming:
                        info = await self._poll(job, recorder)
                        streaming = info is None
                    else:
                        info = await self._stream(job, recorder)
                        if info is None:
                            await asyncio.sleep(1.0)  # the stream closed early: open a new one
                    if info is not None:
                        break
                except asyncio.CancelledError:
                    raise
                except JobMissing:
                    job.missing_since = job.missing_since or time.monotonic()
                    if time.monotonic() - job.missing_since > MISSING_GRACE:
                        info = {}
                        break
                    await asyncio.sleep(1.0)
                except Exception as exc:
                    job.failures += 1
                    if job.failures == 1 or job.failures % 30 == 0:
                        self.log.warning("momo-jobs: following Ray job %s: %s", run.job_id, exc)
                    if job.failures >= GIVE_UP_AFTER and (job.last_info or {}).get("status") in TERMINAL:
                        info, lost = job.last_info, _gist(str(exc)) or type(exc).__name__
                        break
                    await asyncio.sleep(min(RETRY_MAX, 0.5 * 2 ** min(job.failures, 5)))
        finally:
            recorder.close()
        if info.get("status") is None:
            record = ExitRecord(exit_code=None, reason="the Ray cluster no longer knows this job "
                                                       "(was it restarted?)")
        else:
            record = exit_record(info)
            job.end_ms = info.get("end_time") or int(time.time() * 1000)
        if lost:
            note = f"the end of its log could not be read from Ray ({lost})"
            record.reason = f"{record.reason}; {note}" if record.reason else note
        job.ended_at = time.monotonic()
        record.save(run.folder)

    def _marker(self, job: _Job) -> str:
        return ENTRYPOINT_MARKER.format(job_id=job.run.job_id, entrypoint=job.entrypoint)

    def _note(self, job: _Job, info: dict) -> None:
        job.last_info = info
        job.missing_since = None
        job.start_ms = info.get("start_time") or job.start_ms
        if info.get("entrypoint"):
            job.entrypoint = info["entrypoint"]

    async def _poll(self, job: _Job, recorder: LogRecorder) -> dict | None:
        """Polls the whole log while it is small. Returns Ray's final record of the
        job once everything is copied, None to go on by streaming."""
        job_id = job.run.job_id
        interval = POLL_MIN
        checked = 0.0
        began = time.monotonic()
        while True:
            info = None
            if time.monotonic() - checked >= max(STATUS_EVERY, interval):
                # The status is read before the log: a job seen over has its whole log.
                info = await self._info(job_id)
                checked = time.monotonic()
                if info is None:
                    raise JobMissing(job_id)
                self._note(job, info)
            text = await self._logs(job_id)
            job.failures = 0
            over = info is not None and info.get("status") in TERMINAL
            data = _LogCursor(self._marker(job), recorder.size).feed(text, final=over)
            recorder.write(data)
            if over:
                return info
            if len(text) >= POLL_LIMIT:
                return None
            if data:
                interval = POLL_MIN
            else:
                quiet = recorder.size == 0 and time.monotonic() - began < POLL_FIRST_FOR
                interval = min(POLL_FIRST if quiet else POLL_MAX, interval * 1.5)
            await asyncio.sleep(interval)

    async def _stream(self, job: _Job, recorder: LogRecorder) -> dict | None:
        """Follows the log through Ray's websocket. Returns Ray's final record of the
        job once everything is copied, None to try again."""
        job_id = job.run.job_id
        cursor = _LogCursor(self._marker(job), recorder.size)
        client = await self._call(self._connect)

        async def tail() -> None:
            async for text in client.tail_job_logs(job_id):
                recorder.write(cursor.feed(text))
                job.failures = 0

        streaming = asyncio.create_task(tail())
        try:
            over_since = None
            while True:
                done, _ = await asyncio.wait({streaming}, timeout=5.0)
                try:
                    info = await self._info(job_id)
                except Exception:
                    if done:
                        raise
                    continue  # the stream goes on meanwhile
                if info is None:
                    raise JobMissing(job_id)
                self._note(job, info)
                over = info.get("status") in TERMINAL
                if done:
                    streaming.result()  # raises if the stream broke
                    if not over:
                        return None
                    recorder.write(cursor.feed("", final=True))
                    return info
                if over:
                    # Ray ends the stream about a second after the job; a stuck one is started over.
                    over_since = over_since or time.monotonic()
                    if time.monotonic() - over_since > 15:
                        return None
        finally:
            streaming.cancel()
            await asyncio.gather(streaming, return_exceptions=True)
