"""The REST API of DESIGN §3 against a real jupyter_server, real processes and SQLite."""
import json
import os
from pathlib import Path

import pytest

from conftest import wait_for_job


async def submit(jobs_api, script, **body):
    code, job = await jobs_api("POST", "jobs", {"script": script, **body})
    assert code == 201, job
    return job


async def test_job_runs_in_its_folder_with_its_environment(jobs_api, write_script, jp_root_dir):
    rel = write_script("proj/train.py", """
        import json, os, sys
        keys = ["PYTHONUNBUFFERED", "CUDA_VISIBLE_DEVICES", "MOMO_JOB_ID", "MOMO_RESULTS_DIR", "EXTRA"]
        print(json.dumps({"cwd": os.getcwd(), "argv": sys.argv[1:], **{k: os.environ.get(k) for k in keys}}))
        import helper  # a module beside the script imports as in the notebook
        open(os.path.join(os.environ["MOMO_RESULTS_DIR"], "out.txt"), "w").write(helper.VALUE)
    """)
    write_script("proj/helper.py", "VALUE = 'ok'\n")
    job = await submit(jobs_api, rel, resource="cpu", name="first", args=["--lr", "0.1"], env={"EXTRA": "1"})
    assert job["name"] == "first" and job["status"] in ("queued", "running") and job["resource"] == "cpu"
    job = await wait_for_job(jobs_api, job["id"])
    assert job["status"] == "completed" and job["exit_code"] == 0, job
    assert job["started_at"] and job["finished_at"] and job["results_dir"] == "proj/results"
    _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
    seen = json.loads(log["text"].splitlines()[0])
    proj = Path(os.path.realpath(jp_root_dir)) / "proj"
    assert seen == {"cwd": str(proj), "argv": ["--lr", "0.1"], "PYTHONUNBUFFERED": "1", "CUDA_VISIBLE_DEVICES": "",
                    "MOMO_JOB_ID": job["id"], "MOMO_RESULTS_DIR": str(proj / "results"), "EXTRA": "1"}
    assert (proj / "results" / "out.txt").read_text() == "ok"
    _, results = await jobs_api("GET", f"jobs/{job['id']}/results")
    assert [f["path"] for f in results["files"]] == ["proj/results/out.txt"]


async def test_log_is_readable_while_the_job_runs(jobs_api, write_script, jp_root_dir):
    rel = write_script("live.py", """
        import os, time
        print("first line")
        for _ in range(600):
            if os.path.exists("go"):
                break
            time.sleep(0.05)
        print("second line")
    """)
    job = await submit(jobs_api, rel)
    _, chunk = await jobs_api("GET", f"jobs/{job['id']}/log", params={"offset": 0, "wait": 20})
    assert chunk["text"] == "first line\n" and not chunk["eof"]
    _, running = await jobs_api("GET", f"jobs/{job['id']}")
    assert running["status"] == "running"
    (Path(jp_root_dir) / "go").touch()
    _, chunk = await jobs_api("GET", f"jobs/{job['id']}/log", params={"offset": chunk["next_offset"], "wait": 20})
    assert chunk["text"] == "second line\n"
    await wait_for_job(jobs_api, job["id"])
    _, end = await jobs_api("GET", f"jobs/{job['id']}/log", params={"offset": chunk["next_offset"]})
    size = chunk["next_offset"]
    assert end == {"text": "", "offset": size, "next_offset": size, "size": size, "eof": True}


async def test_failing_script_is_failed_with_its_traceback(jobs_api, write_script):
    rel = write_script("bad.py", "print('before')\nraise SystemExit(3)\n")
    job = await wait_for_job(jobs_api, (await submit(jobs_api, rel))["id"])
    assert job["status"] == "failed" and job["exit_code"] == 3 and job["reason"] == "exit code 3"
    rel = write_script("crash.py", "def f():\n    1 / 0\nf()\n")
    job = await wait_for_job(jobs_api, (await submit(jobs_api, rel))["id"])
    _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
    assert job["status"] == "failed" and "ZeroDivisionError" in log["text"] and "Traceback" in log["text"]


async def test_log_offsets_keep_multibyte_characters_whole(jobs_api, write_script):
    rel = write_script("utf8.py", "print('é' * 10 + '🙂')\n")
    job = await wait_for_job(jobs_api, (await submit(jobs_api, rel))["id"])
    text, offset = "", 0
    while True:
        code, chunk = await jobs_api("GET", f"jobs/{job['id']}/log", params={"offset": offset, "limit": 3})
        assert code == 200 and "\ufffd" not in chunk["text"]
        text += chunk["text"]
        if chunk["eof"]:
            break
        offset = chunk["next_offset"]
    assert text == "é" * 10 + "🙂\n"
    code, raw = await jobs_api("GET", f"jobs/{job['id']}/log", params={"format": "raw"})
    assert code == 200 and raw == "é" * 10 + "🙂\n"


