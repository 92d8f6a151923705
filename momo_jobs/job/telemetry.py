"""Telemetry of a running job (DESIGN §2, §4): its process tree's CPU and resident
memory, and for a GPU job each of its GPUs through NVML, sampled by the supervisor
into the job's metrics as ``sys/…`` series.

psutil and nvidia-ml-py (pynvml) are imported lazily, inside this module's
functions: the job side needs nothing beyond the standard library to run a job,
and without them a job runs as before, with a notice saying what is missing.
"""
from __future__ import annotations

import os
import re
from typing import Any

CPU_PERCENT = "sys/cpu_percent"
RSS_BYTES = "sys/rss_bytes"
# A non-numeric point (text) saying why a part of the telemetry is off; the UI lists it.
NOTICE = "sys/notice"


_GPU_MEMORY = re.compile(r"^sys/gpu\d+/memory_bytes$")


def gpu_series(i: int) -> tuple[str, str, str]:
    """The series of the job's ``i``-th GPU: utilisation, memory of the job's processes, device memory."""
    return f"sys/gpu{i}/util_percent", f"sys/gpu{i}/memory_bytes", f"sys/gpu{i}/device_memory_bytes"


def peaks(metrics: dict[str, dict]) -> dict[str, Any]:
    """The highest CPU use, resident memory and GPU memory (on any one of the job's
    GPUs) that telemetry saw, from the series' summaries ({name: {"max", …}})."""
    def highest(name):
        return metrics[name]["max"] if name in metrics else None

    gpu = [m["max"] for name, m in metrics.items() if _GPU_MEMORY.match(name) and m["max"] is not None]
    return {"cpu_percent": highest(CPU_PERCENT), "rss_bytes": highest(RSS_BYTES),
            "gpu_memory_bytes": max(gpu) if gpu else None}


def _tree_pids(root: int) -> list[int]:
    """The root and its descendants, from /proc/<pid>/task/<tid>/children (no scan of
    every process on the machine, which psutil's children() does)."""
    pids, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        pids.append(pid)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                    frontier.extend(int(c) for c in f.read().split())
            except (OSError, ValueError):
                continue
    return pids


def _has_children_files(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}/task/{pid}/children")


class _Gpus:
    """The job's GPUs through NVML, by UUID."""

    def __init__(self, pynvml: Any, gpu_ids: list[str]):
        self.nvml = pynvml
        pynvml.nvmlInit()
        self.handles = []
        for gpu_id in gpu_ids:
            if gpu_id.startswith(("GPU-", "MIG-")):
                uuid = gpu_id
            else:
                uuid = pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(int(gpu_id)))
            self.handles.append(pynvml.nvmlDeviceGetHandleByUUID(uuid))

    def sample(self, pids: set[int]) -> list[tuple[str, Any]]:
        nvml, points = self.nvml, []
        for i, handle in enumerate(self.handles):
            util_name, memory_name, device_name = gpu_series(i)
            try:
                util = nvml.nvmlDeviceGetUtilizationRates(handle).gpu
                points.append((util_name, util))
            except nvml.NVMLError:
                pass
            try:
                used = sum(p.usedGpuMemory or 0 for p in nvml.nvmlDeviceGetComputeRunningProcesses(handle)
                           if p.pid in pids)
                points.append((memory_name, int(used)))
            except nvml.NVMLError:
                pass
            try:
                points.append((device_name, int(nvml.nvmlDeviceGetMemoryInfo(handle).used)))
            except nvml.NVMLError:
                pass
        return points

    def close(self) -> None:
        try:
            self.nvml.nvmlShutdown()
        except Exception:
            pass


class Telemetry:
    """Samples one job's process tree, ``interval`` seconds apart; ``due(now)`` says
    when (``now`` from time.monotonic), ``sample(now)`` gives the points."""

    def __init__(self, root_pid: int, gpu_ids: list[str], interval: float, now: float):
        self.root = root_pid
        self.interval = interval
        self.next_at = now + interval
        self.notices: list[str] = []
        self._last_cpu, self._last_at = 0.0, now
        self._procs: dict[int, Any] = {}
        try:
            import psutil
        except ImportError:
            psutil = None
            self.notices.append("CPU and memory telemetry off: psutil is not installed")
        self._psutil = psutil
        self._proc_children = _has_children_files(root_pid)
        self._gpus: _Gpus | None = None
        if gpu_ids:
            try:
                import pynvml

                self._gpus = _Gpus(pynvml, gpu_ids)
            except Exception as exc:  # ImportError, no driver, a GPU NVML doesn't know
                self.notices.append(f"GPU telemetry off: NVML is not available ({type(exc).__name__}: {exc})")

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def timeout(self, now: float, longest: float) -> float:
        """How long a select may wait before the next sample is due."""
        return max(0.0, min(longest, self.next_at - now))

    def take_notices(self) -> list[tuple[str, Any]]:
        notices, self.notices = self.notices, []
        return [(NOTICE, text) for text in notices]

    def _process(self, pid: int):
        proc = self._procs.get(pid)
        if proc is None:
            proc = self._procs[pid] = self._psutil.Process(pid)
        return proc

    def _pids(self) -> list[int]:
        if self._proc_children:
            return _tree_pids(self.root)
        root = self._process(self.root)
        return [self.root, *(p.pid for p in root.children(recursive=True))]

    def sample(self, now: float) -> list[tuple[str, Any]]:
        self.next_at = max(self.next_at + self.interval, now)
        points = self.take_notices()
        if self._psutil is None:
            return points
        NoSuchProcess = self._psutil.Error
        cpu, rss, alive = 0.0, 0, set()
        try:
            pids = self._pids()
        except NoSuchProcess:
            return points
        for pid in pids:
            try:
                proc = self._process(pid)
                with proc.oneshot():
                    times = proc.cpu_times()
                    memory = proc.memory_info()
            except NoSuchProcess:
                self._procs.pop(pid, None)
                continue
            # Children that ended and were waited for count in their parent's children_* times.
            cpu += times.user + times.system + times.children_user + times.children_system
            rss += memory.rss
            alive.add(pid)
        for pid in [p for p in self._procs if p not in alive]:
            del self._procs[pid]
        if not alive:
            return points
        elapsed = now - self._last_at
        if elapsed > 0:
            points.append((CPU_PERCENT, round(100.0 * max(0.0, cpu - self._last_cpu) / elapsed, 1)))
        self._last_cpu, self._last_at = cpu, now
        points.append((RSS_BYTES, rss))
        if self._gpus is not None:
            points.extend(self._gpus.sample(alive))
        return points

    def close(self) -> None:
        if self._gpus is not None:
            self._gpus.close()
