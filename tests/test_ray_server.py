"""The server with backend=ray against a real local Ray head: our FIFO queue in front of
Ray, the script's folder travelling to the node and its results coming back."""
import asyncio
import json
import os
from urllib.parse import urlsplit

import pytest

from conftest import wait_for_job
from ray_head import ray_head  # noqa: F401  (session fixture)
from test_mnist_data import mnist_cache  # noqa: F401  (fixture)
from mnist_job import quick_example_job_leaves_its_model

GPU_JOB = """
import json, os, sys, time
print(json.dumps({"gpus": os.environ["CUDA_VISIBLE_DEVICES"]}), flush=True)
print('{"metric": "loss", "value": 0.5, "step": 1}', flush=True)
time.sleep(float(sys.argv[1]))
"""


@pytest.fixture
def momo_config(ray_address):
    return {"backend": "ray", "ray_address": str(ray_address), "gpus": "", "stop_grace_seconds": 2.0}


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


@pytest.fixture
def ray_address(request, ray_head):  # noqa: F811
    """The dashboard address the server is given: the head's, or with ``late_proxy`` a
    port that answers only once the test opens it (a cluster not up yet when the
    server starts)."""
    if getattr(request, "param", None) != "late_proxy":
        yield ray_head.address
        return
    proxy = LateProxy(ray_head.address)
    yield proxy
    proxy.close()


class LateProxy(str):
    """A TCP forwarder to the Ray dashboard on a port reserved now and opened later."""

    def __new__(cls, target: str):
        from ray_head import free_ports

        port = free_ports(1)[0]
        self = super().__new__(cls, f"http://127.0.0.1:{port}")
        self.port = port
        self.target = urlsplit(target)
        self.server = None
        return self

    async def open(self):
        async def pipe(reader, writer):
            try:
                while data := await reader.read(1 << 16):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        async def forward(reader, writer):
            up_reader, up_writer = await asyncio.open_connection(self.target.hostname, self.target.port)
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        self.server = await asyncio.start_server(forward, "127.0.0.1", self.port)

    def close(self):
        if self.server is not None:
            self.server.close()


@pytest.mark.parametrize("ray_address", ["late_proxy"], indirect=True)
async def test_a_queued_job_starts_once_the_cluster_answers_without_another_event(jobs_api, write_script,
                                                                                  ray_address):
    rel = write_script("late.py", "print('ran')\n")
    code, job = await jobs_api("POST", "jobs", {"script": rel, "resource": "cpu"})
    assert code == 201 and job["status"] == "queued", job
    await ray_address.open()
    # Nothing else happens: no other submission, no stop; the measured cluster has room.
    final = await wait_for_job(jobs_api, job["id"], timeout=120)
    assert final["status"] == "completed", final
    assert (await jobs_api("GET", f"jobs/{job['id']}/log"))[1]["text"] == "ran\n"


TRAVELLER = """
import os, sys, time
here = os.getcwd()
print("cwd=" + here, flush=True)
print("data=" + open("data/input.txt").read(), flush=True)
assert not os.path.exists("results/old.txt"), "results/ must not travel"
assert not os.path.exists(".git"), ".git must not travel"
results = os.environ["MOMO_RESULTS_DIR"]
assert results == os.path.join(here, "results"), results
os.makedirs(os.path.join(results, "ckpt"), exist_ok=True)
open(os.path.join(results, "ckpt", "model.bin"), "w").write("weights")
open(os.path.join(results, "keep.txt"), "w").write("from the job")
print("written", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
if sys.argv[2] == "wait":
    time.sleep(600)
sys.exit(int(sys.argv[2]))
"""


async def wait_for_log(jobs_api, job_id: str, text: str, timeout: float = 120) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while text not in (await jobs_api("GET", f"jobs/{job_id}/log"))[1]["text"]:
        assert asyncio.get_running_loop().time() < deadline, f"no {text!r} in the log of {job_id}"
        await asyncio.sleep(0.2)


async def test_the_scripts_folder_travels_and_results_come_back(jobs_api, write_script, jp_root_dir):
    rel = write_script("proj/train.py", TRAVELLER)
    proj = jp_root_dir / "proj"
    (proj / "data").mkdir()
    (proj / "data" / "input.txt").write_text("42")
    (proj / ".gitignore").write_text("data/\n")  # as the MNIST tutorial's: the data travels all the same
    (proj / ".git").mkdir()
    (proj / ".git" / "HEAD").write_text("ref")
    (proj / "results").mkdir()
    (proj / "results" / "old.txt").write_text("old")
    gate = jp_root_dir / "gate"
    code, job = await jobs_api("POST", "jobs", {"script": rel, "resource": "cpu", "args": [str(gate), "3"]})
    assert code == 201, job
    await wait_for_log(jobs_api, job["id"], "written")
    # The user's own newer keep.txt, written while the job runs, stays.
    await asyncio.sleep(0.05)
    (proj / "results" / "keep.txt").write_text("the user's")
    gate.write_text("")
    final = await wait_for_job(jobs_api, job["id"], timeout=120)
    assert final["status"] == "failed" and final["exit_code"] == 3, final  # a failed job's results come back too
    assert "results" not in (final["reason"] or ""), final
    log = (await jobs_api("GET", f"jobs/{job['id']}/log"))[1]["text"]
    assert "data=42" in log
    cwd = log.split("cwd=", 1)[1].splitlines()[0]
    assert os.path.realpath(cwd) != os.path.realpath(proj)
    assert (proj / "results" / "ckpt" / "model.bin").read_text() == "weights"
    assert (proj / "results" / "keep.txt").read_text() == "the user's"
    assert (proj / "results" / "old.txt").read_text() == "old"
    assert not list((proj / "results").glob(".momo-results-*"))


async def test_a_stopped_jobs_partial_results_come_back(jobs_api, write_script, jp_root_dir):
    rel = write_script("stopme/train.py", TRAVELLER)
    proj = jp_root_dir / "stopme"
    (proj / "data").mkdir()
    (proj / "data" / "input.txt").write_text("7")
    gate = jp_root_dir / "stop-gate"
    gate.write_text("")
    code, job = await jobs_api("POST", "jobs", {"script": rel, "resource": "cpu", "args": [str(gate), "wait"]})
    assert code == 201, job
    await wait_for_log(jobs_api, job["id"], "written")
    code, _ = await jobs_api("POST", f"jobs/{job['id']}/stop")
    assert code == 202
    final = await wait_for_job(jobs_api, job["id"], timeout=120)
    assert final["status"] == "stopped", final
    assert (proj / "results" / "ckpt" / "model.bin").read_text() == "weights"


@pytest.mark.timeout(900)
async def test_the_mnist_tutorial_runs_as_a_ray_job(jobs_api, jp_root_dir, mnist_cache, monkeypatch):  # noqa: F811
    job = await quick_example_job_leaves_its_model(jobs_api, jp_root_dir, mnist_cache, monkeypatch)
    assert job["backend"] == "ray"
