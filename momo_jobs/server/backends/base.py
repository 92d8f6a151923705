"""What the job service asks of a backend (local processes, notebook consoles, Ray)."""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Callable

from ...job.files import RunSpec
from ...vocabulary import Inventory


class LaunchError(Exception):
    """The backend could not start the job; the message says why, for the user."""


class Backend(ABC):
    """Runs jobs. A backend writes the job folder's files (jobfiles.py): the log,
    the metrics and, once the job is over, ``exit.json``; the service reads them."""

    name: str = "base"
    # Whether what the backend runs beside each job keeps the RunSpec's time limit
    # (the local supervisor does); if not, the server keeps it from the store.
    keeps_time_limit: bool = False
    # True for a backend that keeps its own queue (Slurm): every queued job is handed
    # to it at once, and ``pending`` says while it waits there.
    queues_jobs: bool = False

    # Set by the service: ``on_change(job_id, fields)`` records fields of a job
    # (a console job's kernel_id), tells the clients, and looks at the queue again,
    # e.g. after a backend freed a CPU slot on its own.
    on_change: Callable[[str, dict], None] = staticmethod(lambda job_id, fields: None)
    # Set by the service: ``on_room()`` says something freed room: there may be room now
    # for a job that has_room turned down (a cluster's resources were measured again),
    # so look at the queue again.
    on_room: Callable[[], None] = staticmethod(lambda: None)

    def __init__(self, settings, log: logging.Logger | None = None):
        self.settings = settings
        self.log = log or logging.getLogger("momo_jobs")

    async def start(self) -> None:
        """Called once when the server starts, before any job is reattached."""

    async def close(self) -> None:
        """Called when the server stops. Jobs keep running where the backend allows."""

    @abstractmethod
    def inventory(self) -> Inventory:
        """The GPUs and CPU slots jobs are scheduled on."""

    def has_room(self, resource: str, gpus: int) -> bool:
        """A last word before a queued job starts (e.g. a shared cluster's free resources)."""
        return True

    def pending(self, job_id: str) -> tuple[str, int | None] | None:
        """For a job handed to a backend that queues jobs itself and still waiting there:
        why it waits and its place in that queue; the API shows it queued. None: not waiting."""
        return None

    @abstractmethod
    async def launch(self, run: RunSpec) -> None:
        """Start the job detached; raise LaunchError if it can't start."""

    @abstractmethod
    async def stop(self, run: RunSpec) -> None:
        """Ask the job to end: SIGTERM to its process tree, SIGKILL after the grace period."""

    @abstractmethod
    async def is_alive(self, run: RunSpec) -> bool:
        """Whether something is still running (or about to write exit.json) for this job."""

    async def warn(self, run: RunSpec, time_limit_signal: str) -> None:
        """The time limit's warning (``"USR1@60"``: its signal) to the job's processes,
        for a backend whose limit the server keeps; one that warns on the node does nothing."""

    def idle_kernels(self) -> int:
        """CPU slots held by finished jobs (a console job's live kernel) beyond the running ones."""
        return 0

    async def end_leftovers(self, run: RunSpec) -> str | None:
        """The job is gone without an exit record: end whatever of it still runs; the
        reason to fail it with, or None for the service's own."""
        return None

    async def forget(self, job_id: str) -> None:
        """The job is being deleted: let go of what the backend still holds for it."""

    async def reattach(self, run: RunSpec) -> bool:
        """After a server restart: follow the job again; False when it is gone."""
        return await self.is_alive(run)
