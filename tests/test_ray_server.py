"""The server with backend=ray against a real local Ray head: our FIFO queue in front of Ray."""
import json

import pytest

from conftest import wait_for_job
from ray_head import ray_head  # noqa: F401  (session fixture)

GPU_JOB = """
import json, os, sys, time
print(json.dumps({"gpus": os.environ["CUDA_VISIBLE_DEVICES"]}), flush=True)
print('{"metric": "loss", "value": 0.5, "step": 1}', flush=True)
time.sleep(float(sys.argv[1]))
"""


@pytest.fixture
def momo_config(ray_head):  # noqa: F811
    return {"backend": "ray", "ray_address": ray_head.address, "gpus": "", "stop_grace_seconds": 2.0}


async def test_third_gpu_job_waits_in_our_queue_then_runs(jobs_api, write_script):
    rel = write_script("gpu.py", GPU_JOB)
    code, res = await jobs_api("GET", "resources")
    assert code == 200 and res["backend"] == "ray" and len(res["gpus"]) == 2
    jobs = []
    for seconds in ("4", "4", "0"):
        code, job = await jobs_api("POST", "jobs", {"script": rel, "resource": "gpu", "args": [seconds]})
        assert code == 201, job
        jobs.append(job)
    third = (await jobs_api("GET", f"jobs/{jobs[2]['id']}"))[1]
    assert third["status"] == "queued" and third["queue_position"] == 1 and third["backend"] == "ray"
    finals = [await wait_for_job(jobs_api, job["id"], timeout=180) for job in jobs]
    assert [j["status"] for j in finals] == ["completed"] * 3, finals
    assert finals[2]["started_at"] >= min(finals[0]["finished_at"], finals[1]["finished_at"])
    seen = set()
    for job in finals:
        _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
        gpus = json.loads(log["text"].splitlines()[0])["gpus"]
        assert gpus in ("0", "1")
        seen.add((job["id"], gpus))
        _, metrics = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"x": "step"})
        assert metrics["series"][0]["y"] == [0.5]
    firsts = {g for i, g in seen if i in (finals[0]["id"], finals[1]["id"])}
    assert firsts == {"0", "1"}  # the two that ran together had distinct GPUs
