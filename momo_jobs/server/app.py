"""The jupyter_server extension: settings, the job service, the REST routes."""
from __future__ import annotations

import os
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Enum, Float, Integer, Type, Unicode

from .backends.base import Backend
from .backends.local import LocalBackend
from .handlers import routes
from .service import JobService
from .schema_locale import register_schema_catalogue
from .settings import Settings

try:
    from .backends.console import ConsoleBackend
except ImportError:  # without the kernel client's pieces there are no console jobs
    ConsoleBackend = None

EVENT_SCHEMA = Path(__file__).parent / "event_schemas" / "job.yaml"
EVENT_SCHEMA_ID = "urn:momo-jobs:events:job"

# setting name → environment variable that wins over the config file
ENV_SETTINGS = {
    "gpus": "MOMO_JOBS_GPUS",
    "cpu_slots": "MOMO_JOBS_CPU_SLOTS",
    "stop_grace_seconds": "MOMO_JOBS_STOP_GRACE",
    "data_dir": "MOMO_JOBS_DATA_DIR",
    "backend": "MOMO_JOBS_BACKEND",
    "ray_address": "MOMO_JOBS_RAY_ADDRESS",
    "slurm_partition": "MOMO_JOBS_SLURM_PARTITION",
    "slurm_options": "MOMO_JOBS_SLURM_OPTIONS",
    "console_idle_seconds": "MOMO_JOBS_CONSOLE_IDLE",
    "telemetry_seconds": "MOMO_JOBS_TELEMETRY",
    "gpu_lock_dir": "MOMO_JOBS_GPU_LOCK_DIR",
    "gpu_foreign_memory_mib": "MOMO_JOBS_GPU_FOREIGN_MIB",
    "max_gpus_per_user": "MOMO_JOBS_MAX_GPUS_PER_USER",
}


