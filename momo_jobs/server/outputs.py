"""What a job produced, as the service reads it: its log by offset (waiting for more
while it runs), the metric points its recorder wrote and the store has not taken in
yet, every stored point as CSV, and the files it wrote to ``results/``."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..job.files import iso_from_unix
from ..job.protocol import is_plottable
from .paths import relative_to_root

MAX_LOG_READ = 4 << 20
MAX_LOG_WAIT = 30.0
LOG_WAIT_STEP = 0.02
CSV_CHUNK = 1 << 16


def _utf8_length(lead: int) -> int:
    return 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def whole_characters(data: bytes, limit: int) -> bytes:
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


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def read_log(path: Path, offset: int, limit: int, wait: float, finished: Callable[[], bool]) -> dict:
    """Up to ``limit`` bytes of the log from ``offset``. With nothing new there yet and
    the job not ``finished()``, waits up to ``wait`` seconds for some."""
    limit = max(1, min(limit, MAX_LOG_READ))
    deadline = time.monotonic() + max(0.0, min(wait, MAX_LOG_WAIT))
    while True:
        size = _size(path)
        done = finished()
        if size > offset or done or time.monotonic() >= deadline:
            break
        await asyncio.sleep(LOG_WAIT_STEP)
    data = b""
    if size > offset:
        with open(path, "rb") as f:
            f.seek(offset)
            data = whole_characters(f.read(limit + 3), limit)
    next_offset = offset + len(data)
    return {"text": data.decode("utf-8", "replace"), "offset": offset, "next_offset": next_offset,
            "size": size, "eof": done and next_offset >= size}


def new_metric_records(path: Path, offset: int, limit: int) -> tuple[list[dict], int, bool]:
    """The metric records written after ``offset``, whole lines of at most ``limit``
    bytes: (records, the offset after them, whether more remain)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(limit)
    except FileNotFoundError:
        return [], offset, False
    end = data.rfind(b"\n") + 1
    if end == 0:
        return [], offset, False
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
    return records, offset + end, len(data) == limit


def metrics_csv(points: Iterable[tuple], started_unix: float) -> Iterator[str]:
    """Every point (name, time, step, epoch, value) as CSV, in chunks."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["metric", "time", "elapsed", "step", "epoch", "value"])
    for name, t, step, epoch, value in points:
        shown = value if is_plottable(value) else json.dumps(value)
        writer.writerow([name, iso_from_unix(t), f"{t - started_unix:.6f}", step, epoch, shown])
        if buf.tell() > CSV_CHUNK:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def results_written(results: Path, since: float, root: Path) -> list[dict]:
    """The files under ``results`` modified at or after ``since`` (unix time)."""
    files = []
    if results.is_dir():
        for path in sorted(results.rglob("*")):
            if path.is_file():
                st = path.stat()
                if st.st_mtime >= since:
                    files.append({"path": relative_to_root(root, path), "size": st.st_size,
                                  "modified": iso_from_unix(st.st_mtime)})
    return files