async def test_metrics_by_time_step_epoch_and_csv(jobs_api, write_script):
    rel = write_script("metrics.py", """
        import json, math
        for step in range(1, 6):
            print(json.dumps({"metric": "loss", "value": 1.0 / step, "step": step, "epoch": 1 + step // 3}))
        print(json.dumps({"metric": "loss", "value": float("nan"), "step": 6}))
        print('epoch 1/1 ━━━━━ 3ms/step - acc: 0.9{"metric": "acc", "value": 0.9, "epoch": 1}')
        print('{"metric": "note", "value": "warm-up done"}')
        print('{"metric": "loss", "value": 9} not a metric')
    """)
    job = await wait_for_job(jobs_api, (await submit(jobs_api, rel))["id"])
    code, by_step = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"x": "step"})
    assert code == 200
    series = {s["name"]: s for s in by_step["series"]}
    assert series["loss"]["x"] == [1, 2, 3, 4, 5, 6]
    # A chart's numbers carry 15 significant digits; the CSV below has every one.
    assert series["loss"]["y"] == [1.0, 0.5, float(f"{1 / 3:.15g}"), 0.25, 0.2, None]
    assert series["loss"]["count"] == 6 and series["acc"]["x"] == []
    assert [(o["name"], o["value"]) for o in by_step["other"]] == [("note", "warm-up done")]
    _, by_epoch = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"x": "epoch", "names": "acc"})
    assert [(s["name"], s["x"], s["y"]) for s in by_epoch["series"]] == [("acc", [1], [0.9])]
    _, by_time = await jobs_api("GET", f"jobs/{job['id']}/metrics")
    times = {s["name"]: s["x"] for s in by_time["series"]}
    assert all(t >= 0 for t in times["loss"]) and len(times["acc"]) == 1
    assert [(o["name"], o["value"]) for o in by_time["other"]] == [("note", "warm-up done")]
    _, csv_text = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"format": "csv"})
    rows = csv_text.strip().splitlines()
    assert rows[0] == "metric,time,elapsed,step,epoch,value" and len(rows) == 1 + 8
    assert rows[-1].startswith("note,") and rows[-1].endswith(',"""warm-up done"""')


async def test_downsampling_keeps_spikes(jobs_api, write_script):
    rel = write_script("spiky.py", """
        import json
        for step in range(20000):
            value = 100.0 if step == 12345 else -50.0 if step == 777 else (step % 10) / 10
            print(json.dumps({"metric": "loss", "value": value, "step": step}))
    """)
    job = await wait_for_job(jobs_api, (await submit(jobs_api, rel))["id"])
    _, data = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"x": "step", "max_points": 200})
    (loss,) = data["series"]
    assert loss["count"] == 20000 and len(loss["x"]) <= 200
    assert max(loss["y"]) == 100.0 and min(loss["y"]) == -50.0
    assert loss["x"] == sorted(loss["x"]) and 12345 in loss["x"] and 777 in loss["x"]


async def test_snapshot_rerun_list_and_delete(jobs_api, write_script, jp_root_dir):
    rel = write_script("snap.py", "print('version 1')\n")
    first = await wait_for_job(jobs_api, (await submit(jobs_api, rel))["id"])
    write_script("snap.py", "print('version 2')\n")
    code, again = await jobs_api("POST", f"jobs/{first['id']}/rerun")
    assert code == 201 and again["id"] != first["id"] and again["script"] == "snap.py"
    assert again["name"] == first["name"]
    again = await wait_for_job(jobs_api, again["id"])
    _, log = await jobs_api("GET", f"jobs/{again['id']}/log")
    assert log["text"] == "version 1\n"
    code, page = await jobs_api("GET", "jobs", params={"limit": 1})
    assert code == 200 and page["total"] == 2 and [j["id"] for j in page["jobs"]] == [again["id"]]
    _, page = await jobs_api("GET", "jobs", params={"limit": 1, "offset": 1, "status": "completed,failed"})
    assert [j["id"] for j in page["jobs"]] == [first["id"]]
    code, _ = await jobs_api("DELETE", f"jobs/{first['id']}")
    assert code == 204
    assert (await jobs_api("GET", f"jobs/{first['id']}"))[0] == 404
    assert (await jobs_api("GET", "jobs"))[1]["total"] == 1


async def test_notebook_submission_is_exported_into_the_snapshot(jobs_api, jp_root_dir):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%matplotlib inline\nprint('from the notebook')")]
    nbformat.write(nb, str(Path(jp_root_dir) / "nb.ipynb"))
    job = await wait_for_job(jobs_api, (await submit(jobs_api, "nb.ipynb"))["id"])
    _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
    assert job["status"] == "completed" and log["text"] == "from the notebook\n"
    assert not (Path(jp_root_dir) / "nb.py").exists()


async def test_resources_show_cpu_slots_and_queues(jobs_api):
    code, res = await jobs_api("GET", "resources")
    assert code == 200
    assert res == {"backend": "local", "gpus": [], "cpu_slots": {"total": 2, "used": 0}, "queues": {"cpu": 0, "gpu": 0}}


