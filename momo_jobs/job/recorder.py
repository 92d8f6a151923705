"""The recorder that writes a job's log, its time index and its metric points, as
the job's output arrives. The supervisor, the console backend and the Ray backend
all record through it."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from ..vocabulary import JobFiles
from .protocol import MAX_METRIC_LINE, find_metric


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
        self._log = open(folder / JobFiles.LOG, "ab")
        self._index = open(folder / JobFiles.LOG_INDEX, "a", encoding="utf-8")
        self._metrics = open(folder / JobFiles.METRICS, "a", encoding="utf-8")
        self._size = self._log.tell()
        self._partial = b""
        if resume and self._size:
            with open(folder / JobFiles.LOG, "rb") as f:
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

    def close(self, end_of_output: bool = True) -> None:
        """The end of the output ends its last line too. With ``end_of_output`` False
        (the recorder is put down while the job goes on), the unfinished line is left
        for a recorder that resumes the log to finish."""
        if end_of_output and self._partial and self._record_metrics([self._partial], self._clock()):
            self._metrics.flush()
        self._partial = b""
        for f in (self._log, self._index, self._metrics):
            f.close()
