"""The words every part of momo-jobs shares: a job's statuses and the moves between
them, its resources, which backend and which pool runs it, the GPUs and slots it is
scheduled on, and the files of its folder.

Standard library only: the server, the supervisor beside each job and the clients
all import it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
FINAL: tuple[str, ...] = (Status.COMPLETED.value, Status.FAILED.value, Status.STOPPED.value)
# A job that holds what it was scheduled on (a CPU slot, its GPUs).
ACTIVE: tuple[str, ...] = (Status.RUNNING.value, Status.STOPPING.value)

# Where a job may go from each status. Nothing leaves a final status: a rerun is a new job.
# A running job goes back to queued when its attempt failed and it has retries left
# (the attempt's end and the requeue are one move, made before the job would be final).
MOVES: dict[str, frozenset[str]] = {
    Status.QUEUED.value: frozenset({Status.RUNNING.value, Status.STOPPED.value, Status.FAILED.value}),
    Status.RUNNING.value: frozenset({Status.STOPPING.value, Status.QUEUED.value, *FINAL}),
    Status.STOPPING.value: frozenset(FINAL),
    **{final: frozenset() for final in FINAL},
}


def can_move(old: str, new: str) -> bool:
    """Whether a job may go from status ``old`` to ``new`` (staying put is allowed)."""
    return old == new or new in MOVES.get(old, frozenset())


class Resource(str, Enum):
    CPU = "cpu"
    GPU = "gpu"
    CONSOLE = "console"  # a notebook console's kernel on this machine


RESOURCES: tuple[str, ...] = tuple(r.value for r in Resource)
QUEUES: tuple[str, ...] = ("cpu", "gpu")


def queue_of(resource: str) -> str:
    """The queue a job waits in: GPU jobs in one, CPU and console jobs in the other."""
    return "gpu" if resource == Resource.GPU.value else "cpu"


def backend_of(job: dict) -> str:
    """The backend that runs a job: a console job's kernel is the console backend's."""
    return "console" if job["resource"] == Resource.CONSOLE.value else job["backend"]


def pool_of(job: dict) -> str:
    """The backend whose inventory a job is scheduled on: console kernels run on this
    machine and share its CPU slots with local jobs."""
    return "local" if job["resource"] == Resource.CONSOLE.value else job["backend"]


@dataclass
class GpuInfo:
    index: str  # the id jobs are scheduled by: NVML's index, or the id the ``gpus`` setting gives
    name: str = "GPU"
    memory: int | None = None  # bytes
    uuid: str | None = None  # NVML's UUID: what CUDA and NVML agree on, and what a shared lock is named by
    holder: str | None = None  # who else uses it (a cluster's other users), when the backend knows

    @property
    def lock_name(self) -> str:
        """The name every server on the machine knows this GPU by (its shared lock's name)."""
        return self.uuid or self.index


@dataclass
class Inventory:
    """What a backend can run at once: whole GPUs by id, and CPU slots."""

    gpus: list[GpuInfo] = field(default_factory=list)
    cpu_slots: int = 1


class JobFiles:
    """The files of a job's folder. Every backend leaves the same ones, so the server
    reads every job the same way."""

    SPEC = "job.json"  # what to run (written before launch)
    SNAPSHOT = "snapshot"  # the script as it was at submit time
    LOG = "output.log"  # stdout and stderr merged, bytes as written
    LOG_INDEX = "output.idx"  # a time index of the log, "<unix time> <log size>" a line
    METRICS = "metrics.jsonl"  # metric points, each stamped with the time its line was read
    EXIT = "exit.json"  # how the job ended; its presence means the job is over
    SUPERVISOR = "supervisor.json"  # the supervisor's pid and the job's process group
    SUPERVISOR_PID = "supervisor.pid"  # written by the local backend when it starts one
    SUPERVISOR_ERR = "supervisor.err"  # what the supervisor itself writes
    CONSOLE = "console.json"  # a console job's kernel
    CHECKPOINT = "checkpoint"  # kept across a job's attempts ($MOMO_CHECKPOINT_DIR)
    EARLIER_EXIT = "exit.attempt{attempt}.json"  # exit.json of an attempt that was retried
    SLURM = "slurm.json"  # a Slurm job's id, and whether a stop was asked for
    SLURM_SCRIPT = "slurm.sh"  # the batch script handed to sbatch
    SLURM_OUT = "slurm.out"  # what Slurm itself writes for the batch script
    SLURM_NODE = "slurm-node.txt"  # the node a Slurm job runs on, and its GPUs
    NODE_EXIT = "exit.node.json"  # the supervisor's exit record, before the backend completes it
