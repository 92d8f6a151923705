"""``%job`` and ``%%job``: submit and follow momo-jobs from a notebook.

``%load_ext momo_jobs`` registers them. They talk to the server this kernel
belongs to through the same REST client as the command line. Nothing here
blocks the kernel except ``%job wait`` and ``%job logs --follow``: status lines
and charts of running jobs are refreshed in place from background threads.
"""
from __future__ import annotations

import argparse
import contextvars
import io
import os
import shlex
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from ..vocabulary import FINAL
from .client import ClientError, JobsClient, server_root
from .display import JobTable, chart_bundle, compare_bundle, default_metric, run_rows, status_bundle, status_text
from .i18n import _, ngettext
from .options import add_submit_options, add_sweep_options, split_script_args, submit_kwargs, sweep_kwargs

POLL_SECONDS = 1.0
CHART_REFRESH_SECONDS = 2.0
SHOWN_LOG_CHARS = 2 << 20  # a notebook slows down with more output than this
COMMANDS = ("submit", "sweep", "list", "status", "logs", "stop", "rerun", "export", "wait", "metrics", "compare",
            "resources")


class JobMagicError(Exception):
    """A failure the user can act on: shown as one line, without a traceback."""

    def _render_traceback_(self):
        return [f"\x1b[31m%job: {self}\x1b[0m"]


class _HelpShown(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}  (see {self.prog} --help)")

    def exit(self, status=0, message=None):
        if message:
            raise UsageError(message.strip())
        raise _HelpShown()


class Job(dict):
    """A job as the API returns it; ``job.status`` works as well as ``job["status"]``."""

    _shown_live: dict[str, int] = {}  # job id → execution count of the cell that shows it live

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def _repr_pretty_(self, p, cycle):
        p.text(status_text(self))

    def _ipython_display_(self):
        from IPython import get_ipython

        shell = get_ipython()
        # The magic that returned this job already shows it live just above.
        if shell is not None and Job._shown_live.get(self["id"]) == shell.execution_count:
            return
        display(status_bundle(self), raw=True)


# the kernel


def _kernel_id() -> str | None:
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:  # not in a kernel
        return None
    return name[len("kernel-"):-len(".json")] if name.startswith("kernel-") and name.endswith(".json") else None


# the magics


