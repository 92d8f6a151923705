import asyncio
import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from momo_jobs.vocabulary import FINAL

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture(autouse=True)
def _no_momo_env(monkeypatch):
    """Settings come from each test's config, not from the caller's environment."""
    for key in list(os.environ):
        if key.startswith("MOMO_JOBS_") or key in ("MOMO_JOB_ID", "MOMO_RESULTS_DIR"):
            monkeypatch.delenv(key)


@pytest.fixture
def momo_config():
    """MomoJobsApp settings for the test's server; override in a module or with indirect parametrize.
    Telemetry is off (a test's jobs have only the series they print) unless a test turns it on."""
    return {"gpus": "", "cpu_slots": 2, "stop_grace_seconds": 2.0, "telemetry_seconds": 0}


@pytest.fixture
def jp_server_config(momo_config, request):
    config = dict(momo_config)
    if hasattr(request, "param"):
        config.update(request.param)
    return {"ServerApp": {"jpserver_extensions": {"momo_jobs": True}}, "MomoJobsApp": config}


@pytest.fixture
def jobs_api(jp_fetch, jp_serverapp):
    """``await jobs_api(method, path, body=None, params=None)`` → (status, json or text)."""

    async def call(method, path, body=None, params=None, headers=None):
        kwargs = {"method": method, "raise_error": False}
        if body is not None:
            kwargs["body"] = body if isinstance(body, (bytes, str)) else json.dumps(body)
        elif method in ("POST", "PUT"):
            kwargs["body"] = b""
            kwargs["allow_nonstandard_methods"] = True
        if params:
            kwargs["params"] = params
        if headers:
            kwargs["headers"] = headers
        response = await jp_fetch("momo-jobs", "api", *path.strip("/").split("/"), **kwargs)
        text = response.body.decode() if response.body else ""
        try:
            return response.code, json.loads(text) if text else None
        except ValueError:
            return response.code, text

    return call


def wait_until(predicate, timeout=60, what="condition"):
    """Polls ``predicate`` until it holds; fails naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


async def wait_for_job(jobs_api, job_id, timeout=60, statuses=FINAL):
    deadline = time.monotonic() + timeout
    while True:
        code, job = await jobs_api("GET", f"jobs/{job_id}")
        assert code == 200, job
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")
        await asyncio.sleep(0.05)


@pytest.fixture
def write_script(jp_root_dir):
    """``write_script("dir/train.py", source)`` → the path relative to the server root."""

    def write(rel, source):
        path = Path(jp_root_dir) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        return rel

    return write





class _Servers:
    """Starts ``jupyter server`` subprocesses (server_process.py) and stops them all at the end."""

    def __init__(self, base):
        self.base = base
        self.started = []

    def __call__(self, env=None):
        from server_process import ServerProcess

        server = ServerProcess(self.base / f"server{len(self.started)}", env)
        self.started.append(server)
        return server.start()

    def stop_all(self):
        for server in self.started:
            server.stop()


@pytest.fixture
def server_process(tmp_path):
    """``server_process(env=None)`` → a started ServerProcess, stopped after the test."""
    servers = _Servers(tmp_path)
    yield servers
    servers.stop_all()


@pytest.fixture(scope="module")
def module_server_process(tmp_path_factory):
    """Like server_process, shared by a module's tests (a server takes seconds to start)."""
    servers = _Servers(tmp_path_factory.mktemp("servers"))
    yield servers
    servers.stop_all()
