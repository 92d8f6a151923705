"""One supervisor process per local job: ``python -m momo_jobs.supervisor JOB_DIR``.

Started detached (a new session) by the local backend. It starts the user's
script in a process group of its own, copies its merged stdout/stderr into the
job folder, parses metric lines, and writes ``exit.json`` when the script is
over; every ``telemetry_seconds`` it samples the job's processes (and GPUs) into
the metrics too. The server only reads these files, so it can be slow, restarted or
killed without touching the job. SIGTERM to the supervisor is a stop request:
SIGTERM to the job's group, SIGKILL after the grace period. The job's time limit
(from its RunSpec) is kept here too, so it holds while no server runs: the warning
signal to the group before it, then the same stop as a person's.
"""
from __future__ import annotations

import fcntl
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..vocabulary import JobFiles
from .files import ExitRecord, RunSpec, utc_now, write_json_atomic
from .limits import parse_time_limit_signal, time_limit_reason
from .gpulocks import GpuLockBusy, holder_file_name, take_gpu_locks
from .recorder import LogRecorder
from .telemetry import Telemetry

# The pipe from the job is made this big (where the system allows), and read as
# much at once: a job printing flat out rarely waits on a full pipe, and one read
# (one time stamp, one write of the log) takes in thousands of lines.
PIPE_SIZE = READ_SIZE = 1 << 20
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
# Buffered metric points and time stamps are flushed when the job's output pauses,
# and at least this often while it streams.
FLUSH_SECONDS = 0.05
# After the script exits, processes it left in its group get this long to close
# the pipe before they are ended too.
LINGER_SECONDS = 1.0
POLL_SECONDS = 0.05


