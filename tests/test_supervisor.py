"""The supervisor on its own, with real processes: how a script ends is recorded in
exit.json, its output is merged into output.log, stop ends its whole process group,
and nothing it left behind outlives it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import wait_until

from momo_jobs.job.files import ExitRecord, RunSpec
from momo_jobs.job.supervisor import Supervisor, main
from momo_jobs.vocabulary import JobFiles

PYTHON = sys.executable
TIMEOUT = 30  # generous: the supervisor ends in about a second in every test


def proc_stat(pid):
    """(state, ppid, pgrp) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state, ppid, pgrp = text[text.rindex(")") + 2:].split()[:3]
    return state, int(ppid), int(pgrp)


def alive(pid):
    stat = proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")  # a zombie has ended


def group_members(pgid):
    """The live processes of a process group."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat is not None and stat[2] == pgid and stat[0] not in ("Z", "X"):
                pids.append(int(entry))
    return pids


def log_text(folder):
    path = Path(folder) / JobFiles.LOG
    return path.read_bytes().decode("utf-8", "replace") if path.exists() else ""


class Jobs:
    """Makes job folders and runs their supervisors; ends whatever is left at the end."""

    def __init__(self, base: Path):
        self.base = base
        self.count = 0
        self.folders: list[Path] = []
        self.procs: list[subprocess.Popen] = []

    def spec(self, source, args=(), env=None, cwd=None, interpreter=PYTHON, stop_grace=1.0, save=True):
        self.count += 1
        folder = self.base / f"job{self.count}"
        (folder / JobFiles.SNAPSHOT).mkdir(parents=True)
        script = folder / JobFiles.SNAPSHOT / "train.py"
        script.write_text(textwrap.dedent(source))
        run = RunSpec(job_id=f"job{self.count}", job_dir=str(folder), interpreter=interpreter,
                      script=str(script), args=list(args), cwd=str(cwd or script.parent),
                      env={"PYTHONUNBUFFERED": "1", **(env or {})}, resource="cpu", stop_grace=stop_grace)
        if save:
            run.save()
        self.folders.append(folder)
        return run

    def start(self, run, **popen):
        """``python -m momo_jobs.supervisor JOB_DIR``, as the local backend starts it."""
        err = open(run.folder / JobFiles.SUPERVISOR_ERR, "ab")
        proc = subprocess.Popen([PYTHON, "-m", "momo_jobs.supervisor", run.job_dir], cwd=self.base,
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True,
                                **popen)
        err.close()
        self.procs.append(proc)
        return proc

    def finish(self, proc, run):
        assert proc.wait(timeout=TIMEOUT) == 0, (run.folder / JobFiles.SUPERVISOR_ERR).read_text()
        record = ExitRecord.load(run.folder)
        assert record is not None, "no exit.json"
        return record

    def cleanup(self):
        for folder in self.folders:
            try:
                info = json.loads((folder / JobFiles.SUPERVISOR).read_text())
                os.killpg(info["pgid"], signal.SIGKILL)
            except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
                pass
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def jobs(tmp_path, request):
    made = Jobs(tmp_path)
    request.addfinalizer(made.cleanup)
    return made


@pytest.fixture
def in_process():
    """``in_process(run)`` runs Supervisor(run).main() here and gives back the exit record.
    main() installs signal handlers: pytest's are put back after the test."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}

    def run_it(run):
        assert Supervisor(run).main() == 0
        return ExitRecord.load(run.folder)

    yield run_it
    for sig, handler in saved.items():
        signal.signal(sig, handler)


# How the script ended


@pytest.mark.parametrize("source, code, reason", [
    ("print('done')", 0, None),
    ("import sys; sys.exit(3)", 3, "exit code 3"),
    ("raise ValueError('boom')", 1, "exit code 1"),
    ("import os; os._exit(255)", 255, "exit code 255"),
])
def test_exit_code_and_reason_are_recorded(jobs, in_process, source, code, reason):
    run = jobs.spec(source)
    record = in_process(run)
    assert (record.exit_code, record.signal, record.stopped, record.reason) == (code, None, False, reason)
    assert record.finished_at.endswith("Z")
    if code == 1:
        assert "ValueError: boom" in log_text(run.folder)  # the traceback, from stderr


