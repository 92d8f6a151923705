"""The server extension's settings, as the service and the backends read them
(app.py fills them from its traitlets and their environment variables)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Settings:
    data_dir: Path
    gpus: str | None = None
    cpu_slots: int = 1
    stop_grace_seconds: float = 10.0
    backend: str = "local"
    ray_address: str | None = None
    slurm_partition: str | None = None
    slurm_options: str | None = None
    console_idle_seconds: float = 3600.0
    gpu_lock_dir: str | None = None  # shared GPUs: the lock folder every server of the machine uses
    gpu_foreign_memory_mib: int = 1024
    max_gpus_per_user: int | None = None
    poll_interval: float = 0.1
    telemetry_seconds: float = 1.0
