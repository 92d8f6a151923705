"""A small REST client of the momo-jobs API, shared by the command line and the magics.

It finds the running server by itself (Jupyter's runtime files) or takes
``MOMO_JOBS_URL`` and ``MOMO_JOBS_TOKEN``. Standard library only.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO

from ..vocabulary import FINAL, Resource

API = "momo-jobs/api"
LOG_CHUNK = 1 << 20  # characters asked for in one log read
FOLLOW_WAIT_SECONDS = 10.0  # how long the server holds a log read that has nothing new yet


class ClientError(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _running_servers() -> list[dict]:
    """The Jupyter servers of this user's runtime files."""
    from jupyter_server.serverapp import list_running_servers

    return list(list_running_servers())


def _root_dir(info: dict) -> Path | None:
    root = info.get("root_dir") or info.get("notebook_dir")
    return Path(root).resolve() if root else None


def server_root(url: str) -> Path | None:
    """The root folder of the server at ``url`` when its runtime file is here, so
    local paths can be given relative to it."""
    for info in _running_servers():
        if info.get("url", "").rstrip("/") == url.rstrip("/"):
            return _root_dir(info)
    return None


def find_server(cwd: str | os.PathLike | None = None) -> tuple[str, str, Path | None]:
    """(base url, token, root dir) of the server to talk to."""
    url = os.environ.get("MOMO_JOBS_URL")
    if url:
        root = os.environ.get("MOMO_JOBS_ROOT")
        return url, os.environ.get("MOMO_JOBS_TOKEN", ""), Path(root).resolve() if root else None
    here = Path(cwd or os.getcwd()).resolve()
    candidates = []
    for info in _running_servers():
        root = _root_dir(info) or Path("/").resolve()
        if _is_within(here, root):
            candidates.append((len(root.parts), info, root))
    if not candidates:
        raise ClientError("no running Jupyter server serves this folder: start JupyterLab or `momo-jobs serve`, "
                          "or set MOMO_JOBS_URL and MOMO_JOBS_TOKEN")
    # The innermost root first: its paths are the shortest.
    for _, info, root in sorted(candidates, key=lambda c: -c[0]):
        client = JobsClient(info["url"], info.get("token", ""), root)
        try:
            client.resources()
        except ClientError:
            continue
        return info["url"], info.get("token", ""), root
    raise ClientError("the running Jupyter servers don't have the momo-jobs extension enabled")


