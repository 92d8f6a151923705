"""The Ray backend against a real local Ray head (tests/ray_head.py): no mocks.

The jobs wait on gate files the test creates, so "while the job runs" and
"mid-job" are states the test sets up rather than races it hopes to win.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from momo_jobs.job import carryback
from momo_jobs.server.backends.base import LaunchError
from momo_jobs.server.backends.ray import RayBackend
from momo_jobs.server.backends.ray.workdir import results_note, stage, unstage
from momo_jobs.server.backends.ray.http import launch_error
from momo_jobs.server.backends.ray.logcopy import POLL_LIMIT, LogCursor, exit_record
from momo_jobs.server.backends.ray.room import cluster_gpus, parse_usage
from momo_jobs.job.files import ExitRecord, RunSpec
from momo_jobs.vocabulary import JobFiles
from ray_head import ray_head  # noqa: F401  (session fixture)

WAIT = 120  # seconds; Ray starts a job in seconds, a busy 2-core machine takes longer

# Waits for a file the test creates (a gate), so the job's steps follow the test's.
GATE = """
import os, sys, time
def gate(path):
    deadline = time.time() + 300
    while not os.path.exists(path):
        if time.time() > deadline:
            sys.exit("gate never opened: " + path)
        time.sleep(0.05)
"""


def make_run(root: Path, job_id: str, script: str, args=(), resource="cpu", gpus=0, stop_grace=1.0) -> RunSpec:
    folder = root / job_id
    (folder / JobFiles.SNAPSHOT).mkdir(parents=True)
    (folder / JobFiles.SNAPSHOT / "train.py").write_text(textwrap.dedent(script))
    env = {"PYTHONUNBUFFERED": "1", "CUDA_VISIBLE_DEVICES": "" if resource == "cpu" else "0,1"[: 2 * gpus - 1],
           "MOMO_JOB_ID": job_id, "MOMO_RESULTS_DIR": str(root / "results")}
    run = RunSpec(job_id=job_id, job_dir=str(folder), interpreter=sys.executable,
                  script=str(folder / JobFiles.SNAPSHOT / "train.py"), args=list(map(str, args)),
                  cwd=str(root), env=env, resource=resource, gpus=gpus, stop_grace=stop_grace)
    run.save()
    return run


def settings(address: str, data_dir: Path):
    return SimpleNamespace(ray_address=address, stop_grace_seconds=1.0, data_dir=str(data_dir))


def log_text(run: RunSpec) -> str:
    try:
        return (run.folder / JobFiles.LOG).read_text()
    except FileNotFoundError:
        return ""


def metric_points(run: RunSpec) -> list[dict]:
    try:
        return [json.loads(line) for line in (run.folder / JobFiles.METRICS).read_text().splitlines()]
    except FileNotFoundError:
        return []


_head = {}  # the running head's JobSubmissionClient, for messages


def describe(run: RunSpec) -> str:
    files = {p.name: p.stat().st_size for p in run.folder.iterdir()}
    try:
        info = _head["client"].get_job_info(run.job_id)
        ray = f"{info.status.value} {info.message!r}"
    except Exception as exc:
        ray = repr(exc)
    return (f"{run.job_id}: files {files}, exit {ExitRecord.load(run.folder)}, "
            f"log tail {log_text(run)[-300:]!r}, Ray: {ray}")


async def until(check, what: str, timeout: float = WAIT, run: RunSpec | None = None):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f"; {describe(run)}" if run else ""))
        await asyncio.sleep(0.05)


async def ended(run: RunSpec, timeout: float = WAIT) -> ExitRecord:
    await until(lambda: (run.folder / JobFiles.EXIT).exists(), f"{run.job_id} to end", timeout, run)
    return ExitRecord.load(run.folder)


@pytest.fixture
def job_root(tmp_path):
    return tmp_path / "jobs"


@pytest.fixture
def unique():
    # Ray keeps every submission id for the cluster's life: each test's ids are new.
    return f"{int(time.time() * 1000) % 10**9}"


@pytest.fixture
def ray_client(ray_head):
    from ray.job_submission import JobSubmissionClient

    return JobSubmissionClient(ray_head.address)


@pytest.fixture
def cluster(ray_head, ray_client):
    """The Ray head, cleared after the test of the jobs it left running (a failed
    test's jobs would otherwise hold the resources the next test needs)."""
    _head["client"] = ray_client
    yield ray_head
    for job in ray_client.list_jobs():
        if job.submission_id and not job.status.is_terminal():
            try:
                ray_client.stop_job(job.submission_id)
            except Exception:
                pass


async def ray_status(client, job_id: str) -> str:
    return str((await asyncio.to_thread(client.get_job_status, job_id)).value)


# Real cluster

ENV_JOB = GATE + """
import json
print("CUDA_VISIBLE_DEVICES=%r" % os.environ.get("CUDA_VISIBLE_DEVICES"))
print("MOMO_JOB_ID=" + os.environ["MOMO_JOB_ID"])
for step in range(3):
    print(json.dumps({"metric": "loss", "value": 1.0 / (step + 1), "step": step}))
print("ready")
gate(sys.argv[1])
print(json.dumps({"metric": "accuracy", "value": 0.5, "epoch": 1}))
sys.exit(int(sys.argv[2]))
"""


async def test_jobs_get_their_devices_and_stream_live(cluster, job_root, unique):
    backend = RayBackend(settings(cluster.address, job_root))
    await backend.start()
    try:
        inventory = backend.inventory()
        assert [g.index for g in inventory.gpus] == ["0", "1"]
        assert inventory.cpu_slots == 4
        release = job_root / "release"
        cpu = make_run(job_root, f"cpu-{unique}", ENV_JOB, [release, 3])
        gpu_runs = [make_run(job_root, f"gpu{i}-{unique}", ENV_JOB, [release, 0], resource="gpu", gpus=1)
                    for i in range(2)]
        runs = [cpu, *gpu_runs]
        launching = asyncio.gather(*(backend.launch(run) for run in runs))
        await asyncio.sleep(0)  # the submits are under way, Ray may not know the jobs yet
        assert all([await backend.is_alive(run) for run in runs])
        await launching
        await backend.launch(gpu_runs[0])  # a retried submit: still one job

        for run in runs:
            await until(lambda: "ready\n" in log_text(run), f"{run.job_id}'s first lines", run=run)
            await until(lambda: len(metric_points(run)) == 3, f"{run.job_id}'s metrics", run=run)
            assert not (run.folder / JobFiles.EXIT).exists()
            assert await backend.is_alive(run)
        assert not backend.has_room("gpu", 1)  # both GPUs are ours now

        release.touch()
        records = {run.job_id: await ended(run) for run in runs}
        # What the ended jobs held counts as free at once, before Ray's next usage report.
        assert backend.has_room("gpu", 2)
    finally:
        await backend.close()

    assert "CUDA_VISIBLE_DEVICES=''\n" in log_text(cpu)
    seen = set()
    for run in gpu_runs:
        line = next(l for l in log_text(run).splitlines() if l.startswith("CUDA_VISIBLE_DEVICES="))
        seen.add(eval(line.split("=", 1)[1]))
    assert seen == {"0", "1"}
    for run in runs:
        text = log_text(run)
        assert text.startswith("CUDA_VISIBLE_DEVICES=")  # Ray's own preamble is left out
        assert text.count("ready\n") == 1
        assert f"MOMO_JOB_ID={run.job_id}\n" in text
        points = metric_points(run)
        assert [(p["metric"], p["step"], p["epoch"]) for p in points] == \
            [("loss", 0, None), ("loss", 1, None), ("loss", 2, None), ("accuracy", None, 1)]
        assert all(p["t"] > 0 for p in points)
    assert records[cpu.job_id].exit_code == 3 and not records[cpu.job_id].stopped
    assert "exit code 3" in records[cpu.job_id].reason
    for run in gpu_runs:
        assert records[run.job_id].exit_code == 0 and records[run.job_id].reason is None


STUBBORN_JOB = """
import os, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('child ignores SIGTERM', flush=True); time.sleep(600)"])
print("child pid", child.pid, flush=True)
child.wait()
"""


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (FileNotFoundError, IndexError):
        return False


async def test_stop_ends_a_child_that_ignores_sigterm(cluster, job_root, unique):
    backend = RayBackend(settings(cluster.address, job_root))
    await backend.start()
    run = make_run(job_root, f"stop-{unique}", STUBBORN_JOB, stop_grace=1.0)
    try:
        await backend.launch(run)
        await until(lambda: "child ignores SIGTERM" in log_text(run), "the child to start", run=run)
        pid = int(next(l for l in log_text(run).splitlines() if l.startswith("child pid")).split()[-1])
        assert pid_alive(pid)
        started = time.monotonic()
        await backend.stop(run)
        record = await ended(run, timeout=60)
        await until(lambda: not pid_alive(pid), "the child to be killed", timeout=30)
        assert time.monotonic() - started < 30
    finally:
        if not (run.folder / JobFiles.EXIT).exists():
            await backend.stop(run)
        await backend.close()
    assert record.stopped
    assert "child ignores SIGTERM" in log_text(run)  # the partial log is kept


async def test_a_log_ray_cannot_read_still_ends_the_job(cluster, job_root, unique, monkeypatch):
    from momo_jobs.server.backends.ray import logcopy

    monkeypatch.setattr(logcopy, "RETRY_MAX", 0.1)
    backend = RayBackend(settings(cluster.address, job_root))
    await backend.start()
    # Ray reads job logs as UTF-8 and its log API fails for good on anything else.
    run = make_run(job_root, f"binary-{unique}",
                   "import sys\nprint('text', flush=True)\nsys.stdout.buffer.write(b'\\xff\\xfe\\n')\n")
    try:
        await backend.launch(run)
        record = await ended(run)
    finally:
        await backend.close()
    assert record.exit_code == 0
    assert "could not be read from Ray" in record.reason


def resumable_job(filler_lines: int) -> str:
    """Prints a first half, waits, prints a second half (while no server follows it), waits, ends."""
    return GATE + f"""
import json
for i in range({filler_lines}):
    print("filler %06d " % i + "x" * 100)
for step in range(20):
    print("first half line %d" % step)
    print(json.dumps({{"metric": "loss", "value": step, "step": step}}))
print("half1-done")
sys.stdout.write('{{"metric": "loss", "value": 40, ')  # a line the restart cuts in two
sys.stdout.flush()
gate(sys.argv[1])
print('"step": 40}}')
for step in range(20, 40):
    print("second half line %d" % step)
    print(json.dumps({{"metric": "loss", "value": step, "step": step}}))
    time.sleep(0.01)
print("half2-done")
gate(sys.argv[2])
print("bye")
"""


def resumable_output(filler_lines: int) -> str:
    out = [f"filler {i:06d} " + "x" * 100 for i in range(filler_lines)]
    for step in range(20):
        out += [f"first half line {step}", json.dumps({"metric": "loss", "value": step, "step": step})]
    out += ["half1-done", '{"metric": "loss", "value": 40, "step": 40}']
    for step in range(20, 40):
        out += [f"second half line {step}", json.dumps({"metric": "loss", "value": step, "step": step})]
    out += ["half2-done", "bye"]
    return "\n".join(out) + "\n"


async def test_restart_reattaches_without_loss_or_duplicates(cluster, job_root, unique, ray_client):
    gate1, gate2 = job_root / "gate1", job_root / "gate2"
    big_filler = POLL_LIMIT // 100 + 500  # past the polling limit: followed through the websocket
    jobs = {
        "small": (make_run(job_root, f"small-{unique}", resumable_job(0), [gate1, gate2]), 0),
        "big": (make_run(job_root, f"big-{unique}", resumable_job(big_filler), [gate1, gate2]), big_filler),
        # Ends while no server follows it.
        "done": (make_run(job_root, f"done-{unique}", resumable_job(0), [gate1, gate1]), 0),
    }
    first = RayBackend(settings(cluster.address, job_root))
    await first.start()
    second = RayBackend(settings(cluster.address, job_root))
    try:
        for run, _ in jobs.values():
            await first.launch(run)
        for run, _ in jobs.values():
            await until(lambda: log_text(run).endswith('"value": 40, '), f"{run.job_id}'s first half", run=run)
        await first.close()  # the server goes away
        gate1.touch()
        for run, _ in jobs.values():
            await until(lambda: "half2-done" in ray_client.get_job_logs(run.job_id), f"{run.job_id}'s second half")
        await until(lambda: ray_client.get_job_status(jobs["done"][0].job_id).is_terminal(), "the finished job")
        for run, _ in jobs.values():
            assert "second half" not in log_text(run)
            assert not (run.folder / JobFiles.EXIT).exists()

        await second.start()  # the server is back
        assert await second.reattach(jobs["small"][0])
        assert await second.reattach(jobs["big"][0])
        assert not await second.reattach(jobs["done"][0])  # already over: recorded at once
        assert (jobs["done"][0].folder / JobFiles.EXIT).exists()
        gone = make_run(job_root, f"never-submitted-{unique}", "print('hi')")
        assert not await second.reattach(gone)

        gate2.touch()
        for run, filler in jobs.values():
            record = await ended(run)
            assert record.exit_code == 0, record
            assert log_text(run) == resumable_output(filler), run.job_id
            steps = [p["step"] for p in metric_points(run)]
            assert steps == [*range(20), 40, *range(20, 40)], run.job_id
    finally:
        gate1.touch()
        gate2.touch()
        await first.close()
        await second.close()


# Without a cluster

def copy_through_cursor(log: str, marker: str, recorded: int = 0, cuts=()) -> bytes:
    cursor, out, prev = LogCursor(marker, recorded), b"", 0
    for cut in [*cuts, len(log)]:
        out += cursor.feed(log[prev:cut])
        prev = cut
    return out + cursor.feed("", final=True)


def test_log_cursor_keeps_the_jobs_output_only():
    marker = "Running entrypoint for job j1: python train.py\n"
    setup = "2026-11-30 18:38:11,116\tINFO job_manager.py:581 -- Runtime env is setting up.\n"
    # A job of Ray's own: its log lines are output like any other.
    body = ("2026-11-30 18:38:12,001\tINFO worker.py:1821 -- Connecting to existing Ray cluster\n"
            'héllo\n{"metric": "loss", "value": 40, "step": 40}\nend\n')
    logs = {
        "marker first": setup + marker + body,
        # Ray flushes its line late, so it can cut one of the job's lines in two.
        "marker late": setup + body[:110] + marker + body[110:],
        "no marker": setup + body,
    }
    for name, log in logs.items():
        for cuts in [(), (60,), (30, 120, 121, 140), range(0, len(log), 7)]:
            assert copy_through_cursor(log, marker, cuts=cuts).decode() == body, (name, cuts)
        # Reading it again from the start after a restart: only what output.log lacks.
        recorded = len(body[:120].encode())
        assert copy_through_cursor(log, marker, recorded, cuts=(50,)) == body.encode()[recorded:], name
    # Still in Ray's setup: nothing yet; over without any output of the job: Ray's lines.
    assert LogCursor(marker, 0).feed(setup) == b""
    assert copy_through_cursor("setup failed\n", marker) == b"setup failed\n"


def test_exit_records_from_rays_states():
    ok = exit_record({"status": "SUCCEEDED", "end_time": 1_700_000_000_000})
    assert ok.exit_code == 0 and ok.finished_at.startswith("2023-11-14T22:13:20")
    failed = exit_record({"status": "FAILED", "driver_exit_code": 3,
                          "message": "Job entrypoint command failed with exit code 3, last available logs "
                                     "(truncated to 20,000 chars):\nTraceback ..."})
    assert (failed.exit_code, failed.reason) == (3, "Job entrypoint command failed with exit code 3")
    killed = exit_record({"status": "FAILED", "driver_exit_code": -9, "message": "killed"})
    assert killed.signal == "SIGKILL"
    never = exit_record({"status": "FAILED", "message": "runtime env setup failed"})
    assert never.exit_code is None and never.reason == "runtime env setup failed"
    assert exit_record({"status": "STOPPED"}).stopped


def test_oversized_working_dir_is_a_clear_launch_error():
    exc = RuntimeError("Request failed with status code 500: Traceback (most recent call last):\n  File x\n"
                       "ValueError: Package size (612.00MiB) exceeds the maximum size of 512.00MiB. "
                       "To exclude large files, add them to '.gitignore'")
    message = str(launch_error(exc))
    assert "too big" in message and "612.00MiB" in message and "512.00MiB" in message
    assert str(launch_error(RuntimeError("Traceback\n  File y\nValueError: bad entrypoint"))) == \
        "the Ray cluster refused the job: ValueError: bad entrypoint"


def test_cluster_resources_parsing():
    status = {"data": {"clusterStatus": {"time": 12.5, "loadMetricsReport": {
        "usage": {"CPU": [1.0, 4.0], "GPU": [2.0, 2.0], "memory": [0, 1]}}}}}
    assert parse_usage(status) == ({"CPU": (1.0, 4.0), "GPU": (2.0, 2.0)}, 12.5)
    text = {"data": {"autoscalingStatus": " - ResourceUsage: 0.0/8.0 CPU, 1.0/4.0 GPU, 0.0 GiB/2 GiB memory"}}
    assert parse_usage(text) == ({"CPU": (0.0, 8.0), "GPU": (1.0, 4.0)}, None)
    nodes = [{"node_id": "b", "node_ip": "10.0.0.2", "state": "ALIVE",
              "resources_total": {"GPU": 2.0, "accelerator_type:A100": 1.0}},
             {"node_id": "a", "node_ip": "10.0.0.1", "is_head_node": True, "state": "ALIVE",
              "resources_total": {"CPU": 8.0}},
             {"node_id": "c", "node_ip": "10.0.0.3", "state": "DEAD", "resources_total": {"GPU": 8.0}}]
    assert [(g.index, g.name) for g in cluster_gpus(nodes)] == [("0", "A100 on 10.0.0.2"), ("1", "A100 on 10.0.0.2")]


def test_a_folder_over_rays_limit_is_refused_naming_its_largest_files(tmp_path):
    run = make_run(tmp_path / "proj", "big", "print('hi')\n")
    with open(tmp_path / "proj" / "huge.npz", "wb") as f:
        f.truncate(600 << 20)  # sparse: 600 MiB to Ray's size check, nothing on disk
    (tmp_path / "proj" / "small.txt").write_text("x")
    with pytest.raises(LaunchError) as info:
        stage(run)
    message = str(info.value)
    assert "huge.npz (600.0 MiB)" in message and "over Ray's limit" in message
    assert not (run.folder / "ray-workdir").exists()


def test_what_travels_and_what_comes_back(tmp_path):
    proj = tmp_path / "proj"
    run = make_run(proj, "trav", "print('snapshot')\n")
    for rel, text in {"train.py": "print('edited since')", "data/x.txt": "1", ".gitignore": "data/",
                      "results/old.txt": "o", ".git/HEAD": "h", "sub/.ipynb_checkpoints/c": "c"}.items():
        (proj / rel).parent.mkdir(parents=True, exist_ok=True)
        (proj / rel).write_text(text)
    staged = stage(run)
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert files == [".momo_carryback.py", "data/x.txt", "train.py"]
    assert (staged / "train.py").read_text() == "print('snapshot')\n"  # the script as submitted
    unstage(run)
    assert not staged.exists()

    node_results = tmp_path / "node" / "results"
    (node_results / "ckpt").mkdir(parents=True)
    (node_results / "ckpt" / "m.bin").write_text("new")
    (node_results / "old.txt").write_text("job's")
    target = proj / "results"
    os.utime(node_results / "old.txt", (1, 1))  # older than the user's own results/old.txt
    copied, kept = carryback.copy_back(str(node_results), str(target))
    assert copied == ["ckpt/m.bin"] and kept == ["old.txt"]
    assert (target / "ckpt" / "m.bin").read_text() == "new" and (target / "old.txt").read_text() == "o"
    assert results_note(run) is not None  # no note from carryback: the reason says so
