"""Errors the job service raises; each carries the HTTP status the API answers with."""


class JobsError(Exception):
    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(JobsError):
    status = 400


class Forbidden(JobsError):
    status = 403


class NotFound(JobsError):
    status = 404


class Conflict(JobsError):
    status = 409


class Unavailable(JobsError):
    status = 503
