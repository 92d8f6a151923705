"""The Slurm backend: its command lines and parsing, then the server against a real
single-node Slurm cluster (tests/slurm_cluster.py: two fake GPUs, no accounting)."""
import asyncio
import json
import os
import time

import pytest

from conftest import wait_for_job, wait_until
from momo_jobs.job.files import ExitRecord, RunSpec
from momo_jobs.job.telemetry import CPU_PERCENT, RSS_BYTES
from momo_jobs.server.backends.slurm.backend import GONE, final_record
from momo_jobs.server.backends.slurm.commands import (parse_sinfo, parse_squeue, pending_places, sbatch_argv,
                                                      seconds_for_slurm, time_options)
from slurm_cluster import slurm_cluster  # noqa: F401  (session fixture)
from test_mnist_data import mnist_cache  # noqa: F401  (fixture)
from mnist_job import quick_example_job_leaves_its_model
from test_telemetry import BUSY, MIB


def run_spec(resource="cpu", gpus=0, **extra) -> RunSpec:
    run = RunSpec(job_id="abc", job_dir="/data/jobs/abc", interpreter="python", script="/data/jobs/abc/snapshot/t.py",
                  args=[], cwd="/home/u/proj", env={}, resource=resource, gpus=gpus)
    for name, value in extra.items():
        setattr(run, name, value)  # fields a RunSpec may carry (time_limit, time_limit_signal)
    return run


# command lines and parsing


def test_time_limit_and_warning_signal_become_time_and_signal():
    assert time_options(run_spec()) == []
    assert time_options(run_spec(time_limit=90)) == ["--time=1:30"]
    assert time_options(run_spec(time_limit=3600.2, time_limit_signal="USR1@60")) == [
        "--time=60:01", "--signal=B:USR1@60"]
    assert time_options(run_spec(time_limit=600, time_limit_signal="SIGTERM@30")) == [
        "--time=10:00", "--signal=B:TERM@30"]
    assert seconds_for_slurm(0.2) == "0:01"


def test_sbatch_command_line():
    argv = sbatch_argv(run_spec("gpu", 2, time_limit=120), "/d/slurm.sh", "/d/slurm.out", "momo-abc", "gpu",
                       "--account=lab --cpus-per-task=8")
    assert argv[:2] == ["sbatch", "--parsable"] and argv[-1] == "/d/slurm.sh"
    assert {"--job-name=momo-abc", "--output=/d/slurm.out", "--gres=gpu:2", "--partition=gpu",
            "--chdir=/home/u/proj", "--time=2:00", "--account=lab"} <= set(argv)
    # One CPU unless the site's options say otherwise: theirs come later, and sbatch takes the last.
    assert argv.index("--cpus-per-task=8") > argv.index("--cpus-per-task=1")
    cpu = sbatch_argv(run_spec(), "/d/s.sh", "/d/o", "n", None, None)
    assert not any(a.startswith(("--gres", "--partition", "--time")) for a in cpu)


def test_squeue_lines_and_pending_places():
    text = ("12|PENDING|Resources|ann|100|gres:gpu:1|(null)|gpu|N/A\n"
            "13|PENDING|Priority|bob|300|gres/gpu:a100:2|(null)|gpu|N/A\n"
            "14|RUNNING|None|ann|100|(null)|n1|gpu|2026-12-01T08:00:00\n"
            "15|PENDING|QOSMaxGRESPerUser|cid|100|gpu:1|(null)|cpu|N/A\n"
            "garbage\n")
    jobs = parse_squeue(text)
    assert set(jobs) == {"12", "13", "14", "15"}
    assert jobs["13"].gpus == 2 and jobs["12"].gpus == 1 and jobs["14"].gpus == 0
    assert jobs["14"].start is not None and jobs["12"].start is None
    assert pending_places(jobs) == {"13": 1, "12": 2, "15": 1}
    assert parse_sinfo("n1|gpu:2|4\nn1|gpu:2|4\nn2|(null)|8\n") == [("n1", 2, 4), ("n2", 0, 8)]


