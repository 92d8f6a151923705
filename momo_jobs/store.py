"""SQLite store of jobs and their metric points (WAL; schema versioned by user_version)."""
from __future__ import annotations

import json
import math
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator

SCHEMA_VERSION = 1

_SCHEMA_V1 = """
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    script TEXT NOT NULL,
    resource TEXT NOT NULL,
    gpus INTEGER NOT NULL DEFAULT 0,
    gpu_ids TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    started_unix REAL,
    exit_code INTEGER,
    reason TEXT,
    backend TEXT NOT NULL,
    args TEXT NOT NULL DEFAULT '[]',
    env TEXT NOT NULL DEFAULT '{}',
    kernel TEXT,
    kernel_id TEXT,
    interpreter TEXT NOT NULL,
    cwd TEXT NOT NULL,
    job_dir TEXT NOT NULL,
    metrics_offset INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_status ON jobs(status, seq);
CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    job_seq INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    name TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (job_seq, name)
);
CREATE TABLE points (
    series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    t REAL NOT NULL,
    step INTEGER,
    epoch INTEGER,
    value REAL,
    raw TEXT
);
CREATE INDEX points_by_series ON points(series_id);
"""

# Migrations from version N to N+1 are appended here; index 0 creates version 1.
_MIGRATIONS = [_SCHEMA_V1]

JSON_FIELDS = ("gpu_ids", "args", "env")
X_COLUMNS = {"time": "p.t - j.started_unix", "step": "p.step", "epoch": "p.epoch"}


