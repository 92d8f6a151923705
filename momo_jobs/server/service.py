"""JobService: the one API over jobs. Handlers, and through them the UI, the
magics and the command line, all come here."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import re
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

from .backends.base import Backend, LaunchError
from .errors import BadRequest, Conflict, NotFound, Unavailable
from .exporter import export_notebook
from ..job.files import ExitRecord, RunSpec, iso_from_unix, utc_now
from .paths import relative_to_root, resolve_in_root
from ..job.protocol import finite_or_none
from .scheduler import cpu_slots_used, held_gpus, jobs_to_start, queue_positions
from ..vocabulary import ACTIVE, FINAL, RESOURCES, JobFiles, queue_of
from .store import Store

JOB_FIELDS = ("id", "name", "script", "resource", "gpus", "gpu_ids", "status", "created_at", "started_at",
              "finished_at", "exit_code", "reason", "backend", "args", "kernel", "kernel_id")
MAX_LOG_READ = 4 << 20
METRICS_BATCH_BYTES = 8 << 20
# While a job runs, each look moves at most this much of its metrics into the store
# (a few percent of a core at the monitor's pace): a job printing metrics flat out
# keeps the CPU for itself, and the rest is taken in as soon as it ends.
LIVE_METRICS_BATCH_BYTES = 256 << 10
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED_ENV = ("CUDA_VISIBLE_DEVICES", "MOMO_JOB_ID", "MOMO_RESULTS_DIR")


def _utf8_length(lead: int) -> int:
    return 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def _whole_characters(data: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes of ``data`` ending on a whole UTF-8 character; at
    least one character when ``data`` holds one, however small the limit."""
    head = data[:limit]
    for back in range(1, min(4, len(head)) + 1):
        byte = head[-back]
        if byte < 0x80:
            break
        if byte >= 0xC0:
            if back < _utf8_length(byte):
                head = head[:-back]
            break
    return head or data[:_utf8_length(data[0])] if data else head


def _sanitize(value: Any) -> Any:
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, list):
        return [_sanitize(v) for v in value]
    if isinstance(value, dict):
        return {k: _sanitize(v) for k, v in value.items()}
    return value


