"""Shared GPUs (DESIGN §2, §6): several servers run as different Unix users over one
lock folder. Never one GPU held by two jobs, first come first served across users,
positions right; kill -9 of a job, of its supervisor or of a server never leaves a GPU
held by two or by nobody; foreign processes, confinement, lock files of other users.

Each job prints ``START <time> <CUDA_VISIBLE_DEVICES>`` and then a beat every 50 ms
until the test releases it (a file named after it), then ``END <time>``: the times it
printed lie within its life, so two jobs whose printed spans overlap on one GPU were
alive on it at once.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import textwrap
import threading
import time
from pathlib import Path

import pytest

import other_users
from conftest import wait_until
from momo_jobs.job.gpulocks import lock_file_name, open_lock_file
from momo_jobs.server.gpushare import LockDirError, prepare_lock_dir
from server_process import ServerProcess

USERS = ("momo-test-a", "momo-test-b", "momo-test-c")

JOB = textwrap.dedent("""
    import os, sys, time
    name, release = sys.argv[1], sys.argv[2]
    print("START", time.time(), os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
    while not (os.path.exists(os.path.join(release, name)) or os.path.exists(os.path.join(release, "ALL"))):
        print("BEAT", time.time(), flush=True)
        time.sleep(0.05)
    print("END", time.time(), flush=True)
""")


def find_fake_nvml() -> Path | None:
    """The fake NVML of the test tools beside the checkout (``../shared/fake-nvml``)."""
    for parent in other_users.REPO.parents:
        candidate = parent / "shared" / "fake-nvml"
        if (candidate / "build.sh").is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def other_python():
    why = other_users.why_not()
    if why:
        pytest.skip(why)
    return other_users.shared_python()


@pytest.fixture(scope="session")
def users(other_python):
    return {name: other_users.ensure_user(name) for name in USERS}


@pytest.fixture(scope="session")
def fake_nvml_lib():
    source = find_fake_nvml()
    if source is None:
        pytest.skip("the fake NVML (../shared/fake-nvml beside the checkout) is absent")
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("the fake NVML needs a C compiler (apt-get install gcc)")
    out = other_users.shared_folder("momo-fake-nvml-")
    lib = subprocess.run(["sh", str(source / "build.sh"), str(out)], check=True, capture_output=True,
                         text=True).stdout.strip()
    os.chmod(lib, 0o755)
    yield str(Path(lib).parent)
    shutil.rmtree(out, ignore_errors=True)


class Machine:
    """One machine shared by several users: a lock folder, their servers, the release
    files of the test's jobs, and a watcher that no GPU is ever held by two jobs."""

    def __init__(self, python: str, users: dict):
        self.python = python
        self.users = users
        self.base = other_users.shared_folder("momo-shared-")
        self.locks = self.base / "locks"
        self.locks.mkdir()
        os.chmod(self.locks, 0o1777)
        self.release_dir = self.base / "release"
        self.release_dir.mkdir()
        os.chmod(self.release_dir, 0o755)
        self.servers: list[ServerProcess] = []
        self.jobs: dict[str, tuple[ServerProcess, dict]] = {}  # name → (its server, its job at submit)
        self.double: list[str] = []
        self._watching = False

    def server(self, user: str, **env) -> ServerProcess:
        server = ServerProcess(self.base / f"server{len(self.servers)}-{user}", {
            "MOMO_JOBS_GPU_LOCK_DIR": str(self.locks), "MOMO_JOBS_GPUS": "0,1", **env,
        }, python=self.python, run_as=self.users[user])
        self.servers.append(server)
        (server.root / "job.py").write_text(JOB)
        return server.start()

    def submit(self, server: ServerProcess, name: str, gpus: int = 1) -> dict:
        job = server.client().submit(server.root / "job.py", resource="gpu", gpus=gpus, name=name,
                                     args=[name, str(self.release_dir)])
        self.jobs[name] = (server, job)
        return job

    def release(self, name: str) -> None:
        (self.release_dir / name).touch()

    def job(self, name: str) -> dict:
        server, job = self.jobs[name]
        return server.client().get(job["id"])

    def running(self) -> list[str]:
        return sorted(name for name in self.jobs if self.job(name)["status"] == "running")

    def log(self, name: str) -> str:
        server, job = self.jobs[name]
        path = server.data_dir / "jobs" / job["id"] / "output.log"
        return path.read_text() if path.exists() else ""

    def printed_span(self, name: str) -> tuple[str, float, float] | None:
        """(CUDA_VISIBLE_DEVICES, first time, last time) the job printed, if it started."""
        times, visible = [], None
        for line in self.log(name).splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ("START", "BEAT", "END"):
                times.append(float(parts[1]))
                if parts[0] == "START":
                    visible = parts[2] if len(parts) > 2 else ""
        return (visible, times[0], times[-1]) if times and visible is not None else None

    def assert_never_two_on_a_gpu(self) -> None:
        spans = [(name, span) for name in self.jobs if (span := self.printed_span(name))]
        for i, (a, (gpus_a, start_a, end_a)) in enumerate(spans):
            for b, (gpus_b, start_b, end_b) in spans[i + 1:]:
                if set(gpus_a.split(",")) & set(gpus_b.split(",")):
                    assert end_a < start_b or end_b < start_a, f"{a} and {b} both ran on GPU {gpus_a}"
        assert not self.double, self.double

    def watch(self) -> None:
        """Polls every server: no GPU is given to two running jobs by the servers' own account."""
        self._watching = True

        def loop():
            while self._watching:
                for server in self.servers:
                    if server.proc is None or server.proc.poll() is not None:
                        continue
                    try:
                        running = server.client().list(status="running,stopping")["jobs"]
                    except Exception:
                        continue
                    seen: dict[str, str] = {}
                    for job in running:
                        for gpu in job["gpu_ids"]:
                            if gpu in seen:
                                self.double.append(f"{server.base.name}: GPU {gpu} given to {seen[gpu]} and {job['name']}")
                            seen[gpu] = job["name"]
                time.sleep(0.05)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._watching = False
        (self.release_dir / "ALL").touch()
        for server in self.servers:
            if server.proc is not None and server.proc.poll() is None:
                try:
                    wait_until(lambda: not server.client().list(status="queued,running,stopping")["jobs"],
                               timeout=30, what="the jobs to end")
                except Exception:
                    pass
            server.stop()
        for pid in job_processes():
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)


