"""Ray's Job Submission API and dashboard over HTTP: every call the Ray backend makes.

Ray's client blocks, so each call runs in the dashboard's own threads. Ray is
imported on the first call (the ``momo-jobs[ray]`` extra).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import re
from typing import Any, AsyncIterator, Callable

from ..base import LaunchError

# Ray's statuses of a job that is over.
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
HTTP_TIMEOUT = 30.0
SUBMIT_TIMEOUT = 600.0  # a working dir is zipped and uploaded first
RETRY_MAX = 10.0  # the longest wait before asking a cluster that did not answer again


class RayUnavailable(Exception):
    """The cluster could not be asked (unreachable, timed out, or an unexpected answer)."""


def gist(text: str, limit: int = 500) -> str:
    """The line of an error text that says what went wrong."""
    lines = [line.strip() for line in (text or "").splitlines() if any(c.isalnum() for c in line)]
    # Ray's errors put a server traceback first and the actual error last.
    line = next((l for l in reversed(lines) if not l.startswith(("File ", "^", "raise ", "Traceback"))), "")
    return line[:limit]


def launch_error(exc: BaseException) -> LaunchError:
    """What a failed submission tells the user."""
    text = str(exc)
    if isinstance(exc, RayUnavailable):
        return LaunchError(text)
    if isinstance(exc, asyncio.TimeoutError):  # before OSError: it is one
        return LaunchError("the Ray cluster did not answer the submission in time")
    if isinstance(exc, OSError):  # requests' errors are OSErrors
        return LaunchError(f"could not reach the Ray cluster: {gist(text)}")
    if "exceeds the maximum size" in text:
        m = re.search(r"Package size \(([^)]*)\) exceeds the maximum size of ([\d.]+\s*\w+)", text)
        size = f" ({m.group(1)}, over Ray's limit of {m.group(2)})" if m else " (over Ray's size limit)"
        return LaunchError(f"the job's working dir is too big to send to the Ray cluster{size}; "
                           "keep data files out of the script's folder and load them from shared storage")
    return LaunchError(f"the Ray cluster refused the job: {gist(text)}")


class RayDashboard:
    """The dashboard of one Ray cluster (``address`` None: Ray's default, $RAY_ADDRESS)."""

    def __init__(self, address: str | None):
        self.address = address
        self._client = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="momo-ray")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def call(self, fn: Callable, *args, timeout: float = HTTP_TIMEOUT + 5) -> Any:
        """Runs a blocking call in the dashboard's threads."""
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._pool, fn, *args), timeout)

    # blocking calls

    def client(self):
        """Ray's JobSubmissionClient, connected on first use."""
        if self._client is None:
            try:
                from ray.job_submission import JobSubmissionClient
            except ImportError as exc:
                raise RayUnavailable("the ray backend needs Ray: pip install 'momo-jobs[ray]'") from exc
            try:
                self._client = JobSubmissionClient(self.address)
            except Exception as exc:
                raise RayUnavailable(f"could not reach the Ray cluster at {self.address or '(RAY_ADDRESS)'}: "
                                     f"{gist(str(exc))}") from exc
        return self._client

    def _request(self, method: str, path: str):
        # Ray's client has no public call for the dashboard's resource endpoints, nor one
        # that answers an unknown job with a plain 404: its private request function, here only.
        return self.client()._do_request(method, path, timeout=HTTP_TIMEOUT)

    def get(self, path: str, missing_ok: bool = False) -> Any:
        """The JSON answer to a GET; None for a 404 if ``missing_ok``."""
        try:
            r = self._request("GET", path)
        except RayUnavailable:
            raise
        except Exception as exc:
            raise RayUnavailable(f"{path}: {exc}") from exc
        if missing_ok and r.status_code == 404:
            return None
        if r.status_code != 200:
            raise RayUnavailable(f"{path}: HTTP {r.status_code}: {gist(r.text)}")
        try:
            return r.json()
        except ValueError as exc:
            raise RayUnavailable(f"{path}: not JSON") from exc

    def cluster_status(self) -> dict:
        """The autoscaler's report: the cluster's resource usage."""
        return self.get("/api/cluster_status")

    def nodes(self) -> list[dict]:
        """The cluster's nodes, with their resources."""
        answer = self.get("/api/v0/nodes?limit=10000&detail=false")
        return ((answer.get("data") or {}).get("result") or {}).get("result") or []

    # jobs

    async def job_info(self, job_id: str) -> dict | None:
        """Ray's record of a job, None if Ray doesn't know it."""
        return await self.call(self.get, f"/api/jobs/{job_id}", True)

    async def job_logs(self, job_id: str) -> str:
        """The job's whole log so far."""
        answer = await self.call(self.get, f"/api/jobs/{job_id}/logs")
        return answer.get("logs") or ""

    async def log_stream(self, job_id: str) -> AsyncIterator[str]:
        """The job's log from its start, through Ray's websocket."""
        client = await self.call(self.client)
        return client.tail_job_logs(job_id)

    async def submit(self, submission_id: str, entrypoint: str, working_dir: str, env: dict[str, str],
                     cpus: float, gpus: float) -> None:
        kwargs: dict[str, Any] = dict(
            entrypoint=entrypoint, submission_id=submission_id,
            runtime_env={"working_dir": working_dir, "env_vars": env},
            metadata={"submitted_by": "momo-jobs"},
            entrypoint_num_cpus=cpus,
        )
        if gpus:
            kwargs["entrypoint_num_gpus"] = gpus
        await self.call(lambda: self.client().submit_job(**kwargs), timeout=SUBMIT_TIMEOUT)

    async def stop_job(self, job_id: str) -> None:
        def stop():
            r = self._request("POST", f"/api/jobs/{job_id}/stop")
            if r.status_code not in (200, 404):
                raise RayUnavailable(f"stopping {job_id}: HTTP {r.status_code}: {gist(r.text)}")

        await self.call(stop)