class MomoJobsApp(ExtensionApp):
    name = "momo_jobs"
    description = "Run training scripts as background jobs on CPU or GPU."

    gpus = Unicode(None, allow_none=True, config=True,
                   help="GPU ids jobs may use, e.g. '0,1'; '' for none. Default: the GPUs NVML finds. Env: MOMO_JOBS_GPUS.")
    cpu_slots = Integer(os.cpu_count() or 1, config=True,
                        help="How many CPU and console jobs run at once. Default: the number of cores. Env: MOMO_JOBS_CPU_SLOTS.")
    stop_grace_seconds = Float(10.0, config=True,
                               help="Seconds between SIGTERM and SIGKILL when a job is stopped. Env: MOMO_JOBS_STOP_GRACE.")
    data_dir = Unicode("", config=True,
                       help="Where the job store and job folders live. Default: <jupyter data dir>/momo_jobs. Env: MOMO_JOBS_DATA_DIR.")
    backend = Enum(["local", "ray", "slurm"], "local", config=True,
                   help="Where jobs run: 'local' processes, a 'ray' cluster or a 'slurm' cluster. Env: MOMO_JOBS_BACKEND.")
    ray_address = Unicode(None, allow_none=True, config=True,
                          help="The Ray dashboard address for the ray backend, e.g. http://127.0.0.1:8265. Env: MOMO_JOBS_RAY_ADDRESS.")
    slurm_partition = Unicode(None, allow_none=True, config=True,
                              help="The Slurm partition jobs are submitted to (backend = 'slurm'). Default: the cluster's default partition. Env: MOMO_JOBS_SLURM_PARTITION.")
    slurm_options = Unicode(None, allow_none=True, config=True,
                            help="Extra sbatch options for every job, e.g. '--account=lab --mem=16G --cpus-per-task=4'. Env: MOMO_JOBS_SLURM_OPTIONS.")
    console_idle_seconds = Float(3600.0, config=True,
                                 help="A finished console job's idle kernel is shut down after this many seconds. Env: MOMO_JOBS_CONSOLE_IDLE.")
    telemetry_seconds = Float(1.0, config=True,
                              help="Seconds between samples of a running job's CPU, memory and GPU use (the sys/… "
                                   "series); 0 turns telemetry off. Env: MOMO_JOBS_TELEMETRY.")
    gpu_lock_dir = Unicode(None, allow_none=True, config=True,
                           help="Shared GPUs: a local folder every user's server can write (e.g. /run/momo-jobs, "
                                "mode 1777): jobs of all servers hold their GPUs through locks there and wait in "
                                "one first-come first-served line. Unset: this server schedules its GPUs alone. "
                                "Env: MOMO_JOBS_GPU_LOCK_DIR.")
    gpu_foreign_memory_mib = Integer(1024, config=True,
                                     help="Shared GPUs: a GPU on which processes that are no momo job use more "
                                          "memory than this (MiB) is busy. Env: MOMO_JOBS_GPU_FOREIGN_MIB.")
    max_gpus_per_user = Integer(None, allow_none=True, config=True,
                                help="Shared GPUs: the most GPUs one user's jobs hold at once (all their servers); "
                                     "further jobs wait. Unset: no cap. Env: MOMO_JOBS_MAX_GPUS_PER_USER.")

    local_backend_class = Type(default_value=LocalBackend, klass=Backend, config=True,
                               help="The backend that runs CPU and GPU jobs as local processes.")
    console_backend_class = Type(default_value=ConsoleBackend, klass=Backend, allow_none=True, config=True,
                                 help="The backend that runs console jobs in the server's kernels; None: no console jobs.")
    ray_backend_class = Type(default_value="momo_jobs.server.backends.ray.RayBackend", klass=Backend, config=True,
                             help="The backend that runs jobs on a Ray cluster (backend = 'ray').")
    slurm_backend_class = Type(default_value="momo_jobs.server.backends.slurm.SlurmBackend", klass=Backend,
                               config=True, help="The backend that runs jobs on a Slurm cluster (backend = 'slurm').")
    service_class = Type(default_value=JobService, klass=object, config=True,
                         help="The job service the REST handlers call (a test swaps in a fake to test the handlers alone).")

    def _effective(self, name: str):
        value = os.environ.get(ENV_SETTINGS[name])
        if value is None:
            return getattr(self, name)
        trait = self.traits()[name]
        try:
            return trait.validate(self, trait.from_string(value))
        except Exception as exc:
            raise ValueError(f"{ENV_SETTINGS[name]}={value!r}: {exc}") from exc

    def build_settings(self) -> Settings:
        values = {name: self._effective(name) for name in ENV_SETTINGS}
        values["data_dir"] = Path(values["data_dir"] or Path(jupyter_data_dir()) / "momo_jobs")
        if values["cpu_slots"] < 1:
            raise ValueError("cpu_slots must be at least 1")
        if values["telemetry_seconds"] < 0:
            raise ValueError("telemetry_seconds must be 0 (off) or more")
        if values["max_gpus_per_user"] is not None and values["max_gpus_per_user"] < 1:
            raise ValueError("max_gpus_per_user must be at least 1")
        values["gpu_lock_dir"] = values["gpu_lock_dir"] or None
        return Settings(**values)

    def build_backends(self, settings: Settings) -> dict[str, Backend]:
        backends = {"local": self.local_backend_class(settings, self.log)}
        if self.console_backend_class is not None:
            backends["console"] = self.console_backend_class(settings, self.log, self.serverapp)
        if settings.backend == "ray":
            backends["ray"] = self.ray_backend_class(settings, self.log)
        if settings.backend == "slurm":
            backends["slurm"] = self.slurm_backend_class(settings, self.log)
        return backends

    def initialize_settings(self):
        settings = self.build_settings()
        logger = self.serverapp.event_logger
        logger.register_event_schema(EVENT_SCHEMA)

        def emit(action: str, job_id: str, job: dict | None) -> None:
            logger.emit(schema_id=EVENT_SCHEMA_ID, data={
                "action": action, "job_id": job_id, "status": job["status"] if job else None, "job": job,
            })

        self.service = self.service_class(settings, Path(self.serverapp.root_dir), self.build_backends(settings),
                                  emit=emit, log=self.log)
        self.settings["momo_jobs_service"] = self.service
        register_schema_catalogue(self.log)

    def initialize_handlers(self):
        self.handlers.extend(routes())

    async def _start_jupyter_server_extension(self, serverapp):
        await self.service.start()

    async def stop_extension(self):
        await self.service.close()


main = launch_new_instance = MomoJobsApp.launch_instance
