"""What the API's callers ask for, as typed values, each checked in one place.

Handlers build these from a request's JSON body or query and hand them to the
service, which checks only what needs the server's state (the root folder, the
GPUs, the kernelspecs). Bad input raises BadRequest and changes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..job.limits import parse_time_limit_signal
from ..vocabulary import RESOURCES, STATUSES, Resource
from .errors import BadRequest
from .policies import MAX_RETRIES
from .sweeps import MAX_COMBINATIONS, PARAM_NAME, combination_count

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Set by momo-jobs in every job's environment.
RESERVED_ENV = ("CUDA_VISIBLE_DEVICES", "MOMO_JOB_ID", "MOMO_RESULTS_DIR", "MOMO_ATTEMPT", "MOMO_CHECKPOINT_DIR")
MAX_NAME = 200
MAX_TIME_LIMIT = 366 * 86400.0
X_AXES = ("time", "step", "epoch")


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object", code="invalid_json")
    return body


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class SubmitRequest:
    """``POST /jobs``: a script or notebook (relative to the server root) to run as a job."""

    script: str
    resource: str = Resource.CPU.value
    gpus: int = 0
    name: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    kernel: str | None = None
    # Check and prepare the script (a notebook is exported), answer its warnings, queue nothing.
    dry_run: bool = False
    time_limit: float | None = None  # seconds
    time_limit_signal: str | None = None  # "USR1@60"
    retries: int = 0
    retry_on_time_limit: bool = False

    @classmethod
    def from_json(cls, body: Any) -> "SubmitRequest":
        body = _object(body)
        resource = body.get("resource", Resource.CPU.value)
        if resource not in RESOURCES:
            raise BadRequest(f"resource must be one of {', '.join(RESOURCES)}", code="invalid_field")
        gpus = body.get("gpus", 1 if resource == Resource.GPU.value else 0)
        if not _is_whole(gpus) or gpus < 0:
            raise BadRequest("gpus must be a whole number", code="invalid_field")
        if resource == Resource.GPU.value and gpus < 1:
            raise BadRequest("a GPU job needs at least 1 GPU", code="gpu_count_invalid")
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
            raise BadRequest(f"name must be a string of at most {MAX_NAME} characters", code="invalid_field")
        args = body.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise BadRequest("args must be a list of strings", code="invalid_field")
        env = body.get("env", {})
        if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise BadRequest("env must be an object of strings", code="invalid_field")
        for key in env:
            if not ENV_NAME.match(key):
                raise BadRequest(f"{key!r} is not a valid environment variable name", code="invalid_field")
            if key in RESERVED_ENV:
                raise BadRequest(f"{key} is set by momo-jobs", code="invalid_field")
        kernel = body.get("kernel")
        if kernel is not None and not isinstance(kernel, str):
            raise BadRequest("kernel must be a string", code="invalid_field")
        script = body.get("script")
        if not isinstance(script, str) or not script.strip():
            raise BadRequest("path must be a non-empty string", code="path_invalid")
        dry_run = body.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise BadRequest("dry_run must be true or false", code="invalid_field")
        return cls(script=script, resource=resource, gpus=gpus if resource == Resource.GPU.value else 0,
                   name=(name or "").strip() or None, args=list(args), env=dict(env), kernel=kernel or None,
                   dry_run=dry_run, **_policies(body))


def _policies(body: dict) -> dict:
    """A job's time limit and retries (DESIGN §3 ``POST /jobs``)."""
    time_limit = body.get("time_limit")
    if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(time_limit, (int, float))
                                   or not 0 < time_limit <= MAX_TIME_LIMIT):
        raise BadRequest(f"time_limit must be a number of seconds over 0 (at most {MAX_TIME_LIMIT:g})",
                         code="time_limit_invalid")
    signal_text = body.get("time_limit_signal")
    if signal_text is not None:
        if not isinstance(signal_text, str):
            raise BadRequest("time_limit_signal must be a string like USR1@60", code="time_limit_signal_invalid")
        if time_limit is None:
            raise BadRequest("time_limit_signal needs a time_limit", code="time_limit_signal_invalid")
        try:
            sig, before = parse_time_limit_signal(signal_text)
        except ValueError as exc:
            raise BadRequest(f"time_limit_signal: {exc}", code="time_limit_signal_invalid") from None
        signal_text = f"{sig.name.removeprefix('SIG')}@{before:g}"
    retries = body.get("retries", 0)
    if not _is_whole(retries) or not 0 <= retries <= MAX_RETRIES:
        raise BadRequest(f"retries must be a whole number from 0 to {MAX_RETRIES}", code="retries_invalid")
    retry_on_time_limit = body.get("retry_on_time_limit", False)
    if not isinstance(retry_on_time_limit, bool):
        raise BadRequest("retry_on_time_limit must be true or false", code="invalid_field")
    return {"time_limit": None if time_limit is None else float(time_limit), "time_limit_signal": signal_text,
            "retries": retries, "retry_on_time_limit": retry_on_time_limit}