@pytest.mark.parametrize("body, status, words", [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "JSON object"),
    ({"script": "ok.py", "resource": "tpu"}, 400, "resource"),
    ({"script": "ok.py", "resource": "gpu"}, 400, "no GPUs"),
    ({"script": "ok.py", "gpus": "2", "resource": "gpu"}, 400, "whole number"),
    ({"script": "ok.py", "args": "--lr 1"}, 400, "args"),
    ({"script": "ok.py", "env": {"A": 1}}, 400, "env"),
    ({"script": "ok.py", "env": {"CUDA_VISIBLE_DEVICES": "0"}}, 400, "set by momo-jobs"),
    ({"script": "ok.py", "name": 5}, 400, "name"),
    ({"script": "ok.py", "kernel": "no-such-kernel"}, 400, "no kernel"),
    ({"script": 3}, 400, "path"),
    ({"script": "missing.py"}, 404, "no such file"),
    ({"script": "notes.txt"}, 400, "not a .py"),
    ({"script": "../outside.py"}, 403, "'..'"),
    ({"script": "/etc/passwd"}, 403, "absolute"),
    ({"script": "escape/outside.py"}, 403, "outside the server root"),
])
async def test_bad_submissions_are_refused_and_change_nothing(jobs_api, write_script, jp_root_dir, tmp_path, body, status, words):
    write_script("ok.py", "print(1)\n")
    write_script("notes.txt", "text\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "outside.py").write_text("print('escaped')\n")
    (Path(jp_root_dir) / "escape").symlink_to(outside)
    code, answer = await jobs_api("POST", "jobs", body)
    assert code == status and words in answer["message"], answer
    assert (await jobs_api("GET", "jobs"))[1]["total"] == 0


async def test_huge_body_and_bad_queries_are_4xx(jobs_api, write_script):
    code, _ = await jobs_api("POST", "jobs", b'{"script": "' + b"a" * (2 << 20) + b'"}')
    assert code == 413
    for path, params in [("jobs", {"limit": "many"}), ("jobs", {"status": "done"}), ("jobs", {"limit": 0})]:
        assert (await jobs_api("GET", path, params=params))[0] == 400
    rel = write_script("ok.py", "print(1)\n")
    job = await wait_for_job(jobs_api, (await submit(jobs_api, rel))["id"])
    for params in [{"x": "batch"}, {"max_points": 1}, {"offset": -1}]:
        path = f"jobs/{job['id']}/log" if "offset" in params else f"jobs/{job['id']}/metrics"
        assert (await jobs_api("GET", path, params=params))[0] == 400
    assert (await jobs_api("GET", "jobs/nope"))[0] == 404
    assert (await jobs_api("POST", "jobs/nope/stop"))[0] == 404
    assert (await jobs_api("POST", f"jobs/{job['id']}/stop"))[0] == 409
    assert (await jobs_api("GET", "jobs/nope/log"))[0] == 404


ROUTES = [("GET", "jobs"), ("POST", "jobs"), ("GET", "jobs/x"), ("DELETE", "jobs/x"), ("POST", "jobs/x/stop"),
          ("POST", "jobs/x/rerun"), ("GET", "jobs/x/log"), ("GET", "jobs/x/metrics"), ("GET", "jobs/x/results"),
          ("POST", "export"), ("GET", "resources"), ("POST", "examples")]


@pytest.mark.parametrize("method, path", ROUTES)
async def test_every_route_refuses_unauthenticated_requests(jobs_api, method, path):
    body = b'{"script": "x.py"}' if method == "POST" else None
    code, _ = await jobs_api(method, path, body, headers={"Authorization": ""})
    assert code == 403


async def test_export_writes_beside_the_notebook_and_asks_before_overwriting(jobs_api, jp_root_dir):
    import subprocess
    import sys

    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\nimport sys"),
        nbformat.v4.new_code_cell("!pip list\nfiles = !ls\nfor i in range(2):\n    !echo $i\nprint('plain python ok')"),
        nbformat.v4.new_code_cell("%%bash\necho cell magic"),
    ]
    (Path(jp_root_dir) / "work").mkdir()
    nbformat.write(nb, str(Path(jp_root_dir) / "work" / "train.ipynb"))
    code, answer = await jobs_api("POST", "export", {"path": "work/train.ipynb"})
    assert code == 201 and answer == {"path": "work/train.py", "warnings": []}
    script = Path(jp_root_dir) / "work" / "train.py"
    source = script.read_text()
    assert "get_ipython" not in source and "removed for plain python: %matplotlib inline" in source
    run = subprocess.run([sys.executable, "-I", str(script)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout == "plain python ok\n", run.stderr
    code, answer = await jobs_api("POST", "export", {"path": "work/train.ipynb"})
    assert code == 409 and "exists" in answer["message"]
    script.write_text("# edited\n")
    code, _ = await jobs_api("POST", "export", {"path": "work/train.ipynb", "overwrite": True})
    assert code == 201 and "plain python ok" in script.read_text()
    assert (await jobs_api("POST", "export", {"path": "work/train.py"}))[0] == 400
    assert (await jobs_api("POST", "export", {"path": "../x.ipynb"}))[0] == 403
