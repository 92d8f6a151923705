"""The REST handlers on their own, against a fake service set through the server's
config (``MomoJobsApp.service_class``): each route hands the service the typed request
it takes, answers with the status the service's errors carry, and refuses malformed
input before the service sees it."""
import pytest

from momo_jobs.server.errors import Conflict, NotFound, Unavailable
from momo_jobs.server.requests import ExportRequest, ListQuery, LogQuery, MetricsQuery, SubmitRequest

JOB = {"id": "j1", "status": "queued"}


class FakeService:
    """Records what each route asked for; a job id names the error to raise."""

    ERRORS = {"missing": NotFound("no job 'missing'", code="job_not_found"),
              "busy": Conflict("job busy is running", code="job_not_deletable"),
              "far": Unavailable("the cluster does not answer")}

    def __init__(self, settings, root_dir, backends, emit=None, log=None):
        self.calls = []

    async def start(self):
        pass

    async def close(self):
        pass

    def _record(self, name, *args):
        self.calls.append((name, *args))
        for arg in args:
            if isinstance(arg, str) and arg in self.ERRORS:
                raise self.ERRORS[arg]

    def list(self, query):
        self._record("list", query)
        return {"jobs": [JOB], "total": 1}

    async def submit(self, request):
        self._record("submit", request)
        return JOB

    def get(self, job_id):
        self._record("get", job_id)
        return JOB

    async def stop(self, job_id):
        self._record("stop", job_id)
        return JOB

    async def delete(self, job_id):
        self._record("delete", job_id)

    async def read_log(self, job_id, query):
        self._record("read_log", job_id, query)
        return {"text": "", "offset": query.offset, "next_offset": query.offset, "size": 0, "eof": True}

    def metrics(self, job_id, query):
        self._record("metrics", job_id, query)
        return {"x": query.x, "series": [], "other": []}

    async def export(self, request):
        self._record("export", request)
        return {"path": "nb.py"}


@pytest.fixture
def momo_config():
    return {"gpus": "", "cpu_slots": 1, "service_class": FakeService}


@pytest.fixture
def service(jp_serverapp):
    return jp_serverapp.web_app.settings["momo_jobs_service"]


async def test_routes_hand_the_service_typed_requests(jobs_api, service):
    code, job = await jobs_api("POST", "jobs", {"script": "a/train.py", "resource": "gpu", "gpus": 2,
                                                "args": ["--lr", "0.1"], "env": {"SEED": "1"}, "name": " run "})
    assert code == 201 and job == JOB
    assert service.calls[-1] == ("submit", SubmitRequest(script="a/train.py", resource="gpu", gpus=2, name="run",
                                                         args=["--lr", "0.1"], env={"SEED": "1"}))
    assert (await jobs_api("GET", "jobs", params={"status": "queued,running", "limit": 5, "offset": 2}))[0] == 200
    assert service.calls[-1] == ("list", ListQuery(["queued", "running"], 5, 2))
    assert (await jobs_api("GET", "jobs/j1/log", params={"offset": 10, "limit": 20, "wait": 1.5}))[0] == 200
    assert service.calls[-1] == ("read_log", "j1", LogQuery(10, 20, 1.5))
    assert (await jobs_api("GET", "jobs/j1/metrics", params={"x": "step", "names": "a,b", "max_points": 50}))[0] == 200
    assert service.calls[-1] == ("metrics", "j1", MetricsQuery("step", ["a", "b"], 50))
    assert (await jobs_api("POST", "export", {"path": "nb.ipynb", "overwrite": True}))[0] == 201
    assert service.calls[-1] == ("export", ExportRequest("nb.ipynb", True))
    code, body = await jobs_api("DELETE", "jobs/j1")
    assert code == 204 and body is None and service.calls[-1] == ("delete", "j1")


@pytest.mark.parametrize("method, path, status", [
    ("GET", "jobs/missing", 404), ("POST", "jobs/busy/stop", 409), ("POST", "jobs/far/stop", 503),
    ("DELETE", "jobs/busy", 409), ("GET", "jobs/missing/log", 404),
])
async def test_service_errors_answer_with_their_status_message_and_code(jobs_api, service, method, path, status):
    code, body = await jobs_api(method, path)
    error = FakeService.ERRORS[path.split("/")[1]]
    assert code == status and body == {"message": str(error), "code": error.code}


@pytest.mark.parametrize("method, path, body, params, words, error_code", [
    ("POST", "jobs", b"{not json", None, "not valid JSON", "invalid_json"),
    ("POST", "jobs", [1, 2], None, "JSON object", "invalid_json"),
    ("POST", "jobs", {"script": "t.py", "resource": "tpu"}, None, "resource must be one of", "invalid_field"),
    ("POST", "jobs", {"script": "t.py", "gpus": True, "resource": "gpu"}, None, "whole number", "invalid_field"),
    ("POST", "jobs", {"script": "t.py", "env": {"MOMO_JOB_ID": "x"}}, None, "set by momo-jobs", "invalid_field"),
    ("POST", "export", {"path": "nb.ipynb", "overwrite": "yes"}, None, "true or false", "invalid_field"),
    ("GET", "jobs", None, {"status": "done"}, "unknown status", "unknown_status"),
    ("GET", "jobs", None, {"limit": "0"}, "between", "invalid_field"),
    ("GET", "jobs/j1/log", None, {"wait": "31"}, "between", "invalid_field"),
    ("GET", "jobs/j1/metrics", None, {"x": "loss"}, "time, step or epoch", "invalid_field"),
])
async def test_malformed_requests_never_reach_the_service(jobs_api, service, method, path, body, params, words,
                                                          error_code):
    code, answer = await jobs_api(method, path, body, params)
    assert code == 400 and words in answer["message"] and answer["code"] == error_code
    assert service.calls == []