def test_slurm_final_states_map_to_reasons():
    node = ExitRecord(exit_code=None, signal="SIGTERM", stopped=True, reason="stopped by request")
    timeout = final_record("TIMEOUT", "TimeLimit", node, False, True)
    assert timeout.reason == "time limit" and not timeout.stopped and timeout.exit_code is None
    assert final_record("OUT_OF_MEMORY", "", None, False, True).reason == "out of memory"
    assert "Slurm: ReqNodeNotAvail" in final_record("NODE_FAIL", "ReqNodeNotAvail", None, False, True).reason
    assert final_record("PREEMPTED", "", None, False, True).reason.startswith("preempted")
    ok = ExitRecord(exit_code=0)
    assert final_record("COMPLETED", "", ok, False, True) is ok
    queued_stop = final_record("CANCELLED", "", None, True, False)
    assert queued_stop.stopped and "pending" in queued_stop.reason
    assert "no longer knows" in final_record(GONE, "", None, False, True).reason


# the server against a real Slurm cluster

LIVE_JOB = """
import json, os, sys, time
print(json.dumps({"cwd": os.getcwd(), "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
                  "results": os.environ["MOMO_RESULTS_DIR"]}), flush=True)
print('{"metric": "loss", "value": 0.5, "step": 1}', flush=True)
while not os.path.exists("go"):
    time.sleep(0.05)
print('{"metric": "loss", "value": 0.25, "step": 2}', flush=True)
print("done", flush=True)
"""

GPU_JOB = """
import json, os, sys, time
print(json.dumps({"gpus": os.environ.get("CUDA_VISIBLE_DEVICES")}), flush=True)
time.sleep(float(sys.argv[1]))
"""

STUBBORN_JOB = """
import os, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time, os\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
    "open('grandchild.pid', 'w').write(str(os.getpid()))\\nwhile True: time.sleep(0.1)"])
print("started", flush=True)
while True:
    time.sleep(0.1)
"""


@pytest.fixture
def momo_config(slurm_cluster, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SLURM_CONF", str(slurm_cluster.conf))
    return {"backend": "slurm", "slurm_partition": slurm_cluster.partition, "gpus": "", "stop_grace_seconds": 2.0}


@pytest.fixture(autouse=True)
def _no_jobs_left(slurm_cluster):  # noqa: F811
    yield
    slurm_cluster.cancel_all()


def slurm_state(cluster, job_dir) -> str:
    slurm_id = json.loads((job_dir / "slurm.json").read_text())["slurm_id"]
    out = cluster.run("squeue", "-h", "--states=all", "-j", slurm_id, "-o", "%T", check=False)
    return out.stdout.strip()


async def test_cpu_job_with_live_log_and_metrics(jobs_api, write_script, jp_root_dir):
    rel = write_script("proj/live.py", LIVE_JOB)
    code, res = await jobs_api("GET", "resources")
    assert code == 200 and res["backend"] == "slurm" and len(res["gpus"]) == 2, res
    code, job = await jobs_api("POST", "jobs", {"script": rel, "resource": "cpu"})
    assert code == 201 and job["backend"] == "slurm", job
    job = await wait_for_job(jobs_api, job["id"], timeout=60, statuses=("running",))
    deadline = time.monotonic() + 60
    while True:  # the first lines arrive while the job runs
        _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
        _, metrics = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"x": "step"})
        if metrics["series"] and metrics["series"][0]["y"] == [0.5]:
            break
        assert time.monotonic() < deadline, log
        await asyncio.sleep(0.1)
    first = json.loads(log["text"].splitlines()[0])
    folder = os.path.realpath(os.path.join(jp_root_dir, "proj"))
    assert first == {"cwd": folder, "cuda": "", "results": os.path.join(folder, "results")}
    assert (await jobs_api("GET", f"jobs/{job['id']}"))[1]["status"] == "running"
    (jp_root_dir / "proj" / "go").write_text("")
    final = await wait_for_job(jobs_api, job["id"], timeout=60)
    assert final["status"] == "completed" and final["exit_code"] == 0, final
    _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
    assert log["text"].endswith("done\n")
    _, metrics = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"x": "step"})
    assert metrics["series"][0]["y"] == [0.5, 0.25]