class JobsClient:
    def __init__(self, url: str, token: str = "", root: Path | None = None, timeout: float = 60.0):
        self.url = url.rstrip("/") + "/"
        self.token = token
        self.root = root
        self.timeout = timeout

    @classmethod
    def discover(cls, cwd=None) -> "JobsClient":
        return cls(*find_server(cwd))

    @classmethod
    def for_kernel(cls, kernel_id: str) -> "JobsClient | None":
        """A client of the running Jupyter server (from its runtime file) that started this kernel."""
        for info in _running_servers():
            client = cls(info["url"], info.get("token", ""), _root_dir(info))
            try:
                kernels = client.jupyter_get("api/kernels", timeout=2.0)
            except (ClientError, ValueError):
                continue
            if any(k.get("id") == kernel_id for k in kernels):
                return client
        return None

    def _read(self, method: str, url: str, body: Any = None, timeout: float | None = None) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read() or b"{}").get("message") or exc.reason
            except ValueError:
                message = exc.reason
            raise ClientError(f"{message} (HTTP {exc.code})", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClientError(f"cannot reach the momo-jobs server at {self.url}: {reason}") from None

    def _api_url(self, path: str, params: dict | None = None) -> str:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        url = f"{self.url}{API}/{path.lstrip('/')}"
        return url + "?" + urllib.parse.urlencode(query) if query else url

    def request(self, method: str, path: str, body: Any = None, params: dict | None = None,
                timeout: float | None = None) -> Any:
        payload = self._read(method, self._api_url(path, params), body, timeout)
        return json.loads(payload) if payload else None

    def jupyter_get(self, path: str, timeout: float | None = None) -> Any:
        """A GET of the Jupyter server's own API (``api/sessions``), with this client's token."""
        return json.loads(self._read("GET", self.url + path.lstrip("/"), timeout=timeout))

    def server_path(self, path: str | os.PathLike) -> str:
        """A local path as the server sees it: relative to its root."""
        if self.root is None:
            return str(path)
        local = Path(path).expanduser().resolve()
        if not _is_within(local, self.root):
            raise ClientError(f"{path} is outside the server's root {self.root}")
        return local.relative_to(self.root).as_posix()

    def kernel_notebook(self, kernel_id: str) -> str | None:
        """The server path of the notebook whose session runs this kernel."""
        try:
            sessions = self.jupyter_get("api/sessions", timeout=5.0)
        except (ClientError, ValueError):
            return None
        for session in sessions:
            if (session.get("kernel") or {}).get("id") == kernel_id and str(session.get("path", "")).endswith(".ipynb"):
                return session["path"]
        return None

    # the API

    def _job_body(self, script: str | os.PathLike, resource: str, args: Iterable[str], options: dict) -> dict:
        body: dict[str, Any] = {"script": self.server_path(script), "resource": resource, "args": list(args)}
        body.update({key: value for key, value in options.items() if value is not None})
        return body

    def submit(self, script: str | os.PathLike, resource: str = Resource.CPU.value, gpus: int | None = None,
               name: str | None = None, args: Iterable[str] = (), env: dict | None = None,
               kernel: str | None = None, time_limit: float | None = None, time_limit_signal: str | None = None,
               retries: int | None = None, retry_on_time_limit: bool | None = None) -> dict:
        return self.request("POST", "jobs", self._job_body(script, resource, args, {
            "gpus": gpus, "name": name, "env": env, "kernel": kernel, "time_limit": time_limit,
            "time_limit_signal": time_limit_signal, "retries": retries, "retry_on_time_limit": retry_on_time_limit}))

    def sweep(self, script: str | os.PathLike, grid: dict[str, list[str]], max_parallel: int | None = None,
              resource: str = Resource.CPU.value, args: Iterable[str] = (), **options: Any) -> dict:
        """One job per combination of ``grid``'s values (``submit``'s options apply to each)."""
        body = self._job_body(script, resource, args, options)
        body.update({"grid": grid, "max_parallel": max_parallel})
        return self.request("POST", "sweeps", body)

    def sweep_action(self, sweep_id: str, action: str) -> dict:
        """``stop`` or ``rerun`` every job of a sweep; the sweep (a rerun: the new one) with its jobs."""
        return self.request("POST", f"sweeps/{sweep_id}/{action}")

    def list(self, status: str | None = None, limit: int = 100, offset: int = 0, sweep: str | None = None) -> dict:
        return self.request("GET", "jobs", params={"status": status, "limit": limit, "offset": offset,
                                                    "sweep": sweep})

    def get(self, job_id: str) -> dict:
        return self.request("GET", f"jobs/{job_id}")

    def stop(self, job_id: str) -> dict:
        return self.request("POST", f"jobs/{job_id}/stop")

    def rerun(self, job_id: str) -> dict:
        return self.request("POST", f"jobs/{job_id}/rerun")

    def delete(self, job_id: str) -> None:
        self.request("DELETE", f"jobs/{job_id}")

    def log(self, job_id: str, offset: int = 0, limit: int = 1 << 16, wait: float = 0.0) -> dict:
        return self.request("GET", f"jobs/{job_id}/log", params={"offset": offset, "limit": limit, "wait": wait},
                            timeout=self.timeout + wait)

    def metrics(self, job_id: str, x: str = "time", names: Iterable[str] = (), max_points: int = 2000) -> dict:
        return self.request("GET", f"jobs/{job_id}/metrics",
                            params={"x": x, "names": ",".join(names) or None, "max_points": max_points})

    def metrics_csv(self, job_id: str) -> str:
        return self._read("GET", self._api_url(f"jobs/{job_id}/metrics", {"format": "csv"})).decode()

    def runs(self, ids: Iterable[str] = (), status: str | None = None, sweep: str | None = None,
             limit: int = 100, offset: int = 0) -> dict:
        """The runs table: parameters, each series' last, min and max, telemetry peaks."""
        return self.request("GET", "runs", params={"ids": ",".join(ids) or None, "status": status, "sweep": sweep,
                                                   "limit": limit, "offset": offset})

    def compare(self, ids: Iterable[str], names: Iterable[str] = (), x: str = "time", max_points: int = 2000) -> dict:
        """Series of several jobs overlaid: ``{"x", "series": [{"job", "name", "x", "y", "count"}]}``."""
        return self.request("GET", "compare", params={"ids": ",".join(ids), "names": ",".join(names) or None,
                                                      "x": x, "max_points": max_points})

    def results(self, job_id: str) -> dict:
        return self.request("GET", f"jobs/{job_id}/results")

    def export(self, notebook: str | os.PathLike, overwrite: bool = False) -> dict:
        return self.request("POST", "export", {"path": self.server_path(notebook), "overwrite": overwrite})

    def resources(self) -> dict:
        return self.request("GET", "resources")

    # reading a log

    def log_texts(self, job_id: str, offset: int = 0, follow: bool = False) -> Iterator[str]:
        """The job's log from ``offset``, piece by piece: what is there now, or with
        ``follow`` all of it as it grows, until the log's end once the job ended."""
        while True:
            chunk = self.log(job_id, offset, LOG_CHUNK, wait=FOLLOW_WAIT_SECONDS if follow else 0.0)
            if chunk["text"]:
                yield chunk["text"]
            if chunk["eof"] or (not follow and chunk["next_offset"] == offset):
                return
            offset = chunk["next_offset"]

    def follow(self, job_id: str, out: TextIO, offset: int = 0) -> dict:
        """Writes the job's log to ``out`` as it grows; returns the job once it ended."""
        for text in self.log_texts(job_id, offset, follow=True):
            out.write(text)
            out.flush()
        return self.get(job_id)

    def wait(self, job_id: str, timeout: float | None = None, poll: float = 0.5) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job["status"] in FINAL:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise ClientError(f"job {job_id} is still {job['status']} after {timeout} s")
            time.sleep(poll)
