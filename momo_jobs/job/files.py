"""The records of a job's folder (names in ``vocabulary.JobFiles``): what to run
(``job.json``, a RunSpec) and how the job ended (``exit.json``, an ExitRecord)."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..vocabulary import JobFiles



def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_from_unix(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> Any | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None


@dataclass
class RunSpec:
    """What a backend runs for one job; saved as the job folder's ``job.json``.

    The job runs ``interpreter script *args`` in ``cwd``; ``script`` is the path of
    the snapshot taken at submit time."""

    job_id: str
    job_dir: str
    interpreter: str
    script: str
    args: list[str]
    cwd: str
    env: dict[str, str]
    resource: str
    gpus: int = 0
    gpu_ids: list[str] = field(default_factory=list)
    stop_grace: float = 10.0
    kernel: str | None = None  # the kernelspec a console job runs in (None: the server's default)
    telemetry_seconds: float = 1.0  # how often the supervisor samples the job's processes (0: never)
    time_limit: float | None = None  # seconds this attempt may run; then it is stopped as by a person
    time_limit_signal: str | None = None  # "USR1@60": that signal to the job's processes 60 s before
    attempt: int = 1  # 1-based: a retried job runs again under the same id
    log_start: int = 0  # the size of output.log when this attempt started (earlier attempts' lines)
    gpu_lock_dir: str | None = None  # shared GPUs: the folder of the GPU locks (gpulocks.py)
    gpu_locks: list[str] = field(default_factory=list)  # the names of the locks the job holds

    @property
    def folder(self) -> Path:
        return Path(self.job_dir)

    @property
    def argv(self) -> list[str]:
        return [self.interpreter, self.script, *self.args]

    def save(self) -> None:
        write_json_atomic(self.folder / JobFiles.SPEC, asdict(self))

    @classmethod
    def load(cls, job_dir: Path) -> "RunSpec":
        data = read_json(Path(job_dir) / JobFiles.SPEC)
        if data is None:
            raise FileNotFoundError(f"no {JobFiles.SPEC} in {job_dir}")
        if "argv" in data:  # written by a version that kept one command line
            data["interpreter"], data["script"], *data["args"] = data.pop("argv")
        return cls(**data)


@dataclass
class ExitRecord:
    exit_code: int | None
    signal: str | None = None
    stopped: bool = False
    reason: str | None = None
    finished_at: str = field(default_factory=utc_now)
    time_limit: bool = False  # ended by its time limit (not by a person's stop)

    def add_reason(self, note: str | None) -> None:
        """Adds ``note`` (if any) to the reason."""
        if note:
            self.reason = f"{self.reason}; {note}" if self.reason else note

    def save(self, job_dir: Path, name: str = JobFiles.EXIT) -> None:
        write_json_atomic(Path(job_dir) / name, asdict(self))

    @classmethod
    def load(cls, job_dir: Path, name: str = JobFiles.EXIT) -> "ExitRecord | None":
        data = read_json(Path(job_dir) / name)
        if not isinstance(data, dict):
            return None
        return cls(**{k: data.get(k) for k in ("exit_code", "signal", "stopped", "reason", "finished_at")},
                   time_limit=bool(data.get("time_limit")))
