"""The Ray backend: jobs submitted to a Ray cluster through its Job Submission API.

backend.py ties together http.py (every call to Ray), room.py (the cluster's free
room for our queue) and logcopy.py (each job's log copied into its folder).
"""
from .backend import RayBackend

__all__ = ["RayBackend"]