@pytest.mark.parametrize("source, name", [
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
    ("import os; os.abort()", "SIGABRT"),
    ("import os, signal; signal.signal(signal.SIGTERM, signal.SIG_DFL); os.kill(os.getpid(), signal.SIGTERM)",
     "SIGTERM"),
])
def test_killed_by_a_signal_records_the_signal_name(jobs, in_process, source, name):
    record = in_process(jobs.spec(source))
    assert (record.exit_code, record.signal, record.stopped, record.reason) == (None, name, False, f"killed by {name}")


def test_stdout_and_stderr_are_merged_into_the_log_bytes_as_written(jobs, in_process):
    run = jobs.spec(r"""
        import sys
        out, err = sys.stdout.buffer, sys.stderr.buffer
        for stream, data in [(out, b"to stdout\n"), (err, b"to stderr\n"), (out, b"\xff\xfe not utf-8\n"),
                             (err, b'{"metric": "loss", "value": 0.5, "step": 1}\n'),
                             (out, b"\r 1/2 [=>..]"), (out, b"\r 2/2 [===]"),
                             (err, b'{"metric": "loss", "value": 0.25, "step": 2}\n'),
                             (out, b"no newline at the end")]:
            stream.write(data)
            stream.flush()
    """)
    assert in_process(run).exit_code == 0
    assert (run.folder / JobFiles.LOG).read_bytes() == (
        b"to stdout\nto stderr\n\xff\xfe not utf-8\n"
        b'{"metric": "loss", "value": 0.5, "step": 1}\n'
        b'\r 1/2 [=>..]\r 2/2 [===]{"metric": "loss", "value": 0.25, "step": 2}\n'
        b"no newline at the end")
    points = [json.loads(line) for line in (run.folder / JobFiles.METRICS).read_text().splitlines()]
    assert [(p["metric"], p["value"], p["step"]) for p in points] == [("loss", 0.5, 1), ("loss", 0.25, 2)]
    sizes = [int(line.split()[1]) for line in (run.folder / JobFiles.LOG_INDEX).read_text().splitlines()]
    assert sizes == sorted(sizes) and sizes[-1] == (run.folder / JobFiles.LOG).stat().st_size