class Supervisor:
    def __init__(self, run: RunSpec, exit_name: str = JobFiles.EXIT):
        self.run = run
        self.folder = run.folder
        # A backend that completes the record itself (Slurm knows of time limits and
        # lost nodes) has it written under another name.
        self.exit_name = exit_name
        self.stop_requested = False
        self._stop_at: float | None = None
        self._killed = False
        self.time_limit_hit = False
        self._warning: tuple[signal.Signals, float] | None = None  # not sent yet
        self._warned_with: int | None = None  # the warning this supervisor sent
        if run.time_limit and run.time_limit_signal:
            self._warning = parse_time_limit_signal(run.time_limit_signal)

    def _request_stop(self, signum, frame) -> None:
        if not self.stop_requested:
            self.stop_requested = True
            self._stop_at = time.monotonic()

    def _signal_group(self, pgid: int, sig: int) -> None:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def main(self) -> int:
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        recorder = LogRecorder(self.folder)
        env = dict(os.environ)
        env.update(self.run.env)
        try:
            locks = self._take_gpu_locks()
        except GpuLockBusy as exc:
            recorder.write(f"momo-jobs: {exc}\n".encode())
            recorder.close()
            ExitRecord(exit_code=None, reason=f"could not start: {exc}").save(self.folder)
            return 0
        try:
            # The script's processes inherit the lock fds: a GPU stays locked while any of them lives.
            child = subprocess.Popen(
                self.run.argv, cwd=self.run.cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, pass_fds=locks,
            )
        except OSError as exc:
            recorder.write(f"momo-jobs: could not start {self.run.argv[0]}: {exc}\n".encode())
            recorder.close()
            self._release_gpu_locks(locks)
            ExitRecord(exit_code=127, reason=f"could not start: {exc}").save(self.folder, self.exit_name)
            return 0
        pgid = child.pid
        # A warning signal from outside (Slurm's --signal before a time limit) goes to the job,
        # once: the supervisor's own warning of the same time limit is then not sent again.
        for warning in (signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(warning, lambda signum, frame: self._forward_warning(pgid, signum))
        write_json_atomic(self.folder / JobFiles.SUPERVISOR, {
            "pid": os.getpid(), "child_pid": child.pid, "pgid": pgid, "started_at": utc_now(),
        })
        self._pump(child, pgid, recorder)
        recorder.close()
        # Given back before the exit record, so a server that sees the job over finds its GPUs free.
        self._release_gpu_locks(locks)
        code = child.returncode
        record = ExitRecord(exit_code=code if code >= 0 else None, stopped=self.stop_requested)
        if code < 0:
            record.signal = signal.Signals(-code).name
        if self.stop_requested:
            record.reason = "stopped by request"
        elif self.time_limit_hit:
            record.time_limit = True
            record.reason = time_limit_reason(self.run.time_limit)
        elif code < 0:
            record.reason = f"killed by {record.signal}"
        elif code != 0:
            record.reason = f"exit code {code}"
        record.save(self.folder, self.exit_name)
        return 0

    def _take_gpu_locks(self) -> list[int]:
        if not self.run.gpu_lock_dir or not self.run.gpu_locks:
            return []
        return take_gpu_locks(self.run.gpu_lock_dir, self.run.gpu_locks, self.run.job_id)

    def _release_gpu_locks(self, fds: list[int]) -> None:
        if not fds:
            return
        try:
            os.unlink(os.path.join(self.run.gpu_lock_dir, holder_file_name(os.getuid(), self.run.job_id)))
        except OSError:
            pass
        for fd in fds:
            os.close(fd)

    def _pump(self, child: subprocess.Popen, pgid: int, recorder: LogRecorder) -> None:
        """Copies the job's output until the script has exited and its output ended,
        acting on stop requests all along (a script may close its output and run on)."""
        fd = child.stdout.fileno()
        os.set_blocking(fd, False)
        try:
            fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:  # over /proc/sys/fs/pipe-max-size: the default size stays
            pass
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        reading = True
        exited_at: float | None = None
        termed_stop = False
        telemetry = self._telemetry(child.pid, recorder)
        flushed_at = float("-inf")  # the first read is flushed at once (a job's first line)
        started = time.monotonic()
        while True:
            if exited_at is None:
                self._keep_time_limit(pgid, time.monotonic() - started)
            if (self.stop_requested or self.time_limit_hit) and not termed_stop:
                termed_stop = True
                self._signal_group(pgid, signal.SIGTERM)
            now = time.monotonic()
            if exited_at is None and child.poll() is not None:
                exited_at = now
                # What the script left behind in its group is ended with it.
                self._signal_group(pgid, signal.SIGTERM)
            deadline = self._kill_deadline(exited_at)
            if deadline is not None and now >= deadline and not self._killed:
                self._killed = True
                self._signal_group(pgid, signal.SIGKILL)
            if exited_at is not None and not reading:
                break
            if telemetry is not None and exited_at is None and telemetry.due(now):
                recorder.write_points(telemetry.sample(now))
                recorder.flush()
            wait = POLL_SECONDS if telemetry is None else telemetry.timeout(now, POLL_SECONDS)
            if not reading:
                time.sleep(wait)
            elif sel.select(timeout=wait):
                try:
                    data = os.read(fd, READ_SIZE)
                except BlockingIOError:
                    continue
                if data:
                    recorder.write(data, flush=False)
                    if now - flushed_at >= FLUSH_SECONDS:
                        recorder.flush()
                        flushed_at = now
                    continue
                reading = False
                sel.unregister(fd)
            elif exited_at is not None and self._killed and now - exited_at > self.run.stop_grace + 5:
                break  # a process outside the group holds the pipe: stop reading
            recorder.flush()  # the output paused
            flushed_at = now
        sel.close()
        if telemetry is not None:
            telemetry.close()
        child.wait()
        self._signal_group(pgid, signal.SIGKILL)

    def _telemetry(self, pid: int, recorder: LogRecorder) -> Telemetry | None:
        if not self.run.telemetry_seconds or self.run.telemetry_seconds <= 0:
            return None
        telemetry = Telemetry(pid, self.run.gpu_ids, self.run.telemetry_seconds, time.monotonic())
        notices = telemetry.take_notices()
        if notices:
            recorder.write_points(notices)
            recorder.flush()
        return telemetry
    def _forward_warning(self, pgid: int, signum: int) -> None:
        if self._warning is not None and signum == self._warning[0]:
            self._warning = None
        elif self._warned_with == signum:
            return
        self._signal_group(pgid, signum)

    def _keep_time_limit(self, pgid: int, ran: float) -> None:
        """The warning signal once it is due, then at the limit the stop."""
        limit = self.run.time_limit
        if not limit or self.time_limit_hit:
            return
        if self._warning is not None and ran >= limit - self._warning[1]:
            self._signal_group(pgid, self._warning[0])
            self._warned_with = self._warning[0]
            self._warning = None
        if ran >= limit and not self.stop_requested:
            self.time_limit_hit = True
            self._stop_at = time.monotonic()

    def _kill_deadline(self, exited_at: float | None) -> float | None:
        deadlines = []
        if self._stop_at is not None:
            deadlines.append(self._stop_at + self.run.stop_grace)
        if exited_at is not None:
            deadlines.append(exited_at + LINGER_SECONDS)
        return min(deadlines) if deadlines else None


def spare() -> int:
    """Started ahead by the server, this waits for one line on its input: the job's
    folder and the environment to run it with; then it is that job's supervisor.
    Its input ending first (the server stopped) ends it."""
    import json

    line = sys.stdin.buffer.readline()
    if not line.strip():
        return 0
    order = json.loads(line)
    folder = order["folder"]
    os.chdir(folder)
    os.environ.clear()
    os.environ.update(order["env"])
    err = os.open(os.path.join(folder, JobFiles.SUPERVISOR_ERR), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(err, 1)
    os.dup2(err, 2)
    os.close(err)
    os.close(null)
    return Supervisor(RunSpec.load(Path(folder))).main()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--spare"]:
        return spare()
    exit_name = JobFiles.EXIT
    if len(args) == 3 and args[0] == "--exit-as":
        exit_name, args = args[1], args[2:]
    if len(args) != 1 or "/" in exit_name:
        print("usage: python -m momo_jobs.supervisor [--exit-as NAME] JOB_DIR", file=sys.stderr)
        return 2
    return Supervisor(RunSpec.load(Path(args[0])), exit_name).main()


if __name__ == "__main__":
    sys.exit(main())