async def test_a_slurm_job_s_cpu_and_memory_are_sampled_on_its_node(jobs_api, write_script):
    # The supervisor runs beside the job on the node, so its telemetry comes as a local job's does.
    rel = write_script("busy.py", BUSY)
    code, job = await jobs_api("POST", "jobs", {"script": rel, "resource": "cpu"})
    assert code == 201, job
    final = await wait_for_job(jobs_api, job["id"], timeout=120)
    assert final["status"] == "completed", final
    _, metrics = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"names": f"{CPU_PERCENT},{RSS_BYTES}"})
    series = {s["name"]: s["y"] for s in metrics["series"]}
    assert max(series[RSS_BYTES]) >= 300 * MIB and max(series[CPU_PERCENT]) >= 50, series
    _, runs = await jobs_api("GET", "runs", params={"ids": job["id"]})
    assert runs["runs"][0]["peak"]["rss_bytes"] >= 300 * MIB


async def test_three_gpu_jobs_on_two_gpus_third_pending_with_slurms_reason(jobs_api, write_script, slurm_cluster,  # noqa: F811
                                                                          jp_serverapp):
    rel = write_script("gpu.py", GPU_JOB)
    jobs = []
    for seconds in ("6", "6", "0"):
        code, job = await jobs_api("POST", "jobs", {"script": rel, "resource": "gpu", "args": [seconds]})
        assert code == 201, job
        jobs.append(job)
    # All three are with Slurm at once; the third waits in Slurm's queue, and says why.
    deadline = time.monotonic() + 60
    while True:
        third = (await jobs_api("GET", f"jobs/{jobs[2]['id']}"))[1]
        running = [(await jobs_api("GET", f"jobs/{j['id']}"))[1]["status"] for j in jobs[:2]]
        if running == ["running"] * 2 and third["status"] == "queued" and "Resources" in (third["reason"] or ""):
            break
        assert time.monotonic() < deadline, ([(await jobs_api("GET", f"jobs/{j['id']}"))[1]["reason"] for j in jobs], third)
        await asyncio.sleep(0.2)
    assert third["queue_position"] == 1 and third["started_at"] is None
    assert slurm_state(slurm_cluster, jp_serverapp.web_app.settings["momo_jobs_service"].jobs_dir / third["id"]) == "PENDING"
    _, res = await jobs_api("GET", "resources")
    assert sorted(g["holder"] for g in res["gpus"]) == sorted(j["id"] for j in jobs[:2])
    finals = [await wait_for_job(jobs_api, job["id"], timeout=120) for job in jobs]
    assert [j["status"] for j in finals] == ["completed"] * 3, finals
    assert finals[2]["started_at"] >= min(finals[0]["finished_at"], finals[1]["finished_at"])[:19]
    seen = []
    for job in finals:
        _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
        seen.append(json.loads(log["text"].splitlines()[0])["gpus"])
    assert set(seen[:2]) == {"0", "1"} and seen[2] in ("0", "1")  # the two that ran together: distinct GPUs


async def test_stop_ends_a_grandchild_that_ignores_sigterm(jobs_api, write_script, jp_root_dir):
    rel = write_script("stubborn/run.py", STUBBORN_JOB)
    code, job = await jobs_api("POST", "jobs", {"script": rel, "resource": "cpu"})
    assert code == 201, job
    pid_file = jp_root_dir / "stubborn" / "grandchild.pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the grandchild did not start"
        await asyncio.sleep(0.1)
    grandchild = int(pid_file.read_text())
    code, stopping = await jobs_api("POST", f"jobs/{job['id']}/stop")
    assert code == 202 and stopping["status"] in ("stopping", "stopped"), stopping
    final = await wait_for_job(jobs_api, job["id"], timeout=60)
    assert final["status"] == "stopped", final
    wait_until(lambda: not os.path.exists(f"/proc/{grandchild}"), timeout=20, what="the grandchild to end")


