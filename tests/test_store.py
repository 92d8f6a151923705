"""The SQLite store: WAL, a versioned schema, and points that survive reopening."""
import sqlite3

import pytest

from momo_jobs.server.store import SCHEMA_VERSION, Store


def job(job_id="a1"):
    return {"id": job_id, "name": "n", "script": "s.py", "resource": "cpu", "status": "queued", "created_at": "t",
            "backend": "local", "interpreter": "python", "cwd": "/", "job_dir": "/tmp/x", "args": ["s.py"]}


def test_schema_is_versioned_and_wal(tmp_path):
    Store(tmp_path / "jobs.sqlite3").close()
    db = sqlite3.connect(tmp_path / "jobs.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused_not_overwritten(tmp_path):
    Store(tmp_path / "jobs.sqlite3").close()
    db = sqlite3.connect(tmp_path / "jobs.sqlite3")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store(tmp_path / "jobs.sqlite3")


def test_points_and_offset_commit_together(tmp_path):
    store = Store(tmp_path / "jobs.sqlite3")
    row = store.insert_job(job())
    store.ingest_metrics(row, [{"t": 1.0, "metric": "loss", "value": 0.5, "step": 1, "epoch": None},
                               {"t": 2.0, "metric": "loss", "value": float("nan"), "step": 2, "epoch": None},
                               {"t": 3.0, "metric": "tag", "value": ["a", 1], "step": None, "epoch": None}], 123)
    store.close()
    store = Store(tmp_path / "jobs.sqlite3")
    row = store.get_job("a1")
    assert row["metrics_offset"] == 123 and row["args"] == ["s.py"]
    points = list(store.all_points(row))
    assert points[0] == ("loss", 1.0, 1, None, 0.5) and points[2] == ("tag", 3.0, None, None, ["a", 1])
    assert points[1][4] != points[1][4]  # NaN kept as NaN
    with pytest.raises(KeyError):
        store.ingest_metrics(row, [{"t": 4.0, "metric": "loss"}], 999)  # a bad batch changes nothing
    assert store.get_job("a1")["metrics_offset"] == 123 and len(list(store.all_points(row))) == 3
