"""Time limits, retries and sweeps (DESIGN §2 "Policies", §3) on local jobs, through the
REST API of a real jupyter_server, with real supervisors and processes."""
import json
import time
from pathlib import Path

import pytest

from conftest import wait_for_job

GRACE = 2.0  # the test server's stop_grace_seconds (conftest)

SLEEPER = """
    import os, signal, sys, time
    def warned(signum, frame):
        with open("warned.txt", "a") as f:
            f.write(f"{signal.Signals(signum).name} {time.time()}\\n")
    def stopped(signum, frame):
        warned(signum, frame)
        sys.exit(1)
    signal.signal(signal.SIGUSR1, warned)
    signal.signal(signal.SIGTERM, stopped)
    print("sleeping", flush=True)
    time.sleep(120)
"""

# Fails on its first attempt after leaving a checkpoint; the next attempt resumes from it.
RESUMER = """
    import json, os, sys
    attempt = int(os.environ["MOMO_ATTEMPT"])
    checkpoint = os.path.join(os.environ["MOMO_CHECKPOINT_DIR"], "epoch.txt")
    start = int(open(checkpoint).read()) if os.path.exists(checkpoint) else 0
    print(f"attempt {attempt} resumes at epoch {start}", flush=True)
    for epoch in range(start, 4):
        print(json.dumps({"metric": "loss", "value": 1.0 / (epoch + 1), "epoch": epoch}), flush=True)
        open(checkpoint, "w").write(str(epoch + 1))
        if attempt == 1 and epoch == 1:
            sys.exit(3)
    print("done", flush=True)
"""


async def submit(jobs_api, script, **body):
    code, job = await jobs_api("POST", "jobs", {"script": script, **body})
    assert code == 201, job
    return job


async def test_a_time_limit_warns_then_fails_the_job_on_time(jobs_api, write_script, jp_root_dir):
    rel = write_script("limit/sleep.py", SLEEPER)
    began = time.time()
    job = await submit(jobs_api, rel, time_limit=3, time_limit_signal="USR1@1.5")
    assert job["time_limit"] == 3 and job["time_limit_signal"] == "USR1@1.5"
    running = await wait_for_job(jobs_api, job["id"], statuses=("running",))
    assert running["deadline"] is not None
    job = await wait_for_job(jobs_api, job["id"], timeout=60)
    ended = time.time()
    assert job["status"] == "failed" and job["reason"].startswith("time limit"), job
    # A correctness bound, with room for a loaded machine: the limit, the grace, and slack.
    assert ended - began < 3 + GRACE + 2 + 10
    assert job["deadline"] is None and job["attempt"] == 1 and len(job["attempts"]) == 1
    # The warning came first, the stop (TERM to the group) after it.
    (warn, warned_at), (stop, stopped_at) = [line.split() for line in
                                             (Path(jp_root_dir) / "limit" / "warned.txt").read_text().splitlines()]
    assert (warn, stop) == ("SIGUSR1", "SIGTERM") and float(warned_at) < float(stopped_at)


async def test_a_failed_attempt_is_retried_and_resumes_from_its_checkpoint(jobs_api, write_script):
    rel = write_script("retry/train.py", RESUMER)
    job = await submit(jobs_api, rel, retries=2)
    assert job["retries"] == 2 and job["attempt"] == 1 and job["attempts"] == []
    job = await wait_for_job(jobs_api, job["id"], timeout=60)
    assert job["status"] == "completed" and job["exit_code"] == 0 and job["attempt"] == 2, job
    first, second = job["attempts"]
    assert (first["attempt"], first["exit_code"], first["reason"]) == (1, 3, "exit code 3")
    assert (second["attempt"], second["exit_code"]) == (2, 0) and second["started_at"] >= first["finished_at"]
    _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
    text = log["text"]
    assert text.index("attempt 1 resumes at epoch 0") < text.index("attempt 1 of 3 ended (exit code 3)") \
        < text.index("attempt 2 resumes at epoch 2") < text.index("done")
    _, metrics = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"x": "epoch"})
    (loss,) = metrics["series"]
    assert loss["x"] == [0, 1, 2, 3] and loss["attempt_starts"] == [{"attempt": 2, "x": 2}]