async def test_stop_of_a_job_pending_in_slurm(jobs_api, write_script):
    rel = write_script("gpu.py", GPU_JOB)
    jobs = [(await jobs_api("POST", "jobs", {"script": rel, "resource": "gpu", "gpus": 2, "args": [a]}))[1]
            for a in ("30", "0")]
    await wait_for_job(jobs_api, jobs[1]["id"], timeout=30, statuses=("queued",))
    code, stopped = await jobs_api("POST", f"jobs/{jobs[1]['id']}/stop")
    assert code == 202, stopped
    final = await wait_for_job(jobs_api, jobs[1]["id"], timeout=60)
    assert final["status"] == "stopped" and "pending" in final["reason"], final
    await jobs_api("POST", f"jobs/{jobs[0]['id']}/stop")
    assert (await wait_for_job(jobs_api, jobs[0]["id"], timeout=60))["status"] == "stopped"


COUNT_JOB = """
import json, sys, time
n = int(sys.argv[1])
print("start", flush=True)
for i in range(n):
    print(json.dumps({"metric": "i", "value": i, "step": i}), flush=True)
    time.sleep(0.5)
print("end", flush=True)
"""


def slurm_server_env(cluster) -> dict:
    return {"SLURM_CONF": str(cluster.conf), "MOMO_JOBS_BACKEND": "slurm",
            "MOMO_JOBS_SLURM_PARTITION": cluster.partition}


def expected_count_log(n: int) -> str:
    return "start\n" + "".join(json.dumps({"metric": "i", "value": i, "step": i}) + "\n" for i in range(n)) + "end\n"


def test_server_restart_mid_job_and_with_a_job_pending_in_slurm(server_process, slurm_cluster):  # noqa: F811
    server = server_process(slurm_server_env(slurm_cluster))
    (server.root / "count.py").write_text(COUNT_JOB)
    client = server.client()
    jobs = [client.submit(server.root / "count.py", resource="gpu", gpus=2, args=[n]) for n in ("40", "3")]
    wait_until(lambda: client.log(jobs[0]["id"])["text"].count("metric") >= 3, timeout=60, what="output")
    assert client.get(jobs[1]["id"])["status"] == "queued"
    server.kill9()
    server.start()
    client = server.client()
    assert client.get(jobs[1]["id"])["status"] == "queued"
    finals = [client.wait(job["id"], timeout=120) for job in jobs]
    for job, n in zip(finals, (40, 3)):
        assert job["status"] == "completed", job
        assert client.log(job["id"], limit=1 << 20)["text"] == expected_count_log(n)
        (series,) = client.metrics(job["id"], x="step")["series"]
        assert series["count"] == n


def test_controller_down_for_ten_seconds_fails_no_job(server_process, slurm_cluster):  # noqa: F811
    server = server_process(slurm_server_env(slurm_cluster))
    (server.root / "count.py").write_text(COUNT_JOB)
    client = server.client()
    running = client.submit(server.root / "count.py", resource="gpu", gpus=2, args=["16"])
    pending = client.submit(server.root / "count.py", resource="gpu", gpus=2, args=["2"])
    wait_until(lambda: client.log(running["id"])["text"].count("metric") >= 2, timeout=60, what="output")
    slurm_cluster.stop_controller()
    try:
        time.sleep(10)
        for job in (running, pending):
            assert client.get(job["id"])["status"] in ("running", "queued")
    finally:
        slurm_cluster.start_controller()
    finals = [client.wait(job["id"], timeout=120) for job in (running, pending)]
    assert [j["status"] for j in finals] == ["completed", "completed"], finals
    assert client.log(running["id"], limit=1 << 20)["text"] == expected_count_log(16)


@pytest.mark.timeout(900)
async def test_the_mnist_tutorial_runs_as_a_slurm_job(jobs_api, jp_root_dir, mnist_cache, monkeypatch):  # noqa: F811
    job = await quick_example_job_leaves_its_model(jobs_api, jp_root_dir, mnist_cache, monkeypatch)
    assert job["backend"] == "slurm"
