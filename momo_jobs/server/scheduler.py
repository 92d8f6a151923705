"""FIFO queues over CPU slots and whole GPUs. Pure functions of the jobs' state."""
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


def jobs_to_start(queued: list[dict], running: list[dict], inventory: Inventory,
                  has_room: Callable[[str, int], bool], extra_cpu_used: int = 0) -> list[Start]:
    """Which queued jobs start now. Each queue is strict FIFO: a head that can't
    start holds back the jobs behind it, so a big GPU job is never starved."""
    starts: list[Start] = []
    free_gpus = [g.index for g in inventory.gpus if g.index not in held_gpus(running)]
    free_cpu = inventory.cpu_slots - cpu_slots_used(running, extra_cpu_used)
    blocked: set[str] = set()
    for job in queued:
        queue = queue_of(job["resource"])
        if queue in blocked:
            continue
        if queue == "gpu":
            need = job["gpus"]
            if len(free_gpus) >= need and has_room("gpu", need):
                starts.append(Start(job["id"], free_gpus[:need]))
                free_gpus = free_gpus[need:]
                continue
        elif free_cpu > 0 and has_room(job["resource"], 0):
            starts.append(Start(job["id"], []))
            free_cpu -= 1
            continue
        blocked.add(queue)
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
