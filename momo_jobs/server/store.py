"""SQLite store of jobs and their metric points (WAL; schema versioned by user_version)."""
from __future__ import annotations

import json
import math
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple

from ..job.protocol import is_plottable, param_text
from ..job.telemetry import peaks
from ..vocabulary import STATUSES, can_move

SCHEMA_VERSION = 6

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

# Version 2: per-series summaries of consecutive points (min and max, with where
# they lie on each x-axis), so that a chart of millions of points reads a few
# thousand rows; and an index of the non-numeric points, listed beside a chart.
_SCHEMA_V2 = """
CREATE TABLE blocks (
    series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    n INTEGER NOT NULL,
    min_v REAL, min_t REAL, min_step INTEGER, min_epoch INTEGER,
    max_v REAL, max_t REAL, max_step INTEGER, max_epoch INTEGER,
    PRIMARY KEY (series_id, level, idx)
) WITHOUT ROWID;
CREATE INDEX points_nonnumeric ON points(series_id) WHERE value IS NULL;
"""

# Version 3: the snapshot's script file in a column of its own; before, it was the
# first of a job's args.
_SCHEMA_V3 = """
ALTER TABLE jobs ADD COLUMN snapshot_script TEXT;
"""

# Version 4: each series' summary (its last, least and greatest numeric value, each
# with its step), kept as points arrive, so the runs table never reads points; the
# job's summaries together as the runs table shows them (JSON text, so a page of a
# thousand runs is read and answered without decoding ten thousand summaries); and
# the parameters a job printed ({"param": …}).
_SCHEMA_SUMMARIES = """
ALTER TABLE jobs ADD COLUMN run_metrics TEXT NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN run_peak TEXT NOT NULL DEFAULT '{"cpu_percent": null, "rss_bytes": null, "gpu_memory_bytes": null}';
ALTER TABLE series ADD COLUMN last_v REAL;
ALTER TABLE series ADD COLUMN last_step INTEGER;
ALTER TABLE series ADD COLUMN min_v REAL;
ALTER TABLE series ADD COLUMN min_step INTEGER;
ALTER TABLE series ADD COLUMN max_v REAL;
ALTER TABLE series ADD COLUMN max_step INTEGER;
CREATE TABLE params (
    job_seq INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (job_seq, name)
) WITHOUT ROWID;
"""

# Version 5, policies: a job's time limit (``deadline_unix``: when the running attempt's limit
# falls; ``time_limit_stage``: 1 once warned, 2 once stopped by the server for it),
# its retries and attempts, its place in the queue (``queue_seq``: a retried attempt
# goes to the back), and its sweep, whose ``max_parallel`` the scheduler keeps.
# Points carry the attempt that printed them.
_SCHEMA_POLICIES = """
ALTER TABLE jobs ADD COLUMN time_limit REAL;
ALTER TABLE jobs ADD COLUMN time_limit_signal TEXT;
ALTER TABLE jobs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN retry_on_time_limit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN attempts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN sweep_id TEXT;
ALTER TABLE jobs ADD COLUMN deadline_unix REAL;
ALTER TABLE jobs ADD COLUMN time_limit_stage INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN queue_seq INTEGER;
UPDATE jobs SET queue_seq = seq;
CREATE INDEX jobs_by_queue ON jobs(status, queue_seq);
CREATE INDEX jobs_by_sweep ON jobs(sweep_id, seq) WHERE sweep_id IS NOT NULL;
CREATE TABLE sweeps (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    grid TEXT NOT NULL,
    max_parallel INTEGER,
    created_at TEXT NOT NULL
);
ALTER TABLE points ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
CREATE INDEX points_by_attempt ON points(series_id, attempt) WHERE attempt > 1;
"""

# Version 6: blocks twice the size of the level below (they were 32 times), so that a
# chart reads one level's rows as they are instead of grouping three times as many.
_SCHEMA_HALVING_BLOCKS = """
DELETE FROM blocks;
"""

