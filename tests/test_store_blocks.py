"""Block summaries: a chart of a long series reads minima and maxima of runs of points."""
import random
import sqlite3

from momo_jobs.server import store as store_module
from momo_jobs.server.store import Store


def job(job_id="b1"):
    return {"id": job_id, "name": "n", "script": "s.py", "resource": "cpu", "status": "running", "created_at": "t",
            "backend": "local", "interpreter": "python", "cwd": "/", "job_dir": "/tmp/x", "args": ["s.py"],
            "started_unix": 1000.0}


def points(n, seed=1):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        value = rng.random() if i % 97 else "note" if i % 2 else float("nan")
        out.append({"t": 1000.0 + i / 100, "metric": "loss", "value": value, "step": i, "epoch": i // 1000})
    out[31_337]["value"] = 50.0
    out[4_242]["value"] = -50.0
    return out


def test_downsampled_chart_keeps_extremes_whatever_the_batches(tmp_path):
    records = points(100_000)
    charts = []
    for name, sizes in (("one", [100_000]), ("odd", [1, 63, 64, 65, 4095, 4097, 3333])):
        store = Store(tmp_path / f"{name}.sqlite3")
        row = store.insert_job(job())
        lo = 0
        while lo < len(records):
            size = sizes[min(len(sizes) - 1, lo % len(sizes))] if name == "odd" else sizes[0]
            store.ingest_metrics(row, records[lo:lo + size], 0)
            lo += size
        (series,) = store.series_of(row)
        assert series["count"] == 100_000
        for x in ("step", "time", "epoch"):
            xs, ys, others = store.series_points(series["id"], x, 2000)
            assert len(xs) == len(ys) <= 2000 and xs == sorted(xs)
            assert max(ys) == 50.0 and min(ys) == -50.0
            assert all(o[1] == "note" for o in others) and len(others) > 0
        charts.append(store.series_points(series["id"], "step", 2000))
        assert 31_337 in charts[-1][0] and 4_242 in charts[-1][0]
        store.close()
    assert charts[0] == charts[1]


def test_a_version_1_store_gets_its_blocks(tmp_path, monkeypatch):
    path = tmp_path / "jobs.sqlite3"
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 1)
    old = Store(path)
    # As a version-1 momo-jobs wrote it (insert_job writes today's columns).
    old._db.execute("INSERT INTO jobs (id, name, script, resource, status, created_at, backend, interpreter, cwd, "
                    "job_dir) VALUES ('a1', 'n', 's.py', 'cpu', 'completed', 't', 'local', 'python', '/', '/tmp/x')")
    row = dict(old._db.execute("SELECT seq FROM jobs WHERE id = 'a1'").fetchone())
    old._db.executemany("INSERT INTO series (id, job_seq, name, count) VALUES (1, ?, 'loss', 5000)", [(row["seq"],)])
    old._db.executemany("INSERT INTO points (series_id, t, step, epoch, value, raw) VALUES (1, ?, ?, NULL, ?, NULL)",
                        [(1000.0 + i, i, float(i % 50)) for i in range(5000)])
    old.close()
    monkeypatch.undo()
    store = Store(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == store_module.SCHEMA_VERSION
    xs, ys, _ = store.series_points(1, "step", 100)
    assert len(xs) <= 100 and max(ys) == 49.0 and min(ys) == 0.0