@dataclass(frozen=True)
class SweepRequest:
    """``POST /sweeps``: one job per combination of the grid's values, at most
    ``max_parallel`` of them running at once (None: as many as there is room for)."""

    job: SubmitRequest  # what every job of the sweep shares (its name: the sweep's base name)
    grid: dict[str, list[str]]
    max_parallel: int | None = None

    @classmethod
    def from_json(cls, body: Any) -> "SweepRequest":
        body = _object(body)
        grid = body.get("grid")
        if not isinstance(grid, dict) or not grid:
            raise BadRequest('grid must be an object of parameters and their values, e.g. {"lr": ["0.1", "0.01"]}',
                             code="grid_invalid")
        for name, values in grid.items():
            if not PARAM_NAME.match(name):
                raise BadRequest(f"{name!r} is not a parameter name (letters, digits, _ . -)", code="grid_invalid")
            if (not isinstance(values, list) or not values
                    or not all(isinstance(v, str) and v.strip() for v in values)):
                raise BadRequest(f"grid[{name!r}] must be a non-empty list of non-empty strings", code="grid_invalid")
            if len(set(values)) != len(values):
                raise BadRequest(f"grid[{name!r}] holds a value twice", code="grid_invalid")
        if combination_count(grid) > MAX_COMBINATIONS:
            raise BadRequest(f"the grid makes {combination_count(grid)} jobs; at most {MAX_COMBINATIONS}",
                             code="grid_too_large")
        max_parallel = body.get("max_parallel")
        if max_parallel is not None and (not _is_whole(max_parallel) or max_parallel < 1):
            raise BadRequest("max_parallel must be a whole number of at least 1", code="max_parallel_invalid")
        job = SubmitRequest.from_json({k: v for k, v in body.items() if k not in ("grid", "max_parallel")})
        return cls(job=job, grid={k: list(v) for k, v in grid.items()}, max_parallel=max_parallel)


@dataclass(frozen=True)
class ExportRequest:
    """``POST /export``: a notebook to export to a ``.py`` beside it."""

    path: Any
    overwrite: bool = False

    @classmethod
    def from_json(cls, body: Any) -> "ExportRequest":
        body = _object(body)
        overwrite = body.get("overwrite", False)
        if not isinstance(overwrite, bool):
            raise BadRequest("overwrite must be true or false", code="invalid_field")
        return cls(path=body.get("path"), overwrite=overwrite)


@dataclass(frozen=True)
class ExampleRequest:
    """``POST /examples``: copy an example into a folder under the root and prepare its data."""

    dir: Any
    name: Any = "mnist"
    language: str | None = None  # the UI's: the notebook answered is the one in it, when there is one

    @classmethod
    def from_json(cls, body: Any) -> "ExampleRequest":
        body = _object(body)
        language = body.get("language")
        if language is not None and not isinstance(language, str):
            raise BadRequest("language must be a string", code="invalid_field")
        return cls(dir=body.get("dir"), name=body.get("name", "mnist"), language=language)


@dataclass(frozen=True)
class ListQuery:
    """``GET /jobs``: which jobs, newest first."""

    statuses: list[str] = field(default_factory=list)
    limit: int = 100
    offset: int = 0
    sweep: str | None = None  # only the jobs of this sweep

    @classmethod
    def parse(cls, status: str, limit: int, offset: int, sweep: str = "") -> "ListQuery":
        statuses = [s for s in status.split(",") if s]
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise BadRequest(f"unknown status {', '.join(unknown)}; one of {', '.join(STATUSES)}", code="unknown_status")
        return cls(statuses, limit, offset, sweep or None)


@dataclass(frozen=True)
class LogQuery:
    """``GET /jobs/{id}/log``: ``limit`` bytes from ``offset``, waiting up to ``wait`` s for new ones."""

    offset: int = 0
    limit: int = 1 << 16
    wait: float = 0.0


@dataclass(frozen=True)
class MetricsQuery:
    """``GET /jobs/{id}/metrics``: the series along an x-axis, downsampled."""

    x: str = "time"
    names: list[str] | None = None
    max_points: int = 2000

    @classmethod
    def parse(cls, x: str, names: str, max_points: int) -> "MetricsQuery":
        if x not in X_AXES:
            raise BadRequest("x must be time, step or epoch", code="invalid_field")
        return cls(x, [n for n in names.split(",") if n] or None, max_points)


MAX_COMPARED = 100


def _names(text: str) -> list[str]:
    return [n for n in text.split(",") if n]


@dataclass(frozen=True)
class RunsQuery:
    """``GET /runs``: the runs of ``ids`` (in that order), or a page of those with one of
    ``statuses`` in ``sweep``, newest first."""

    ids: list[str] | None = None
    statuses: list[str] = field(default_factory=list)
    sweep: str | None = None
    limit: int = 100
    offset: int = 0

    @classmethod
    def parse(cls, ids: str, status: str, sweep: str, limit: int, offset: int) -> "RunsQuery":
        statuses = ListQuery.parse(status, limit, offset).statuses
        return cls(list(dict.fromkeys(_names(ids))) or None, statuses, sweep or None, limit, offset)


@dataclass(frozen=True)
class CompareQuery:
    """``GET /compare``: series of several jobs (all of a job's when no names are given), overlaid."""

    ids: list[str]
    names: list[str] | None = None
    x: str = "time"
    max_points: int = 2000

    @classmethod
    def parse(cls, ids: str, names: str, x: str, max_points: int) -> "CompareQuery":
        job_ids = list(dict.fromkeys(_names(ids)))
        if not job_ids:
            raise BadRequest("ids must name at least one job: ids=a,b", code="compare_ids_missing")
        if len(job_ids) > MAX_COMPARED:
            raise BadRequest(f"at most {MAX_COMPARED} jobs can be compared at once", code="compare_too_many")
        metrics = MetricsQuery.parse(x, names, max_points)
        return cls(job_ids, metrics.names, metrics.x, metrics.max_points)