def job_processes(job_id: str | None = None) -> list[int]:
    """Live processes of the test's jobs (any user): their environment names the job."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        ours = any(v.startswith(b"MOMO_JOB_ID=") for v in env) and any(b"momo-shared-" in v for v in env)
        if ours and state != b"Z" and (job_id is None or f"MOMO_JOB_ID={job_id}".encode() in env):
            found.append(int(entry))
    return found


@pytest.fixture
def machine(other_python, users):
    machine = Machine(other_python, users)
    yield machine
    machine.close()


def expected_reason(ahead: int, others: int) -> str:
    if not ahead:
        return "waiting for 1 free GPU"
    return (f"waiting for 1 free GPU, {ahead} job{'s' if ahead > 1 else ''} ahead"
            + (f" ({others} of other users)" if others else ""))


def test_jobs_of_three_users_take_two_gpus_first_come_first_served(machine):
    servers = [machine.server(user) for user in USERS]
    machine.watch()
    owner = {}
    for k in range(12):
        server = servers[k % 3]
        machine.submit(server, f"j{k:02d}")
        owner[f"j{k:02d}"] = USERS[k % 3]
    names = sorted(machine.jobs)
    wait_until(lambda: machine.running() == names[:2], timeout=30, what="the first two jobs to run")

    def positions_right() -> bool:
        waiting = [n for n in names if machine.job(n)["status"] == "queued"]
        for ahead, name in enumerate(waiting):
            job = machine.job(name)
            others = sum(1 for n in waiting[:ahead] if owner[n] != owner[name])
            if job["queue_position"] != ahead + 1 or job["reason"] != expected_reason(ahead, others):
                return False
        return True

    for done in range(10):
        wait_until(positions_right, timeout=30, what=f"positions after {done} releases")
        oldest_running = min(machine.running())
        machine.release(oldest_running)
        nxt = names[done + 2]
        wait_until(lambda: machine.job(oldest_running)["status"] == "completed", timeout=30,
                   what=f"{oldest_running} to complete")
        wait_until(lambda: machine.job(nxt)["status"] == "running", timeout=30, what=f"{nxt} to start")
        assert machine.running() == [n for n in names[done:done + 3] if n != oldest_running]
    for name in names:
        machine.release(name)
    wait_until(lambda: all(machine.job(n)["status"] == "completed" for n in names), timeout=60,
               what="every job to complete")
    jobs = [machine.job(n) for n in names]
    assert [j["name"] for j in sorted(jobs, key=lambda j: j["started_at"])] == names
    assert {j["user"] for j in jobs} == set(USERS)
    machine.assert_never_two_on_a_gpu()
    for name in names:
        assert machine.printed_span(name)[0] in ("0", "1")


def test_kill_9_of_a_job_its_supervisor_and_a_server_never_leaves_a_gpu_held_by_two_or_nobody(machine):
    a, b = machine.server(USERS[0]), machine.server(USERS[1])
    machine.watch()
    for name, server in (("k1", a), ("k2", b), ("k3", a), ("k4", b), ("k5", a)):
        machine.submit(server, name)
    wait_until(lambda: machine.running() == ["k1", "k2"], timeout=30, what="k1 and k2 to run")

    # kill -9 of the job's own process: its supervisor ends it, its GPU goes to the oldest waiter
    k1 = machine.jobs["k1"][1]["id"]
    wait_until(lambda: job_processes(k1), what="k1's process")
    for pid in job_processes(k1):
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: machine.job("k1")["status"] == "failed", timeout=30, what="k1 to fail")
    wait_until(lambda: machine.running() == ["k2", "k3"], timeout=30, what="k3 to take k1's GPU")

    # kill -9 of k2's supervisor: its server ends the job's processes and fails it; k4 gets the GPU
    k2 = machine.jobs["k2"][1]["id"]
    supervisor = int((b.data_dir / "jobs" / k2 / "supervisor.pid").read_text())
    os.kill(supervisor, signal.SIGKILL)
    wait_until(lambda: machine.job("k2")["status"] == "failed", timeout=30, what="k2 to fail")
    assert "supervisor died" in machine.job("k2")["reason"]
    wait_until(lambda: not job_processes(k2), timeout=10, what="k2's processes to be ended")
    wait_until(lambda: machine.running() == ["k3", "k4"], timeout=30, what="k4 to take k2's GPU")

    # kill -9 of server a: its running job k3 keeps its GPU, its waiter k5 leaves the line for now
    k3 = machine.jobs["k3"][1]["id"]
    a.kill9()
    resources = b.client().resources()
    k3_gpu = machine.printed_span("k3")[0]
    held = {g["index"]: g["held_by"] for g in resources["gpus"]}
    assert held[k3_gpu]["user"] == USERS[0] and held[k3_gpu]["job"] is None
    beats = machine.log("k3").count("BEAT")
    wait_until(lambda: machine.log("k3").count("BEAT") > beats + 5, what="k3 to go on without its server")
    machine.submit(b, "k6")
    machine.release("k4")
    wait_until(lambda: b.client().get(machine.jobs["k6"][1]["id"])["status"] == "running", timeout=30,
               what="k6 to take k4's GPU (k5's server is down)")
    a.start()
    wait_until(lambda: machine.job("k5")["queue_position"] == 1, timeout=30, what="k5 back at the head of the line")
    machine.submit(b, "k7")
    machine.release("k3")
    wait_until(lambda: machine.job("k3")["status"] == "completed", timeout=30, what="k3 to complete")
    wait_until(lambda: machine.job("k5")["status"] == "running", timeout=30, what="k5 to take k3's GPU")
    assert machine.job("k7")["status"] == "queued"
    machine.release("k6")
    wait_until(lambda: machine.job("k7")["status"] == "running", timeout=30, what="k7 to take k6's GPU")
    for name in machine.jobs:
        machine.release(name)
    machine.assert_never_two_on_a_gpu()


def write_state(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def nvml_env(machine: Machine, fake_nvml_lib: str, state: str) -> tuple[Path, dict]:
    path = machine.base / "gpus.state"
    write_state(path, state)
    return path, {"LD_LIBRARY_PATH": fake_nvml_lib, "FAKE_NVML_STATE": str(path), "MOMO_JOBS_GPUS": None}


TWO_GPUS = ('uuid=GPU-aaaa0000-0000 name="Fake H100" total=85899345920\n'
            'uuid=GPU-bbbb1111-1111 name="Fake H100" total=85899345920\n')


def test_a_process_that_is_no_momo_job_makes_its_gpu_busy_and_jobs_take_the_other(machine, fake_nvml_lib, users):
    uid, gid = users[USERS[2]]
    notebook = other_users.run_as(uid, gid, ["sleep", "300"])
    try:
        state, env = nvml_env(machine, fake_nvml_lib, TWO_GPUS.replace(
            "total=85899345920\n", f"total=85899345920 procs={notebook.pid}:{21 << 30}\n", 1))
        server = machine.server(USERS[0], **env)
        gpus = server.client().resources()["gpus"]
        assert [g["uuid"] for g in gpus] == ["GPU-aaaa0000-0000", "GPU-bbbb1111-1111"]
        assert gpus[0]["busy"] == f"used by a process of {USERS[2]}, 21 GiB" and gpus[1]["busy"] is None
        machine.submit(server, "n1")
        machine.submit(server, "n2")
        wait_until(lambda: machine.job("n1")["status"] == "running", what="n1 to run")
        wait_until(lambda: machine.printed_span("n1"), what="n1's first line")
        assert machine.printed_span("n1")[0] == "GPU-bbbb1111-1111"
        wait_until(lambda: "used by a process" in (machine.job("n2")["reason"] or ""), what="n2's reason")
        assert machine.job("n2")["reason"] == ("waiting for 1 free GPU; GPU 0 used by a process of "
                                               f"{USERS[2]}, 21 GiB")
        # The notebook ends: its GPU is free again.
        notebook.kill()
        notebook.wait()
        write_state(state, TWO_GPUS)
        wait_until(lambda: machine.job("n2")["status"] == "running", timeout=30, what="n2 to take GPU 0")
        wait_until(lambda: machine.printed_span("n2"), what="n2's first line")
        assert machine.printed_span("n2")[0] == "GPU-aaaa0000-0000"
    finally:
        notebook.kill()
        notebook.wait()


def test_processes_whose_pids_do_not_resolve_still_count(machine, fake_nvml_lib):
    _, env = nvml_env(machine, fake_nvml_lib, TWO_GPUS.replace(
        "total=85899345920\n", f"total=85899345920 procs=4000000:{3 << 30},4000001:{1 << 30}\n", 1))
    server = machine.server(USERS[0], **env)
    gpus = server.client().resources()["gpus"]
    assert gpus[0]["busy"] == "used by processes that are no momo job, 4.0 GiB"


def test_a_server_confined_to_one_gpu_offers_only_that_one_and_its_job_sees_it(machine, fake_nvml_lib):
    _, env = nvml_env(machine, fake_nvml_lib, TWO_GPUS)
    server = machine.server(USERS[0], CUDA_VISIBLE_DEVICES="1", **env)
    gpus = server.client().resources()["gpus"]
    assert [(g["index"], g["uuid"]) for g in gpus] == [("1", "GPU-bbbb1111-1111")]
    machine.submit(server, "c1")
    machine.submit(server, "c2")
    wait_until(lambda: machine.printed_span("c1"), what="c1's first line")
    assert machine.printed_span("c1")[0] == "GPU-bbbb1111-1111"
    assert machine.job("c1")["gpu_ids"] == ["1"]
    assert machine.job("c2")["status"] == "queued"
    machine.release("c1")
    wait_until(lambda: machine.printed_span("c2"), what="c2's first line")
    assert machine.printed_span("c2")[0] == "GPU-bbbb1111-1111"


def test_lock_files_another_user_made_under_a_strict_umask_are_still_usable(machine, users):
    uid, gid = users[USERS[1]]
    make = ("import os, sys; os.umask(0o077); from momo_jobs.job.gpulocks import open_lock_file; "
            "[open_lock_file(os.path.join(sys.argv[1], n)) for n in sys.argv[2:]]")
    names = [lock_file_name("0"), lock_file_name("1"), "schedule.lock"]
    other_users.run_as(uid, gid, [machine.python, "-c", make, str(machine.locks), *names]).wait(30)
    for name in names:
        assert (machine.locks / name).stat().st_uid == uid
    server = machine.server(USERS[0])
    machine.submit(server, "u1")
    machine.submit(server, "u2")
    wait_until(lambda: machine.printed_span("u1") and machine.printed_span("u2"), timeout=30,
               what="both jobs to run")
    # The locks are really held, by the jobs' processes: no one else can take them.
    for name in names[:2]:
        fd = open_lock_file(machine.locks / name)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)


def test_a_lock_folder_on_a_network_filesystem_is_refused(tmp_path):
    folder = tmp_path / "locks"
    mountinfo = (f"22 1 0:21 / / rw,relatime - ext4 /dev/sda1 rw\n"
                 f"40 22 0:40 / {tmp_path} rw,relatime - nfs4 server:/export rw,vers=4.2\n")
    with pytest.raises(LockDirError, match="network filesystem \\(nfs4\\)"):
        prepare_lock_dir(folder, mountinfo)
    local = tmp_path.parent / "local-locks"
    assert prepare_lock_dir(local, "22 1 0:21 / / rw - ext4 /dev/sda1 rw\n") == local.resolve()
    assert oct(local.stat().st_mode & 0o7777) == "0o1777"


def test_a_server_creates_its_local_lock_folder_for_every_user(server_process, tmp_path):
    server = server_process({"MOMO_JOBS_GPU_LOCK_DIR": str(tmp_path / "locks"), "MOMO_JOBS_GPUS": "0"})
    assert [g["index"] for g in server.client().resources()["gpus"]] == ["0"]
    assert oct((tmp_path / "locks").stat().st_mode & 0o7777) == "0o1777"


def test_a_users_jobs_beyond_max_gpus_per_user_wait_and_others_go_ahead(machine):
    a = machine.server(USERS[0], MOMO_JOBS_MAX_GPUS_PER_USER="1")
    b = machine.server(USERS[1], MOMO_JOBS_MAX_GPUS_PER_USER="1")
    machine.submit(a, "m1")
    machine.submit(a, "m2")
    machine.submit(b, "m3")
    wait_until(lambda: machine.running() == ["m1", "m3"], timeout=30, what="m1 and m3 to run")
    assert machine.job("m2")["reason"].endswith("your jobs hold the most GPUs one user may (max_gpus_per_user)")
    machine.release("m1")
    wait_until(lambda: machine.job("m2")["status"] == "running", timeout=30, what="m2 to run after m1")
    machine.release("m2")
    machine.release("m3")
    machine.assert_never_two_on_a_gpu()
