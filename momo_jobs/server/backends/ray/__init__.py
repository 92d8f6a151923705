"""The Ray backend: jobs submitted to a Ray cluster through its Job Submission API."""
from .backend import RayBackend

__all__ = ["RayBackend"]
