"""JobService: the one API over jobs. Handlers, and through them the UI, the magics
and the command line, all come here.

The service owns the life of a job (submit, stop, rerun, delete, and its end) and
the monitor that schedules queued jobs and follows running ones. What a request
means is checked in requests.py, how a job looks in presenter.py, what it wrote is
read by outputs.py, and how it is started by environment.py and its backend.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

from ..job.files import ExitRecord, RunSpec, iso_from_unix, utc_now
from ..vocabulary import ACTIVE, FINAL, QUEUES, JobFiles, Resource, Status, backend_of, pool_of, queue_of
from .backends.base import Backend, LaunchError
from .environment import interpreter_for, run_spec_for
from .errors import BadRequest, Conflict, NotFound, Unavailable
from .exporter import export_notebook, script_warnings
from .outputs import metrics_csv, new_metric_records, read_log, results_written
from .paths import relative_to_root, resolve_in_root
from .presenter import job_json, json_safe, results_dir
from .requests import ExampleRequest, ExportRequest, ListQuery, LogQuery, MetricsQuery, SubmitRequest
from .scheduler import cpu_slots_used, held_gpus, jobs_to_start, queue_positions
from .settings import Settings
from .store import StatusMoveRefused, Store

METRICS_BATCH_BYTES = 8 << 20
# While a job runs, each look moves at most this much of its metrics into the store
# (a few percent of a core at the monitor's pace): a job printing metrics flat out
# keeps the CPU for itself, and the rest is taken in as soon as it ends.
LIVE_METRICS_BATCH_BYTES = 256 << 10
# How often a running job's backend is asked whether the job still lives.
ALIVE_CHECK_SECONDS = 2.0

Emit = Callable[[str, str, "dict | None"], None]


class JobService:
    def __init__(self, settings: Settings, root_dir: Path, backends: dict[str, Backend],
                 emit: Emit | None = None, log: logging.Logger | None = None):
        self.settings = settings
        self.root = Path(os.path.realpath(root_dir))
        self.backends = backends
        self.default_backend = settings.backend
        self._emit = emit or (lambda action, job_id, job: None)
        self.log = log or logging.getLogger("momo_jobs")
        self.jobs_dir = Path(settings.data_dir) / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(Path(settings.data_dir) / "jobs.sqlite3")
        self._schedule_lock = asyncio.Lock()
        self._positions: dict[str, int] = {}
        self._last_alive_check: dict[str, float] = {}
        self._monitor: asyncio.Task | None = None
        self._started: asyncio.Future | None = None
        for backend in backends.values():
            backend.on_change = self._on_backend_change
            backend.on_room = lambda: asyncio.ensure_future(self.schedule())

    # life of the service

    async def start(self) -> None:
        """Idempotent: the server calls it at start-up, and every request makes sure of it."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        for backend in self.backends.values():
            await backend.start()
        await self._reconcile()
        await self.schedule()
        self._monitor = asyncio.create_task(self._monitor_loop())

    async def close(self) -> None:
        if self._monitor:
            self._monitor.cancel()
            try:
                await self._monitor
            except (asyncio.CancelledError, Exception):
                pass
        for backend in self.backends.values():
            await backend.close()
        self.store.close()

    def _backend(self, job: dict) -> Backend:
        name = backend_of(job)
        backend = self.backends.get(name)
        if backend is None:
            raise BadRequest(f"backend {name!r} is not available on this server", code="backend_unavailable")
        return backend

    async def _reconcile(self) -> None:
        """Jobs that were running when the server stopped: follow, finish or fail each."""
        for job in self.store.jobs_in_order(ACTIVE):
            run = self._run_spec(job)
            if run is None:
                self._finish(job, ExitRecord(exit_code=None, reason="its job folder is gone"))
                continue
            if ExitRecord.load(run.folder) is not None:
                await self._finish_from_record(job)
                continue
            try:
                alive = await self._backend(job).reattach(run)
            except Exception as exc:  # a backend that can't reach its cluster
                self.log.warning("momo-jobs: could not reattach %s: %s", job["id"], exc)
                alive = False
            if alive:
                self.log.info("momo-jobs: following job %s again", job["id"])
            elif ExitRecord.load(run.folder) is not None:
                await self._finish_from_record(job)
            else:
                self._finish(job, ExitRecord(
                    exit_code=None, reason="the job vanished while the server was down (no exit record)"))

    # submit, stop, rerun, delete

    def _generated_name(self, script: str) -> str:
        stem = re.sub(r"[^\w.-]+", "-", Path(script).stem) or "job"
        return f"{stem}-{self.store.count_jobs_named(stem + '-') + 1}"

    def _check_gpu_request(self, gpus: int, backend_name: str) -> None:
        """A GPU request that can never be met is refused rather than queued forever."""
        total = len(self.backends[backend_name].inventory().gpus)
        if gpus < 1:
            raise BadRequest("a GPU job needs at least 1 GPU", code="gpu_count_invalid")
        if total == 0:
            raise BadRequest("this server has no GPUs: submit the job with resource 'cpu'", code="no_gpus")
        if gpus > total:
            raise BadRequest(f"the job asks for {gpus} GPUs but this server has {total}", code="gpu_count_exceeds")

    async def _queue(self, fields: dict) -> dict:
        """Stores a new queued job, tells the clients, and lets the scheduler look."""
        job = self.store.insert_job({**fields, "gpu_ids": [], "status": Status.QUEUED.value, "created_at": utc_now()})
        self._emit("created", job["id"], self._json(job))
        await self.schedule()
        return self.get(job["id"])

    async def submit(self, request: SubmitRequest) -> dict:
        if request.resource == Resource.GPU.value:
            self._check_gpu_request(request.gpus, self.default_backend)
        source = resolve_in_root(self.root, request.script)
        if not source.is_file() or source.suffix not in (".py", ".ipynb"):
            raise BadRequest(f"{request.script}: not a .py or .ipynb file", code="not_a_script")
        interpreter = interpreter_for(request.kernel)
        job_id = uuid.uuid4().hex[:12]
        folder = self.jobs_dir / job_id
        snapshot = folder / JobFiles.SNAPSHOT
        snapshot.mkdir(parents=True)
        script_name = f"{source.stem}.py"
        try:
            if source.suffix == ".ipynb":
                warnings = (await asyncio.to_thread(export_notebook, source, snapshot / script_name)).warnings
            else:
                shutil.copy2(source, snapshot / script_name)
                warnings = await asyncio.to_thread(script_warnings, source)
        except Exception as exc:
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(exc, BadRequest):  # the exporter's refusal, said as it is
                raise
            raise BadRequest(f"{request.script}: could not be prepared: {exc}", code="prepare_failed") from exc
        rel_script = relative_to_root(self.root, source)
        if request.dry_run:
            shutil.rmtree(folder, ignore_errors=True)
            return {"script": rel_script, "warnings": warnings}
        job = await self._queue({
            "id": job_id, "name": request.name or self._generated_name(rel_script), "script": rel_script,
            "resource": request.resource, "gpus": request.gpus,
            "backend": "console" if request.resource == Resource.CONSOLE.value else self.default_backend,
            "snapshot_script": script_name, "args": request.args, "env": request.env, "kernel": request.kernel,
            "interpreter": interpreter, "cwd": str(source.parent), "job_dir": str(folder),
        })
        return {**job, "warnings": warnings}

    def _get(self, job_id: str) -> dict:
        job = self.store.get_job(job_id) if isinstance(job_id, str) else None
        if job is None:
            raise NotFound(f"no job {job_id!r}", code="job_not_found")
        return job

    async def stop(self, job_id: str) -> dict:
        job = self._get(job_id)
        try:
            if job["status"] == Status.QUEUED:
                self.store.update_job(job_id, status=Status.STOPPED.value, finished_at=utc_now(),
                                      reason="stopped while queued")
                self._notify(job_id)
                await self.schedule()
                return self.get(job_id)
            if job["status"] in ACTIVE:
                self.store.update_job(job_id, status=Status.STOPPING.value)
                self._notify(job_id)
                await self._ask_backend_to_stop(job)
                return self.get(job_id)
        except StatusMoveRefused:  # it ended meanwhile
            job = self._get(job_id)
        raise Conflict(f"job {job_id} is {job['status']}: only a queued or running job can be stopped",
                       code="job_not_stoppable")

    async def _ask_backend_to_stop(self, job: dict) -> None:
        run = self._run_spec(job)
        if run is None:
            return
        try:
            await self._backend(job).stop(run)
        except Exception as exc:  # e.g. a cluster that doesn't answer
            raise Unavailable(f"could not stop job {job['id']}: {exc}; it is marked stopping, try again",
                              code="stop_failed") from exc

    async def rerun(self, job_id: str) -> dict:
        old = self._get(job_id)
        new_id = uuid.uuid4().hex[:12]
        folder = self.jobs_dir / new_id
        old_snapshot = Path(old["job_dir"]) / JobFiles.SNAPSHOT
        if not old_snapshot.is_dir():
            raise Conflict(f"job {job_id} has no snapshot left to rerun", code="snapshot_missing")
        if old["resource"] == Resource.GPU.value:
            self._check_gpu_request(old["gpus"], old["backend"])
        shutil.copytree(old_snapshot, folder / JobFiles.SNAPSHOT)
        fields = {k: old[k] for k in ("name", "script", "resource", "gpus", "backend", "snapshot_script", "args",
                                      "env", "kernel", "interpreter", "cwd")}
        return await self._queue({**fields, "id": new_id, "job_dir": str(folder)})

    async def delete(self, job_id: str) -> None:
        job = self._get(job_id)
        if job["status"] not in FINAL:
            raise Conflict(f"job {job_id} is {job['status']}: stop it before deleting it", code="job_not_deletable")
        backend = self.backends.get(backend_of(job))
        if backend is not None:  # a job of a backend this server no longer runs is still deletable
            await backend.forget(job_id)
        self.store.delete_job(job_id)
        await asyncio.to_thread(shutil.rmtree, job["job_dir"], True)
        self._emit("deleted", job_id, None)

    # reading

    def _json(self, job: dict) -> dict:
        return job_json(job, self._positions.get(job["id"]), self.root)

    def get(self, job_id: str) -> dict:
        return self._json(self._get(job_id))

    def list(self, query: ListQuery) -> dict:
        jobs, total = self.store.list_jobs(query.statuses, query.limit, query.offset)
        return {"jobs": [self._json(j) for j in jobs], "total": total}

    def log_path(self, job_id: str) -> Path:
        return Path(self._get(job_id)["job_dir"]) / JobFiles.LOG

    async def read_log(self, job_id: str, query: LogQuery) -> dict:
        path = self.log_path(job_id)
        return await read_log(path, query.offset, query.limit, query.wait,
                              finished=lambda: self._get(job_id)["status"] in FINAL)

    def metrics(self, job_id: str, query: MetricsQuery) -> dict:
        job = self._get(job_id)
        series, other = [], []
        for row in self.store.series_of(job, query.names):
            xs, ys, others = self.store.series_points(row["id"], query.x, query.max_points)
            series.append({"name": row["name"], "x": xs, "y": ys, "count": row["count"]})
            other.extend({"name": row["name"], "time": t, "value": json_safe(v)} for t, v in others)
        return {"x": query.x, "series": series, "other": other}

    def metrics_csv(self, job_id: str) -> Iterator[str]:
        job = self._get(job_id)
        return metrics_csv(self.store.all_points(job), job.get("started_unix") or 0.0)

    def results(self, job_id: str) -> dict:
        job = self._get(job_id)
        since = (job.get("started_unix") or 0.0) - 1.0
        return {"dir": self._json(job)["results_dir"], "files": results_written(results_dir(job), since, self.root)}

    def resources(self) -> dict:
        inventory = self.backends[self.default_backend].inventory()
        running = self.store.jobs_in_order(ACTIVE)
        holders = held_gpus(running)
        queued = self.store.jobs_in_order([Status.QUEUED.value])
        return {
            "backend": self.default_backend,
            "gpus": [{"index": g.index, "name": g.name, "memory": g.memory, "holder": holders.get(g.index)}
                     for g in inventory.gpus],
            "cpu_slots": {"total": inventory.cpu_slots, "used": cpu_slots_used(running, self._extra_cpu_used())},
            "queues": {q: sum(1 for j in queued if queue_of(j["resource"]) == q) for q in QUEUES},
        }

    async def export(self, request: ExportRequest) -> dict:
        notebook = resolve_in_root(self.root, request.path)
        if notebook.suffix != ".ipynb" or not notebook.is_file():
            raise BadRequest(f"{request.path}: not a notebook (.ipynb)", code="not_a_notebook")
        target = notebook.with_suffix(".py")
        if target.exists() and not request.overwrite:
            raise Conflict(f"{relative_to_root(self.root, target)} exists; export again with overwrite to replace it",
                           code="file_exists")
        result = await asyncio.to_thread(export_notebook, notebook, target)
        return {"path": relative_to_root(self.root, target), "warnings": result.warnings}

    async def prepare_example(self, request: ExampleRequest) -> dict:
        """Copies an example (e.g. the MNIST tutorial) into a folder and prepares its data."""
        from ..examples import prepare_example

        dest = resolve_in_root(self.root, request.dir, must_exist=False)
        try:
            notebook = await asyncio.to_thread(prepare_example, request.name, dest, self.log.info, request.language)
        except ValueError as exc:
            raise BadRequest(str(exc), code="example_unknown") from None
        except RuntimeError as exc:
            raise Unavailable(str(exc), code="example_data_unavailable") from None
        return {"notebook": relative_to_root(self.root, notebook)}

    # scheduling and following

    def _extra_cpu_used(self) -> int:
        return sum(backend.idle_kernels() for backend in self.backends.values())

    def _run_spec(self, job: dict) -> RunSpec | None:
        try:
            return RunSpec.load(Path(job["job_dir"]))
        except FileNotFoundError:
            return None

    async def schedule(self) -> None:
        async with self._schedule_lock:
            queued = self.store.jobs_in_order([Status.QUEUED.value])
            running = self.store.jobs_in_order(ACTIVE)
            starts = []
            for pool in sorted({pool_of(j) for j in queued}):
                backend = self.backends[pool]
                starts += jobs_to_start([j for j in queued if pool_of(j) == pool],
                                        [j for j in running if pool_of(j) == pool],
                                        backend.inventory(), backend.has_room,
                                        self._extra_cpu_used() if pool == "local" else 0)
            for start in starts:
                await self._launch(self.store.get_job(start.job_id), start.gpu_ids)
            started = {s.job_id for s in starts}
            positions = queue_positions([j for j in queued if j["id"] not in started])
            for job_id, position in positions.items():
                if self._positions.get(job_id) != position:
                    self._positions[job_id] = position
                    self._notify(job_id)
            for job_id in list(self._positions):
                if job_id not in positions:
                    del self._positions[job_id]

    async def _launch(self, job: dict, gpu_ids: list[str]) -> None:
        run = run_spec_for(job, gpu_ids, self.settings.stop_grace_seconds)
        now = time.time()
        try:
            self.store.update_job(job["id"], status=Status.RUNNING.value, gpu_ids=gpu_ids,
                                  started_at=iso_from_unix(now), started_unix=now)
        except StatusMoveRefused:  # stopped while the scheduler looked
            return
        self._positions.pop(job["id"], None)
        try:
            run.save()
            await self._backend(job).launch(run)
        except (LaunchError, BadRequest, OSError) as exc:
            self._finish(self.store.get_job(job["id"]), ExitRecord(exit_code=None, reason=f"could not start: {exc}"))
            return
        self._notify(job["id"])

    def _on_backend_change(self, job_id: str, fields: dict) -> None:
        if fields and self.store.get_job(job_id) is not None:
            self.store.update_job(job_id, **fields)
            self._notify(job_id)
        asyncio.ensure_future(self.schedule())

    def _notify(self, job_id: str) -> None:
        job = self.store.get_job(job_id)
        if job is not None:
            self._emit("status", job_id, self._json(job))

    def _ingest_metrics(self, job: dict, limit: int = METRICS_BATCH_BYTES) -> bool:
        """Moves newly parsed points of a job into the store; True if more remain."""
        records, offset, more = new_metric_records(Path(job["job_dir"]) / JobFiles.METRICS,
                                                   job["metrics_offset"], limit)
        if offset != job["metrics_offset"]:
            self.store.ingest_metrics(job, records, offset)
            job["metrics_offset"] = offset
        return more

    def _finish(self, job: dict, record: ExitRecord) -> None:
        if record.stopped or job["status"] == Status.STOPPING:
            status = Status.STOPPED
        elif record.exit_code == 0:
            status = Status.COMPLETED
        else:
            status = Status.FAILED
        try:
            self.store.update_job(job["id"], status=status.value, exit_code=record.exit_code,
                                  finished_at=record.finished_at or utc_now(),
                                  reason=record.reason or (f"exit code {record.exit_code}"
                                                           if status == Status.FAILED else None))
        except StatusMoveRefused as exc:  # already ended: its first end stands
            self.log.warning("momo-jobs: %s", exc)
        self._last_alive_check.pop(job["id"], None)
        self._notify(job["id"])

    async def _finish_from_record(self, job: dict) -> None:
        while self._ingest_metrics(job):
            await asyncio.sleep(0)
        self._finish(job, ExitRecord.load(Path(job["job_dir"])))

    async def _follow(self, job: dict) -> bool:
        """One look at a running job; True when it ended."""
        folder = Path(job["job_dir"])
        self._ingest_metrics(job, LIVE_METRICS_BATCH_BYTES)
        if ExitRecord.load(folder) is not None:
            await self._finish_from_record(job)
            return True
        now = time.monotonic()
        if now - self._last_alive_check.get(job["id"], 0.0) < ALIVE_CHECK_SECONDS:
            return False
        self._last_alive_check[job["id"]] = now
        run = self._run_spec(job)
        if run is not None and await self._backend(job).is_alive(run):
            return False
        if ExitRecord.load(folder) is not None:
            await self._finish_from_record(job)
        else:
            self._finish(job, ExitRecord(exit_code=None, reason="the job's process vanished without an exit record"))
        return True

    async def _monitor_loop(self) -> None:
        while True:
            try:
                ended = False
                for job in self.store.jobs_in_order(ACTIVE):
                    ended |= await self._follow(job)
                if ended:
                    await self.schedule()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("momo-jobs: monitor pass failed")
            await asyncio.sleep(self.settings.poll_interval)
