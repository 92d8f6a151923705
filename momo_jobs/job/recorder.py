"""The recorder that writes a job's log, its time index and its metric points, as
the job's output arrives. The supervisor, the console backend and the Ray backend
all record through it."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from ..vocabulary import JobFiles
from .protocol import MAX_METRIC_LINE, MetricPoint, ParamPoint, _point_from, find_record

_BLANKS = b"\r\t "
_METRICS_BUFFER = 1 << 20


def _json_int(number: int | None) -> bytes:
    return b"null" if number is None else b"%d" % number


def _ends_in_object(line: bytes) -> bool:
    return line.endswith(b"}") or (line.endswith((b"\r", b" ", b"\t")) and line.rstrip(_BLANKS).endswith(b"}"))


def _record_line(point: MetricPoint | ParamPoint, obj: bytes, t: bytes) -> bytes:
    """A metrics.jsonl line: the object as printed, not encoded again (this runs for
    every metric line). A metric gets its step and epoch first (the object's own, when
    it has them, come later and are the same); the time comes last (it wins over a
    "t" of the object's). A parameter is the object as printed and the time."""
    if type(point) is ParamPoint:
        return b"%b, \"t\": %b}\n" % (obj[:-1], t)
    return b'{"step": %b, "epoch": %b, %b, "t": %b}\n' % (_json_int(point.step), _json_int(point.epoch),
                                                         obj[1:-1], t)


class LogRecorder:
    """Appends a job's output to its log, time index and metrics file.

    Bytes go to the log as they come; lines are split here (a line may arrive
    in pieces) and each one that ends in a metric or parameter object is recorded
    with the time it was read. Only the tail of an unfinished line is kept, so a
    job that prints without newlines can't grow this process's memory.
    """

    def __init__(self, job_dir: Path, clock: Callable[[], float] = time.time, resume: bool = False):
        """``resume``: reopened on a log written before (after a server restart), the
        line it ends in is taken up, so a metric line cut in two is parsed whole."""
        folder = Path(job_dir)
        self._clock = clock
        # The log unbuffered (one write a read: the server sees it at once); the index
        # and the metrics buffered until flush().
        self._log = open(folder / JobFiles.LOG, "ab", buffering=0)
        self._index = open(folder / JobFiles.LOG_INDEX, "a", encoding="utf-8")
        self._metrics = open(folder / JobFiles.METRICS, "ab", buffering=_METRICS_BUFFER)
        self._size = self._log.seek(0, 2)
        self._partial = b""
        if resume and self._size:
            with open(folder / JobFiles.LOG, "rb") as f:
                f.seek(max(0, self._size - MAX_METRIC_LINE))
                tail = f.read(MAX_METRIC_LINE)
            self._partial = tail[tail.rfind(b"\n") + 1:]

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes, flush: bool = True) -> None:
        """Records a piece of output read at one time. With ``flush`` False the index
        and the metric points wait in memory for ``flush()`` (the supervisor flushes
        when its job's output pauses, and at least every few tens of milliseconds)."""
        if not data:
            return
        now = self._clock()
        self._log.write(data)
        self._size += len(data)
        self._index.write(f"{now:.6f} {self._size}\n")
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()[-MAX_METRIC_LINE:]
        out = self._records(lines, repr(now).encode())
        if out:
            self._metrics.write(out)
        if flush:
            self.flush()

    def write_points(self, points: Iterable[tuple[str, Any]], now: float | None = None) -> None:
        """Records points momo-jobs measured itself (telemetry), as if printed: (name, value)."""
        t = repr(self._clock() if now is None else now)
        self._metrics.write("".join(
            f'{{"step": null, "epoch": null, "metric": {json.dumps(name)}, "value": {json.dumps(value)}, "t": {t}}}\n'
            for name, value in points).encode())

    def flush(self) -> None:
        self._index.flush()
        self._metrics.flush()

    @staticmethod
    def _records(lines: list[bytes], t: bytes) -> bytes:
        candidates = [line for line in lines if _ends_in_object(line)]
        if not candidates:
            return b""
        whole = [line.rstrip(_BLANKS) for line in candidates if line.startswith(b"{")]
        if len(whole) == len(candidates) and all(len(line) <= MAX_METRIC_LINE for line in whole):
            # The common case, a job printing metric lines flat out: each line one
            # object, decoded in one call.
            try:
                objects = json.loads(b"[" + b",".join(whole) + b"]")
            except (ValueError, RecursionError):
                objects = None
            if objects is not None and len(objects) == len(whole):
                out = []
                for obj, line in zip(objects, whole):
                    point = _point_from(obj)
                    if point is not None:
                        out.append(_record_line(point, line, t))
                return b"".join(out)
        return LogRecorder._records_one_by_one(candidates, t)

    @staticmethod
    def _records_one_by_one(candidates: list[bytes], t: bytes) -> bytes:
        out = []
        for raw in candidates:
            found = find_record(raw.decode("utf-8", "replace"))
            if found is not None:
                out.append(_record_line(found[0], found[1].encode(), t))
        return b"".join(out)

    def close(self, end_of_output: bool = True) -> None:
        """The end of the output ends its last line too. With ``end_of_output`` False
        (the recorder is put down while the job goes on), the unfinished line is left
        for a recorder that resumes the log to finish."""
        if end_of_output and self._partial:
            out = self._records([self._partial], repr(self._clock()).encode())
            if out:
                self._metrics.write(out)
        self._partial = b""
        for f in (self._log, self._index, self._metrics):
            f.close()
