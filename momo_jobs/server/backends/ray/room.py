"""Free room on the Ray cluster, for momo-jobs' own queue in front of it.

A queued job is submitted only when the cluster has room for it. The room is the
cluster's last measured usage (Ray measures every few seconds), corrected for what
our own jobs took or gave back since, less what ``has_room`` promised to launches
under way. In doubt it counts less.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ....vocabulary import GpuInfo, Inventory, Resource
from .http import HTTP_TIMEOUT, RayDashboard, RayUnavailable

# How long a yes from has_room holds the resources for the launch that follows.
RESERVATION_TTL = 10.0
# How old Ray's resource usage may be when it comes without its time (the
# autoscaler's report interval is 5 s) and a job's start or end may be missing from it.
USAGE_AGE = 8.0

_USAGE_TEXT = re.compile(r"([\d.]+)\s*/\s*([\d.]+)\s+(CPU|GPU)\b")


def needs(resource: str, gpus: int) -> tuple[float, float]:
    """The CPUs and GPUs a job takes on the cluster: one CPU for its entrypoint, and its GPUs."""
    return 1, gpus if resource == Resource.GPU else 0


@dataclass
class Cluster:
    """One look at the cluster's resources."""

    total_cpu: float
    avail_cpu: float
    total_gpu: float
    avail_gpu: float
    gpus: list[GpuInfo]
    time: float | None  # when Ray measured the usage (Ray's clock, unix seconds)
    fetched_at: float = field(default_factory=time.monotonic)


@dataclass
class Share:
    """What one of our jobs takes from the cluster, and when it took it and gave it back."""

    cpus: float
    gpus: float
    start_ms: int | None = None  # Ray's clock
    end_ms: int | None = None
    launched_at: float = field(default_factory=time.monotonic)
    ended_at: float | None = None

    def counted_in(self, cluster: Cluster) -> tuple[bool, bool]:
        """Whether the cluster's measured usage may include this job, and whether the job holds resources now."""
        holds = self.ended_at is None
        if cluster.time is not None:
            started = self.start_ms is not None and self.start_ms / 1000 <= cluster.time
            ended = self.end_ms is not None and self.end_ms / 1000 <= cluster.time
        else:
            started = self.launched_at <= cluster.fetched_at - USAGE_AGE
            ended = self.ended_at is not None and self.ended_at <= cluster.fetched_at - USAGE_AGE
        return started and not ended, holds


@dataclass
class _Reservation:
    cpus: float
    gpus: float
    at: float = field(default_factory=time.monotonic)


def parse_usage(status: dict) -> tuple[dict[str, tuple[float, float]], float | None]:
    """``{"CPU": (used, total), "GPU": ...}`` and the time of the measurement, from
    the dashboard's /api/cluster_status answer."""
    data = status.get("data") or {}
    cluster = data.get("clusterStatus")
    if isinstance(cluster, dict):
        usage = (cluster.get("loadMetricsReport") or {}).get("usage")
        if isinstance(usage, dict) and "CPU" in usage:
            return ({k: (float(v[0]), float(v[1])) for k, v in usage.items() if k in ("CPU", "GPU")},
                    cluster.get("time"))
    text = data.get("autoscalingStatus") or (cluster if isinstance(cluster, str) else "") or ""
    found = {kind: (float(used), float(total)) for used, total, kind in _USAGE_TEXT.findall(text)}
    return found, None


def cluster_gpus(nodes: list[dict]) -> list[GpuInfo]:
    alive = [n for n in nodes if n.get("state", "ALIVE") == "ALIVE"]
    alive.sort(key=lambda n: (not n.get("is_head_node"), n.get("node_ip") or "", n.get("node_id") or ""))
    gpus: list[GpuInfo] = []
    for node in alive:
        resources = node.get("resources_total") or {}
        kind = next((k.split(":", 1)[1] for k in resources if k.startswith("accelerator_type:")), "GPU")
        where = node.get("node_name") or node.get("node_ip") or "?"
        for _ in range(int(resources.get("GPU", 0))):
            gpus.append(GpuInfo(index=str(len(gpus)), name=f"{kind} on {where}"))
    return gpus


