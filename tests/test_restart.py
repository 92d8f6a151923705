"""Kill -9 the server while jobs run and wait; restart; nothing is lost or run twice."""
import json
import textwrap
import time

from conftest import wait_until
from momo_jobs.user.client import ClientError

SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    n, code = int(sys.argv[1]), int(sys.argv[2])
    with open("starts.txt", "a") as f:
        f.write(os.environ["MOMO_JOB_ID"] + "\\n")
    print("start", flush=True)
    for i in range(n):
        print(json.dumps({"metric": "i", "value": i, "step": i}))
        time.sleep(0.1)
    print("end")
    sys.exit(code)
""")


def test_kill_9_the_server_while_jobs_run_and_wait(server_process):
    server = server_process()
    (server.root / "count.py").write_text(SCRIPT)
    client = server.client()
    plan = {"short": (15, 0), "long": (50, 3), "queued1": (10, 0), "queued2": (10, 4)}
    jobs = {name: client.submit(server.root / "count.py", args=[str(n), str(code)], name=name)
            for name, (n, code) in plan.items()}
    assert [jobs[n]["status"] for n in plan] == ["running", "running", "queued", "queued"]
    wait_until(lambda: client.log(jobs["long"]["id"])["text"].count("metric") >= 5, what="the long job's output")

    server.kill9()
    with_server_down = time.monotonic()
    try:
        client.list()
        raise AssertionError("the server still answers")
    except ClientError as exc:
        assert "cannot reach" in exc.message
    # The short job ends while no server watches it; the long one goes on.
    short_exit = server.data_dir / "jobs" / jobs["short"]["id"] / "exit.json"
    wait_until(short_exit.exists, timeout=30, what="the short job to end")
    assert time.monotonic() - with_server_down < 5

    server.start()
    client = server.client()
    final = {name: client.wait(job["id"], timeout=90) for name, job in jobs.items()}
    assert client.list()["total"] == 4
    for name, (n, code) in plan.items():
        job = final[name]
        assert job["exit_code"] == code and job["status"] == ("completed" if code == 0 else "failed"), job
        log = client.log(job["id"], limit=1 << 20)
        expected = "start\n" + "".join(json.dumps({"metric": "i", "value": i, "step": i}) + "\n" for i in range(n)) + "end\n"
        assert log["text"] == expected and log["eof"]
        (series,) = client.metrics(job["id"], x="step")["series"]
        assert series["x"] == list(range(n)) and series["y"] == list(range(n)) and series["count"] == n
    starts = (server.root / "starts.txt").read_text().split()
    assert sorted(starts) == sorted(job["id"] for job in jobs.values())  # each ran exactly once


def test_a_job_that_vanished_is_failed_with_the_reason(server_process):
    import os
    import signal

    server = server_process()
    (server.root / "sleep.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    client = server.client()
    job = client.submit(server.root / "sleep.py")
    wait_until(lambda: client.log(job["id"])["text"] == "up\n", what="the job to start")
    server.kill9()
    folder = server.data_dir / "jobs" / job["id"]
    supervisor = json.loads((folder / "supervisor.json").read_text())
    os.kill(supervisor["pid"], signal.SIGKILL)  # supervisor and job gone without an exit record
    os.killpg(supervisor["pgid"], signal.SIGKILL)
    server.start()
    job = server.client().get(job["id"])
    assert job["status"] == "failed" and "vanished" in job["reason"]
