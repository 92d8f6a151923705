"""``%job`` and ``%%job``: submit and follow momo-jobs from a notebook.

``%load_ext momo_jobs`` registers them. They talk to the server this kernel
belongs to through the same REST client as the command line. Nothing here
blocks the kernel except ``%job wait`` and ``%job logs --follow``: status lines
and charts of running jobs are refreshed in place from background threads.
"""
from __future__ import annotations

import argparse
import contextvars
import html
import io
import json
import os
import shlex
import sys
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from .client import FINAL, ClientError, JobsClient

VEGA_LITE = "application/vnd.vegalite.v5+json"
POLL_SECONDS = 1.0
CHART_REFRESH_SECONDS = 2.0
SHOWN_LOG_CHARS = 2 << 20  # a notebook slows down with more output than this
SYMBOLS = {"queued": "⏳", "running": "▶", "stopping": "■", "completed": "✔", "failed": "✖", "stopped": "■"}
COMMANDS = ("submit", "list", "status", "logs", "stop", "rerun", "export", "wait", "metrics", "resources")


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


# jobs and how they look


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _elapsed(job: dict) -> str | None:
    started = _parse_time(job.get("started_at"))
    if started is None:
        return None
    ended = _parse_time(job.get("finished_at")) or datetime.now(timezone.utc)
    return _duration((ended - started).total_seconds())


def _state(job: dict) -> str:
    status = job["status"]
    if status == "queued" and job.get("queue_position"):
        queue = "gpu" if job["resource"] == "gpu" else "cpu"
        return f"queued #{job['queue_position']} in the {queue} queue" + (f", {job['reason']}" if job.get("reason") else "")
    elapsed = _elapsed(job)
    if status in ("running", "stopping"):
        return f"{status} {elapsed}" if elapsed else status
    if status in FINAL and elapsed:
        return f"{status} after {elapsed}"
    return status


def status_text(job: dict, note: str = "") -> str:
    where = job["resource"] + (f" {job['gpus']} GPU" if job["resource"] == "gpu" else "")
    text = f"{SYMBOLS.get(job['status'], '·')} {job['name']} [{job['id']}] {where}: {_state(job)}"
    if job.get("reason") and job["status"] in FINAL:
        text += f" ({job['reason']})"
    if job.get("kernel_id") and job["status"] in FINAL:
        text += f" · kernel {job['kernel_id']} alive"
    return text + (f" · {note}" if note else "")


def status_bundle(job: dict, note: str = "") -> dict:
    color = {"failed": "#c62828", "completed": "#2e7d32", "stopped": "#6d6d6d"}.get(job["status"], "inherit")
    parts = [f"<span style=\"color:{color}\">{SYMBOLS.get(job['status'], '·')}</span> <b>{html.escape(job['name'])}</b>",
             f"<code>{job['id']}</code>", html.escape(job["resource"]), html.escape(_state(job))]
    if job.get("reason") and job["status"] in FINAL:
        parts.append(f"<span style=\"color:{color}\">{html.escape(job['reason'])}</span>")
    if note:
        parts.append(f"<i>{html.escape(note)}</i>")
    return {"text/plain": status_text(job, note), "text/html": f"<div class=\"momo-job-status\">{' · '.join(parts)}</div>"}


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


class JobTable(list):
    """``%job list`` without pandas."""

    COLUMNS = ("id", "name", "status", "resource", "created_at", "finished_at", "reason")

    def _repr_html_(self):
        head = "".join(f"<th>{c}</th>" for c in self.COLUMNS)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(j.get(c) or ''))}</td>" for c in self.COLUMNS) + "</tr>"
                       for j in self)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"

    def _repr_pretty_(self, p, cycle):
        p.text("\n".join(status_text(j) for j in self) or "no jobs")


# charts