def test_env_cwd_and_args_are_passed(jobs, in_process, tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_SUPERVISOR", "inherited")
    monkeypatch.setenv("OVERRIDDEN", "old")
    workdir = tmp_path / "work dir"
    workdir.mkdir()
    run = jobs.spec("""
        import json, os, sys
        print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(),
                          "env": {k: os.environ.get(k) for k in ("MY_VAR", "FROM_SUPERVISOR", "OVERRIDDEN")},
                          "stdin": sys.stdin.read()}))
    """, args=["--lr", "0.1", "two words", "ünï", ""], cwd=workdir,
        env={"MY_VAR": "a = b; c", "OVERRIDDEN": "new"})
    assert in_process(run).exit_code == 0
    seen = json.loads(log_text(run.folder))
    assert seen["argv"] == [run.script, "--lr", "0.1", "two words", "ünï", ""]
    assert seen["cwd"] == str(workdir)
    assert seen["env"] == {"MY_VAR": "a = b; c", "FROM_SUPERVISOR": "inherited", "OVERRIDDEN": "new"}
    assert seen["stdin"] == ""  # not the supervisor's input


@pytest.mark.parametrize("what", ["interpreter", "cwd"])
def test_a_job_that_cannot_start_exits_127(jobs, in_process, tmp_path, what):
    missing = str(tmp_path / "no-such-thing")
    run = jobs.spec("print('never')", **({"interpreter": missing} if what == "interpreter" else {"cwd": missing}))
    record = in_process(run)
    assert record.exit_code == 127 and record.signal is None and not record.stopped
    assert record.reason.startswith("could not start")
    assert log_text(run.folder).startswith(f"momo-jobs: could not start {run.interpreter}")
    assert not (run.folder / JobFiles.SUPERVISOR).exists()


def test_usage_error_without_a_job_folder(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err


# As a process of its own


def test_supervisor_process_writes_supervisor_json_and_the_job_leads_its_own_group(jobs):
    run = jobs.spec("""
        import json, os
        print(json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "pgrp": os.getpgrp(), "sid": os.getsid(0)}))
        raise SystemExit(5)
    """)
    proc = jobs.start(run)
    record = jobs.finish(proc, run)  # the supervisor exits 0 whatever the job did
    assert (record.exit_code, record.reason) == (5, "exit code 5")
    info = json.loads((run.folder / JobFiles.SUPERVISOR).read_text())
    child = json.loads(log_text(run.folder))
    assert info["pid"] == proc.pid == child["ppid"]
    assert info["child_pid"] == child["pid"]
    # Its own process group and session, apart from the supervisor's.
    assert info["pgid"] == child["pgrp"] == child["sid"] == child["pid"]
    assert info["pgid"] != info["pid"]
    assert isinstance(info["started_at"], str)


GRANDCHILD = """
import signal, sys, time
def on_term(signum, frame):
    print("grandchild got SIGTERM, goes on", flush=True)
signal.signal(signal.SIGTERM, on_term)
print("grandchild ready", flush=True)
while True:
    time.sleep(0.05)
"""

STOPPABLE = """
import os, signal, subprocess, sys, time
EXITS = {exits}
def on_term(signum, frame):
    print("child got SIGTERM", flush=True)
    if EXITS:
        sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
grandchild = subprocess.Popen([sys.executable, "-c", {grandchild!r}])
print("grandchild pid", grandchild.pid, flush=True)
while True:
    time.sleep(0.05)
"""


@pytest.mark.parametrize("stop_signal, child_exits", [
    (signal.SIGTERM, True),  # the script ends on SIGTERM; its grandchild ignores it
    (signal.SIGTERM, False),  # the script ignores SIGTERM too: SIGKILL after stop_grace
    (signal.SIGINT, True),
], ids=["term-child-exits", "term-child-ignores", "int-child-exits"])
def test_stop_terms_the_whole_group_and_kills_what_ignores_it(jobs, stop_signal, child_exits):
    run = jobs.spec(STOPPABLE.format(exits=child_exits, grandchild=GRANDCHILD), stop_grace=1.0)
    proc = jobs.start(run)
    wait_until(lambda: "grandchild ready" in log_text(run.folder), what="the grandchild to start")
    grandchild = int(log_text(run.folder).split("grandchild pid ")[1].split()[0])
    pgid = json.loads((run.folder / JobFiles.SUPERVISOR).read_text())["pgid"]
    assert proc_stat(grandchild)[2] == pgid  # in the job's group
    os.kill(proc.pid, stop_signal)
    record = jobs.finish(proc, run)
    log = log_text(run.folder)
    assert "child got SIGTERM" in log and "grandchild got SIGTERM, goes on" in log
    assert record.stopped and record.reason == "stopped by request"
    if child_exits:
        assert (record.exit_code, record.signal) == (0, None)
    else:
        assert (record.exit_code, record.signal) == (None, "SIGKILL")
    assert not alive(grandchild)
    assert group_members(pgid) == []


LEAVES_BEHIND = """
import subprocess, sys, time
leftover = subprocess.Popen([sys.executable, "-c", {leftover!r}]{redirect})
print("leftover pid", leftover.pid, flush=True)
while "leftover ready" not in open({ready!r}).read():  # its SIGTERM handler is in place
    time.sleep(0.02)
time.sleep(0.3)
sys.exit(4)
"""

LEFTOVER = """
import signal, time
IGNORES = {ignores}
def on_term(signum, frame):
    print("leftover got SIGTERM", flush=True)
    if not IGNORES:
        raise SystemExit(0)
signal.signal(signal.SIGTERM, on_term)
print("leftover ready", flush=True)
while True:
    time.sleep(0.05)
"""


@pytest.mark.parametrize("ignores", [False, True], ids=["leftover-ends-on-term", "leftover-ignores-term"])
def test_processes_left_in_the_group_after_the_script_exits_are_ended(jobs, ignores):
    folder = jobs.base / f"job{jobs.count + 1}"
    run = jobs.spec(LEAVES_BEHIND.format(leftover=LEFTOVER.format(ignores=ignores), redirect="",
                                         ready=str(folder / JobFiles.LOG)))
    proc = jobs.start(run)
    record = jobs.finish(proc, run)
    assert (record.exit_code, record.signal, record.stopped, record.reason) == (4, None, False, "exit code 4")
    log = log_text(run.folder)
    leftover = int(log.split("leftover pid ")[1].split()[0])
    assert "leftover ready" in log and "leftover got SIGTERM" in log
    assert not alive(leftover)
    assert group_members(json.loads((run.folder / JobFiles.SUPERVISOR).read_text())["pgid"]) == []


def test_a_leftover_that_does_not_hold_the_pipe_is_ended_too(jobs, tmp_path):
    ready = tmp_path / "leftover-ready"
    leftover_src = LEFTOVER.format(ignores=False).replace(
        'print("leftover ready", flush=True)', f"open({str(ready)!r}, 'w').write('leftover ready')")
    run = jobs.spec(LEAVES_BEHIND.format(leftover=leftover_src, ready=str(ready),
                                         redirect=", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL"))
    ready.write_text("")
    proc = jobs.start(run)
    record = jobs.finish(proc, run)
    assert record.exit_code == 4
    leftover = int(log_text(run.folder).split("leftover pid ")[1].split()[0])
    time.sleep(0.2)  # not a timing assertion: lets a SIGTERMed leftover finish exiting
    assert not alive(leftover), "the leftover process still runs after the job ended"


def test_stop_works_after_the_script_redirected_its_output(jobs, tmp_path):
    marker = tmp_path / "redirected"
    run = jobs.spec(f"""
        import os, time
        print("started", flush=True)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        open({str(marker)!r}, "w").close()
        time.sleep(120)
    """, stop_grace=1.0)
    proc = jobs.start(run)
    wait_until(marker.exists, what="the script to redirect its output")
    time.sleep(0.5)  # lets the supervisor read the end of the pipe; not a timing assertion
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)  # stop_grace is 1 s: generous
    except subprocess.TimeoutExpired:
        raise AssertionError("the supervisor did not end after a stop request") from None
    assert ExitRecord.load(run.folder).stopped


# --spare: started ahead, given its job on stdin


def test_spare_supervisor_runs_the_job_it_is_given(jobs):
    run = jobs.spec("""
        import json, os
        print(json.dumps({k: os.environ.get(k) for k in ("FROM_ORDER", "SHARED", "ONLY_IN_PARENT")}))
        print(json.dumps({"cwd": os.getcwd()}))
        raise SystemExit(2)
    """, env={"SHARED": "from the run"})
    env = {**os.environ, "ONLY_IN_PARENT": "1"}
    proc = subprocess.Popen([PYTHON, "-m", "momo_jobs.supervisor", "--spare"], cwd=jobs.base, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    jobs.procs.append(proc)
    order = {"folder": run.job_dir, "env": {"PATH": os.environ.get("PATH", ""), "FROM_ORDER": "yes",
                                            "SHARED": "from the order"}}
    out, err = proc.communicate(json.dumps(order).encode() + b"\n", timeout=TIMEOUT)
    assert proc.returncode == 0, (run.folder / JobFiles.SUPERVISOR_ERR).read_text()
    assert (out, err) == (b"", b"")  # its own output goes to supervisor.err
    assert (run.folder / JobFiles.SUPERVISOR_ERR).exists()
    record = ExitRecord.load(run.folder)
    assert (record.exit_code, record.reason) == (2, "exit code 2")
    env_seen, cwd_seen = (json.loads(line) for line in log_text(run.folder).splitlines())
    # The order's environment replaces the spare's own; the run's env goes on top.
    assert env_seen == {"FROM_ORDER": "yes", "SHARED": "from the run", "ONLY_IN_PARENT": None}
    assert cwd_seen["cwd"] == run.cwd
    info = json.loads((run.folder / JobFiles.SUPERVISOR).read_text())
    assert info["pid"] == proc.pid


def test_spare_supervisor_ends_when_its_input_ends(jobs):
    proc = subprocess.Popen([PYTHON, "-m", "momo_jobs.supervisor", "--spare"], cwd=jobs.base,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    jobs.procs.append(proc)
    out, err = proc.communicate(b"", timeout=TIMEOUT)
    assert (proc.returncode, out, err) == (0, b"", b"")
    assert list(jobs.base.iterdir()) == []
