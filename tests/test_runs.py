"""The runs table and the comparison of runs (DESIGN §3 "Run", GET /runs, GET /compare):
parameters from a job's arguments and from the lines it prints, series summaries kept as
points arrive (equal to what the points give), against a real server and real SQLite."""
import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import wait_for_job
from momo_jobs.job.protocol import ParamPoint, format_param_line, log_param, parse_metric_line
from momo_jobs.job.recorder import LogRecorder
from momo_jobs.server import store as store_module
from momo_jobs.server.outputs import new_metric_records
from momo_jobs.server.runs import params_from_args
from momo_jobs.server.store import Store
from momo_jobs.vocabulary import JobFiles


# parameters

@pytest.mark.parametrize("args, params", [
    (["--lr", "0.01"], {"lr": "0.01"}),
    (["--lr=0.01"], {"lr": "0.01"}),
    (["lr=0.01"], {"lr": "0.01"}),
    (["--model", "improved", "--batch-size=64", "momentum=0.9", "--quick", "--shift", "-0.5", "data.npz"],
     {"model": "improved", "batch_size": "64", "momentum": "0.9", "quick": "true", "shift": "-0.5"}),
    (["--", "plain", "=x", "a b=c"], {}),
])
def test_params_from_the_three_argument_forms(args, params):
    assert params_from_args(args) == params


def test_a_param_line_is_no_metric_and_is_recorded_with_its_time(tmp_path):
    line = format_param_line("lr", 0.01)
    assert json.loads(line) == {"param": "lr", "value": 0.01} and parse_metric_line(line) is None
    recorder = LogRecorder(tmp_path, clock=lambda: 5.0)
    recorder.write(b'{"param": "lr", "value": 0.01}\nEpoch 1 {"param": "opt", "value": "adam"}\n'
                   b'{"metric": "loss", "value": 1, "param": "not this"}\n{"param": "", "value": 1}\n')
    recorder.close()
    records, _, _ = new_metric_records(tmp_path / JobFiles.METRICS, 0, 1 << 20)
    assert records == [{"param": "lr", "value": 0.01, "t": 5.0}, {"param": "opt", "value": "adam", "t": 5.0},
                       {"step": None, "epoch": None, "metric": "loss", "value": 1, "param": "not this", "t": 5.0}]


def test_log_param_prints_one_line(capsys):
    log_param("batch_size", 128)
    assert capsys.readouterr().out == '{"param": "batch_size", "value": 128}\n'


# summaries

def a_job(store, job_id="j1"):
    return store.insert_job({"id": job_id, "name": job_id, "script": "s.py", "resource": "cpu", "status": "queued",
                             "created_at": "t", "backend": "local", "interpreter": "python", "cwd": "/",
                             "job_dir": "/tmp/x", "args": []})


def summary_from_points(points):
    """What the points give: the last number, the first least and the first greatest, with their steps."""
    numbers = [(v, s) for v, s in points if isinstance(v, (int, float)) and not isinstance(v, bool)
               and v == v and abs(v) != float("inf")]
    if not numbers:
        return {"last": None, "last_step": None, "min": None, "min_step": None, "max": None, "max_step": None}
    lo = min(range(len(numbers)), key=lambda i: (numbers[i][0], i))
    hi = min(range(len(numbers)), key=lambda i: (-numbers[i][0], i))
    return {"last": numbers[-1][0], "last_step": numbers[-1][1], "min": numbers[lo][0], "min_step": numbers[lo][1],
            "max": numbers[hi][0], "max_step": numbers[hi][1]}


values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-1000, 1000), st.text(max_size=3),
                   st.none())
series_points = st.lists(st.tuples(st.sampled_from(["loss", "acc", "sys/rss_bytes"]), values,
                                   st.one_of(st.none(), st.integers(0, 10**6))), max_size=60)


@settings(max_examples=60, deadline=None)
@given(points=series_points, cuts=st.lists(st.integers(0, 60), max_size=4))
def test_summaries_equal_what_the_points_give(tmp_path_factory, points, cuts):
    store = Store(tmp_path_factory.mktemp("summaries") / "jobs.sqlite3")
    job = a_job(store)
    records = [{"metric": name, "value": value, "step": step, "epoch": None, "t": float(i)}
               for i, (name, value, step) in enumerate(points)]
    bounds = sorted({0, len(records), *(c for c in cuts if c <= len(records))})
    for a, b in zip(bounds, bounds[1:]):  # arriving in batches
        store.ingest_metrics(job, records[a:b], b)
    summaries = json.loads(store.get_job(job["id"])["run_metrics"])
    assert set(summaries) == {n for n, _, _ in points}
    for name, summary in summaries.items():
        mine = [(v, s) for n, v, s in points if n == name]
        assert summary == {"count": len(mine), **summary_from_points(mine)}
    store.close()


