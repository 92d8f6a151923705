"""Telemetry (DESIGN §2, §4): the supervisor samples its job's process tree (CPU, resident
memory) and, for a GPU job, its GPUs through NVML, into the job's metrics as sys/… series;
the runs table shows their peaks. GPUs come from the fake NVML of ../shared/fake-nvml (a real
libnvidia-ml.so.1 stand-in that the real pynvml loads), whose state file names the job's pid."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import wait_until
from momo_jobs.job.telemetry import CPU_PERCENT, NOTICE, RSS_BYTES, gpu_series
from momo_jobs.vocabulary import JobFiles
from test_supervisor import Jobs, jobs  # noqa: F401 (the fixture)

REPO = Path(__file__).resolve().parent.parent
MIB = 1 << 20

BUSY = """
    import time
    held = b"x" * (300 << 20)  # 300 MB, every page written
    end = time.process_time() + 3.0
    while time.process_time() < end:  # a core kept busy for 3 s of CPU time
        pass
    print("done", len(held))
"""


def points_of(folder: Path) -> list[dict]:
    path = folder / JobFiles.METRICS
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def values(points: list[dict], name: str) -> list:
    return [p["value"] for p in points if p.get("metric") == name]


def test_a_busy_job_s_cpu_and_memory_show_in_its_series_and_peaks(server_process):
    server = server_process({"MOMO_JOBS_TELEMETRY": "0.2"})
    client = server.client()
    (server.root / "busy.py").write_text(__import__("textwrap").dedent(BUSY))
    job = client.submit(server.root / "busy.py")
    job = client.wait(job["id"], timeout=120)
    assert job["status"] == "completed", job
    series = {s["name"]: s for s in client.metrics(job["id"], names=[CPU_PERCENT, RSS_BYTES])["series"]}
    rss, cpu = series[RSS_BYTES]["y"], series[CPU_PERCENT]["y"]
    assert max(rss) >= 300 * MIB, rss
    # A core busy for 3 s of CPU time, however loaded the machine: each sample's share of a
    # core over the time since the one before adds up to those 3 s (and Python's start).
    times = series[CPU_PERCENT]["x"]
    used = sum(c / 100 * (t - before) for c, t, before in zip(cpu, times, [0.0, *times]))
    assert 2.7 <= used <= 4.5, (used, cpu)
    (run,) = client.runs(ids=[job["id"]])["runs"]
    assert run["peak"]["rss_bytes"] == max(rss) and run["peak"]["cpu_percent"] == max(cpu)
    assert run["peak"]["gpu_memory_bytes"] is None
    assert run["metrics"][RSS_BYTES]["count"] == series[RSS_BYTES]["count"] >= 5


def test_telemetry_off_writes_no_sys_series(jobs):
    run = jobs.spec("import time\ntime.sleep(0.6)\n", save=False)
    run.telemetry_seconds = 0
    run.save()
    jobs.finish(jobs.start(run), run)
    assert points_of(run.folder) == []


# GPUs through the fake NVML


def _fake_nvml_source() -> Path | None:
    named = os.environ.get("MOMO_FAKE_NVML_DIR")
    candidates = [Path(named)] if named else []
    candidates += [REPO.parent / "shared" / "fake-nvml", REPO.parent.parent / "shared" / "fake-nvml"]
    return next((c for c in candidates if (c / "build.sh").is_file()), None)


@pytest.fixture(scope="module")
def fake_nvml_lib(tmp_path_factory) -> Path:
    """The folder of a freshly built fake libnvidia-ml.so.1."""
    source = _fake_nvml_source()
    if source is None:
        pytest.skip("no fake NVML: ../shared/fake-nvml is not beside this checkout (set MOMO_FAKE_NVML_DIR)")
    pytest.importorskip("pynvml", reason="nvidia-ml-py (extra gpu) is not installed")
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler to build the fake NVML (apt-get install gcc)")
    out = tmp_path_factory.mktemp("fake-nvml")
    built = subprocess.run(["sh", str(source / "build.sh"), str(out)], capture_output=True, text=True, timeout=120)
    if built.returncode != 0:
        pytest.skip(f"the fake NVML did not build: {built.stderr.strip()[-300:]}")
    return Path(built.stdout.strip()).parent


def write_state(path: Path, text: str) -> None:
    new = path.with_name(path.name + ".new")
    new.write_text(text)
    os.replace(new, path)


def gpu_job(jobs: Jobs, source: str):
    run = jobs.spec(source, save=False)
    run.resource, run.gpus, run.gpu_ids, run.telemetry_seconds = "gpu", 1, ["0"], 0.2
    run.save()
    return run


def test_a_gpu_job_s_memory_is_found_by_its_pid(jobs, fake_nvml_lib, tmp_path):
    state = tmp_path / "gpus"
    write_state(state, 'uuid=GPU-11111111-aaaa name="Fake H100" total=85899345920 util=0\n')
    run = gpu_job(jobs, "import time\ntime.sleep(4)\n")
    proc = jobs.start(run, env=dict(os.environ, LD_LIBRARY_PATH=str(fake_nvml_lib), FAKE_NVML_STATE=str(state)))
    wait_until(lambda: (run.folder / JobFiles.SUPERVISOR).exists(), 20, "the supervisor's record")
    child = json.loads((run.folder / JobFiles.SUPERVISOR).read_text())["child_pid"]
    # The job's real pid holds 1 GiB; another process (this test) holds 5 GiB of the same GPU.
    write_state(state, f"uuid=GPU-11111111-aaaa total=85899345920 used={8 << 30} util=55 "
                       f"procs={child}:{1 << 30},{os.getpid()}:{5 << 30}\n")
    util, memory, device = gpu_series(0)
    wait_until(lambda: (1 << 30) in values(points_of(run.folder), memory), 20, "the job's GPU memory")
    jobs.finish(proc, run)
    points = points_of(run.folder)
    assert set(values(points, memory)) <= {0, 1 << 30}
    assert 55 in values(points, util) and (8 << 30) in values(points, device)
    assert values(points, NOTICE) == []


def test_a_gpu_job_without_nvml_says_so_once(jobs, fake_nvml_lib, tmp_path):
    state = tmp_path / "gpus"
    write_state(state, "uuid=GPU-1\n")
    run = gpu_job(jobs, "import time\ntime.sleep(1)\n")
    env = dict(os.environ, LD_LIBRARY_PATH=str(fake_nvml_lib), FAKE_NVML_STATE=str(state), FAKE_NVML_FAIL="nvmlInit")
    jobs.finish(jobs.start(run, env=env), run)
    points = points_of(run.folder)
    (notice,) = values(points, NOTICE)
    assert notice.startswith("GPU telemetry off: NVML is not available")
    assert values(points, RSS_BYTES) and not values(points, gpu_series(0)[1])
