"""REST handlers: parse and check the request, call the service, shape the answer.

Every route is authenticated and authorized through jupyter_server; errors are
JSON ``{"message": ..., "code": ...}`` with the status the service's error carries
(DESIGN §3); an error raised by jupyter_server or tornado gets a code from its status.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Callable, NamedTuple

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.httputil import responses

from .errors import BadRequest, JobsError
from .presenter import JsonText
from .requests import (CompareQuery, ExampleRequest, ExportRequest, ListQuery, LogQuery, MetricsQuery, RunsQuery,
                       SubmitRequest, SweepRequest)

API = "/momo-jobs/api"
MAX_BODY = 1 << 20
DOWNLOAD_CHUNK = 1 << 20
# The code of an error that jupyter_server or tornado raised, by its status.
HTTP_CODES = {403: "forbidden", 404: "not_found", 405: "bad_request", 413: "body_too_large"}


async def _file_chunks(path: Path):
    if path.exists():
        with open(path, "rb") as f:
            while chunk := await asyncio.to_thread(f.read, DOWNLOAD_CHUNK):
                yield chunk


async def _chunks(iterable):
    for chunk in iterable:
        yield chunk


class Download(NamedTuple):
    """How a route gives its data as a file: the ``format`` that asks for it, and the file."""

    format: str
    content_type: str
    file_name: str  # a template of ``job_id``
    chunks: Callable  # (service, job_id) → async iterator of the file's pieces


class BaseHandler(APIHandler):
    auth_resource = "momo_jobs"

    @property
    def service(self):
        return self.settings["momo_jobs_service"]

    async def prepare(self):
        await super().prepare()
        if len(self.request.body or b"") > MAX_BODY:
            raise web.HTTPError(413, f"request body over {MAX_BODY} bytes")
        await self.service.start()

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, JobsError) and not self._finished:
            self.set_status(e.status)
            self.finish(json.dumps({"message": e.message, "code": e.code}))
            return
        super()._handle_request_exception(e)

    def write_error(self, status_code: int, **kwargs) -> None:
        """jupyter_server's JSON error, with the ``code`` every answer of this API carries."""
        self.set_header("Content-Type", "application/json")
        exc = (kwargs.get("exc_info") or (None, None))[1]
        if isinstance(exc, web.HTTPError):
            message = exc.log_message or responses.get(status_code, "Unknown HTTP Error")
        else:
            message = "Unhandled error"
            self.log.error("momo-jobs: unhandled error in %s %s", self.request.method, self.request.path,
                           exc_info=kwargs.get("exc_info"))
        self.finish(json.dumps({"message": message, "code": HTTP_CODES.get(status_code, "internal_error"
                                                                                 if status_code >= 500 else "bad_request")}))

    def json_body(self):
        try:
            return json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise BadRequest(f"the request body is not valid JSON: {exc}", code="invalid_json") from None

    def int_arg(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"{name} must be a whole number", code="invalid_field") from None
        if not low <= value <= high:
            raise BadRequest(f"{name} must be between {low} and {high}", code="invalid_field")
        return value

    def float_arg(self, name: str, default: float, low: float, high: float) -> float:
        raw = self.get_query_argument(name, None)
        try:
            value = default if raw is None else float(raw)
        except ValueError:
            raise BadRequest(f"{name} must be a number", code="invalid_field") from None
        if not low <= value <= high:
            raise BadRequest(f"{name} must be between {low} and {high}", code="invalid_field")
        return value

    def reply(self, obj, status: int = 200) -> None:
        self.set_status(status)
        self.finish(obj if isinstance(obj, JsonText) else json.dumps(obj, allow_nan=False))

    async def download_file(self, chunks, filename: str, content_type: str) -> None:
        """A file for the browser to save. Like JupyterLab's own downloads (/files), a
        link needs the session's cookie and its ``_xsrf``, or a token header: no token in
        the URL, where it would land in the browser's history and proxies' logs."""
        self.check_xsrf_cookie()
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        async for chunk in chunks:
            self.write(chunk)
            await self.flush()
        self.finish()


class JobsHandler(BaseHandler):
    @web.authenticated
    @authorized
    def get(self):
        self.reply(self.service.list(ListQuery.parse(self.get_query_argument("status", ""),
                                                     self.int_arg("limit", 100, 1, 1000),
                                                     self.int_arg("offset", 0, 0, 1 << 40),
                                                     self.get_query_argument("sweep", ""))))

    @web.authenticated
    @authorized
    async def post(self):
        request = SubmitRequest.from_json(self.json_body())
        self.reply(await self.service.submit(request), 200 if request.dry_run else 201)