def test_the_migration_backfills_the_summaries_of_old_series(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    db = sqlite3.connect(path)
    for sql, _ in store_module._MIGRATIONS[:3]:  # a store of version 3, with points
        db.executescript(sql)
    db.execute("PRAGMA user_version=3")
    db.execute("INSERT INTO jobs (id, name, script, resource, status, created_at, backend, interpreter, cwd, job_dir) "
               "VALUES ('old', 'old', 's.py', 'cpu', 'completed', 't', 'local', 'python', '/', '/tmp/old')")
    db.execute("INSERT INTO series (id, job_seq, name, count) VALUES (1, 1, 'loss', 4)")
    db.executemany("INSERT INTO points (series_id, t, step, value, raw) VALUES (1, ?, ?, ?, ?)",
                   [(1.0, 1, 0.5, None), (2.0, 2, 0.2, None), (3.0, 3, None, "NaN"), (4.0, 4, 0.3, None)])
    db.commit()
    db.close()
    store = Store(path)
    assert json.loads(store.get_job("old")["run_metrics"]) == {"loss": {
        "count": 4, "last": 0.3, "last_step": 4, "min": 0.2, "min_step": 2, "max": 0.5, "max_step": 1}}
    assert store.params_of([1]) == {1: {}}
    store.close()


# the API

TRAIN = """
    import sys
    from momo_jobs import log_metric, log_param
    log_param("optimizer", "adam")
    log_param("lr", 0.5)  # printed after the arguments: it wins over --lr
    for step, loss in enumerate([0.9, 0.4, 0.6]):
        log_metric("loss", loss, step=step)
    log_metric("accuracy", float(sys.argv[-1]), epoch=1)
"""


async def submit(jobs_api, script, **body):
    code, job = await jobs_api("POST", "jobs", {"script": script, **body})
    assert code == 201, job
    return await wait_for_job(jobs_api, job["id"])


async def test_runs_table_and_compare(jobs_api, write_script):
    rel = write_script("runs/train.py", TRAIN)
    first = await submit(jobs_api, rel, args=["--lr", "0.1", "--batch-size=64", "seed=1", "0.9"])
    second = await submit(jobs_api, rel, args=["--lr=0.01", "0.95"], name="second")
    assert first["status"] == second["status"] == "completed"

    code, table = await jobs_api("GET", "runs")
    assert code == 200 and table["total"] == 2
    newest, oldest = table["runs"]
    assert newest["id"] == second["id"] and oldest["id"] == first["id"]
    assert set(newest) >= {"id", "name", "status", "started_at", "duration", "sweep_id", "params", "metrics", "peak"}
    assert oldest["params"] == {"lr": "0.5", "batch_size": "64", "seed": "1", "optimizer": "adam"}
    assert oldest["metrics"]["loss"] == {"last": 0.6, "min": 0.4, "max": 0.9, "last_step": 2, "min_step": 1,
                                         "max_step": 0, "count": 3}
    assert oldest["metrics"]["accuracy"]["last"] == 0.9 and newest["metrics"]["accuracy"]["max"] == 0.95
    assert oldest["duration"] > 0 and oldest["sweep_id"] is None
    assert set(oldest["peak"]) == {"cpu_percent", "rss_bytes", "gpu_memory_bytes"}

    code, picked = await jobs_api("GET", "runs", params={"ids": f"{first['id']},{second['id']},nope"})
    assert code == 200 and [r["id"] for r in picked["runs"]] == [first["id"], second["id"]] and picked["total"] == 2
    code, none = await jobs_api("GET", "runs", params={"status": "running"})
    assert code == 200 and none == {"runs": [], "total": 0}
    code, swept = await jobs_api("GET", "runs", params={"sweep": "no-such-sweep"})
    assert code == 200 and swept["runs"] == []
    code, page = await jobs_api("GET", "runs", params={"limit": "1", "offset": "1"})
    assert [r["id"] for r in page["runs"]] == [first["id"]] and page["total"] == 2

    code, overlay = await jobs_api("GET", "compare", params={"ids": f"{first['id']},{second['id']}",
                                                             "names": "loss", "x": "step"})
    assert code == 200 and overlay["x"] == "step"
    assert [(s["job"], s["name"], s["x"], s["y"], s["count"]) for s in overlay["series"]] == [
        (first["id"], "loss", [0, 1, 2], [0.9, 0.4, 0.6], 3), (second["id"], "loss", [0, 1, 2], [0.9, 0.4, 0.6], 3)]
    code, every = await jobs_api("GET", "compare", params={"ids": first["id"]})
    assert code == 200 and {"loss", "accuracy"} <= {s["name"] for s in every["series"]}

    for params, status in (({}, 400), ({"ids": first["id"], "x": "nope"}, 400), ({"ids": "nope"}, 404),
                           ({"ids": first["id"], "max_points": "1"}, 400)):
        code, error = await jobs_api("GET", "compare", params=params)
        assert code == status, (params, error)
    code, _ = await jobs_api("GET", "runs", params={"status": "bogus"})
    assert code == 400
