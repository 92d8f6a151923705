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
from ..job.recorder import LogRecorder
from ..vocabulary import ACTIVE, FINAL, QUEUES, Inventory, JobFiles, Resource, Status, backend_of, pool_of, queue_of
from .backends.base import Backend, LaunchError
from .environment import interpreter_for, run_spec_for
from .errors import BadRequest, Conflict, NotFound, Unavailable
from .exporter import export_notebook, script_warnings
from .gpushare import GpuShare, SharedGpuLine, prepare_lock_dir
from .outputs import metrics_csv, new_metric_records, read_log, results_written
from .paths import relative_to_root, resolve_in_root
from .policies import STOPPED_FOR_TIME, WARNED, attempt_entry, attempt_separator, deadline_of, ending_of, time_limit_due
from .presenter import JsonText, job_json, json_array, json_safe, json_with, results_dir
from .requests import (CompareQuery, ExampleRequest, ExportRequest, ListQuery, LogQuery, MetricsQuery, RunsQuery,
                       SubmitRequest, SweepRequest)
from .runs import compare, run_table
from .scheduler import (Place, cpu_slots_used, handed_over, held_by_sweep, held_gpus, jobs_to_start, queue_positions,
                        sweep_room)
from .settings import Settings
from .store import StatusMoveRefused, Store
from .sweeps import combinations, job_name, sweep_args

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
        self._positions: dict[str, Place] = {}
        self._held_by_sweep: dict[str, int] = {}  # queued job → its sweep's max_parallel, while that holds it
        # Shared GPUs: the common line of every server using the same lock folder.
        self.shared_line = (SharedGpuLine(GpuShare(prepare_lock_dir(Path(settings.gpu_lock_dir))), settings)
                            if settings.gpu_lock_dir else None)
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
        if self.shared_line is not None:
            self.shared_line.close()
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
                reason = await self._end_leftovers(job, run)
                self._finish(job, ExitRecord(exit_code=None, reason="the job vanished while the server was down "
                                                                    f"(no exit record){'; ' + reason if reason else ''}"))

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

    async def _queue(self, fields: dict, schedule: bool = True) -> dict:
        """Stores a new queued job, tells the clients, and (unless the caller does after
        queuing more) lets the scheduler look."""
        job = self.store.insert_job({**fields, "gpu_ids": [], "status": Status.QUEUED.value, "created_at": utc_now()})
        self._emit("created", job["id"], self._json(job))
        if schedule:
            await self.schedule()
        return self.get(job["id"])

    async def submit(self, request: SubmitRequest, sweep_id: str | None = None,
                     sweep_values: dict[str, str] | None = None, schedule: bool = True) -> dict:
        """A new job; with ``sweep_id``, one of that sweep's, run with ``sweep_values``
        as arguments after the request's own and named after them."""
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
        name = request.name or self._generated_name(rel_script)
        args = list(request.args)
        if sweep_values is not None:
            name = job_name(request.name or source.stem, sweep_values)
            args += sweep_args(sweep_values)
        job = await self._queue({
            "id": job_id, "name": name, "script": rel_script,
            "resource": request.resource, "gpus": request.gpus,
            "backend": "console" if request.resource == Resource.CONSOLE.value else self.default_backend,
            "snapshot_script": script_name, "args": args, "env": request.env, "kernel": request.kernel,
            "interpreter": interpreter, "cwd": str(source.parent), "job_dir": str(folder), "sweep_id": sweep_id,
            "time_limit": request.time_limit, "time_limit_signal": request.time_limit_signal,
            "retries": request.retries, "retry_on_time_limit": int(request.retry_on_time_limit),
        }, schedule)
        return {**job, "warnings": warnings}

    # sweeps

    def _new_sweep(self, name: str, grid: dict, max_parallel: int | None) -> str:
        sweep_id = uuid.uuid4().hex[:12]
        self.store.insert_sweep(sweep_id, name, grid, max_parallel, utc_now())
        return sweep_id

    def _sweep_json(self, sweep_id: str) -> dict:
        sweep = self.store.get_sweep(sweep_id)
        if sweep is None:
            raise NotFound(f"no sweep {sweep_id!r}", code="sweep_not_found")
        return {"sweep_id": sweep_id, "name": sweep["name"], "grid": sweep["grid"],
                "max_parallel": sweep["max_parallel"], "created_at": sweep["created_at"],
                "jobs": [self._json(j) for j in self.store.sweep_jobs(sweep_id)]}

    async def submit_sweep(self, request: SweepRequest) -> dict:
        """One job per combination of the grid (DESIGN §3 ``POST /sweeps``), all of them
        queued before the scheduler looks (the sweep's ``max_parallel`` is stored first,
        so it holds even for a job the monitor starts meanwhile)."""
        base = request.job.name or Path(request.job.script).stem
        sweep_id = self._new_sweep(base, request.grid, request.max_parallel)
        for values in combinations(request.grid):
            await self.submit(request.job, sweep_id, values, schedule=False)
        await self.schedule()
        return self._sweep_json(sweep_id)

    async def stop_sweep(self, sweep_id: str) -> dict:
        """Stops each queued or running job of the sweep."""
        self._sweep_json(sweep_id)
        for job in self.store.sweep_jobs(sweep_id):
            if job["status"] not in FINAL and job["status"] != Status.STOPPING:
                try:
                    await self.stop(job["id"])
                except Conflict:  # it ended meanwhile
                    pass
        return self._sweep_json(sweep_id)

    async def rerun_sweep(self, sweep_id: str) -> dict:
        """The sweep again, as a new sweep: each of its jobs rerun from its snapshot."""
        sweep = self.store.get_sweep(sweep_id)
        if sweep is None:
            raise NotFound(f"no sweep {sweep_id!r}", code="sweep_not_found")
        jobs = self.store.sweep_jobs(sweep_id)
        new_id = self._new_sweep(sweep["name"], sweep["grid"], sweep["max_parallel"])
        for job in jobs:
            await self.rerun(job["id"], sweep_id=new_id, schedule=False)
        await self.schedule()
        return self._sweep_json(new_id)

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

    async def rerun(self, job_id: str, sweep_id: str | None = None, schedule: bool = True) -> dict:
        """A new job from the same snapshot, in the same sweep (or in ``sweep_id``)."""
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
                                      "env", "kernel", "interpreter", "cwd", "time_limit", "time_limit_signal",
                                      "retries", "retry_on_time_limit", "sweep_id")}
        if sweep_id is not None:
            fields["sweep_id"] = sweep_id
        return await self._queue({**fields, "id": new_id, "job_dir": str(folder)}, schedule)

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
        notes = self.shared_line.notes if self.shared_line is not None and job["resource"] == Resource.GPU else ()
        backend = self.backends.get(backend_of(job))
        pending = backend.pending(job["id"]) if backend is not None and job["status"] == Status.RUNNING else None
        return job_json(job, self._positions.get(job["id"]), self.root, notes, self._held_by_sweep.get(job["id"]),
                        pending)

    def get(self, job_id: str) -> dict:
        return self._json(self._get(job_id))

    def list(self, query: ListQuery) -> dict:
        jobs, total = self.store.list_jobs(query.statuses, query.limit, query.offset, query.sweep)
        return {"jobs": [self._json(j) for j in jobs], "total": total}

    def log_path(self, job_id: str) -> Path:
        return Path(self._get(job_id)["job_dir"]) / JobFiles.LOG

    async def read_log(self, job_id: str, query: LogQuery) -> dict:
        path = self.log_path(job_id)
        return await read_log(path, query.offset, query.limit, query.wait,
                              finished=lambda: self._get(job_id)["status"] in FINAL)

    def metrics(self, job_id: str, query: MetricsQuery) -> JsonText:
        job = self._get(job_id)
        series, other = [], []
        for row in self.store.series_of(job, query.names):
            chart = self.store.series_points(row["id"], query.x, query.max_points)
            series.append(json_with({"name": row["name"], "count": row["count"],
                                     "attempt_starts": self.store.attempt_starts(row["id"], query.x, job["attempt"])},
                                    x=chart.x, y=chart.y))
            other.extend({"name": row["name"], "time": t, "value": json_safe(v)} for t, v in chart.others)
        return json_with({"x": query.x, "other": other}, series=json_array(series))

    def runs(self, query: RunsQuery) -> JsonText:
        return run_table(self.store, query)

    def compare(self, query: CompareQuery) -> JsonText:
        return compare(self.store, [self._get(job_id) for job_id in query.ids], query)

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
        gpus = [{"index": g.index, "name": g.name, "memory": g.memory, "uuid": g.uuid,
                 "holder": holders.get(g.index) or g.holder}
                for g in inventory.gpus]
        if self.shared_line is not None and self.default_backend == "local":
            self.shared_line.describe_holders(gpus, inventory.gpus, {j["id"]: j for j in running})
        return {
            "backend": self.default_backend,
            "gpus": gpus,
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
            if self.shared_line is None:
                await self._schedule(None)
            else:
                async with self.shared_line.mutex():
                    await self._schedule(self.shared_line)

    async def _schedule(self, line: SharedGpuLine | None) -> None:
        queued = self.store.jobs_in_order([Status.QUEUED.value])
        running = self.store.jobs_in_order(ACTIVE)
        limits = self.store.sweep_limits(j.get("sweep_id") for j in queued)
        room = sweep_room(limits, running)
        local = self.backends["local"].inventory() if "local" in self.backends else Inventory()
        shared = line.look([j for j in queued if pool_of(j) == "local"], [j for j in running if pool_of(j) == "local"],
                           local) if line is not None else None
        starts = []
        for pool in sorted({pool_of(j) for j in queued}):
            backend = self.backends[pool]
            if backend.queues_jobs:  # its own queue takes them all, in order (within their sweeps' limits)
                starts += handed_over([j for j in queued if pool_of(j) == pool], room)
                continue
            pool_starts = jobs_to_start([j for j in queued if pool_of(j) == pool],
                                        [j for j in running if pool_of(j) == pool],
                                        backend.inventory(), backend.has_room,
                                        self._extra_cpu_used() if pool == "local" else 0,
                                        sweep_room=room, shared=shared if pool == "local" else None)
            for start in pool_starts:
                sweep = self.store.get_job(start.job_id).get("sweep_id")
                if sweep in room:
                    room[sweep] -= 1
            starts += pool_starts
        for start in starts:
            job = self.store.get_job(start.job_id)
            if line is not None and pool_of(job) == "local":
                line.claim(job["id"], start.gpu_ids, local)
            await self._launch(job, start.gpu_ids)
        started = {s.job_id for s in starts}
        waiting = [j for j in queued if j["id"] not in started]
        held = held_by_sweep(waiting, room)
        self._held_by_sweep = {j["id"]: limits[j["sweep_id"]] for j in waiting if j["id"] in held}
        positions = queue_positions(waiting, local, shared)
        for job_id, position in positions.items():
            if self._positions.get(job_id) != position:
                self._positions[job_id] = position
                self._notify(job_id)
        for job_id in list(self._positions):
            if job_id not in positions:
                del self._positions[job_id]

    def _set_aside_earlier_attempt(self, job: dict) -> None:
        """Before a retried attempt starts: the last one's exit record is kept under its
        attempt's name (the new attempt's would otherwise look over at once)."""
        folder = Path(job["job_dir"])
        if job["attempt"] > 1 and (folder / JobFiles.EXIT).exists():
            os.replace(folder / JobFiles.EXIT, folder / JobFiles.EARLIER_EXIT.format(attempt=job["attempt"] - 1))
        for name in (JobFiles.SUPERVISOR, JobFiles.SUPERVISOR_PID):
            if job["attempt"] > 1:
                (folder / name).unlink(missing_ok=True)

    async def _launch(self, job: dict, gpu_ids: list[str]) -> None:
        self._set_aside_earlier_attempt(job)
        gpus = {g.index: g for g in self._backend(job).inventory().gpus}
        lock_dir = self.shared_line.folder if self.shared_line is not None and pool_of(job) == "local" else None
        run = run_spec_for(job, [gpus[i] for i in gpu_ids if i in gpus], self.settings.stop_grace_seconds,
                           self.settings.telemetry_seconds, lock_dir)
        now = time.time()
        try:
            # started_unix stays the first attempt's: the time axis of every attempt's metrics.
            self.store.update_job(job["id"], status=Status.RUNNING.value, gpu_ids=gpu_ids,
                                  started_at=iso_from_unix(now), started_unix=job.get("started_unix") or now,
                                  deadline_unix=deadline_of(job, now), time_limit_stage=0)
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
        if self.store.get_job(job_id) is not None:
            if fields:
                self.store.update_job(job_id, **fields)
            self._notify(job_id)  # no fields: what the backend says of the job changed (a Slurm reason)
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
        """The attempt's end: the job's final one, or (it failed with retries left) the
        job queued again at the back, in one move, before it would become final."""
        job = self.store.get_job(job["id"]) or job  # the stored state (a stop, a time limit) decides
        ending = ending_of(job, record)
        attempts = [*job.get("attempts", []), attempt_entry(job, record, ending)]
        try:
            if ending.retry:
                while self._ingest_metrics(job):  # the attempt's points keep its number
                    pass
                self.store.requeue_job(job["id"], attempt=job["attempt"] + 1, attempts=attempts, gpu_ids=[],
                                       exit_code=record.exit_code, reason=ending.reason, deadline_unix=None,
                                       time_limit_stage=0)
                self._write_log(job, attempt_separator(job, ending))
                self.log.info("momo-jobs: job %s attempt %s ended (%s): queued again", job["id"],
                              job["attempt"], ending.reason)
            else:
                self.store.update_job(job["id"], status=ending.status.value, exit_code=record.exit_code,
                                      finished_at=record.finished_at or utc_now(), reason=ending.reason,
                                      attempts=attempts, deadline_unix=None)
        except StatusMoveRefused as exc:  # already ended: its first end stands
            self.log.warning("momo-jobs: %s", exc)
        self._last_alive_check.pop(job["id"], None)
        self._notify(job["id"])

    @staticmethod
    def _write_log(job: dict, text: bytes) -> None:
        """A line of momo-jobs' own in the job's log, on a line of its own."""
        path = Path(job["job_dir"]) / JobFiles.LOG
        try:
            with open(path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                ends_line = f.read(1) == b"\n"
        except OSError:  # empty or missing
            ends_line = True
        recorder = LogRecorder(Path(job["job_dir"]))
        recorder.write(text[1:] if ends_line and text.startswith(b"\n") else text)
        recorder.close(end_of_output=False)

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
        await self._keep_time_limit(job)
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
            reason = await self._end_leftovers(job, run)
            self._finish(job, ExitRecord(exit_code=None,
                                         reason=reason or "the job's process vanished without an exit record"))
        return True

    async def _keep_time_limit(self, job: dict) -> None:
        """The time limit of a job whose backend does not keep it beside the job: the
        warning signal when due, then at the deadline the same stop as a person's."""
        backend = self._backend(job)
        due = None if backend.keeps_time_limit else time_limit_due(job, time.time())
        if due is None:
            return
        run = self._run_spec(job)
        if due == "warn":
            self.store.update_job(job["id"], time_limit_stage=WARNED)
            if run is not None:
                try:
                    await backend.warn(run, job["time_limit_signal"])
                except Exception as exc:
                    self.log.warning("momo-jobs: could not warn job %s of its time limit: %s", job["id"], exc)
            return
        self.store.update_job(job["id"], time_limit_stage=STOPPED_FOR_TIME)
        self.log.info("momo-jobs: job %s reached its time limit", job["id"])
        try:
            await self._ask_backend_to_stop(job)
        except Unavailable as exc:  # asked again on the next look
            self.store.update_job(job["id"], time_limit_stage=WARNED)
            self.log.warning("momo-jobs: %s", exc)
    async def _end_leftovers(self, job: dict, run: RunSpec | None) -> str | None:
        """A job whose supervisor is gone: nothing records its processes any more, so they
        are ended (and the GPUs they hold are free again)."""
        if run is None:
            return None
        try:
            return await self._backend(job).end_leftovers(run)
        except Exception as exc:
            self.log.warning("momo-jobs: could not end what job %s left: %s", job["id"], exc)
            return None

    async def _monitor_loop(self) -> None:
        while True:
            try:
                ended = False
                for job in self.store.jobs_in_order(ACTIVE):
                    ended |= await self._follow(job)
                # Other servers' jobs end too: a server with jobs in the common line looks at every pass.
                if ended or (self.shared_line is not None and self.shared_line.in_line()):
                    await self.schedule()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("momo-jobs: monitor pass failed")
            await asyncio.sleep(self.settings.poll_interval)
