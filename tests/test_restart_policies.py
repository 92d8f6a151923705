"""Kill -9 of the server does not undo a job's policies: a time limit still fires on
time, a failed attempt is still retried, and a sweep keeps its max_parallel."""
import json
import textwrap
import time

from conftest import wait_until

GRACE = 2  # server_process's MOMO_JOBS_STOP_GRACE


def test_a_time_limit_fires_on_time_while_the_server_is_down(server_process):
    server = server_process()
    (server.root / "sleep.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(120)\n")
    client = server.client()
    job = client.submit(server.root / "sleep.py", time_limit=4)
    began = time.monotonic()
    wait_until(lambda: client.log(job["id"])["text"] == "up\n", what="the job to start")
    server.kill9()
    exit_file = server.data_dir / "jobs" / job["id"] / "exit.json"
    wait_until(exit_file.exists, timeout=30, what="the time limit to end the job")
    assert time.monotonic() - began < 4 + GRACE + 2 + 10  # a correctness bound, with slack for a loaded machine
    assert json.loads(exit_file.read_text())["time_limit"] is True
    server.start()
    job = server.client().wait(job["id"], timeout=60)
    assert job["status"] == "failed" and job["reason"].startswith("time limit"), job


def test_an_attempt_that_failed_while_the_server_was_down_is_retried(server_process):
    server = server_process()
    (server.root / "flaky.py").write_text(textwrap.dedent("""
        import os, sys, time
        print("attempt", os.environ["MOMO_ATTEMPT"], flush=True)
        mark = os.path.join(os.environ["MOMO_CHECKPOINT_DIR"], "mark")
        if not os.path.exists(mark):
            open(mark, "w").close()
            time.sleep(2)
            sys.exit(5)
        print("resumed", flush=True)
    """))
    client = server.client()
    job = client.submit(server.root / "flaky.py", retries=1)
    wait_until(lambda: "attempt 1" in client.log(job["id"])["text"], what="the first attempt")
    server.kill9()
    wait_until((server.data_dir / "jobs" / job["id"] / "exit.json").exists, timeout=30, what="attempt 1 to fail")
    server.start()
    job = server.client().wait(job["id"], timeout=60)
    assert job["status"] == "completed" and job["attempt"] == 2, job
    assert [a["exit_code"] for a in job["attempts"]] == [5, 0]
    text = server.client().log(job["id"], limit=1 << 20)["text"]
    assert text.index("attempt 1") < text.index("attempt 2 of 2 follows") < text.index("resumed")


def test_a_sweep_keeps_its_max_parallel_across_a_restart(server_process):
    server = server_process()
    (server.root / "step.py").write_text(textwrap.dedent("""
        import sys, time
        with open("spans.txt", "a") as f:
            f.write(f"start {time.time()}\\n")
        time.sleep(1.5)
        with open("spans.txt", "a") as f:
            f.write(f"end {time.time()}\\n")
    """))
    client = server.client()
    sweep = client.sweep(server.root / "step.py", grid={"seed": ["1", "2", "3"]}, max_parallel=1)
    spans = server.root / "spans.txt"
    wait_until(lambda: spans.exists() and "start" in spans.read_text(), what="the first job to start")
    server.kill9()
    server.start()
    client = server.client()
    finals = [client.wait(j["id"], timeout=90) for j in sweep["jobs"]]
    assert [j["status"] for j in finals] == ["completed"] * 3
    events = sorted((float(t), 1 if kind == "start" else -1)
                    for kind, t in (line.split() for line in spans.read_text().splitlines()))
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    assert most == 1 and len(events) == 6