@magics_class
class JobMagics(Magics):
    def __init__(self, shell):
        super().__init__(shell)
        self._client: JobsClient | None = None
        self._client_key: tuple | None = None
        self._last_job: str | None = None
        self.parser, self.commands = self._parsers()

    # the server

    @property
    def client(self) -> JobsClient:
        key = tuple(os.environ.get(f"MOMO_JOBS_{k}") for k in ("URL", "TOKEN", "ROOT"))
        if self._client is None or key != self._client_key:
            kernel_id = _kernel_id()
            client = (kernel_id and JobsClient.for_kernel(kernel_id)) or JobsClient.discover()
            if client.root is None:
                client.root = server_root(client.url)
            self._client, self._client_key = client, key
        return self._client

    def _call(self, fn: Callable, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            raise self._failure(exc) from None

    def _failure(self, exc: ClientError) -> JobMagicError:
        if exc.status is None:
            self._client = None  # unreachable: look for the server again next time
        return JobMagicError(exc.message)

    def _connected(self) -> JobsClient:
        try:
            return self.client
        except ClientError as exc:
            raise JobMagicError(exc.message) from None

    def _api(self, method: str, *args, **kwargs):
        return self._call(getattr(self._connected(), method), *args, **kwargs)

    def _resolve(self, ref: str | None) -> Job:
        """A job from its id, a unique id prefix or its name; the last one this kernel submitted by default."""
        ref = ref or self._last_job
        if not ref:
            raise UsageError(_("give a job id (no job was submitted from this kernel yet)"))
        try:
            return Job(self._connected().get(ref))
        except ClientError as exc:
            if exc.status != 404:
                raise self._failure(exc) from None
        jobs = self._api("list", limit=1000)["jobs"]
        matches = [j for j in jobs if j["name"] == ref] or [j for j in jobs if j["id"].startswith(ref)]
        if len(matches) == 1 or (matches and all(j["name"] == ref for j in matches)):
            return Job(matches[0])  # the newest of that name
        if matches:
            raise UsageError(f"{ref!r} matches {len(matches)} jobs: give more of the id")
        raise JobMagicError(_("no job {ref!r}").format(ref=ref))

    # the notebook

    def _notebook(self) -> Path | str:
        """This kernel's notebook: from the server's sessions, else what JupyterLab told the kernel."""
        kernel_id = _kernel_id()
        client = self._connected()
        notebook = client.kernel_notebook(kernel_id) if kernel_id else None
        if notebook:
            return client.root / notebook if client.root else notebook
        named = self.shell.user_ns.get("__session__") or os.environ.get("JPY_SESSION_NAME")
        if named and str(named).endswith(".ipynb") and Path(named).is_file():
            return Path(named).resolve()
        raise UsageError(_("can't tell which notebook this kernel runs: give the notebook's path"))

    def _script(self, script: str) -> Path | str:
        if script == ".":
            return self._notebook()
        path = Path(script).expanduser()
        if not path.exists() and path.with_name(path.name + ".ipynb").is_file():
            path = path.with_name(path.name + ".ipynb")  # the notebook's name without .ipynb
        # With the server's root unknown, a relative path is taken as relative to it.
        return path.resolve() if self._connected().root is not None or path.is_absolute() else path.as_posix()

    # display

    @property
    def _live(self) -> bool:
        """Displays update in place in a kernel's frontend; a terminal would print each update anew."""
        return getattr(self.shell, "kernel", None) is not None

    def _watch(self, job: Job, note: str = "") -> None:
        """Shows the job's status line and keeps it current from a thread until the job ends."""
        handle = display(status_bundle(job, note), raw=True, display_id=True)
        Job._shown_live[job["id"]] = self.shell.execution_count
        if job["status"] in FINAL or not self._live:
            return
        client = self.client

        def follow():
            last, failures = dict(job), 0
            while True:
                time.sleep(POLL_SECONDS)
                try:
                    current = client.get(job["id"])
                    failures = 0
                except ClientError as exc:
                    failures += 1
                    if failures >= 30:
                        handle.update(status_bundle(last, _("lost the server: {reason}").format(reason=exc.message)), raw=True)
                        return
                    continue
                handle.update(status_bundle(current, note), raw=True)
                last = current
                if current["status"] in FINAL:
                    return

        _thread(follow)

    def _chart(self, job: Job, x: str, names: list[str], refresh: bool) -> None:
        metrics = self._api("metrics", job["id"], x=x, names=names)
        handle = display(chart_bundle(job, metrics), raw=True, display_id=True)
        if not refresh or job["status"] in FINAL or not self._live:
            return
        client = self.client

        def follow():
            while True:
                time.sleep(CHART_REFRESH_SECONDS)
                try:
                    current = client.get(job["id"])
                    handle.update(chart_bundle(current, client.metrics(job["id"], x=x, names=names)), raw=True)
                except ClientError:
                    continue
                if current["status"] in FINAL:
                    return

        _thread(follow)

    # commands

    def cmd_submit(self, opts, script: str | None = None, cell: str | None = None):
        try:
            kwargs = submit_kwargs(opts)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        kwargs["args"] = opts.args
        note = ""
        if cell is not None:
            job = self._submit_cell(cell, kwargs)
        else:
            path = self._script(script)
            if str(path).endswith(".ipynb"):
                note = _("the notebook as last saved")
            job = Job(self._api("submit", path, **kwargs))
        for warning in job.get("warnings") or ():
            print(_("warning: Python 3 cannot compile {where}").format(where=warning))
        self._last_job = job["id"]
        if not opts.quiet:
            self._watch(job, note)
        return job

    def cmd_sweep(self, opts):
        try:
            kwargs = sweep_kwargs(opts)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        sweep = self._api("sweep", self._script(opts.script), args=opts.args, **kwargs)
        return self._sweep_table(sweep)

    def _sweep_table(self, sweep: dict) -> JobTable:
        self._last_sweep = sweep["sweep_id"]
        if sweep["jobs"]:
            self._last_job = sweep["jobs"][0]["id"]
        count = len(sweep["jobs"])
        line = ngettext("sweep {sweep}: {count} job", "sweep {sweep}: {count} jobs", count)
        if sweep.get("max_parallel"):
            line = ngettext("sweep {sweep}: {count} job, at most {parallel} at once",
                            "sweep {sweep}: {count} jobs, at most {parallel} at once", count)
        print(line.format(sweep=sweep["sweep_id"], count=count, parallel=sweep.get("max_parallel")))
        return JobTable(Job(j) for j in sweep["jobs"])

    def _sweep_id(self, ref: str | None) -> str:
        """A sweep's id; the last one this kernel started by default."""
        ref = ref or getattr(self, "_last_sweep", None)
        if not ref:
            raise UsageError(_("give a sweep id (no sweep was started from this kernel yet)"))
        return ref

    def _submit_cell(self, cell: str, kwargs: dict) -> Job:
        # The job runs in the script's folder, so the cell is written here; the
        # server snapshots it at submit, and the file goes right after.
        token = uuid.uuid4().hex[:6]
        path = Path.cwd() / f".job-cell-{token}.py"
        if not kwargs["name"]:
            try:
                stem = Path(str(self._notebook())).stem
            except (UsageError, JobMagicError):
                stem = ""
            kwargs["name"] = f"{stem}-cell" if stem else "cell"
        path.write_text(cell if cell.endswith("\n") else cell + "\n", encoding="utf-8")
        try:
            target = path if self._connected().root is not None else path.name
            return Job(self._api("submit", target, **kwargs))
        finally:
            path.unlink(missing_ok=True)

    def cmd_list(self, opts):
        status = ",".join(opts.status) if opts.status else None
        jobs = [Job(j) for j in self._api("list", status=status, limit=opts.limit)["jobs"]]
        try:
            import pandas as pd
        except ImportError:
            return JobTable(jobs)
        columns = ["id", "name", "status", "resource", "gpus", "created_at", "started_at", "finished_at",
                   "exit_code", "reason", "kernel_id"]
        frame = pd.DataFrame([{c: j.get(c) for c in columns} for j in jobs], columns=columns)
        return frame.set_index("id")

    def cmd_status(self, opts):
        return self._resolve(opts.id)

    def cmd_logs(self, opts):
        job = self._resolve(opts.id)
        if opts.follow:
            try:
                job = Job(self._call(self.client.follow, job["id"], sys.stdout))
            except KeyboardInterrupt:
                print("\n" + _("(stopped following {name}; the job goes on)").format(name=job["name"]))
                return None
            print(f"\n{status_text(job)}")
            return None
        text, skipped = self._read_log(job["id"], keep=None if opts.all else SHOWN_LOG_CHARS)
        if opts.tail is not None:
            text = "\n".join(text.rstrip("\n").split("\n")[-opts.tail:]) + "\n" if opts.tail > 0 else ""
        elif skipped:
            print(_("[{count} earlier characters left out; %job logs {id} --all shows them]").format(
                count=skipped, id=job["id"]))
        sys.stdout.write(text)
        sys.stdout.flush()
        return None

    def _read_log(self, job_id: str, keep: int | None) -> tuple[str, int]:
        """The log as it is now: its last ``keep`` characters, and how many came before."""
        return self._call(_last_chars, self._connected().log_texts(job_id), keep)

    def cmd_stop(self, opts):
        if opts.sweep:
            return self._sweep_table(self._api("sweep_action", self._sweep_id(opts.id), "stop"))
        job = Job(self._api("stop", self._resolve(opts.id)["id"]))
        self._watch(job)
        return job

    def cmd_rerun(self, opts):
        if opts.sweep:
            return self._sweep_table(self._api("sweep_action", self._sweep_id(opts.id), "rerun"))
        job = Job(self._api("rerun", self._resolve(opts.id)["id"]))
        self._last_job = job["id"]
        self._watch(job)
        return job

    def cmd_export(self, opts):
        notebook = self._script(opts.notebook) if opts.notebook else self._notebook()
        result = self._api("export", notebook, overwrite=opts.overwrite)
        print(_("exported {notebook} to {script}").format(notebook=Path(str(notebook)).name, script=result["path"]))
        for warning in result.get("warnings") or ():
            print(_("warning: Python 3 cannot compile {where}").format(where=warning))
        return None

    def cmd_wait(self, opts):
        job = self._resolve(opts.id)
        handle = display(status_bundle(job), raw=True, display_id=True)
        Job._shown_live[job["id"]] = self.shell.execution_count
        deadline = None if opts.timeout is None else time.monotonic() + opts.timeout
        offset, last_line = 0, ""
        try:
            while job["status"] not in FINAL:
                if deadline is not None and time.monotonic() > deadline:
                    handle.update(status_bundle(job, f"still {job['status']} after {opts.timeout:g} s"), raw=True)
                    return job
                chunk = self._api("log", job["id"], offset, 1 << 18)
                offset = chunk["next_offset"]
                lines = [seg for line in chunk["text"].splitlines() for seg in line.split("\r") if seg.strip()]
                last_line = lines[-1][:200] if lines else last_line
                handle.update(status_bundle(job, last_line), raw=True)
                time.sleep(0.5)
                job = self._resolve(job["id"])
        except KeyboardInterrupt:
            handle.update(status_bundle(job, _("detached: the job goes on")), raw=True)
            return job
        handle.update(status_bundle(job), raw=True)
        return job

    def cmd_metrics(self, opts):
        job = self._resolve(opts.id)
        self._chart(job, opts.x, opts.names, refresh=not opts.no_refresh)
        try:
            import pandas as pd
        except ImportError:
            return None
        frame = pd.read_csv(io.StringIO(self._api("metrics_csv", job["id"])))
        if opts.names:
            frame = frame[frame["metric"].isin(opts.names)].reset_index(drop=True)
        return frame

    def cmd_compare(self, opts):
        """Overlays a metric of several runs (one line per run) and returns the runs
        table: parameters, the metric's best and last, CPU and memory peaks."""
        ids = list(dict.fromkeys(self._resolve(ref)["id"] for ref in opts.ids))
        runs = self._api("runs", ids=ids, limit=len(ids))["runs"]
        metric = opts.metric or default_metric(runs)
        stepped = metric and all((r["metrics"].get(metric) or {}).get("last_step") is not None for r in runs)
        data = self._api("compare", ids, names=[metric] if metric else [], x=opts.x or ("step" if stepped else "time"))
        display(compare_bundle(runs, data, metric), raw=True)
        rows = run_rows(runs, metric)
        try:
            import pandas as pd
        except ImportError:
            return rows
        return pd.DataFrame(rows).set_index("id")

    def cmd_resources(self, opts):
        res = self._api("resources")
        gpus = ", ".join(f"{g['index']} {g['name']}" + (f" (job {g['holder']})" if g.get("holder") else " (free)")
                         for g in res["gpus"]) or "none"
        slots = res["cpu_slots"]
        print(f"backend {res['backend']} · CPU slots {slots['used']}/{slots['total']} used · GPUs: {gpus} · "
              f"queued: {res['queues']['cpu']} cpu, {res['queues']['gpu']} gpu")
        return None

    # parsing

    def _parsers(self):
        parser = _Parser(prog="%job", description="Run scripts as background jobs (momo-jobs). "
                         "Also %%job [submit options] to submit a cell.", add_help=True)
        sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
        commands = {}

        def command(name, help_text):
            commands[name] = sub.add_parser(name, help=help_text, description=help_text, prog=f"%job {name}")
            return commands[name]

        def job_id(p):
            p.add_argument("id", nargs="?", metavar="ID",
                           help="job id, id prefix or name (default: the last job submitted here)")

        def submit_options(p):
            add_submit_options(p)
            p.add_argument("-q", "--quiet", action="store_true", help="no live status line")

        p = command("submit", "Submit a script or notebook as a job; arguments for the script go after --.")
        p.add_argument("script", metavar="SCRIPT", help="a .py file, a notebook, or . for this notebook")
        submit_options(p)
        cell = _Parser(prog="%%job", description="Submit this cell's code as a job script.")
        submit_options(cell)
        commands["%%job"] = cell

        p = command("list", "List jobs, newest first.")
        p.add_argument("--status", action="append", help="only these statuses (repeatable)")
        p.add_argument("--limit", type=int, default=50)
        job_id(command("status", "Show a job's status."))
        p = command("logs", "Print a job's log.")
        job_id(p)
        p.add_argument("-f", "--follow", action="store_true", help="keep printing until the job ends")
        p.add_argument("--tail", type=int, metavar="N", help="only the last N lines")
        p.add_argument("--all", action="store_true", help=f"all of it (else its last {SHOWN_LOG_CHARS >> 20} MiB)")
        p = command("sweep", "Run a script once per combination of --grid values; its arguments go after --.")
        p.add_argument("script", metavar="SCRIPT", help="a .py file, a notebook, or . for this notebook")
        add_submit_options(p)
        add_sweep_options(p)
        for name, text in (("stop", "Stop a job (a queued job stops at once)."),
                           ("rerun", "Run a job again from its snapshot.")):
            p = command(name, text)
            job_id(p)
            p.add_argument("--sweep", action="store_true", help="ID is a sweep's: act on each of its jobs")
        p = command("export", "Export a notebook (default: this one) to a .py script beside it.")
        p.add_argument("notebook", nargs="?", metavar="NOTEBOOK")
        p.add_argument("--overwrite", action="store_true", help="replace an existing .py")
        p = command("wait", "Wait for a job to end, showing its progress; interrupting detaches.")
        job_id(p)
        p.add_argument("--timeout", type=float, metavar="SECONDS")
        p = command("metrics", "Chart a job's metrics (refreshed while it runs); returns them as a DataFrame.")
        p.add_argument("id", metavar="ID", nargs="?")
        p.add_argument("names", metavar="NAMES", nargs="*", help="only these metrics")
        p.add_argument("--x", choices=("time", "step", "epoch"), default="time")
        p.add_argument("--no-refresh", action="store_true", help="draw once")
        p = command("compare", "Overlay a metric of several runs and return their table (parameters, best values, "
                               "CPU and memory).")
        p.add_argument("ids", metavar="ID", nargs="+", help="job ids, id prefixes or names")
        p.add_argument("--metric", help="the metric to overlay and rank by (default: val_loss, loss, …)")
        p.add_argument("--x", choices=("time", "step", "epoch"), help="default: step when the metric has steps, else time")
        command("resources", "Show GPUs, CPU slots and queues.")
        return parser, commands

    @staticmethod
    def _split(line: str) -> tuple[list[str], list[str]]:
        line = line.strip().rstrip(";")
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%job: {exc}") from None
        return split_script_args(words)

    @line_cell_magic
    def job(self, line: str, cell: str | None = None):
        """Run scripts as background jobs: %job --help."""
        try:
            words, script_args = self._split(line)
            if cell is not None:
                opts = self.commands["%%job"].parse_args(words)
                opts.args = script_args
                if not cell.strip():
                    raise UsageError("%%job: the cell is empty")
                return self.cmd_submit(opts, cell=cell)
            if not words:
                raise UsageError(f"%job needs a command: {', '.join(COMMANDS)} (see %job --help)")
            opts = self.parser.parse_args(words)
            if script_args and opts.command not in ("submit", "sweep"):
                raise UsageError(_("%job {command}: arguments after -- are only for submit and sweep").format(
                    command=opts.command))
            if opts.command in ("submit", "sweep"):
                opts.args = script_args
            if opts.command == "submit":
                return self.cmd_submit(opts, script=opts.script)
            return getattr(self, f"cmd_{opts.command}")(opts)
        except _HelpShown:
            return None


def _last_chars(texts: Iterable[str], keep: int | None) -> tuple[str, int]:
    """The texts joined, cut to their last ``keep`` characters; and how many were cut."""
    text, skipped = "", 0
    for part in texts:
        text += part
        if keep is not None and len(text) > keep:
            skipped += len(text) - keep
            text = text[-keep:]
    return text, skipped


def _thread(target: Callable[[], None]) -> None:
    # The thread runs in a copy of the cell's context, so its display updates
    # carry that cell's message header.
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(target,), daemon=True, name="momo-jobs-display").start()


def load_ipython_extension(ipython):
    ipython.register_magics(JobMagics)


def unload_ipython_extension(ipython):
    manager = ipython.magics_manager
    if manager.registry.pop("JobMagics", None) is not None:
        manager.magics["line"].pop("job", None)
        manager.magics["cell"].pop("job", None)
