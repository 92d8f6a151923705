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


def test_a_final_job_never_moves_again(tmp_path):
    from momo_jobs.server.store import StatusMoveRefused

    store = Store(tmp_path / "jobs.sqlite3")
    store.insert_job(job())
    with pytest.raises(StatusMoveRefused):
        store.update_job("a1", status="stopping")  # only a running job is stopping
    assert store.update_job("a1", status="running")["status"] == "running"
    assert store.update_job("a1", status="completed", exit_code=0)["status"] == "completed"
    for later in ("running", "failed", "stopped", "queued"):
        with pytest.raises(StatusMoveRefused, match="completed"):
            store.update_job("a1", status=later, exit_code=1)
    row = store.get_job("a1")
    assert row["status"] == "completed" and row["exit_code"] == 0  # a refused move changes nothing
    assert store.update_job("a1", reason="noted")["reason"] == "noted"  # other fields still change


def test_a_failed_attempt_goes_back_to_the_queue_at_its_back(tmp_path):
    from momo_jobs.server.store import StatusMoveRefused

    store = Store(tmp_path / "jobs.sqlite3")
    for job_id in ("a1", "b2", "c3"):
        store.insert_job(job(job_id))
    store.update_job("a1", status="running")
    assert store.requeue_job("a1", attempt=2)["status"] == "queued"  # running → queued: a retry
    assert [j["id"] for j in store.jobs_in_order(["queued"])] == ["b2", "c3", "a1"]
    store.insert_job(job("d4"))
    assert [j["id"] for j in store.jobs_in_order(["queued"])] == ["b2", "c3", "a1", "d4"]
    store.update_job("b2", status="running")
    store.update_job("b2", status="stopping")
    with pytest.raises(StatusMoveRefused):
        store.requeue_job("b2", attempt=2)  # a person's stop never retries
    store.update_job("b2", status="stopped")
    with pytest.raises(StatusMoveRefused):
        store.requeue_job("b2", attempt=2)  # nor does anything leave a final status
    assert store.get_job("b2")["attempt"] == 1


def test_a_version_2_store_takes_the_script_out_of_the_args(tmp_path, monkeypatch):
    from momo_jobs.server import store as store_module

    path = tmp_path / "jobs.sqlite3"
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 2)
    old = Store(path)
    old._db.execute("INSERT INTO jobs (id, name, script, resource, status, created_at, backend, interpreter, cwd, "
                    "job_dir, args) VALUES ('b2', 'n', 's.py', 'cpu', 'completed', 't', 'local', 'python', '/', "
                    "'/tmp/x', '[\"train.py\", \"--lr\", \"0.1\"]')")
    old.close()
    monkeypatch.undo()
    row = Store(path).get_job("b2")
    assert row["snapshot_script"] == "train.py" and row["args"] == ["--lr", "0.1"]
