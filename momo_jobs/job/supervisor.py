"""One supervisor process per local job: ``python -m momo_jobs.supervisor JOB_DIR``.

Started detached (a new session) by the local backend. It starts the user's
script in a process group of its own, copies its merged stdout/stderr into the
job folder, parses metric lines, and writes ``exit.json`` when the script is
over. The server only reads these files, so it can be slow, restarted or
killed without touching the job. SIGTERM to the supervisor is a stop request:
SIGTERM to the job's group, SIGKILL after the grace period.
"""
from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..vocabulary import JobFiles
from .files import ExitRecord, RunSpec, utc_now, write_json_atomic
from .recorder import LogRecorder

READ_SIZE = 1 << 16
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
            child = subprocess.Popen(
                self.run.argv, cwd=self.run.cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            )
        except OSError as exc:
            recorder.write(f"momo-jobs: could not start {self.run.argv[0]}: {exc}\n".encode())
            recorder.close()
            ExitRecord(exit_code=127, reason=f"could not start: {exc}").save(self.folder, self.exit_name)
            return 0
        pgid = child.pid
        # A warning signal from outside (Slurm's --signal before a time limit) goes to the job.
        for warning in (signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(warning, lambda signum, frame: self._signal_group(pgid, signum))
        write_json_atomic(self.folder / JobFiles.SUPERVISOR, {
            "pid": os.getpid(), "child_pid": child.pid, "pgid": pgid, "started_at": utc_now(),
        })
        self._pump(child, pgid, recorder)
        recorder.close()
        code = child.returncode
        record = ExitRecord(exit_code=code if code >= 0 else None, stopped=self.stop_requested)
        if code < 0:
            record.signal = signal.Signals(-code).name
        if self.stop_requested:
            record.reason = "stopped by request"
        elif code < 0:
            record.reason = f"killed by {record.signal}"
        elif code != 0:
            record.reason = f"exit code {code}"
        record.save(self.folder, self.exit_name)
        return 0

    def _pump(self, child: subprocess.Popen, pgid: int, recorder: LogRecorder) -> None:
        """Copies the job's output until the script has exited and its output ended,
        acting on stop requests all along (a script may close its output and run on)."""
        fd = child.stdout.fileno()
        os.set_blocking(fd, False)
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        reading = True
        exited_at: float | None = None
        termed_stop = False
        while True:
            if self.stop_requested and not termed_stop:
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
            if not reading:
                time.sleep(POLL_SECONDS)
            elif sel.select(timeout=POLL_SECONDS):
                try:
                    data = os.read(fd, READ_SIZE)
                except BlockingIOError:
                    continue
                if data:
                    recorder.write(data)
                else:
                    reading = False
                    sel.unregister(fd)
            elif exited_at is not None and self._killed and now - exited_at > self.run.stop_grace + 5:
                break  # a process outside the group holds the pipe: stop reading
        sel.close()
        child.wait()
        self._signal_group(pgid, signal.SIGKILL)

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