# Migrations from version N to N+1 are appended here; index 0 creates version 1.
# Each is SQL, then an optional step in Python, in the same transaction.
# (Version 2's blocks are filled by version 6, which builds every store's blocks anew.)
_MIGRATIONS = [(_SCHEMA_V1, None), (_SCHEMA_V2, None), (_SCHEMA_V3, "_split_script_from_args"),
               (_SCHEMA_SUMMARIES, "_backfill_summaries"), (_SCHEMA_POLICIES, None),
               (_SCHEMA_HALVING_BLOCKS, "_backfill_blocks")]

# Points per block at each level: level k summarises BLOCK * 2 ** k consecutive points
# of a series (in the order printed). Halving from level to level, a chart of at most
# B blocks reads between B / 2 and B rows of one level and nothing more; a level is
# kept only once the series has more than one block of the level below.
BLOCK = 32
_BLOCK_COLUMNS = "n, min_v, min_t, min_step, min_epoch, max_v, max_t, max_step, max_epoch"
SUMMARY_COLUMNS = ("last_v", "last_step", "min_v", "min_step", "max_v", "max_step")
# A series' summary as the runs table names it (DESIGN §3 "Run": metrics).
SUMMARY_KEYS = ("count", "last", "last_step", "min", "min_step", "max", "max_step")

JSON_FIELDS = ("gpu_ids", "args", "env", "attempts")


class ChartText(NamedTuple):
    """A series' chart: its x and its y values as JSON arrays, and its non-numeric points."""
    x: str
    y: str
    others: list[tuple]


class StatusMoveRefused(Exception):
    """A job was asked to move to a status it can't reach from its own (e.g. out of a final one)."""

    def __init__(self, job_id: str, old: str, new: str):
        super().__init__(f"job {job_id} is {old}: it can't become {new}")
        self.job_id, self.old, self.new = job_id, old, new


X_COLUMNS = {"time": "p.t - j.started_unix", "step": "p.step", "epoch": "p.epoch"}


def _encode_value(value: Any) -> tuple[float | None, str | None]:
    """Numbers go to ``value``; NaN, Infinity and anything non-numeric to ``raw`` as JSON."""
    if is_plottable(value):
        number = float(value)
        if math.isfinite(number) and (not isinstance(value, int) or abs(value) < 2**53):
            return number, None
    return None, json.dumps(value)


def _value(point: tuple) -> float:
    return point[0]


def summarize(summary: tuple, points: list[tuple]) -> tuple:
    """A series' summary (last_v, last_step, min_v, min_step, max_v, max_step), all None
    before its first number, moved on by ``points`` ((value, t, step, epoch), value None
    when not a plain number) in the order printed: the first least and the first
    greatest value keep their place."""
    last_v, last_step, min_v, min_step, max_v, max_step = summary
    for value, _t, step, _epoch in points:
        if value is None:
            continue
        last_v, last_step = value, step
        if min_v is None or value < min_v:
            min_v, min_step = value, step
        if max_v is None or value > max_v:
            max_v, max_step = value, step
    return last_v, last_step, min_v, min_step, max_v, max_step


