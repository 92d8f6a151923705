"""Backends are classes a site chooses through the server's config."""
import pytest

from conftest import wait_for_job
from momo_jobs.server.backends.local import LocalBackend


class RecordingLocalBackend(LocalBackend):
    """The local backend, noting each job it launches."""

    def __init__(self, settings, log=None):
        super().__init__(settings, log)
        self.launched = []

    async def launch(self, run):
        self.launched.append(run.job_id)
        await super().launch(run)


@pytest.mark.parametrize("jp_server_config", [{"local_backend_class": RecordingLocalBackend}], indirect=True)
async def test_a_backend_class_from_the_config_runs_the_jobs(jobs_api, write_script, jp_serverapp):
    write_script("hello.py", "print('hello')\n")
    code, job = await jobs_api("POST", "jobs", {"script": "hello.py"})
    assert code == 201, job
    job = await wait_for_job(jobs_api, job["id"])
    assert job["status"] == "completed", job
    _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
    assert log["text"] == "hello\n"
    backend = jp_serverapp.web_app.settings["momo_jobs_service"].backends["local"]
    assert isinstance(backend, RecordingLocalBackend)
    assert backend.launched == [job["id"]]
