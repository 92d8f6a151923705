"""The recorder that writes a job's log, its time index and its metric points, as
the job's output arrives. The supervisor, the console backend and the Ray backend
all record through it."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from ..vocabulary import JobFiles
from .protocol import MAX_METRIC_LINE, ParamPoint, find_record

_BLANKS = b"\r\t "
_METRICS_BUFFER = 1 << 20
_INT = rb"-?(?:0|[1-9][0-9]*)"
# A line that is nothing but a metric object as log_metric (json.dumps) writes it: an
# ASCII name without escapes, a number, then an integer step and/or epoch. Such a line
# is a metric by the protocol, so a read made of them is recorded without decoding
# each line (a job printing metrics flat out).
_CANONICAL = re.compile(
    rb'^\{("metric": "[ !#-\[\]-~]{1,1000}", "value": (?:' + _INT + rb'(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?'
    rb'|NaN|-?Infinity)(?:, "step": ' + _INT + rb')?(?:, "epoch": ' + _INT + rb')?)\}[\r\t ]*$', re.MULTILINE)
# A line ending in "}": one that may end in a metric object.
_CANDIDATE = re.compile(rb"\}[\r\t ]*$", re.MULTILINE)
# Each record starts with a null step and epoch: a metric's own, when it has them, come
# later in the object and win (JSON's last key wins). The time comes last (it wins over
# a "t" of the object's).
_HEAD = b'{"step": null, "epoch": null, '


def _ends_in_object(line: bytes) -> bool:
    return line.endswith(b"}") or (line.endswith((b"\r", b" ", b"\t")) and line.rstrip(_BLANKS).endswith(b"}"))


def _record_line(obj: bytes, is_param: bool, t: bytes) -> bytes:
    """A metrics.jsonl line: the object as printed, not encoded again (this runs for
    every metric line), and the time it was read. A parameter is the object and the time."""
    return b"%b, \"t\": %b}\n" % (obj[:-1], t) if is_param else b"%b%b, \"t\": %b}\n" % (_HEAD, obj[1:-1], t)


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
        text = self._partial + data
        end = text.rfind(b"\n") + 1
        self._partial = text[end:][-MAX_METRIC_LINE:]
        out = self._records(text[:end], repr(now).encode())
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
    def _records(text: bytes, t: bytes) -> bytes:
        """The records of the whole lines of ``text``, read at time ``t``."""
        candidates = len(_CANDIDATE.findall(text))
        if not candidates:
            return b""
        found = _CANONICAL.findall(text)
        tail = b', "t": ' + t + b"}\n"
        if len(found) == candidates:  # every line that may hold a metric is a plain one
            return _HEAD + (tail + _HEAD).join(found) + tail
        out = []
        for line in text.split(b"\n"):
            if not _ends_in_object(line):
                continue
            plain = _CANONICAL.match(line)
            if plain is not None:
                out.append(_HEAD + plain.group(1) + tail)
                continue
            record = find_record(line.decode("utf-8", "replace"))
            if record is not None:
                out.append(_record_line(record[1].encode(), type(record[0]) is ParamPoint, t))
        return b"".join(out)

    def close(self, end_of_output: bool = True) -> None:
        """The end of the output ends its last line too. With ``end_of_output`` False
        (the recorder is put down while the job goes on), the unfinished line is left
        for a recorder that resumes the log to finish."""
        if end_of_output and self._partial:
            out = self._records(self._partial + b"\n", repr(self._clock()).encode())
            if out:
                self._metrics.write(out)
        self._partial = b""
        for f in (self._log, self._index, self._metrics):
            f.close()
