"""FIFO queues over CPU slots and whole GPUs, and the sweeps' limits on how many of
their jobs run at once. Pure functions of the jobs' state.

On a shared GPU machine the GPU line is common to every server: what the lock folder
says (GPUs that other servers' jobs or other processes have, other servers' waiting
jobs, the GPUs each user holds) comes in as ``SharedGpus``, plain data."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from ..vocabulary import Inventory, queue_of


@dataclass
class Start:
    job_id: str
    gpu_ids: list[str]


@dataclass
class Waiter:
    """Another server's waiting GPU job (its ticket in the lock folder)."""

    user: str
    created: float  # unix time it was submitted: its place in the common line
    gpus: int
    pool: list[str]  # the GPUs of this server's pool it may take


@dataclass
class SharedGpus:
    """The lock folder's side of the GPU line, as this server's scheduler sees it."""

    user: str  # whose server this is
    taken: dict[str, str] = field(default_factory=dict)  # GPU of this pool → who else has it (a reason)
    waiters: list[Waiter] = field(default_factory=list)
    held_per_user: dict[str, int] = field(default_factory=dict)  # GPUs held or claimed by each user
    max_gpus_per_user: int | None = None

    def over_cap(self, user: str, gpus: int, held: dict[str, int]) -> bool:
        return self.max_gpus_per_user is not None and held.get(user, 0) + gpus > self.max_gpus_per_user


def created_unix(job: dict) -> float:
    return datetime.fromisoformat(job["created_at"].replace("Z", "+00:00")).timestamp()


@dataclass
class _InLine:
    """A place in the common GPU line: one of this server's jobs, or another's waiter."""

    created: float
    user: str
    gpus: int
    pool: list[str]
    job: dict | None = None  # this server's job


def gpu_line(queued: list[dict], inventory: Inventory, shared: SharedGpus | None) -> list[_InLine]:
    """This server's queued GPU jobs and other servers' waiters, oldest first."""
    pool = [g.index for g in inventory.gpus]
    own = [j for j in queued if queue_of(j["resource"]) == "gpu"]
    if shared is None:
        return [_InLine(0.0, "", j["gpus"], pool, j) for j in own]
    line = [_InLine(created_unix(j), shared.user, j["gpus"], pool, j) for j in own]
    line += [_InLine(w.created, w.user, w.gpus, w.pool) for w in shared.waiters if w.pool]
    return sorted(line, key=lambda place: place.created)


class _GpuLineWalk:
    """The common GPU line, first come first served, walked up to each of this server's
    jobs in turn (so has_room is asked in queue order): a waiter that can't start keeps
    the GPUs it may take from every waiter behind it (a 2-GPU job is not starved by
    1-GPU jobs); a waiter beyond the per-user cap waits without keeping anything."""

    def __init__(self, queued: list[dict], running: list[dict], inventory: Inventory,
                 has_room: Callable[[str, int], bool], shared: SharedGpus | None, room: dict[str, int]):
        held = held_gpus(running)
        self.room = room
        taken = shared.taken if shared else {}
        self.free = [g.index for g in inventory.gpus if g.index not in held and g.index not in taken]
        self.per_user = dict(shared.held_per_user) if shared else {}
        self.kept: set[str] = set()
        self.shared = shared
        self.has_room = has_room
        self.line = iter(gpu_line(queued, inventory, shared))

    def decide(self, job_id: str) -> Start | None:
        """Walks the line up to this server's job ``job_id``; its start, if it starts now."""
        for place in self.line:
            start = self._step(place)
            if place.job is not None and place.job["id"] == job_id:
                return start
        return None

    def _step(self, place: _InLine) -> Start | None:
        if self.shared is not None and self.shared.over_cap(place.user, place.gpus, self.per_user):
            return None
        if place.job is not None and not sweep_has_room(self.room, place.job):
            return None
        candidates = [g for g in self.free if g in place.pool and g not in self.kept]
        if len(candidates) >= place.gpus and (place.job is None or self.has_room("gpu", place.gpus)):
            chosen = candidates[:place.gpus]
            self.free = [g for g in self.free if g not in chosen]
            self.per_user[place.user] = self.per_user.get(place.user, 0) + place.gpus
            return Start(place.job["id"], chosen) if place.job is not None else None
        self.kept.update(place.pool)
        return None