async def test_a_stopped_job_is_not_retried(jobs_api, write_script):
    rel = write_script("stop/sleep.py", SLEEPER)
    job = await submit(jobs_api, rel, retries=3)
    await wait_for_job(jobs_api, job["id"], statuses=("running",))
    code, _ = await jobs_api("POST", f"jobs/{job['id']}/stop")
    assert code == 202
    job = await wait_for_job(jobs_api, job["id"], timeout=30)
    assert job["status"] == "stopped" and job["attempt"] == 1 and len(job["attempts"]) == 1, job


async def test_a_time_limit_is_retried_only_when_asked(jobs_api, write_script):
    rel = write_script("again/sleep.py", "import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    plain = await submit(jobs_api, rel, time_limit=1, retries=1)
    again = await submit(jobs_api, rel, time_limit=1, retries=1, retry_on_time_limit=True)
    plain = await wait_for_job(jobs_api, plain["id"], timeout=60)
    again = await wait_for_job(jobs_api, again["id"], timeout=60)
    assert plain["status"] == "failed" and plain["attempt"] == 1, plain
    assert again["status"] == "failed" and again["attempt"] == 2 and len(again["attempts"]) == 2, again
    assert all(a["reason"].startswith("time limit") for a in again["attempts"])


@pytest.mark.parametrize("body, words", [
    ({"time_limit": 0}, "time_limit"),
    ({"time_limit": "1h"}, "time_limit"),
    ({"time_limit": True}, "time_limit"),
    ({"time_limit_signal": "USR1@5"}, "needs a time_limit"),
    ({"time_limit": 10, "time_limit_signal": "BOGUS@5"}, "signal"),
    ({"time_limit": 10, "time_limit_signal": "KILL@5"}, "KILL"),
    ({"time_limit": 10, "time_limit_signal": "USR1"}, "SIGNAL@SECONDS"),
    ({"retries": 11}, "retries"),
    ({"retries": -1}, "retries"),
    ({"env": {"MOMO_ATTEMPT": "3"}}, "set by momo-jobs"),
    ({"env": {"MOMO_CHECKPOINT_DIR": "/tmp"}}, "set by momo-jobs"),
])
async def test_bad_policies_are_refused(jobs_api, write_script, body, words):
    rel = write_script("bad.py", "print('never')\n")
    code, answer = await jobs_api("POST", "jobs", {"script": rel, **body})
    assert code == 400 and words in answer["message"], answer
    _, page = await jobs_api("GET", "jobs")
    assert page["total"] == 0


SWEEP_SCRIPT = """
    import argparse, json, os, time
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr")
    parser.add_argument("--batch_size")
    args = parser.parse_args()
    with open("spans.txt", "a") as f:
        f.write(f"start {time.time()} {args.lr} {args.batch_size}\\n")
    time.sleep(0.5)
    print(json.dumps({"metric": "lr", "value": float(args.lr)}))
    with open("spans.txt", "a") as f:
        f.write(f"end {time.time()} {args.lr} {args.batch_size}\\n")
"""


def overlaps(spans_file: Path) -> int:
    """The most jobs that ran at once, from their start and end lines."""
    events = sorted((float(t), 1 if kind == "start" else -1)
                    for kind, t, *_ in (line.split() for line in spans_file.read_text().splitlines()))
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


async def test_a_sweep_runs_one_job_per_combination_at_most_max_parallel_at_once(jobs_api, write_script,
                                                                                 jp_root_dir):
    rel = write_script("sweep/train.py", SWEEP_SCRIPT)
    code, sweep = await jobs_api("POST", "sweeps", {
        "script": rel, "resource": "cpu", "grid": {"lr": ["0.1", "0.01"], "batch_size": ["64", "128"]},
        "max_parallel": 1})
    assert code == 201, sweep
    jobs = sweep["jobs"]
    assert [j["name"] for j in jobs] == ["train lr=0.1 batch_size=64", "train lr=0.1 batch_size=128",
                                        "train lr=0.01 batch_size=64", "train lr=0.01 batch_size=128"]
    assert jobs[0]["args"] == ["--lr", "0.1", "--batch_size", "64"]
    assert {j["sweep_id"] for j in jobs} == {sweep["sweep_id"]}
    waiting = (await jobs_api("GET", f"jobs/{jobs[1]['id']}"))[1]
    assert waiting["status"] == "queued" and "sweep" in waiting["reason"], waiting  # 2 CPU slots, limit 1
    finals = [await wait_for_job(jobs_api, j["id"], timeout=60) for j in jobs]
    assert [j["status"] for j in finals] == ["completed"] * 4
    assert overlaps(Path(jp_root_dir) / "sweep" / "spans.txt") == 1
    _, page = await jobs_api("GET", "jobs", params={"sweep": sweep["sweep_id"]})
    assert page["total"] == 4


async def test_a_sweep_is_stopped_and_rerun_whole(jobs_api, write_script):
    rel = write_script("sweep2/sleep.py", "import time, sys\ntime.sleep(60)\n")
    code, sweep = await jobs_api("POST", "sweeps", {"script": rel, "grid": {"seed": ["1", "2", "3"]},
                                                    "max_parallel": 2, "name": "seeds", "time_limit": 30})
    assert code == 201 and [j["name"] for j in sweep["jobs"]] == ["seeds seed=1", "seeds seed=2", "seeds seed=3"]
    assert all(j["time_limit"] == 30 for j in sweep["jobs"])
    await wait_for_job(jobs_api, sweep["jobs"][0]["id"], statuses=("running",))
    code, stopped = await jobs_api("POST", f"sweeps/{sweep['sweep_id']}/stop")
    assert code == 202
    finals = [await wait_for_job(jobs_api, j["id"], timeout=30) for j in stopped["jobs"]]
    assert [j["status"] for j in finals] == ["stopped"] * 3
    code, again = await jobs_api("POST", f"sweeps/{sweep['sweep_id']}/rerun")
    assert code == 201 and again["sweep_id"] != sweep["sweep_id"] and again["max_parallel"] == 2
    assert [j["name"] for j in again["jobs"]] == ["seeds seed=1", "seeds seed=2", "seeds seed=3"]
    code, stopped = await jobs_api("POST", f"sweeps/{again['sweep_id']}/stop")
    for j in stopped["jobs"]:
        await wait_for_job(jobs_api, j["id"], timeout=30)
    assert (await jobs_api("POST", "sweeps/nope/stop"))[0] == 404


@pytest.mark.parametrize("body, words", [
    ({}, "grid"),
    ({"grid": {"lr": []}}, "non-empty"),
    ({"grid": {"lr": ["0.1", "0.1"]}}, "twice"),
    ({"grid": {"--lr": ["0.1"]}}, "parameter name"),
    ({"grid": {"lr": [0.1]}}, "strings"),
    ({"grid": {"lr": ["1"]}, "max_parallel": 0}, "max_parallel"),
    ({"grid": {"a": [str(i) for i in range(40)], "b": [str(i) for i in range(40)]}}, "at most"),
])
async def test_bad_sweeps_are_refused(jobs_api, write_script, body, words):
    rel = write_script("bad_sweep.py", "print('never')\n")
    code, answer = await jobs_api("POST", "sweeps", {"script": rel, **body})
    assert code == 400 and words in answer["message"], answer
    assert (await jobs_api("GET", "jobs"))[1]["total"] == 0