def measure_cluster(dashboard: RayDashboard) -> Cluster:
    """The cluster's totals from its node list and its usage from the autoscaler's report (blocking)."""
    try:
        usage, measured = parse_usage(dashboard.cluster_status())
    except RayUnavailable:
        usage, measured = {}, None
    try:
        nodes = [n for n in dashboard.nodes() if n.get("state", "ALIVE") == "ALIVE"]
    except RayUnavailable:
        if "CPU" not in usage:
            raise
        nodes = None  # no node list (an older or trimmed dashboard): the usage report's totals
    if nodes is None:
        total = {kind: usage.get(kind, (0.0, 0.0))[1] for kind in ("CPU", "GPU")}
        gpus = [GpuInfo(index=str(i), name="GPU") for i in range(int(total["GPU"]))]
    else:
        total = {kind: sum(float((n.get("resources_total") or {}).get(kind, 0)) for n in nodes)
                 for kind in ("CPU", "GPU")}
        gpus = cluster_gpus(nodes)
    if "CPU" not in usage:
        # No usage report yet (the autoscaler writes one every few seconds): only our jobs count.
        usage, measured = {}, None
    used = {kind: usage.get(kind, (0.0, 0.0))[0] for kind in ("CPU", "GPU")}
    return Cluster(total_cpu=total["CPU"], avail_cpu=total["CPU"] - used["CPU"], total_gpu=total["GPU"],
                   avail_gpu=total["GPU"] - used["GPU"], gpus=gpus, time=measured)


class Room:
    """The cluster's free room as our queue sees it; ``shares()`` gives what each of our jobs takes."""

    def __init__(self, dashboard: RayDashboard, shares: Callable[[], Iterable[Share]]):
        self.dashboard = dashboard
        self.cluster: Cluster | None = None
        self.held_back = False  # has_room said no: look at the queue again after the next measurement
        self._shares = shares
        self._reservations: list[_Reservation] = []

    async def measure(self) -> None:
        self.cluster = await self.dashboard.call(measure_cluster, self.dashboard, timeout=2 * HTTP_TIMEOUT)

    def inventory(self) -> Inventory:
        cluster = self.cluster
        if cluster is None:
            return Inventory(gpus=[], cpu_slots=0)
        return Inventory(gpus=list(cluster.gpus), cpu_slots=int(cluster.total_cpu))

    def no_longer_counts(self, share: Share) -> bool:
        """Whether an ended job is out of the cluster's measurement too: nothing is left to correct for it."""
        return self.cluster is not None and share.counted_in(self.cluster) == (False, False)

    def free(self) -> tuple[float, float]:
        """The cluster's free CPUs and GPUs."""
        cluster = self.cluster
        cpu, gpu = cluster.avail_cpu, cluster.avail_gpu
        for share in self._shares():
            counted, holds = share.counted_in(cluster)
            if counted and not holds:
                cpu += share.cpus
                gpu += share.gpus
            elif holds and not counted:
                cpu -= share.cpus
                gpu -= share.gpus
        now = time.monotonic()
        self._reservations = [r for r in self._reservations if now - r.at < RESERVATION_TTL]
        for r in self._reservations:
            cpu -= r.cpus
            gpu -= r.gpus
        return cpu, gpu

    def has_room(self, resource: str, gpus: int) -> bool:
        """Whether a job fits now; a yes holds its resources for the launch that follows."""
        if self.cluster is None:
            self.held_back = True
            return False
        need_cpu, need_gpu = needs(resource, gpus)
        cpu, gpu = self.free()
        if cpu < need_cpu - 1e-6 or gpu < need_gpu - 1e-6:
            self.held_back = True
            return False
        self._reservations.append(_Reservation(cpus=need_cpu, gpus=need_gpu))
        return True

    def take_reservation(self, gpus: float) -> None:
        """A launch takes over what has_room held for it: from now on its share counts."""
        for r in self._reservations:
            if r.gpus == gpus:
                self._reservations.remove(r)
                return
