"""The GPUs of this machine: from the ``gpus`` setting when given, else from NVML,
confined to the server's own ``CUDA_VISIBLE_DEVICES`` when that is set; and, through
NVML, the compute processes running on them."""
from __future__ import annotations

import logging
import os

from ..vocabulary import GpuInfo

log = logging.getLogger("momo_jobs")


def parse_gpu_setting(value: str) -> list[GpuInfo]:
    """``"0,1"`` → GPUs 0 and 1; ``""`` → none."""
    ids = [part.strip() for part in value.split(",") if part.strip()]
    if len(set(ids)) != len(ids):
        raise ValueError(f"GPU ids repeat in {value!r}")
    return [GpuInfo(index=i, name=f"GPU {i}") for i in ids]


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _nvml():
    """pynvml, initialised; None without nvidia-ml-py or a driver. Each call is paired
    with an ``nvmlShutdown`` (NVML counts them)."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # no driver: NVMLError_LibraryNotFound, DriverNotLoaded, ...
        log.debug("NVML unavailable: %s", exc)
        return None
    return pynvml


def detect_gpus() -> list[GpuInfo]:
    """NVIDIA GPUs through NVML (in NVML's order, which is PCI order), or none when
    there is no driver or no nvidia-ml-py."""
    pynvml = _nvml()
    if pynvml is None:
        return []
    try:
        found = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle).total
            found.append(GpuInfo(index=str(i), name=_text(pynvml.nvmlDeviceGetName(handle)), memory=int(memory),
                                 uuid=_text(pynvml.nvmlDeviceGetUUID(handle))))
        return found
    finally:
        pynvml.nvmlShutdown()


def confine(gpus: list[GpuInfo], visible: str | None) -> list[GpuInfo]:
    """The GPUs a server started with ``CUDA_VISIBLE_DEVICES=visible`` may use, in that
    order. Entries are NVML indexes or UUIDs (a unique UUID prefix, as CUDA takes it);
    as for CUDA, the list ends at the first entry that names no GPU."""
    if visible is None:
        return gpus
    chosen: list[GpuInfo] = []
    for entry in (part.strip() for part in visible.split(",")):
        if entry.startswith("GPU-") or entry.startswith("MIG-"):
            matches = [g for g in gpus if g.uuid and g.uuid.startswith(entry)]
        else:
            matches = [g for g in gpus if g.index == entry]
        if len(matches) != 1 or matches[0] in chosen:
            break
        chosen.append(matches[0])
    return chosen


def gpu_inventory(setting: str | None) -> list[GpuInfo]:
    if setting is not None:
        return parse_gpu_setting(setting)
    return confine(detect_gpus(), os.environ.get("CUDA_VISIBLE_DEVICES"))


def compute_processes(gpus: list[GpuInfo]) -> dict[str, list[tuple[int, int]]]:
    """GPU index → the (pid, bytes of GPU memory) of each compute process NVML lists on
    it; empty for GPUs NVML doesn't know (e.g. ids from the ``gpus`` setting)."""
    named = [g for g in gpus if g.uuid]
    if not named:
        return {}
    pynvml = _nvml()
    if pynvml is None:
        return {}
    found: dict[str, list[tuple[int, int]]] = {}
    try:
        for gpu in named:
            try:
                handle = pynvml.nvmlDeviceGetHandleByUUID(gpu.uuid)
                procs = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
            except Exception as exc:  # a GPU that went away, a call the driver lacks
                log.debug("NVML processes of %s: %s", gpu.uuid, exc)
                continue
            found[gpu.index] = [(int(p.pid), int(p.usedGpuMemory or 0)) for p in procs]
    finally:
        pynvml.nvmlShutdown()
    return found