def vega_lite(job: dict, metrics: dict) -> dict:
    """A Vega-Lite chart of a job's metric series, one panel per metric."""
    x = metrics.get("x", "time")
    values = [{"metric": s["name"], "x": xv, "value": yv}
              for s in metrics.get("series", []) for xv, yv in zip(s["x"], s["y"]) if yv is not None and xv is not None]
    names = [s["name"] for s in metrics.get("series", [])]
    mark = {"type": "line", "point": len(values) <= 300, "tooltip": True}
    encoding = {
        "x": {"field": "x", "type": "quantitative", "title": "seconds" if x == "time" else x},
        "y": {"field": "value", "type": "quantitative", "title": None, "scale": {"zero": False}},
        "color": {"field": "metric", "type": "nominal", "legend": None},
    }
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": f"{job['name']} [{job['id']}] · {job['status']}",
        "data": {"values": values},
    }
    if len(names) <= 1:
        encoding["y"]["title"] = names[0] if names else "no metrics yet"
        spec.update(width=480, height=240, mark=mark, encoding=encoding)
    else:
        spec.update(facet={"field": "metric", "type": "nominal", "title": None, "sort": names},
                    columns=2, spec={"width": 300, "height": 180, "mark": mark, "encoding": encoding},
                    resolve={"scale": {"y": "independent"}})
    return spec


def chart_bundle(job: dict, metrics: dict) -> dict:
    counts = ", ".join(f"{s['name']} ({s['count']} points)" for s in metrics.get("series", [])) or "no metrics yet"
    return {VEGA_LITE: vega_lite(job, metrics), "text/plain": f"metrics of {job['name']} [{job['id']}]: {counts}"}


# finding the server and the notebook


def _kernel_id() -> str | None:
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:  # not in a kernel
        return None
    return name[len("kernel-"):-len(".json")] if name.startswith("kernel-") and name.endswith(".json") else None


