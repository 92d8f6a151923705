"""FIFO queues over 2 GPUs given by MOMO_JOBS_GPUS, CPU slots, and stopping."""
import asyncio
import json
from pathlib import Path

import pytest

from conftest import wait_for_job

GPU_JOB = """
import json, os, sys, time
print(json.dumps({"job": os.environ["MOMO_JOB_ID"], "gpus": os.environ["CUDA_VISIBLE_DEVICES"],
                  "start": time.time()}), flush=True)
time.sleep(float(sys.argv[1]))
print(json.dumps({"end": time.time()}))
"""


def running(pid: int) -> bool:
    """A process that ended may linger as a zombie until its new parent reaps it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.fixture
def momo_config():
    return {"gpus": "0,1", "cpu_slots": 1, "stop_grace_seconds": 2.0}


async def test_twenty_concurrent_gpu_jobs_on_two_gpus(jobs_api, write_script):
    rel = write_script("gpu.py", GPU_JOB)
    # One asks for both GPUs: it must wait for the two before it, and hold back the rest.
    bodies = [{"script": rel, "resource": "gpu", "args": ["0.3"], "gpus": 2 if i == 5 else 1, "name": f"g{i}"}
              for i in range(20)]
    answers = await asyncio.gather(*(jobs_api("POST", "jobs", b) for b in bodies))
    assert all(code == 201 for code, _ in answers), answers
    ids_in_order = [job["id"] for _, job in sorted(answers, key=lambda a: a[1]["created_at"])]

    _, res = await jobs_api("GET", "resources")
    assert [g["index"] for g in res["gpus"]] == ["0", "1"]
    _, queued = await jobs_api("GET", "jobs", params={"status": "queued", "limit": 100})
    positions = sorted(j["queue_position"] for j in queued["jobs"])
    assert positions == list(range(1, len(positions) + 1)) and len(positions) >= 16

    jobs = [await wait_for_job(jobs_api, job_id, timeout=120) for job_id in ids_in_order]
    assert all(j["status"] == "completed" for j in jobs), jobs
    runs = []
    for job in jobs:
        _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
        first, last = (json.loads(line) for line in log["text"].splitlines())
        runs.append({**first, **last, "name": job["name"], "gpu_ids": job["gpu_ids"]})
    for run in runs:
        assert run["gpus"] == ",".join(run["gpu_ids"])
        assert len(run["gpu_ids"]) == (2 if run["name"] == "g5" else 1)
    # Never more than 2 GPUs in use, and never one GPU held by two jobs at once.
    events = sorted([(r["start"], 1, r) for r in runs] + [(r["end"], -1, r) for r in runs], key=lambda e: (e[0], e[1]))
    holding: dict[str, str] = {}
    for _, kind, run in events:
        for gpu in run["gpu_ids"]:
            if kind == 1:
                assert gpu not in holding, f"GPU {gpu} given to {run['name']} while {holding.get(gpu)} holds it"
                holding[gpu] = run["name"]
            else:
                holding.pop(gpu)
        assert len(holding) <= 2
    # FIFO: jobs were started in the order they were submitted.
    started_at = [j["started_at"] for j in jobs]
    assert started_at == sorted(started_at)


async def test_queue_positions_move_up_and_a_queued_job_stops_at_once(jobs_api, write_script):
    rel = write_script("gpu.py", GPU_JOB)
    ids = []
    for i in range(5):
        _, job = await jobs_api("POST", "jobs", {"script": rel, "resource": "gpu", "args": ["30"]})
        ids.append(job["id"])
    jobs = [(await jobs_api("GET", f"jobs/{i}"))[1] for i in ids]
    assert [j["status"] for j in jobs] == ["running", "running", "queued", "queued", "queued"]
    assert [j["queue_position"] for j in jobs] == [None, None, 1, 2, 3]
    assert jobs[2]["reason"] == "waiting for 1 free GPU" and jobs[4]["reason"] == "waiting for 1 free GPU, 2 jobs ahead"
    assert sorted(g for j in jobs[:2] for g in j["gpu_ids"]) == ["0", "1"]

    code, stopped = await jobs_api("POST", f"jobs/{ids[2]}/stop")
    assert code == 202 and stopped["status"] == "stopped" and stopped["started_at"] is None
    assert [(await jobs_api("GET", f"jobs/{i}"))[1]["queue_position"] for i in ids[3:]] == [1, 2]

    await jobs_api("POST", f"jobs/{ids[0]}/stop")
    await wait_for_job(jobs_api, ids[0])
    job3 = await wait_for_job(jobs_api, ids[3], statuses=("running",))
    assert job3["gpu_ids"] == jobs[0]["gpu_ids"]
    assert (await jobs_api("GET", f"jobs/{ids[4]}"))[1]["queue_position"] == 1
    for job_id in ids:
        await jobs_api("POST", f"jobs/{job_id}/stop")
    for job_id in ids:
        assert (await wait_for_job(jobs_api, job_id))["status"] == "stopped"


async def test_gpu_request_that_can_never_be_met_is_refused(jobs_api, write_script):
    rel = write_script("gpu.py", GPU_JOB)
    code, answer = await jobs_api("POST", "jobs", {"script": rel, "resource": "gpu", "gpus": 3})
    assert code == 400 and "3 GPUs" in answer["message"] and "has 2" in answer["message"]


async def test_cpu_jobs_queue_on_cpu_slots_and_see_no_gpus(jobs_api, write_script):
    rel = write_script("gpu.py", GPU_JOB)
    first = (await jobs_api("POST", "jobs", {"script": rel, "resource": "cpu", "args": ["0.5"]}))[1]
    second = (await jobs_api("POST", "jobs", {"script": rel, "resource": "cpu", "args": ["0"]}))[1]
    gpu = (await jobs_api("POST", "jobs", {"script": rel, "resource": "gpu", "args": ["0"]}))[1]
    assert second["status"] == "queued" and second["queue_position"] == 1
    assert gpu["status"] == "running"  # a GPU job doesn't wait behind the CPU queue
    for job in (first, second):
        await wait_for_job(jobs_api, job["id"])
        _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
        assert json.loads(log["text"].splitlines()[0])["gpus"] == ""


async def test_stop_ends_the_process_tree_with_a_grandchild_ignoring_sigterm(jobs_api, write_script, jp_root_dir):
    write_script("grandchild.py", """
        import os, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open("grandchild.pid", "w").write(str(os.getpid()))
        print("grandchild ignores SIGTERM", flush=True)
        while True:
            time.sleep(0.1)
    """)
    rel = write_script("tree.py", """
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "grandchild.py"])
        print('{"metric": "loss", "value": 1.5, "step": 1}', flush=True)
        while True:
            time.sleep(0.1)
    """)
    _, job = await jobs_api("POST", "jobs", {"script": rel})
    pid_file = Path(jp_root_dir) / "grandchild.pid"
    for _ in range(200):
        _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
        if "grandchild ignores SIGTERM" in log["text"] and pid_file.exists():
            break
        await asyncio.sleep(0.05)
    grandchild = int(pid_file.read_text())
    code, stopping = await jobs_api("POST", f"jobs/{job['id']}/stop")
    assert code == 202 and stopping["status"] == "stopping"
    job = await wait_for_job(jobs_api, job["id"], timeout=30)
    assert job["status"] == "stopped" and job["reason"] == "stopped by request"
    assert not running(grandchild)
    _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
    assert "grandchild ignores SIGTERM" in log["text"]  # partial output kept
    _, metrics = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"x": "step"})
    assert metrics["series"][0]["y"] == [1.5]
    assert (await jobs_api("DELETE", f"jobs/{job['id']}"))[0] == 204
