"""FIFO queues over CPU slots and whole GPUs, and the sweeps' limits on how many of
their jobs run at once. Pure functions of the jobs' state."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..vocabulary import Inventory, queue_of


@dataclass
class Start:
    job_id: str
    gpu_ids: list[str]


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


def held_by_sweep(queued: list[dict], room: dict[str, int]) -> set[str]:
    """The queued jobs that wait for their sweep (it runs as many as it may), not for room."""
    return {job["id"] for job in queued if room.get(job.get("sweep_id"), 1) <= 0}


def jobs_to_start(queued: list[dict], running: list[dict], inventory: Inventory,
                  has_room: Callable[[str, int], bool], extra_cpu_used: int = 0,
                  sweep_room: dict[str, int] | None = None) -> list[Start]:
    """Which queued jobs start now. Each queue is strict FIFO: a head that can't
    start holds back the jobs behind it, so a big GPU job is never starved. A job
    whose sweep already runs its ``max_parallel`` (``sweep_room``: how many more of
    each limited sweep may start) waits without holding back the jobs behind it."""
    starts: list[Start] = []
    free_gpus = [g.index for g in inventory.gpus if g.index not in held_gpus(running)]
    free_cpu = inventory.cpu_slots - cpu_slots_used(running, extra_cpu_used)
    blocked: set[str] = set()
    room = dict(sweep_room or {})
    for job in queued:
        queue = queue_of(job["resource"])
        sweep = job.get("sweep_id")
        if queue in blocked or room.get(sweep, 1) <= 0:
            continue
        if queue == "gpu":
            need = job["gpus"]
            if len(free_gpus) >= need and has_room("gpu", need):
                starts.append(Start(job["id"], free_gpus[:need]))
                free_gpus = free_gpus[need:]
            else:
                blocked.add(queue)
        elif free_cpu > 0 and has_room(job["resource"], 0):
            starts.append(Start(job["id"], []))
            free_cpu -= 1
        else:
            blocked.add(queue)
        if sweep in room and starts and starts[-1].job_id == job["id"]:
            room[sweep] -= 1
    return starts


def queue_positions(queued: list[dict]) -> dict[str, int]:
    """1-based position of each queued job within its queue."""
    counters: dict[str, int] = {}
    positions = {}
    for job in queued:
        queue = queue_of(job["resource"])
        counters[queue] = counters.get(queue, 0) + 1
        positions[job["id"]] = counters[queue]
    return positions
