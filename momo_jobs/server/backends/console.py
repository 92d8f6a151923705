"""Console backend: a job runs its script in a fresh Jupyter kernel of the server.

The script runs as ``__main__`` in the kernel's user namespace, so once it ends
the kernel stays alive with the script's variables (the trained model) for a
console attached to it. The kernel's output is the job's log, written by the
same recorder as a local job's; ``exit.json`` is written when the script ends.
A finished job's kernel holds a CPU slot until it is idle for
``console_idle_seconds``, shut down by the user, or the job is deleted.
"""
from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

from ...job.files import ExitRecord, RunSpec
from ...job.limits import parse_time_limit_signal
from ...job.recorder import LogRecorder
from ...vocabulary import Inventory, JobFiles
from .base import Backend, LaunchError
from .processes import process_alive, signal_if_there

READY_TIMEOUT = 120.0
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_RESULT = "__momo_job_exit__"

# Runs in the kernel; it must not need momo_jobs there (any Python kernelspec).
# exec() in the user namespace rather than runpy, so a script that fails midway
# still leaves what it built for inspection. ``exit``/``quit`` behave as in plain
# python while the script runs (IPython's would end the kernel).
_RUNNER = """
def __momo_job_run(path, argv, cwd):
    import os, sys, traceback
    ns = get_ipython().user_ns
    os.chdir(cwd)
    sys.argv = list(argv)
    sys.path.insert(0, os.path.dirname(path))
    saved = {k: ns[k] for k in ("exit", "quit") if k in ns}
    ns.update(__name__="__main__", __file__=path, exit=sys.exit, quit=sys.exit)
    result = {"exit_code": 0, "reason": None}
    try:
        with open(path, "rb") as f:
            code = compile(f.read(), path, "exec")
        exec(code, ns)
    except SystemExit as e:
        status = e.code
        if status is not None and not isinstance(status, int):
            print(status, file=sys.stderr)
            status = 1
        status = status or 0
        result = {"exit_code": status, "reason": f"exit code {status}" if status else None}
    except BaseException as e:
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        reason = "".join(traceback.format_exception_only(type(e), e)).strip()
        result = {"exit_code": 1, "reason": reason.splitlines()[-1] if reason else type(e).__name__}
    finally:
        for k in ("exit", "quit"):
            ns.pop(k, None)
        ns.update(saved)
        sys.stdout.flush()
        sys.stderr.flush()
    ns[%(result)r] = result
__momo_job_run(%%(path)r, %%(argv)r, %%(cwd)r)
del __momo_job_run
""" % {"result": _RESULT}


@dataclass
class _Console:
    job_id: str
    folder: Path
    kernel_id: str
    stop_grace: float
    task: asyncio.Task | None = None
    finished_at: float | None = None  # monotonic; None while the script runs
    stopping: bool = False
    died: str | None = None  # why the kernel went away under a running script
    callbacks: list = field(default_factory=list)


def _text_of(msg: dict) -> str:
    kind, content = msg["msg_type"], msg["content"]
    if kind == "stream":
        return content.get("text", "")
    if kind == "error":
        return _ANSI.sub("", "\n".join(content.get("traceback") or [f"{content.get('ename')}: {content.get('evalue')}"])) + "\n"
    if kind in ("display_data", "execute_result"):
        text = content.get("data", {}).get("text/plain")
        return f"{text}\n" if text else ""
    return ""