def _encode_value(value: Any) -> tuple[float | None, str | None]:
    """Numbers go to ``value``; NaN, Infinity and anything non-numeric to ``raw`` as JSON."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and (not isinstance(value, int) or abs(value) < 2**53):
            return number, None
        return None, json.dumps(value)
    return None, json.dumps(value)


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path} has schema {version}, newer than this momo-jobs ({SCHEMA_VERSION})")
            for target in range(version, SCHEMA_VERSION):
                self._db.executescript(f"BEGIN; {_MIGRATIONS[target]}; PRAGMA user_version={target + 1}; COMMIT;")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # jobs

    @staticmethod
    def _job(row: sqlite3.Row | None) -> dict | None:
        if row is None:
            return None
        job = dict(row)
        for key in JSON_FIELDS:
            job[key] = json.loads(job[key])
        return job

    def insert_job(self, job: dict) -> dict:
        row = {k: (json.dumps(v) if k in JSON_FIELDS else v) for k, v in job.items()}
        columns = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        with self._lock:
            self._db.execute(f"INSERT INTO jobs ({columns}) VALUES ({marks})", row)
        return self.get_job(job["id"])

    def get_job(self, job_id: str) -> dict | None:
        with self._lock:
            return self._job(self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())

    def update_job(self, job_id: str, **fields: Any) -> dict | None:
        row = {k: (json.dumps(v) if k in JSON_FIELDS else v) for k, v in fields.items()}
        sets = ", ".join(f"{k} = :{k}" for k in row)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {sets} WHERE id = :_id", {**row, "_id": job_id})
        return self.get_job(job_id)

    def list_jobs(self, statuses: Iterable[str] | None = None, limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
        where, params = "", []
        if statuses:
            statuses = list(statuses)
            where = f"WHERE status IN ({', '.join('?' * len(statuses))})"
            params = statuses
        with self._lock:
            total = self._db.execute(f"SELECT COUNT(*) FROM jobs {where}", params).fetchone()[0]
            rows = self._db.execute(f"SELECT * FROM jobs {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                                    [*params, limit, offset]).fetchall()
        return [self._job(r) for r in rows], total

    def jobs_in_order(self, statuses: Iterable[str]) -> list[dict]:
        statuses = list(statuses)
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM jobs WHERE status IN ({', '.join('?' * len(statuses))}) ORDER BY seq", statuses
            ).fetchall()
        return [self._job(r) for r in rows]

    def count_jobs_named(self, prefix: str) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM jobs WHERE name LIKE ? ESCAPE '\\'",
                                    (prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",)).fetchone()[0]

    def delete_job(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM points WHERE series_id IN (SELECT s.id FROM series s JOIN jobs j ON s.job_seq = j.seq WHERE j.id = ?)", (job_id,))
            self._db.execute("DELETE FROM series WHERE job_seq IN (SELECT seq FROM jobs WHERE id = ?)", (job_id,))
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            self._db.execute("COMMIT")

    # metrics

    def ingest_metrics(self, job: dict, records: list[dict], new_offset: int) -> None:
        """Adds parsed points and moves the job's read offset in one transaction,
        so a restart neither loses nor repeats a point."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                series_ids: dict[str, int] = {}
                counts: dict[int, int] = {}
                rows = []
                for rec in records:
                    name = rec["metric"]
                    sid = series_ids.get(name)
                    if sid is None:
                        self._db.execute("INSERT OR IGNORE INTO series (job_seq, name) VALUES (?, ?)", (job["seq"], name))
                        sid = self._db.execute("SELECT id FROM series WHERE job_seq = ? AND name = ?",
                                               (job["seq"], name)).fetchone()[0]
                        series_ids[name] = sid
                    value, raw = _encode_value(rec["value"])
                    rows.append((sid, rec["t"], rec.get("step"), rec.get("epoch"), value, raw))
                    counts[sid] = counts.get(sid, 0) + 1
                self._db.executemany("INSERT INTO points (series_id, t, step, epoch, value, raw) VALUES (?, ?, ?, ?, ?, ?)", rows)
                self._db.executemany("UPDATE series SET count = count + ? WHERE id = ?", [(n, s) for s, n in counts.items()])
                self._db.execute("UPDATE jobs SET metrics_offset = ? WHERE seq = ?", (new_offset, job["seq"]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def series_of(self, job: dict, names: list[str] | None = None) -> list[sqlite3.Row]:
        with self._lock:
            rows = self._db.execute("SELECT id, name, count FROM series WHERE job_seq = ? ORDER BY id", (job["seq"],)).fetchall()
        return [r for r in rows if not names or r["name"] in names]

    def series_points(self, series_id: int, x: str, max_points: int) -> tuple[list, list, list]:
        """(xs, ys, others) of a series: numeric points along ``x`` downsampled to at
        most about ``max_points`` (each bucket keeps its minimum and maximum), gaps as
        None, and the non-numeric points as (time, value)."""
        xcol = X_COLUMNS[x]
        base = f"FROM points p JOIN series s ON p.series_id = s.id JOIN jobs j ON s.job_seq = j.seq WHERE p.series_id = ? AND {xcol} IS NOT NULL"
        with self._lock:
            numeric_count, lo, hi = self._db.execute(
                f"SELECT COUNT(*), MIN({xcol}), MAX({xcol}) {base} AND (p.value IS NOT NULL OR p.raw IN ('NaN', 'Infinity', '-Infinity'))",
                (series_id,)).fetchone()
            others = self._db.execute(
                "SELECT p.t - j.started_unix, p.raw FROM points p JOIN series s ON p.series_id = s.id "
                "JOIN jobs j ON s.job_seq = j.seq WHERE p.series_id = ? AND p.value IS NULL "
                "AND p.raw NOT IN ('NaN', 'Infinity', '-Infinity') ORDER BY p.rowid LIMIT 1000",
                (series_id,)).fetchall()
            if numeric_count <= max_points:
                rows = self._db.execute(
                    f"SELECT {xcol}, p.value {base} AND (p.value IS NOT NULL OR p.raw IN ('NaN', 'Infinity', '-Infinity')) ORDER BY p.rowid",
                    (series_id,)).fetchall()
            else:
                rows = self._downsampled(base, xcol, series_id, lo, hi, max(1, max_points // 2))
        xs = [r[0] for r in rows]
        ys = [r[1] for r in rows]
        return xs, ys, [(r[0], json.loads(r[1])) for r in others]

    def _downsampled(self, base: str, xcol: str, series_id: int, lo: float, hi: float, buckets: int) -> list:
        width = (hi - lo) / buckets or 1.0
        bucket = f"MIN(CAST(({xcol} - {lo!r}) / {width!r} AS INTEGER), {buckets - 1})"
        picked: dict[tuple, tuple] = {}
        for agg in ("MIN", "MAX"):
            # SQLite gives the bare column x from the row holding the MIN/MAX.
            for b, xv, yv in self._db.execute(
                f"SELECT {bucket} AS b, {xcol}, {agg}(p.value) {base} AND p.value IS NOT NULL GROUP BY b",
                (series_id,)):
                picked[(xv, yv)] = (xv, yv)
        return sorted(picked.values(), key=lambda p: p[0])

    def all_points(self, job: dict) -> Iterator[tuple]:
        """Every point of a job in the order printed: (name, time, step, epoch, value)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT s.name, p.t, p.step, p.epoch, p.value, p.raw FROM points p JOIN series s ON p.series_id = s.id "
                "WHERE s.job_seq = ? ORDER BY p.rowid", (job["seq"],)).fetchall()
        for name, t, step, epoch, value, raw in rows:
            yield name, t, step, epoch, (value if raw is None else json.loads(raw))