class JobHandler(BaseHandler):
    @web.authenticated
    @authorized
    def get(self, job_id):
        self.reply(self.service.get(job_id))

    @web.authenticated
    @authorized
    async def delete(self, job_id):
        await self.service.delete(job_id)
        self.set_status(204)
        self.finish()


class ActionHandler(BaseHandler):
    """``POST .../{id}/<action>``: the service's method of that name on the id."""

    action: str
    status: int

    @web.authenticated
    @authorized
    async def post(self, **ids):
        (target,) = ids.values()
        self.reply(await getattr(self.service, self.action)(target), self.status)


class StopHandler(ActionHandler):
    action, status = "stop", 202


class RerunHandler(ActionHandler):
    action, status = "rerun", 201


class JobDataHandler(BaseHandler):
    """A job's data as JSON, or with ``?format=<download.format>`` as a file to save."""

    download: Download

    @web.authenticated
    @authorized
    async def get(self, job_id):
        if self.get_query_argument("format", "") == self.download.format:
            await self.download_file(self.download.chunks(self.service, job_id),
                                     self.download.file_name.format(job_id=job_id), self.download.content_type)
        else:
            self.reply(await self.answer(job_id))

    async def answer(self, job_id: str) -> dict:
        raise NotImplementedError


class LogHandler(JobDataHandler):
    download = Download("raw", "text/plain; charset=utf-8", "{job_id}.log",
                        lambda service, job_id: _file_chunks(service.log_path(job_id)))

    async def answer(self, job_id):
        query = LogQuery(self.int_arg("offset", 0, 0, 1 << 50), self.int_arg("limit", 1 << 16, 1, 4 << 20),
                         self.float_arg("wait", 0.0, 0.0, 30.0))
        return await self.service.read_log(job_id, query)


class MetricsHandler(JobDataHandler):
    download = Download("csv", "text/csv; charset=utf-8", "{job_id}-metrics.csv",
                        lambda service, job_id: _chunks(service.metrics_csv(job_id)))

    async def answer(self, job_id):
        return self.service.metrics(job_id, MetricsQuery.parse(
            self.get_query_argument("x", "time"), self.get_query_argument("names", ""),
            self.int_arg("max_points", 2000, 10, 100_000)))


class ResultsHandler(BaseHandler):
    @web.authenticated
    @authorized
    def get(self, job_id):
        self.reply(self.service.results(job_id))


class SweepsHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def post(self):
        self.reply(await self.service.submit_sweep(SweepRequest.from_json(self.json_body())), 201)


class SweepStopHandler(ActionHandler):
    action, status = "stop_sweep", 202


class SweepRerunHandler(ActionHandler):
    action, status = "rerun_sweep", 201


class ExportHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def post(self):
        self.reply(await self.service.export(ExportRequest.from_json(self.json_body())), 201)


class ResourcesHandler(BaseHandler):
    @web.authenticated
    @authorized
    def get(self):
        self.reply(self.service.resources())


class QueryHandler(BaseHandler):
    """A GET that the service answers from a typed query of the query string."""

    @web.authenticated
    @authorized
    def get(self):
        self.reply(self.answer())

    def answer(self) -> dict:
        raise NotImplementedError


class RunsHandler(QueryHandler):
    def answer(self):
        arg = self.get_query_argument
        return self.service.runs(RunsQuery.parse(arg("ids", ""), arg("status", ""), arg("sweep", ""),
                                                 self.int_arg("limit", 100, 1, 1000), self.int_arg("offset", 0, 0, 1 << 40)))


class CompareHandler(QueryHandler):
    def answer(self):
        arg = self.get_query_argument
        return self.service.compare(CompareQuery.parse(arg("ids", ""), arg("names", ""), arg("x", "time"),
                                                       self.int_arg("max_points", 2000, 10, 100_000)))


class ExamplesHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def post(self):
        self.reply(await self.service.prepare_example(ExampleRequest.from_json(self.json_body())), 201)


def routes() -> list[tuple]:
    job = r"/jobs/(?P<job_id>[^/]+)"
    sweep = r"/sweeps/(?P<sweep_id>[^/]+)"
    return [(API + path, handler) for path, handler in [
        (r"/jobs", JobsHandler),
        (job, JobHandler),
        (job + r"/stop", StopHandler),
        (job + r"/rerun", RerunHandler),
        (job + r"/log", LogHandler),
        (job + r"/metrics", MetricsHandler),
        (job + r"/results", ResultsHandler),
        (r"/sweeps", SweepsHandler),
        (sweep + r"/stop", SweepStopHandler),
        (sweep + r"/rerun", SweepRerunHandler),
        (r"/export", ExportHandler),
        (r"/resources", ResourcesHandler),
        (r"/examples", ExamplesHandler),
        (r"/runs", RunsHandler),
        (r"/compare", CompareHandler),
    ]]