class ConsoleBackend(Backend):
    name = "console"

    def __init__(self, settings, log=None, serverapp=None):
        super().__init__(settings, log)
        self.serverapp = serverapp
        self._consoles: dict[str, _Console] = {}
        self._watcher: asyncio.Task | None = None
        self._stoppers: set[asyncio.Task] = set()

    @property
    def kernels(self):
        return self.serverapp.kernel_manager

    def inventory(self) -> Inventory:
        # Console jobs are scheduled on the local backend's CPU slots.
        return Inventory(cpu_slots=self.settings.cpu_slots)

    def idle_kernels(self) -> int:
        """Finished console jobs whose kernel is still alive: each holds a CPU slot."""
        return sum(1 for c in self._consoles.values() if c.finished_at is not None and c.kernel_id in self.kernels)

    async def start(self) -> None:
        # Finished console jobs of an earlier server run lost their kernels with it.
        # (Running ones are settled by reattach, which needs their kernel file.)
        for kernel_file in (Path(self.settings.data_dir) / "jobs").glob(f"*/{JobFiles.CONSOLE}"):
            if ExitRecord.load(kernel_file.parent) is not None:
                self._kernel_gone(kernel_file.parent.name, kernel_file.parent)
        self._watcher = asyncio.create_task(self._watch())

    def _kernel_gone(self, job_id: str, folder: Path) -> None:
        """The job's kernel is no more: its Job stops naming it."""
        (Path(folder) / JobFiles.CONSOLE).unlink(missing_ok=True)
        self.on_change(job_id, {"kernel_id": None})

    async def close(self) -> None:
        tasks = [c.task for c in self._consoles.values() if c.task] + list(self._stoppers)
        tasks += [self._watcher] if self._watcher else []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # launching and following

    async def launch(self, run: RunSpec) -> None:
        if self.serverapp is None:
            raise LaunchError("console jobs need the Jupyter server's kernels")
        kernel_name = run.kernel or self.kernels.default_kernel_name
        earlier = self._consoles.pop(run.job_id, None)
        if earlier is not None:  # a retried job: its failed attempt's kernel goes
            await self._shutdown(earlier, now=True)
        # Known (alive) from now on: the kernel takes a while to start.
        console = self._consoles[run.job_id] = _Console(run.job_id, run.folder, "", run.stop_grace)
        try:
            path = os.path.relpath(run.cwd, self.serverapp.root_dir)
            kernel_id = await self.kernels.start_kernel(kernel_name=kernel_name, path=path,
                                                        env={**os.environ, **run.env})
        except Exception as exc:
            del self._consoles[run.job_id]
            raise LaunchError(f"could not start a {kernel_name!r} kernel: {exc}") from exc
        console.kernel_id = kernel_id
        manager = self.kernels.get_kernel(kernel_id)
        (run.folder / JobFiles.CONSOLE).write_text(json.dumps({
            "kernel_id": kernel_id, "pid": getattr(getattr(manager, "provisioner", None), "pid", None),
        }))
        for event in ("restart", "dead"):
            callback = self._on_kernel_death(console, event)
            manager.add_restart_callback(callback, event)
            console.callbacks.append((callback, event))
        self.on_change(run.job_id, {"kernel_id": kernel_id})
        if console.stopping:  # stopped while its kernel started
            await self._end(console, ExitRecord(exit_code=None))
            return
        console.task = asyncio.create_task(self._run(console, run))

    def _on_kernel_death(self, console: _Console, event: str):
        def callback():
            if console.finished_at is None and console.died is None:
                console.died = "the console kernel died" + (" and was restarted" if event == "restart" else "")
        return callback

    async def _run(self, console: _Console, run: RunSpec) -> None:
        recorder = LogRecorder(run.folder)
        client = self.kernels.get_kernel(console.kernel_id).client()
        record = None
        try:
            # Shell and iopub only: a heartbeat thread would outlive a cancelled task.
            client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
            await client.wait_for_ready(timeout=READY_TIMEOUT)
            code = _RUNNER % {"path": run.script, "argv": [run.script, *run.args], "cwd": run.cwd}
            msg_id = client.execute(code, silent=False, store_history=False, allow_stdin=False,
                                    user_expressions={"exit": f"get_ipython().user_ns.pop({_RESULT!r}, None)"})
            record = await self._pump(console, client, recorder, msg_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.log.exception("momo-jobs: console job %s", console.job_id)
            recorder.write(f"momo-jobs: the console kernel failed: {exc}\n".encode())
            record = ExitRecord(exit_code=None, reason=f"the console kernel failed: {exc}")
        finally:
            recorder.close()
            client.stop_channels()
            if record is not None:
                await self._end(console, record)

    async def _pump(self, console: _Console, client, recorder: LogRecorder, msg_id: str) -> ExitRecord:
        """Copies the script's output to the log until the kernel is idle again."""
        reply = None
        idle = False
        while not (idle and reply is not None):
            if console.died or console.kernel_id not in self.kernels:
                reason = console.died or "the console kernel was shut down"
                return ExitRecord(exit_code=None, reason=reason, stopped=console.stopping)
            if reply is None:
                try:
                    msg = await client.get_shell_msg(timeout=0)
                    if msg["parent_header"].get("msg_id") == msg_id:
                        reply = msg["content"]
                except Empty:
                    pass
            try:
                msg = await client.get_iopub_msg(timeout=0.2)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status":
                idle = msg["content"].get("execution_state") == "idle"
            else:
                recorder.write(_text_of(msg).encode("utf-8", "replace"))
        return self._record_from(reply, console.stopping)

    @staticmethod
    def _record_from(reply: dict, stopped: bool) -> ExitRecord:
        if reply.get("status") != "ok":
            reason = f"{reply.get('ename', 'error')}: {reply.get('evalue', '')}".rstrip(": ")
            return ExitRecord(exit_code=1, reason=reason, stopped=stopped)
        result = (reply.get("user_expressions") or {}).get("exit", {})
        try:
            outcome = ast.literal_eval(result.get("data", {}).get("text/plain", "None")) or {}
        except (ValueError, SyntaxError):
            outcome = {}
        code = outcome.get("exit_code", 0)
        return ExitRecord(exit_code=code, reason=outcome.get("reason"), stopped=stopped)

    async def _end(self, console: _Console, record: ExitRecord) -> None:
        if console.stopping:
            await self._shutdown(console)
            record.stopped, record.reason = True, "stopped by request"
        elif console.kernel_id not in self.kernels:
            self._kernel_gone(console.job_id, console.folder)
        record.save(console.folder)
        # Only now: until the exit record is written, the job must not look vanished.
        console.finished_at = time.monotonic()

    async def warn(self, run: RunSpec, time_limit_signal: str) -> None:
        """The signal to the kernel that runs the script (a handler the script set runs)."""
        console = self._consoles.get(run.job_id)
        if console is None or console.kernel_id not in self.kernels:
            return
        pid = getattr(getattr(self.kernels.get_kernel(console.kernel_id), "provisioner", None), "pid", None)
        if pid:
            signal_if_there(int(pid), parse_time_limit_signal(time_limit_signal)[0])

    # stopping and cleaning up

    async def stop(self, run: RunSpec) -> None:
        console = self._consoles.get(run.job_id)
        if console is None:
            if ExitRecord.load(run.folder) is None:
                ExitRecord(exit_code=None, stopped=True, reason="stopped by request").save(run.folder)
            return
        console.stopping = True
        if console.task is None:
            return  # still starting: launch() ends it
        if console.kernel_id in self.kernels:
            try:
                await self.kernels.interrupt_kernel(console.kernel_id)
            except Exception as exc:
                self.log.warning("momo-jobs: could not interrupt kernel %s: %s", console.kernel_id, exc)
        self._stoppers.add(task := asyncio.create_task(self._stop_after_grace(console)))
        task.add_done_callback(self._stoppers.discard)

    async def _stop_after_grace(self, console: _Console) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(console.task), console.stop_grace)
            return  # _end shut the kernel down
        except asyncio.TimeoutError:
            pass
        await self._shutdown(console, now=True)  # the pump sees the kernel gone and ends the job
        try:
            await asyncio.wait_for(asyncio.shield(console.task), 5.0)
        except asyncio.TimeoutError:  # still starting: nothing more will come from it
            console.task.cancel()
            await self._end(console, ExitRecord(exit_code=None))

    async def _shutdown(self, console: _Console, now: bool = False) -> None:
        if console.kernel_id in self.kernels:
            try:
                manager = self.kernels.get_kernel(console.kernel_id)
                for callback, event in console.callbacks:
                    manager.remove_restart_callback(callback, event)
                await self.kernels.shutdown_kernel(console.kernel_id, now=now)
            except Exception as exc:
                self.log.warning("momo-jobs: could not shut down kernel %s: %s", console.kernel_id, exc)
        self._kernel_gone(console.job_id, console.folder)

    async def forget(self, job_id: str) -> None:
        """The job is deleted: its kernel goes too."""
        console = self._consoles.pop(job_id, None)
        if console is not None:
            await self._shutdown(console, now=True)

    async def _watch(self) -> None:
        """Shuts down idle finished kernels; notices kernels the user shut down."""
        while True:
            await asyncio.sleep(min(5.0, max(0.5, self.settings.console_idle_seconds / 4)))
            try:
                await self._sweep()
            except Exception:
                self.log.exception("momo-jobs: console kernel sweep failed")

    async def _sweep(self) -> None:
        for console in list(self._consoles.values()):
            if console.finished_at is None:
                continue
            if console.kernel_id not in self.kernels:
                del self._consoles[console.job_id]
                self._kernel_gone(console.job_id, console.folder)
                continue
            activity = getattr(self.kernels.get_kernel(console.kernel_id), "last_activity", None)
            idle_since = time.monotonic() - console.finished_at
            if activity is not None:
                idle_since = min(idle_since, time.time() - activity.timestamp())
            if idle_since >= self.settings.console_idle_seconds:
                self.log.info("momo-jobs: shutting down the idle kernel of console job %s", console.job_id)
                del self._consoles[console.job_id]
                await self._shutdown(console)

    # server restarts

    async def is_alive(self, run: RunSpec) -> bool:
        console = self._consoles.get(run.job_id)
        return console is not None and console.finished_at is None

    async def reattach(self, run: RunSpec) -> bool:
        """A console kernel can't outlive the server that started it (it exits with its
        parent); one that lingers is ended, as nothing can reach it any more."""
        try:
            info = json.loads((run.folder / JobFiles.CONSOLE).read_text())
        except (FileNotFoundError, ValueError):
            info = {}
        pid = info.get("pid")
        kernel_id = info.get("kernel_id") or ""
        if pid and kernel_id and process_alive(int(pid), kernel_id):
            signal_if_there(int(pid), signal.SIGKILL)
        if ExitRecord.load(run.folder) is None:
            ExitRecord(exit_code=None, reason="its console kernel ended with the server").save(run.folder)
        self._kernel_gone(run.job_id, run.folder)
        return False