def held_gpus(running: list[dict]) -> dict[str, str]:
    """GPU id → the job holding it."""
    return {gpu: job["id"] for job in running for gpu in job["gpu_ids"]}


def cpu_slots_used(running: list[dict], extra: int = 0) -> int:
    return sum(1 for job in running if queue_of(job["resource"]) == "cpu") + extra


def sweep_room(sweep_limits: dict[str, int], running: list[dict]) -> dict[str, int]:
    """How many more jobs of each limited sweep may start: its max_parallel less its
    running jobs (``running``: every pool's)."""
    room = dict(sweep_limits)
    for job in running:
        if job.get("sweep_id") in room:
            room[job["sweep_id"]] -= 1
    return room


def sweep_has_room(room: dict[str, int], job: dict) -> bool:
    return room.get(job.get("sweep_id"), 1) > 0


def handed_over(queued: list[dict], room: dict[str, int]) -> list[Start]:
    """For a backend with a queue of its own (Slurm): every queued job goes to it at once,
    in order, but no more of a sweep's jobs than its ``max_parallel`` allows."""
    starts = []
    for job in queued:
        if sweep_has_room(room, job):
            starts.append(Start(job["id"], []))
            if job.get("sweep_id") in room:
                room[job["sweep_id"]] -= 1
    return starts


def held_by_sweep(queued: list[dict], room: dict[str, int]) -> set[str]:
    """The queued jobs that wait for their sweep (it runs as many as it may), not for room."""
    return {job["id"] for job in queued if not sweep_has_room(room, job)}


def jobs_to_start(queued: list[dict], running: list[dict], inventory: Inventory,
                  has_room: Callable[[str, int], bool], extra_cpu_used: int = 0, *,
                  sweep_room: dict[str, int] | None = None, shared: SharedGpus | None = None) -> list[Start]:
    """Which queued jobs start now. Each queue is strict FIFO: a head that can't
    start holds back the jobs behind it, so a big GPU job is never starved. A job
    whose sweep already runs its ``max_parallel`` (``sweep_room``: how many more of
    each limited sweep may start) waits without holding back the jobs behind it."""
    starts: list[Start] = []
    room = dict(sweep_room or {})
    gpu_walk = _GpuLineWalk(queued, running, inventory, has_room, shared, room)
    free_cpu = inventory.cpu_slots - cpu_slots_used(running, extra_cpu_used)
    cpu_blocked = False
    for job in queued:
        start = None
        if queue_of(job["resource"]) == "gpu":
            start = gpu_walk.decide(job["id"])
        elif not cpu_blocked and sweep_has_room(room, job):
            if free_cpu > 0 and has_room(job["resource"], 0):
                start = Start(job["id"], [])
                free_cpu -= 1
            else:
                cpu_blocked = True
        if start is not None:
            starts.append(start)
            if job.get("sweep_id") in room:
                room[job["sweep_id"]] -= 1
    return starts


@dataclass
class Place:
    """Where a queued job stands: its 1-based position in its queue (the common GPU line
    on a shared machine), how many of those ahead are other users' jobs, and whether it
    waits for its user's GPUs to fall under the per-user cap."""

    position: int
    others_ahead: int = 0
    over_cap: bool = False


def queue_positions(queued: list[dict], inventory: Inventory | None = None,
                    shared: SharedGpus | None = None) -> dict[str, Place]:
    """The place of each queued job within its queue."""
    places: dict[str, Place] = {}
    cpu = 0
    for job in queued:
        if queue_of(job["resource"]) == "cpu":
            cpu += 1
            places[job["id"]] = Place(cpu)
    ahead = others = 0
    for place in gpu_line(queued, inventory or Inventory(), shared):
        if place.job is not None:
            capped = shared is not None and shared.over_cap(place.user, place.gpus, shared.held_per_user)
            places[place.job["id"]] = Place(ahead + 1, others, capped)
        elif place.user != (shared.user if shared else ""):
            others += 1
        ahead += 1
    return places