def _server_get(url: str, token: str, path: str, timeout: float = 5.0) -> Any:
    request = urllib.request.Request(url.rstrip("/") + "/" + path)
    if token:
        request.add_header("Authorization", f"token {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def kernel_server(kernel_id: str | None) -> JobsClient | None:
    """The running Jupyter server (from its runtime file) that started this kernel."""
    if not kernel_id:
        return None
    from jupyter_server.serverapp import list_running_servers

    for info in list_running_servers():
        try:
            kernels = _server_get(info["url"], info.get("token", ""), "api/kernels", timeout=2.0)
        except Exception:
            continue
        if any(k.get("id") == kernel_id for k in kernels):
            root = info.get("root_dir") or info.get("notebook_dir")
            return JobsClient(info["url"], info.get("token", ""), Path(root).resolve() if root else None)
    return None


def _root_of(url: str) -> Path | None:
    """The root folder of the server at ``url`` when its runtime file is here, so
    local paths can be given relative to it."""
    from jupyter_server.serverapp import list_running_servers

    for info in list_running_servers():
        if info.get("url", "").rstrip("/") == url.rstrip("/"):
            root = info.get("root_dir") or info.get("notebook_dir")
            return Path(root).resolve() if root else None
    return None


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
            client = kernel_server(_kernel_id()) or JobsClient.discover()
            if client.root is None:
                client.root = _root_of(client.url)
            self._client, self._client_key = client, key
        return self._client

    def _call(self, fn: Callable, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            if exc.status is None:
                self._client = None  # unreachable: look for the server again next time
            raise JobMagicError(exc.message) from None

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
            raise UsageError("give a job id (no job was submitted from this kernel yet)")
        try:
            return Job(self._connected().get(ref))
        except ClientError as exc:
            if exc.status != 404:
                self._call(_raise, exc)
        jobs = self._api("list", limit=1000)["jobs"]
        matches = [j for j in jobs if j["name"] == ref] or [j for j in jobs if j["id"].startswith(ref)]
        if len(matches) == 1 or (matches and all(j["name"] == ref for j in matches)):
            return Job(matches[0])  # the newest of that name
        if matches:
            raise UsageError(f"{ref!r} matches {len(matches)} jobs: give more of the id")
        raise JobMagicError(f"no job {ref!r}")

    # the notebook

    def _notebook(self) -> Path | str:
        """This kernel's notebook: from the server's sessions, else what JupyterLab told the kernel."""
        kernel_id = _kernel_id()
        client = self._connected()
        if kernel_id:
            try:
                sessions = _server_get(client.url, client.token, "api/sessions")
            except Exception:
                sessions = []
            for session in sessions:
                if (session.get("kernel") or {}).get("id") == kernel_id and str(session.get("path", "")).endswith(".ipynb"):
                    return client.root / session["path"] if client.root else session["path"]
        named = self.shell.user_ns.get("__session__") or os.environ.get("JPY_SESSION_NAME")
        if named and str(named).endswith(".ipynb") and Path(named).is_file():
            return Path(named).resolve()
        raise UsageError("can't tell which notebook this kernel runs: give the notebook's path")

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
                        handle.update(status_bundle(last, f"lost the server: {exc.message}"), raw=True)
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
        resource = "gpu" if opts.gpu is not None else "console" if opts.console else "cpu"
        env = {}
        for item in opts.env or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise UsageError(f"--env takes KEY=VALUE, not {item!r}")
            env[key] = value
        kwargs = dict(resource=resource, gpus=opts.gpu if resource == "gpu" else None, name=opts.name,
                      args=opts.args, env=env or None, kernel=opts.kernel)
        note = ""
        if cell is not None:
            job = self._submit_cell(cell, kwargs)
        else:
            path = self._script(script)
            if str(path).endswith(".ipynb"):
                note = "the notebook as last saved"
            job = Job(self._api("submit", path, **kwargs))
        self._last_job = job["id"]
        if not opts.quiet:
            self._watch(job, note)
        return job

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
                print(f"\n(stopped following {job['name']}; the job goes on)")
                return None
            print(f"\n{status_text(job)}")
            return None
        text, skipped = self._read_log(job["id"], keep=None if opts.all else SHOWN_LOG_CHARS)
        if opts.tail is not None:
            text = "\n".join(text.rstrip("\n").split("\n")[-opts.tail:]) + "\n" if opts.tail > 0 else ""
        elif skipped:
            print(f"[{skipped} earlier characters left out; %job logs {job['id']} --all shows them]")
        sys.stdout.write(text)
        sys.stdout.flush()
        return None

    def _read_log(self, job_id: str, keep: int | None) -> tuple[str, int]:
        """The log as it is now: its last ``keep`` characters, and how many came before."""
        text, skipped, offset = "", 0, 0
        while True:
            chunk = self._api("log", job_id, offset, 4 << 20)
            text += chunk["text"]
            if keep is not None and len(text) > keep:
                skipped += len(text) - keep
                text = text[-keep:]
            if chunk["eof"] or chunk["next_offset"] == offset:
                return text, skipped
            offset = chunk["next_offset"]

    def cmd_stop(self, opts):
        job = Job(self._api("stop", self._resolve(opts.id)["id"]))
        self._watch(job)
        return job

    def cmd_rerun(self, opts):
        job = Job(self._api("rerun", self._resolve(opts.id)["id"]))
        self._last_job = job["id"]
        self._watch(job)
        return job

    def cmd_export(self, opts):
        notebook = self._script(opts.notebook) if opts.notebook else self._notebook()
        result = self._api("export", notebook, overwrite=opts.overwrite)
        print(f"exported {Path(str(notebook)).name} to {result['path']}")
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
            handle.update(status_bundle(job, "detached: the job goes on"), raw=True)
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
            where = p.add_mutually_exclusive_group()
            where.add_argument("--gpu", nargs="?", type=int, const=1, metavar="N", help="run on N whole GPUs (default 1)")
            where.add_argument("--cpu", action="store_true", help="run on a CPU slot (the default)")
            where.add_argument("--console", action="store_true",
                               help="run in a fresh kernel that stays alive for inspection")
            p.add_argument("--name", help="the job's name")
            p.add_argument("--kernel", help="kernelspec whose Python runs the job (default: the server's)")
            p.add_argument("--env", action="append", metavar="KEY=VALUE", help="an environment variable (repeatable)")
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
        job_id(command("stop", "Stop a job (a queued job stops at once)."))
        job_id(command("rerun", "Run a job again from its snapshot."))
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
        command("resources", "Show GPUs, CPU slots and queues.")
        return parser, commands

    @staticmethod
    def _split(line: str) -> tuple[list[str], list[str]]:
        line = line.strip().rstrip(";")
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%job: {exc}") from None
        if "--" in words:
            cut = words.index("--")
            return words[:cut], words[cut + 1:]
        return words, []

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
            if script_args and opts.command != "submit":
                raise UsageError(f"%job {opts.command}: arguments after -- are only for submit")
            if opts.command == "submit":
                opts.args = script_args
                return self.cmd_submit(opts, script=opts.script)
            return getattr(self, f"cmd_{opts.command}")(opts)
        except _HelpShown:
            return None


def _raise(exc: Exception):
    raise exc


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
