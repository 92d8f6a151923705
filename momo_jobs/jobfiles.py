"""The files of one job's folder, and the recorder that writes its log and metrics.

Every backend leaves the same files, so the service reads every job the same way:

- ``job.json``: what to run (written before launch)
- ``snapshot/``: the script as it was at submit time
- ``output.log``: stdout and stderr merged, bytes as written
- ``output.idx``: a time index of the log, ``<unix time> <log size>`` a line
- ``metrics.jsonl``: metric points, each stamped with the time its line was read
- ``exit.json``: how the job ended; its presence means the job is over
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from .protocol import MAX_METRIC_LINE, find_metric

SPEC = "job.json"
SNAPSHOT = "snapshot"
LOG = "output.log"
LOG_INDEX = "output.idx"
METRICS = "metrics.jsonl"
EXIT = "exit.json"
SUPERVISOR = "supervisor.json"


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
    """What a backend runs for one job; saved as the job folder's ``job.json``."""

    job_id: str
    job_dir: str
    argv: list[str]
    cwd: str
    env: dict[str, str]
    resource: str
    gpus: int = 0
    gpu_ids: list[str] = field(default_factory=list)
    stop_grace: float = 10.0
    kernel: str | None = None  # the kernelspec a console job runs in (None: the server's default)

    @property
    def folder(self) -> Path:
        return Path(self.job_dir)

    def save(self) -> None:
        write_json_atomic(self.folder / SPEC, asdict(self))

    @classmethod
    def load(cls, job_dir: Path) -> "RunSpec":
        data = read_json(Path(job_dir) / SPEC)
        if data is None:
            raise FileNotFoundError(f"no {SPEC} in {job_dir}")
        return cls(**data)


@dataclass
class ExitRecord:
    exit_code: int | None
    signal: str | None = None
    stopped: bool = False
    reason: str | None = None
    finished_at: str = field(default_factory=utc_now)

    def save(self, job_dir: Path) -> None:
        write_json_atomic(Path(job_dir) / EXIT, asdict(self))

    @classmethod
    def load(cls, job_dir: Path) -> "ExitRecord | None":
        data = read_json(Path(job_dir) / EXIT)
        if not isinstance(data, dict):
            return None
        return cls(**{k: data.get(k) for k in ("exit_code", "signal", "stopped", "reason", "finished_at")})


def _json_int(number: int | None) -> str:
    return "null" if number is None else str(number)


class LogRecorder:
    """Appends a job's output to its log, time index and metrics file.

    Bytes go to the log as they come; lines are split here (a line may arrive
    in pieces) and each one that ends in a metric object is recorded with the
    time it was read. Only the tail of an unfinished line is kept, so a job
    that prints without newlines can't grow this process's memory.
    """

    def __init__(self, job_dir: Path, clock: Callable[[], float] = time.time, resume: bool = False):
        """``resume``: reopened on a log written before (after a server restart), the
        line it ends in is taken up, so a metric line cut in two is parsed whole."""
        folder = Path(job_dir)
        self._clock = clock
        self._log = open(folder / LOG, "ab")
        self._index = open(folder / LOG_INDEX, "a", encoding="utf-8")
        self._metrics = open(folder / METRICS, "a", encoding="utf-8")
        self._size = self._log.tell()
        self._partial = b""
        if resume and self._size:
            with open(folder / LOG, "rb") as f:
                f.seek(max(0, self._size - MAX_METRIC_LINE))
                tail = f.read(MAX_METRIC_LINE)
            self._partial = tail[tail.rfind(b"\n") + 1:]

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> None:
        if not data:
            return
        now = self._clock()
        self._log.write(data)
        self._log.flush()
        self._size += len(data)
        self._index.write(f"{now:.6f} {self._size}\n")
        self._index.flush()
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()[-MAX_METRIC_LINE:]
        if self._record_metrics(lines, now):
            self._metrics.flush()

    def _record_metrics(self, lines: list[bytes], now: float) -> bool:
        wrote = False
        for raw in lines:
            if not raw.rstrip(b"\r\t ").endswith(b"}"):
                continue
            found = find_metric(raw.decode("utf-8", "replace"))
            if found is None:
                continue
            point, obj = found
            # The object as printed, not encoded again (this runs for every metric
            # line): step and epoch first (the object's own, when it has them,
            # come later and are the same), the time last (it wins over a "t" of
            # the object's).
            self._metrics.write(f'{{"step": {_json_int(point.step)}, "epoch": {_json_int(point.epoch)}, '
                                f'{obj[1:-1]}, "t": {now!r}}}\n')
            wrote = True
        return wrote

    def close(self) -> None:
        """The end of the output ends its last line too."""
        if self._partial and self._record_metrics([self._partial], self._clock()):
            self._metrics.flush()
        self._partial = b""
        for f in (self._log, self._index, self._metrics):
            f.close()
