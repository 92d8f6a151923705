"""Block summaries: a chart of a long series reads minima and maxima of runs of points."""
import json
import random
import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

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


def chart(store, series_id, x, max_points):
    """(xs, ys, others) of a series' chart, its JSON arrays read."""
    text = store.series_points(series_id, x, max_points)
    return json.loads(text.x), json.loads(text.y), text.others


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
            xs, ys, others = chart(store, series["id"], x, 2000)
            assert len(xs) == len(ys) <= 2000 and xs == sorted(xs)
            assert max(ys) == 50.0 and min(ys) == -50.0
            assert all(o[1] == "note" for o in others) and len(others) > 0
        charts.append(chart(store, series["id"], "step", 2000))
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
    xs, ys, _ = chart(store, 1, "step", 100)
    assert len(xs) <= 100 and max(ys) == 49.0 and min(ys) == 0.0


def blocks_from_points(values, level):
    """Each block of ``level`` as the points give it: (idx, n, min value, max value)."""
    size = store_module.BLOCK << level
    out = []
    for idx in range(0, -(-len(values) // size)):
        numeric = [v for v in values[idx * size:(idx + 1) * size] if v is not None]
        if numeric:
            out.append((idx, len(numeric), min(numeric), max(numeric)))
    return out


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3000), cuts=st.lists(st.integers(1, 700), max_size=6), seed=st.integers(0, 10**6))
def test_every_level_of_blocks_is_what_its_points_give(tmp_path_factory, n, cuts, seed):
    rng = random.Random(seed)
    values = [None if rng.random() < 0.05 else rng.choice([rng.random(), float(rng.randint(-3, 3))]) for _ in range(n)]
    records = [{"t": 1000.0 + i, "metric": "m", "value": "text" if v is None else v, "step": i, "epoch": None}
               for i, v in enumerate(values)]
    store = Store(tmp_path_factory.mktemp("levels") / "jobs.sqlite3")
    row = store.insert_job(job())
    lo = 0
    for size in cuts + [n]:
        store.ingest_metrics(row, records[lo:lo + size], 0)
        lo += size
    (series,) = store.series_of(row)
    stored = store._db.execute("SELECT level, idx, n, min_v, max_v FROM blocks WHERE series_id = ? ORDER BY level, idx",
                               (series["id"],)).fetchall()
    levels = sorted({r[0] for r in stored})
    # A level is kept once the series has more than one block of the level below (and a number).
    numeric = any(v is not None for v in values)
    assert levels == [lv for lv in range(12) if numeric and (lv == 0 or n > store_module.BLOCK << (lv - 1))]
    for level in levels:
        assert [tuple(r)[1:] for r in stored if r[0] == level] == blocks_from_points(values, level)
    store.close()


def test_a_series_that_turns_nan_keeps_its_numbers_on_every_level(tmp_path):
    # A loss that diverges: 1,000 numbers, then NaN, batch after batch, for 20,000 points.
    store = Store(tmp_path / "jobs.sqlite3")
    row = store.insert_job(job())
    values = [float(i % 100) for i in range(1000)] + [None] * 19_000
    for lo in range(0, len(values), 500):
        store.ingest_metrics(row, [{"t": 1000.0 + i, "metric": "loss", "step": i, "epoch": None,
                                    "value": float("nan") if values[i] is None else values[i]}
                                   for i in range(lo, lo + 500)], 0)
    (series,) = store.series_of(row)
    for level in range(11):
        stored = store._db.execute("SELECT idx, n, min_v, max_v FROM blocks WHERE series_id = ? AND level = ? "
                                   "ORDER BY idx", (series["id"], level)).fetchall()
        assert [tuple(r) for r in stored] == blocks_from_points(values, level), level
    for max_points in (2, 10, 100):
        xs, ys, _ = chart(store, series["id"], "step", max_points)
        assert min(ys) == 0.0 and max(ys) == 99.0 and max(xs) < 1000, max_points


def test_a_long_series_chart_uses_most_of_the_points_asked_for(tmp_path):
    store = Store(tmp_path / "jobs.sqlite3")
    row = store.insert_job(job())
    rng = random.Random(7)
    for lo in range(0, 300_000, 50_000):
        store.ingest_metrics(row, [{"t": 1000.0 + i / 10, "metric": "m", "value": rng.random(), "step": i, "epoch": None}
                                   for i in range(lo, lo + 50_000)], 0)
    (series,) = store.series_of(row)
    for max_points in (2, 100, 999, 2000, 5000):
        xs, ys, _ = chart(store, series["id"], "step", max_points)
        assert max_points // 4 < len(xs) == len(ys) <= max_points
        assert xs == sorted(xs)
        if max_points >= 100:  # the first and the last blocks are among those drawn
            assert xs[0] < 300_000 * 2 / max_points and xs[-1] > 300_000 * (1 - 2 / max_points)


def test_a_short_series_chart_has_every_point_and_gaps_as_null(tmp_path):
    store = Store(tmp_path / "jobs.sqlite3")
    row = store.insert_job(job())
    store.ingest_metrics(row, [{"t": 1000.5, "metric": "m", "value": 0.1 + 0.2, "step": 1, "epoch": None},
                               {"t": 1001.0, "metric": "m", "value": float("nan"), "step": 2, "epoch": None},
                               {"t": 1001.5, "metric": "m", "value": "a note", "step": 3, "epoch": None},
                               {"t": 1002.0, "metric": "m", "value": 1e-300, "step": 4, "epoch": None},
                               {"t": 1002.5, "metric": "m", "value": -2.5e20, "step": None, "epoch": None}], 0)
    (series,) = store.series_of(row)
    assert chart(store, series["id"], "step", 100) == ([1, 2, 4], [0.3, None, 1e-300], [(1.5, "a note")])
    assert chart(store, series["id"], "time", 100)[:2] == ([0.5, 1.0, 2.0, 2.5], [0.3, None, 1e-300, -2.5e20])
    assert chart(store, series["id"], "epoch", 100)[:2] == ([], [])


def test_a_version_5_store_gets_halving_blocks(tmp_path, monkeypatch):
    path = tmp_path / "jobs.sqlite3"
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 5)
    old = Store(path)
    row = old.insert_job(job())
    old.ingest_metrics(row, [{"t": 1000.0 + i, "metric": "m", "value": float(i), "step": i, "epoch": None}
                             for i in range(5000)], 0)
    # As version 5 kept them: 32 times larger from level to level.
    old._db.execute("DELETE FROM blocks WHERE level > 0")
    old._db.execute("INSERT INTO blocks SELECT series_id, 1, idx / 32, SUM(n), MIN(min_v), 0, 0, 0, MAX(max_v), 0, 0, 0 "
                    "FROM blocks WHERE level = 0 GROUP BY idx / 32")
    old.close()
    monkeypatch.undo()
    store = Store(path)
    (series,) = store.series_of(row)
    assert store._db.execute("SELECT MAX(level) FROM blocks").fetchone()[0] == 8
    assert tuple(store._db.execute("SELECT n, max_v FROM blocks WHERE level = 1 AND idx = 0").fetchone()) == (64, 63.0)
    xs, ys, _ = chart(store, series["id"], "step", 200)
    assert 50 < len(xs) <= 200 and min(ys) == 0.0 and max(ys) == 4999.0