class JobService:
    def __init__(self, settings: Settings, root_dir: Path, backends: dict[str, Backend],
                 emit: Callable[[str, str, dict | None], None] | None = None,
                 log: logging.Logger | None = None):
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
        name = "console" if job["resource"] == "console" else job["backend"]
        backend = self.backends.get(name)
        if backend is None:
            raise BadRequest(f"backend {name!r} is not available on this server")
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

    def _interpreter(self, kernel: str | None) -> str:
        if kernel is None:
            return sys.executable
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

        try:
            spec = KernelSpecManager().get_kernel_spec(kernel)
        except NoSuchKernel:
            raise BadRequest(f"no kernel named {kernel!r}") from None
        if (spec.language or "").lower() != "python" or not spec.argv:
            raise BadRequest(f"kernel {kernel!r} is not a Python kernel")
        python = spec.argv[0]
        if python in ("python", "python3", "{python}"):
            return sys.executable
        return python if os.path.isabs(python) else (shutil.which(python) or python)

    def _validate(self, body: dict) -> dict:
        resource = body.get("resource", "cpu")
        if resource not in RESOURCES:
            raise BadRequest(f"resource must be one of {', '.join(RESOURCES)}")
        gpus = body.get("gpus", 1 if resource == "gpu" else 0)
        if not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 0:
            raise BadRequest("gpus must be a whole number")
        if resource == "gpu":
            self._check_gpu_request(gpus, self.default_backend)
        else:
            gpus = 0
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 200):
            raise BadRequest("name must be a string of at most 200 characters")
        args = body.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise BadRequest("args must be a list of strings")
        env = body.get("env", {})
        if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise BadRequest("env must be an object of strings")
        for key in env:
            if not _ENV_NAME.match(key):
                raise BadRequest(f"{key!r} is not a valid environment variable name")
            if key in _RESERVED_ENV:
                raise BadRequest(f"{key} is set by momo-jobs")
        kernel = body.get("kernel")
        if kernel is not None and not isinstance(kernel, str):
            raise BadRequest("kernel must be a string")
        script = body.get("script")
        path = resolve_in_root(self.root, script)
        if not path.is_file() or path.suffix not in (".py", ".ipynb"):
            raise BadRequest(f"{script}: not a .py or .ipynb file")
        return {"path": path, "resource": resource, "gpus": gpus, "name": (name or "").strip() or None,
                "args": args, "env": env, "kernel": kernel or None}

    def _inventory_for(self, backend_name: str):
        return self.backends[backend_name].inventory()

    def _check_gpu_request(self, gpus: int, backend_name: str) -> None:
        """A GPU request that can never be met is refused rather than queued forever."""
        total = len(self._inventory_for(backend_name).gpus)
        if gpus < 1:
            raise BadRequest("a GPU job needs at least 1 GPU")
        if total == 0:
            raise BadRequest("this server has no GPUs: submit the job with resource 'cpu'")
        if gpus > total:
            raise BadRequest(f"the job asks for {gpus} GPUs but this server has {total}")

    async def _queue(self, fields: dict) -> dict:
        """Stores a new queued job, tells the clients, and lets the scheduler look."""
        job = self.store.insert_job({**fields, "gpu_ids": [], "status": "queued", "created_at": utc_now()})
        self._emit("created", job["id"], self.job_json(job))
        await self.schedule()
        return self.get(job["id"])

    async def submit(self, body: Any) -> dict:
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        spec = self._validate(body)
        interpreter = self._interpreter(spec["kernel"])
        job_id = uuid.uuid4().hex[:12]
        folder = self.jobs_dir / job_id
        snapshot = folder / JobFiles.SNAPSHOT
        snapshot.mkdir(parents=True)
        source: Path = spec["path"]
        try:
            if source.suffix == ".ipynb":
                await asyncio.to_thread(export_notebook, source, snapshot / f"{source.stem}.py")
                script_name = f"{source.stem}.py"
            else:
                shutil.copy2(source, snapshot / source.name)
                script_name = source.name
        except Exception as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise BadRequest(f"{body['script']}: could not be prepared: {exc}") from exc
        rel_script = relative_to_root(self.root, source)
        return await self._queue({
            "id": job_id, "name": spec["name"] or self._generated_name(rel_script), "script": rel_script,
            "resource": spec["resource"], "gpus": spec["gpus"],
            "backend": "console" if spec["resource"] == "console" else self.default_backend,
            "args": [script_name, *spec["args"]], "env": spec["env"], "kernel": spec["kernel"],
            "interpreter": interpreter, "cwd": str(source.parent), "job_dir": str(folder),
        })

    def _get(self, job_id: str) -> dict:
        job = self.store.get_job(job_id) if isinstance(job_id, str) else None
        if job is None:
            raise NotFound(f"no job {job_id!r}")
        return job

    async def stop(self, job_id: str) -> dict:
        job = self._get(job_id)
        if job["status"] == "queued":
            self.store.update_job(job_id, status="stopped", finished_at=utc_now(), reason="stopped while queued")
            self._notify(job_id)
            await self.schedule()
        elif job["status"] in ACTIVE:
            self.store.update_job(job_id, status="stopping")
            self._notify(job_id)
            run = self._run_spec(job)
            if run is not None:
                try:
                    await self._backend(job).stop(run)
                except Exception as exc:  # e.g. a cluster that doesn't answer
                    raise Unavailable(f"could not stop job {job_id}: {exc}; it is marked stopping, try again") from exc
        else:
            raise Conflict(f"job {job_id} is {job['status']}: only a queued or running job can be stopped")
        return self.get(job_id)

    async def rerun(self, job_id: str) -> dict:
        old = self._get(job_id)
        new_id = uuid.uuid4().hex[:12]
        folder = self.jobs_dir / new_id
        old_snapshot = Path(old["job_dir"]) / JobFiles.SNAPSHOT
        if not old_snapshot.is_dir():
            raise Conflict(f"job {job_id} has no snapshot left to rerun")
        if old["resource"] == "gpu":
            self._check_gpu_request(old["gpus"], old["backend"])
        shutil.copytree(old_snapshot, folder / JobFiles.SNAPSHOT)
        fields = {k: old[k] for k in ("name", "script", "resource", "gpus", "backend", "args", "env", "kernel",
                                      "interpreter", "cwd")}
        return await self._queue({**fields, "id": new_id, "job_dir": str(folder)})

    async def delete(self, job_id: str) -> None:
        job = self._get(job_id)
        if job["status"] not in FINAL:
            raise Conflict(f"job {job_id} is {job['status']}: stop it before deleting it")
        backend = self.backends.get("console" if job["resource"] == "console" else job["backend"])
        if backend is not None:  # a job of a backend this server no longer runs is still deletable
            await backend.forget(job_id)
        self.store.delete_job(job_id)
        await asyncio.to_thread(shutil.rmtree, job["job_dir"], True)
        self._emit("deleted", job_id, None)

    # reading

    def job_json(self, job: dict) -> dict:
        out = {k: job.get(k) for k in JOB_FIELDS}
        out["args"] = job["args"][1:]  # the first is the snapshot's script name
        out["queue_position"] = self._positions.get(job["id"]) if job["status"] == "queued" else None
        if out["queue_position"] is not None:
            # Like a pending Slurm job, a queued job says what it waits for.
            wanted = f"{job['gpus']} free GPU{'s' if job['gpus'] > 1 else ''}" if job["resource"] == "gpu" else "a free CPU slot"
            ahead = out["queue_position"] - 1
            out["reason"] = f"waiting for {wanted}" + (f", {ahead} job{'s' if ahead > 1 else ''} ahead" if ahead else "")
        results = Path(job["cwd"]) / "results"
        try:
            out["results_dir"] = relative_to_root(self.root, results)
        except ValueError:
            out["results_dir"] = None
        return out

    def get(self, job_id: str) -> dict:
        return self.job_json(self._get(job_id))

    def list(self, statuses: list[str] | None, limit: int, offset: int) -> dict:
        jobs, total = self.store.list_jobs(statuses, limit, offset)
        return {"jobs": [self.job_json(j) for j in jobs], "total": total}

    def log_path(self, job_id: str) -> Path:
        return Path(self._get(job_id)["job_dir"]) / JobFiles.LOG

    async def read_log(self, job_id: str, offset: int = 0, limit: int = 1 << 16, wait: float = 0.0) -> dict:
        job = self._get(job_id)
        limit = max(1, min(limit, MAX_LOG_READ))
        path = Path(job["job_dir"]) / JobFiles.LOG
        deadline = time.monotonic() + max(0.0, min(wait, 30.0))
        while True:
            size = path.stat().st_size if path.exists() else 0
            finished = job["status"] in FINAL
            if size > offset or finished or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.02)
            job = self._get(job_id)
        data = b""
        if size > offset:
            with open(path, "rb") as f:
                f.seek(offset)
                data = _whole_characters(f.read(limit + 3), limit)
        next_offset = offset + len(data)
        return {"text": data.decode("utf-8", "replace"), "offset": offset, "next_offset": next_offset,
                "size": size, "eof": finished and next_offset >= size}

    def metrics(self, job_id: str, x: str = "time", names: list[str] | None = None, max_points: int = 2000) -> dict:
        job = self._get(job_id)
        series, other = [], []
        for row in self.store.series_of(job, names):
            xs, ys, others = self.store.series_points(row["id"], x, max_points)
            series.append({"name": row["name"], "x": xs, "y": ys, "count": row["count"]})
            other.extend({"name": row["name"], "time": t, "value": _sanitize(v)} for t, v in others)
        return {"x": x, "series": series, "other": other}

    def metrics_csv(self, job_id: str) -> Iterator[str]:
        job = self._get(job_id)
        start = job.get("started_unix") or 0.0
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["metric", "time", "elapsed", "step", "epoch", "value"])
        for name, t, step, epoch, value in self.store.all_points(job):
            shown = value if isinstance(value, (int, float)) and not isinstance(value, bool) else json.dumps(value)
            writer.writerow([name, iso_from_unix(t), f"{t - start:.6f}", step, epoch, shown])
            if buf.tell() > 1 << 16:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    def results(self, job_id: str) -> dict:
        job = self._get(job_id)
        results = Path(job["cwd"]) / "results"
        since = (job.get("started_unix") or 0.0) - 1.0
        files = []
        if results.is_dir():
            for path in sorted(results.rglob("*")):
                if path.is_file() and path.stat().st_mtime >= since:
                    st = path.stat()
                    files.append({"path": relative_to_root(self.root, path), "size": st.st_size,
                                  "modified": iso_from_unix(st.st_mtime)})
        return {"dir": self.job_json(job)["results_dir"], "files": files}

    def resources(self) -> dict:
        inventory = self._inventory_for(self.default_backend)
        running = self.store.jobs_in_order(ACTIVE)
        holders = held_gpus(running)
        queued = self.store.jobs_in_order(["queued"])
        return {
            "backend": self.default_backend,
            "gpus": [{"index": g.index, "name": g.name, "memory": g.memory, "holder": holders.get(g.index)}
                     for g in inventory.gpus],
            "cpu_slots": {"total": inventory.cpu_slots, "used": cpu_slots_used(running, self._extra_cpu_used())},
            "queues": {q: sum(1 for j in queued if queue_of(j["resource"]) == q) for q in ("cpu", "gpu")},
        }

    async def export(self, body: Any) -> dict:
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        overwrite = body.get("overwrite", False)
        if not isinstance(overwrite, bool):
            raise BadRequest("overwrite must be true or false")
        notebook = resolve_in_root(self.root, body.get("path"))
        if notebook.suffix != ".ipynb" or not notebook.is_file():
            raise BadRequest(f"{body.get('path')}: not a notebook (.ipynb)")
        target = notebook.with_suffix(".py")
        if target.exists() and not overwrite:
            raise Conflict(f"{relative_to_root(self.root, target)} exists; export again with overwrite to replace it")
        await asyncio.to_thread(export_notebook, notebook, target)
        return {"path": relative_to_root(self.root, target)}

    async def prepare_example(self, body: Any) -> dict:
        """Copies an example (e.g. the MNIST tutorial) into a folder and prepares its data."""
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        from ..examples import prepare_example

        dest = resolve_in_root(self.root, body.get("dir"), must_exist=False)
        try:
            notebook = await asyncio.to_thread(prepare_example, body.get("name", "mnist"), dest, self.log.info)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        except RuntimeError as exc:
            raise Unavailable(str(exc)) from None
        return {"notebook": relative_to_root(self.root, notebook)}

    # scheduling and following

    def _extra_cpu_used(self) -> int:
        return sum(backend.idle_kernels() for backend in self.backends.values())

    def _run_spec(self, job: dict) -> RunSpec | None:
        try:
            return RunSpec.load(Path(job["job_dir"]))
        except FileNotFoundError:
            return None

    def _new_run_spec(self, job: dict, gpu_ids: list[str]) -> RunSpec:
        cwd = Path(job["cwd"])
        results = cwd / "results"
        results.mkdir(parents=True, exist_ok=True)
        folder = Path(job["job_dir"])
        env = dict(job["env"])
        pythonpath = os.pathsep.join(p for p in (str(cwd), env.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))) if p)
        env.update({
            "PYTHONUNBUFFERED": "1",
            "CUDA_VISIBLE_DEVICES": ",".join(gpu_ids),
            "MOMO_JOB_ID": job["id"],
            "MOMO_RESULTS_DIR": str(results),
            "PYTHONPATH": pythonpath,
        })
        script, *args = job["args"]
        return RunSpec(job_id=job["id"], job_dir=str(folder), interpreter=job["interpreter"],
                       script=str(folder / JobFiles.SNAPSHOT / script), args=args,
                       cwd=str(cwd), env=env, resource=job["resource"], gpus=job["gpus"], gpu_ids=gpu_ids,
                       stop_grace=self.settings.stop_grace_seconds, kernel=job.get("kernel"))

    async def schedule(self) -> None:
        async with self._schedule_lock:
            queued = self.store.jobs_in_order(["queued"])
            running = self.store.jobs_in_order(ACTIVE)
            starts = []
            for pool in sorted({self._pool(j) for j in queued}):
                backend = self.backends[pool]
                starts += jobs_to_start([j for j in queued if self._pool(j) == pool],
                                        [j for j in running if self._pool(j) == pool],
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

    def _pool(self, job: dict) -> str:
        """Which backend's inventory a job is scheduled on: console kernels run on
        this machine and share its CPU slots with local jobs."""
        return "local" if job["resource"] == "console" else job["backend"]

    async def _launch(self, job: dict, gpu_ids: list[str]) -> None:
        run = self._new_run_spec(job, gpu_ids)
        now = time.time()
        self.store.update_job(job["id"], status="running", gpu_ids=gpu_ids, started_at=iso_from_unix(now), started_unix=now)
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
            self._emit("status", job_id, self.job_json(job))

    def _ingest_metrics(self, job: dict, limit: int = METRICS_BATCH_BYTES) -> bool:
        """Moves newly parsed points of a job into the store; True if more remain."""
        path = Path(job["job_dir"]) / JobFiles.METRICS
        try:
            with open(path, "rb") as f:
                f.seek(job["metrics_offset"])
                data = f.read(limit)
        except FileNotFoundError:
            return False
        end = data.rfind(b"\n") + 1
        if end == 0:
            return False
        lines = data[:end].splitlines()
        try:  # the whole batch in one call: a job may print a million points
            records = json.loads(b"[" + b",".join(lines) + b"]")
        except ValueError:  # a line that is not JSON (or an empty one) is skipped
            records = []
            for line in lines:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        self.store.ingest_metrics(job, records, job["metrics_offset"] + end)
        job["metrics_offset"] += end
        return len(data) == limit

    def _finish(self, job: dict, record: ExitRecord) -> None:
        if record.stopped or job["status"] == "stopping":
            status = "stopped"
        elif record.exit_code == 0:
            status = "completed"
        else:
            status = "failed"
        self.store.update_job(job["id"], status=status, exit_code=record.exit_code,
                              finished_at=record.finished_at or utc_now(),
                              reason=record.reason or (f"exit code {record.exit_code}" if status == "failed" else None))
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
        if now - self._last_alive_check.get(job["id"], 0.0) < 2.0:
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
