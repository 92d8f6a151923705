"""What the API's callers ask for, as typed values, each checked in one place.

Handlers build these from a request's JSON body or query and hand them to the
service, which checks only what needs the server's state (the root folder, the
GPUs, the kernelspecs). Bad input raises BadRequest and changes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..vocabulary import RESOURCES, STATUSES, Resource
from .errors import BadRequest

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Set by momo-jobs in every job's environment.
RESERVED_ENV = ("CUDA_VISIBLE_DEVICES", "MOMO_JOB_ID", "MOMO_RESULTS_DIR")
MAX_NAME = 200
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
                   dry_run=dry_run)


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

    @classmethod
    def parse(cls, status: str, limit: int, offset: int) -> "ListQuery":
        statuses = [s for s in status.split(",") if s]
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise BadRequest(f"unknown status {', '.join(unknown)}; one of {', '.join(STATUSES)}", code="unknown_status")
        return cls(statuses, limit, offset)


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