def _merge_block(a: tuple | None, b: tuple) -> tuple:
    """Two block summaries (n, min point, max point) as one; ``a`` comes first and wins ties."""
    if a is None:
        return b
    lo = a[1:5] if a[1] <= b[1] else b[1:5]
    hi = a[5:9] if a[5] >= b[5] else b[5:9]
    return (a[0] + b[0], *lo, *hi)


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
                sql, step = _MIGRATIONS[target]
                self._db.executescript(f"BEGIN; {sql}")
                try:
                    if step:
                        getattr(self, step)()
                    self._db.execute(f"PRAGMA user_version={target + 1}")
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise

    def _backfill_blocks(self) -> None:
        for (sid,) in self._db.execute("SELECT id FROM series").fetchall():
            rows = self._db.execute("SELECT value, t, step, epoch FROM points WHERE series_id = ? ORDER BY rowid",
                                    (sid,)).fetchall()
            self._add_blocks(sid, 0, [tuple(r) for r in rows])

    def _backfill_summaries(self) -> None:
        for (sid,) in self._db.execute("SELECT id FROM series").fetchall():
            rows = self._db.execute("SELECT value, t, step, epoch FROM points WHERE series_id = ? AND value IS NOT NULL "
                                    "ORDER BY rowid", (sid,))
            self._put_summary(sid, summarize((None,) * len(SUMMARY_COLUMNS), [tuple(r) for r in rows]))
        for (seq,) in self._db.execute("SELECT DISTINCT job_seq FROM series").fetchall():
            self._put_run_metrics(seq)

    def _put_run_metrics(self, seq: int) -> None:
        """The job's series summaries as one JSON object, {name: {count, last, …}}, and its telemetry peaks."""
        rows = self._db.execute(f"SELECT name, count, {', '.join(SUMMARY_COLUMNS)} FROM series WHERE job_seq = ? "
                                "ORDER BY id", (seq,)).fetchall()
        metrics = {row[0]: dict(zip(SUMMARY_KEYS, tuple(row)[1:])) for row in rows}
        self._db.execute("UPDATE jobs SET run_metrics = ?, run_peak = ? WHERE seq = ?",
                         (json.dumps(metrics, allow_nan=False), json.dumps(peaks(metrics), allow_nan=False), seq))

    def _put_summary(self, sid: int, summary: tuple) -> None:
        self._db.execute(f"UPDATE series SET {', '.join(f'{c} = ?' for c in SUMMARY_COLUMNS)} WHERE id = ?",
                         (*summary, sid))

    def _split_script_from_args(self) -> None:
        for seq, args in self._db.execute("SELECT seq, args FROM jobs").fetchall():
            script, *rest = json.loads(args) or [None]
            self._db.execute("UPDATE jobs SET snapshot_script = ?, args = ? WHERE seq = ?",
                             (script, json.dumps(rest), seq))

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

    def _next_queue_seq(self) -> int:
        """The place at the back of the queue (after every job queued so far)."""
        return self._db.execute("SELECT COALESCE(MAX(queue_seq), 0) + 1 FROM jobs").fetchone()[0]

    def insert_job(self, job: dict) -> dict:
        row = {k: (json.dumps(v) if k in JSON_FIELDS else v) for k, v in job.items()}
        with self._lock:
            row["queue_seq"] = self._next_queue_seq()
            columns = ", ".join(row)
            marks = ", ".join(f":{k}" for k in row)
            self._db.execute(f"INSERT INTO jobs ({columns}) VALUES ({marks})", row)
        return self.get_job(job["id"])

    def requeue_job(self, job_id: str, **fields: Any) -> dict | None:
        """Queues a running job again at the back of the queue (its attempt failed and
        it has retries left), with ``fields``, in one update; StatusMoveRefused if it
        is no longer running (it was stopped, or ended meanwhile)."""
        with self._lock:
            return self.update_job(job_id, status="queued", queue_seq=self._next_queue_seq(), **fields)

    def get_job(self, job_id: str) -> dict | None:
        with self._lock:
            return self._job(self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())

    def update_job(self, job_id: str, **fields: Any) -> dict | None:
        """Sets fields of a job. A new ``status`` must be a move the vocabulary allows
        from the job's current one (nothing leaves a final status): else StatusMoveRefused,
        and nothing changes."""
        row = {k: (json.dumps(v) if k in JSON_FIELDS else v) for k, v in fields.items()}
        sets = ", ".join(f"{k} = :{k}" for k in row)
        where = "id = :_id"
        new = fields.get("status")
        if new is not None:
            where += f" AND status IN ({', '.join(repr(s) for s in STATUSES if can_move(s, new))})"
        with self._lock:
            changed = self._db.execute(f"UPDATE jobs SET {sets} WHERE {where}", {**row, "_id": job_id}).rowcount
            job = self.get_job(job_id)
        if not changed and job is not None:
            raise StatusMoveRefused(job_id, job["status"], new)
        return job

    def _page_of_jobs(self, columns: str, limit: int, offset: int, ids: list[str] | None = None,
                      statuses: Iterable[str] | None = None, sweep_id: str | None = None) -> tuple[list, int]:
        """A page of jobs, newest first, those of ``ids`` with one of ``statuses`` in
        ``sweep_id`` (each when given), and how many there are in all."""
        conditions, params = [], []
        for column, values in (("id", ids), ("status", list(statuses or []) or None)):
            if values is not None:
                conditions.append(f"{column} IN ({', '.join('?' * len(values))})")
                params += values
        if sweep_id is not None:
            conditions.append("sweep_id = ?")
            params.append(sweep_id)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._lock:
            total = self._db.execute(f"SELECT COUNT(*) FROM jobs {where}", params).fetchone()[0]
            rows = self._db.execute(f"SELECT {columns} FROM jobs {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                                    [*params, limit, offset]).fetchall()
        return rows, total

    def list_jobs(self, statuses: Iterable[str] | None = None, limit: int = 100, offset: int = 0,
                  sweep_id: str | None = None) -> tuple[list[dict], int]:
        rows, total = self._page_of_jobs("*", limit, offset, statuses=statuses, sweep_id=sweep_id)
        return [self._job(r) for r in rows], total

    def jobs_in_order(self, statuses: Iterable[str]) -> list[dict]:
        statuses = list(statuses)
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM jobs WHERE status IN ({', '.join('?' * len(statuses))}) ORDER BY queue_seq", statuses
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
            self._db.execute("DELETE FROM params WHERE job_seq IN (SELECT seq FROM jobs WHERE id = ?)", (job_id,))
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            self._db.execute("COMMIT")

    # sweeps

    def insert_sweep(self, sweep_id: str, name: str, grid: dict, max_parallel: int | None, created_at: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO sweeps (id, name, grid, max_parallel, created_at) VALUES (?, ?, ?, ?, ?)",
                             (sweep_id, name, json.dumps(grid), max_parallel, created_at))

    def get_sweep(self, sweep_id: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
        if row is None:
            return None
        return {**dict(row), "grid": json.loads(row["grid"])}

    def sweep_limits(self, sweep_ids: Iterable[str]) -> dict[str, int]:
        """max_parallel of each of these sweeps that has one."""
        ids = sorted({s for s in sweep_ids if s})
        if not ids:
            return {}
        with self._lock:
            rows = self._db.execute(f"SELECT id, max_parallel FROM sweeps WHERE id IN ({', '.join('?' * len(ids))}) "
                                    "AND max_parallel IS NOT NULL", ids).fetchall()
        return {r[0]: r[1] for r in rows}

    def sweep_jobs(self, sweep_id: str) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE sweep_id = ? ORDER BY seq", (sweep_id,)).fetchall()
        return [self._job(r) for r in rows]

    # metrics

    def ingest_metrics(self, job: dict, records: list[dict], new_offset: int) -> None:
        """Adds parsed points of the job's current attempt (and printed parameters:
        records with ``param``, the last of a name wins), moves each series' summary on,
        and moves the job's read offset, in one transaction, so a restart neither loses
        nor repeats a point."""
        attempt = job.get("attempt") or 1
        with self._lock:
            self._db.execute("BEGIN")
            try:
                series_ids: dict[str, int] = {}
                before: dict[int, int] = {}
                summaries: dict[int, tuple] = {}
                by_series: dict[int, list] = {}
                rows, params = [], {}
                for rec in records:
                    name = rec.get("metric")
                    if name is None:  # a parameter line (anything else there is no record of ours)
                        if isinstance(rec.get("param"), str):
                            params[rec["param"]] = param_text(rec.get("value"))
                        continue
                    sid = series_ids.get(name)
                    if sid is None:
                        self._db.execute("INSERT OR IGNORE INTO series (job_seq, name) VALUES (?, ?)", (job["seq"], name))
                        sid, count, *summary = self._db.execute(
                            f"SELECT id, count, {', '.join(SUMMARY_COLUMNS)} FROM series WHERE job_seq = ? AND name = ?",
                            (job["seq"], name)).fetchone()
                        series_ids[name] = sid
                        before[sid] = count
                        summaries[sid] = tuple(summary)
                        by_series[sid] = []
                    value, raw = _encode_value(rec["value"])
                    t, step, epoch = rec["t"], rec.get("step"), rec.get("epoch")
                    rows.append((sid, t, step, epoch, value, raw, attempt))
                    by_series[sid].append((value, t, step, epoch))
                self._db.executemany("INSERT INTO points (series_id, t, step, epoch, value, raw, attempt) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                self._db.executemany("UPDATE series SET count = count + ? WHERE id = ?",
                                     [(len(points), sid) for sid, points in by_series.items()])
                for sid, points in by_series.items():
                    self._add_blocks(sid, before[sid], points)
                    self._put_summary(sid, summarize(summaries[sid], points))
                if by_series:
                    self._put_run_metrics(job["seq"])
                self._db.executemany("INSERT OR REPLACE INTO params (job_seq, name, value) VALUES (?, ?, ?)",
                                     [(job["seq"], name, value) for name, value in params.items()])
                self._db.execute("UPDATE jobs SET metrics_offset = ? WHERE seq = ?", (new_offset, job["seq"]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _add_blocks(self, sid: int, start: int, points: list[tuple]) -> None:
        """Folds ``points`` ((value, t, step, epoch), value None when not a plain
        number), the series' points from ordinal ``start`` on, into its blocks."""
        end = start + len(points)
        touched = self._fold(sid, 0, start, points)
        level = 1
        while end > BLOCK << (level - 1):
            parents = {idx // 2 for idx in touched}
            if start <= BLOCK << (level - 1):
                # The level starts with these points: its first block also holds the
                # block below that came before them, which these points may not touch.
                parents.add(0)
            touched = []
            for idx in sorted(parents):
                children = self._db.execute(
                    f"SELECT {_BLOCK_COLUMNS} FROM blocks WHERE series_id = ? AND level = ? AND idx BETWEEN ? AND ? "
                    "ORDER BY idx", (sid, level - 1, idx * 2, idx * 2 + 1)).fetchall()
                merged = None
                for child in children:
                    merged = _merge_block(merged, tuple(child))
                if merged is not None:
                    self._put_block(sid, level, idx, merged)
                    touched.append(idx)
            level += 1

    def _fold(self, sid: int, level: int, start: int, points: list[tuple]) -> list[int]:
        touched = []
        j, ordinal = 0, start
        while j < len(points):
            idx = ordinal // BLOCK
            take = BLOCK - ordinal % BLOCK
            numeric = [p for p in points[j:j + take] if p[0] is not None]
            j += take
            ordinal += take
            if not numeric:
                continue
            lo = min(numeric, key=_value)
            hi = max(numeric, key=_value)
            block = (len(numeric), *lo, *hi)
            if idx == start // BLOCK and start % BLOCK:
                old = self._db.execute(f"SELECT {_BLOCK_COLUMNS} FROM blocks WHERE series_id = ? AND level = ? AND idx = ?",
                                       (sid, level, idx)).fetchone()
                block = _merge_block(tuple(old) if old else None, block)
            self._put_block(sid, level, idx, block)
            touched.append(idx)
        return touched

    def _put_block(self, sid: int, level: int, idx: int, block: tuple) -> None:
        self._db.execute(f"INSERT OR REPLACE INTO blocks (series_id, level, idx, {_BLOCK_COLUMNS}) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (sid, level, idx, *block))

    def series_of(self, job: dict, names: list[str] | None = None) -> list[sqlite3.Row]:
        with self._lock:
            rows = self._db.execute("SELECT id, name, count FROM series WHERE job_seq = ? ORDER BY id", (job["seq"],)).fetchall()
        return [r for r in rows if not names or r["name"] in names]

    def series_points(self, series_id: int, x: str, max_points: int) -> ChartText:
        """A series as a chart draws it: its numeric points along ``x``, downsampled to at
        most about ``max_points`` (each block keeps its minimum and maximum), gaps as
        null; and its non-numeric points as (time, value)."""
        with self._lock:
            others = self._db.execute(
                "SELECT p.t - j.started_unix, p.raw FROM points p INDEXED BY points_nonnumeric JOIN series s ON p.series_id = s.id "
                "JOIN jobs j ON s.job_seq = j.seq WHERE p.series_id = ? AND p.value IS NULL "
                "AND p.raw NOT IN ('NaN', 'Infinity', '-Infinity') ORDER BY p.rowid LIMIT 1000",
                (series_id,)).fetchall()
            others = [(r[0], json.loads(r[1])) for r in others]
            count, started = self._db.execute(
                "SELECT s.count, j.started_unix FROM series s JOIN jobs j ON s.job_seq = j.seq WHERE s.id = ?",
                (series_id,)).fetchone()
            if count > max_points:
                # Too many to read: one level's blocks (at most max_points / 2 of them), the
                # minimum and the maximum of each, in order along x.
                level = 0
                while -(-count // (BLOCK << level)) > max(1, max_points // 2):
                    level += 1
                at = {"time": "{}_t - ?2", "step": "{}_step", "epoch": "{}_epoch"}[x]
                picked = (f"SELECT {at.format('min')} AS x, min_v AS y FROM blocks WHERE series_id = ?1 AND level = ?3 "
                          f"UNION SELECT {at.format('max')}, max_v FROM blocks WHERE series_id = ?1 AND level = ?3 "
                          "ORDER BY 1, 2")
                params = (series_id, started, level)
            else:
                # At most max_points points: all of them, NaN and Infinity as gaps.
                picked = (f"SELECT {X_COLUMNS[x]} AS x, p.value AS y FROM points p JOIN series s ON p.series_id = s.id "
                          "JOIN jobs j ON s.job_seq = j.seq WHERE p.series_id = ?1 AND "
                          "(p.value IS NOT NULL OR p.raw IN ('NaN', 'Infinity', '-Infinity')) ORDER BY p.rowid")
                params = (series_id,)
            # SQLite writes the arrays itself (writing the numbers' JSON in Python took
            # longer than reading them), each number as SQLite's text of it: 15 significant
            # digits, as a chart needs; the exact values are in the CSV and the summaries.
            # group_concat takes the rows in the subquery's order (SQLite keeps a FROM
            # subquery's ORDER BY under an aggregate other than count, min and max).
            xs, ys = self._db.execute(
                "SELECT '[' || COALESCE(group_concat(x, ','), '') || ']', "
                "'[' || COALESCE(group_concat(COALESCE(y, 'null'), ','), '') || ']' "
                f"FROM ({picked}) WHERE x IS NOT NULL", params).fetchone()
        return ChartText(xs, ys, others)

    def attempt_starts(self, series_id: int, x: str, attempts: int) -> list[dict]:
        """Where each later attempt's points of a series begin: ``{"attempt", "x"}``
        (along ``x``) for attempts 2..``attempts`` that printed any."""
        xcol = X_COLUMNS[x]
        starts = []
        with self._lock:
            for attempt in range(2, attempts + 1):
                row = self._db.execute(
                    f"SELECT {xcol} FROM points p INDEXED BY points_by_attempt JOIN series s ON p.series_id = s.id "
                    f"JOIN jobs j ON s.job_seq = j.seq WHERE p.series_id = ? AND p.attempt = ? AND p.attempt > 1 "
                    f"AND {xcol} IS NOT NULL ORDER BY p.rowid LIMIT 1", (series_id, attempt)).fetchone()
                if row is not None:
                    starts.append({"attempt": attempt, "x": row[0]})
        return starts

    def all_points(self, job: dict) -> Iterator[tuple]:
        """Every point of a job in the order printed: (name, time, step, epoch, value)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT s.name, p.t, p.step, p.epoch, p.value, p.raw FROM points p JOIN series s ON p.series_id = s.id "
                "WHERE s.job_seq = ? ORDER BY p.rowid", (job["seq"],)).fetchall()
        for name, t, step, epoch, value, raw in rows:
            yield name, t, step, epoch, (value if raw is None else json.loads(raw))

    # the runs table

    def list_runs(self, ids: list[str] | None = None, statuses: Iterable[str] | None = None, sweep: str | None = None,
                  limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
        """Jobs as rows of the runs table, newest first: those of ``ids``, or those with
        one of ``statuses`` in ``sweep``."""
        rows, total = self._page_of_jobs(
            "seq, id, name, status, started_at, finished_at, started_unix, args, run_metrics, run_peak, sweep_id",
            limit, offset, ids=ids, statuses=statuses, sweep_id=sweep)
        return [dict(r) for r in rows], total

    def params_of(self, seqs: list[int]) -> dict[int, dict[str, str]]:
        """The parameters each job printed."""
        found: dict[int, dict] = {seq: {} for seq in seqs}
        if not seqs:
            return found
        with self._lock:
            rows = self._db.execute(f"SELECT job_seq, name, value FROM params WHERE job_seq IN ({', '.join('?' * len(seqs))})",
                                    seqs).fetchall()
        for seq, name, value in rows:
            found[seq][name] = value
        return found
