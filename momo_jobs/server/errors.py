"""Errors the job service raises; each carries the HTTP status the API answers with
and a stable ``code`` naming the kind of error (DESIGN §3), which the UI translates.

A class gives the code of its usual case; a raise site that means something more
precise passes its own: ``BadRequest("…", code="gpu_count_exceeds")``. Every code
the API can answer is in ``CODES`` (the frontend's catalogue of messages is checked
against it).
"""
from __future__ import annotations

CODES = (
    # 400
    "bad_request", "invalid_json", "invalid_field", "unknown_status", "gpu_count_invalid", "no_gpus",
    "gpu_count_exceeds", "not_a_script", "not_a_notebook", "notebook_malformed", "notebook_not_python",
    "prepare_failed", "kernel_not_found", "kernel_not_python", "backend_unavailable", "example_unknown",
    "path_invalid", "time_limit_invalid", "time_limit_signal_invalid", "retries_invalid", "grid_invalid",
    "grid_too_large", "max_parallel_invalid", "compare_ids_missing", "compare_too_many",
    # 403
    "path_outside_root", "forbidden",
    # 404
    "not_found", "file_not_found", "job_not_found", "sweep_not_found",
    # 409
    "conflict", "job_not_stoppable", "job_not_deletable", "snapshot_missing", "file_exists",
    # 413
    "body_too_large",
    # 500, 503
    "internal_error", "unavailable", "stop_failed", "example_data_unavailable",
)


class JobsError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            if code not in CODES:
                raise ValueError(f"unknown error code {code!r}")
            self.code = code


class BadRequest(JobsError):
    status = 400
    code = "bad_request"


class Forbidden(JobsError):
    status = 403
    code = "path_outside_root"


class NotFound(JobsError):
    status = 404
    code = "not_found"


class Conflict(JobsError):
    status = 409
    code = "conflict"


class Unavailable(JobsError):
    status = 503
    code = "unavailable"
