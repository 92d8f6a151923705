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
from typing import Any, Iterable, TextIO

API = "momo-jobs/api"
FINAL = ("completed", "failed", "stopped")


class ClientError(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def find_server(cwd: str | os.PathLike | None = None) -> tuple[str, str, Path | None]:
    """(base url, token, root dir) of the server to talk to."""
    url = os.environ.get("MOMO_JOBS_URL")
    if url:
        root = os.environ.get("MOMO_JOBS_ROOT")
        return url, os.environ.get("MOMO_JOBS_TOKEN", ""), Path(root).resolve() if root else None
    from jupyter_server.serverapp import list_running_servers

    here = Path(cwd or os.getcwd()).resolve()
    candidates = []
    for info in list_running_servers():
        root = Path(info.get("root_dir") or info.get("notebook_dir") or "/").resolve()
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

    def _open(self, method: str, path: str, body: Any = None, params: dict | None = None,
              timeout: float | None = None):
        query = {k: v for k, v in (params or {}).items() if v is not None}
        url = f"{self.url}{API}/{path.lstrip('/')}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"token {self.token}")
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read() or b"{}").get("message") or exc.reason
            except ValueError:
                message = exc.reason
            raise ClientError(f"{message} (HTTP {exc.code})", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClientError(f"cannot reach the momo-jobs server at {self.url}: {reason}") from None

    def request(self, method: str, path: str, body: Any = None, params: dict | None = None,
                timeout: float | None = None) -> Any:
        with self._open(method, path, body, params, timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def server_path(self, path: str | os.PathLike) -> str:
        """A local path as the server sees it: relative to its root."""
        if self.root is None:
            return str(path)
        local = Path(path).expanduser().resolve()
        if not _is_within(local, self.root):
            raise ClientError(f"{path} is outside the server's root {self.root}")
        return local.relative_to(self.root).as_posix()

    # the API

    def submit(self, script: str | os.PathLike, resource: str = "cpu", gpus: int | None = None,
               name: str | None = None, args: Iterable[str] = (), env: dict | None = None,
               kernel: str | None = None) -> dict:
        body: dict[str, Any] = {"script": self.server_path(script), "resource": resource, "args": list(args)}
        for key, value in (("gpus", gpus), ("name", name), ("env", env), ("kernel", kernel)):
            if value is not None:
                body[key] = value
        return self.request("POST", "jobs", body)

    def list(self, status: str | None = None, limit: int = 100, offset: int = 0) -> dict:
        return self.request("GET", "jobs", params={"status": status, "limit": limit, "offset": offset})

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
        with self._open("GET", f"jobs/{job_id}/metrics", params={"format": "csv"}) as response:
            return response.read().decode()

    def results(self, job_id: str) -> dict:
        return self.request("GET", f"jobs/{job_id}/results")

    def export(self, notebook: str | os.PathLike, overwrite: bool = False) -> dict:
        return self.request("POST", "export", {"path": self.server_path(notebook), "overwrite": overwrite})

    def resources(self) -> dict:
        return self.request("GET", "resources")

    def follow(self, job_id: str, out: TextIO, offset: int = 0) -> dict:
        """Writes the job's log to ``out`` as it grows; returns the job once it ended."""
        while True:
            chunk = self.log(job_id, offset, 1 << 20, wait=10.0)
            if chunk["text"]:
                out.write(chunk["text"])
                out.flush()
            offset = chunk["next_offset"]
            if chunk["eof"]:
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
