"""The GPUs of this machine: from the ``gpus`` setting when given, else from NVML."""
from __future__ import annotations

import logging

from ..vocabulary import GpuInfo

log = logging.getLogger("momo_jobs")


def parse_gpu_setting(value: str) -> list[GpuInfo]:
    """``"0,1"`` → GPUs 0 and 1; ``""`` → none."""
    ids = [part.strip() for part in value.split(",") if part.strip()]
    if len(set(ids)) != len(ids):
        raise ValueError(f"GPU ids repeat in {value!r}")
    return [GpuInfo(index=i, name=f"GPU {i}") for i in ids]


def detect_gpus() -> list[GpuInfo]:
    """NVIDIA GPUs through NVML, or none when there is no driver or no nvidia-ml-py."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # no driver: NVMLError_LibraryNotFound, DriverNotLoaded, ...
        log.debug("NVML unavailable: %s", exc)
        return []
    try:
        found = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            if isinstance(name, bytes):
                name = name.decode()
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle).total
            found.append(GpuInfo(index=str(i), name=name, memory=int(memory)))
        return found
    finally:
        pynvml.nvmlShutdown()


def gpu_inventory(setting: str | None) -> list[GpuInfo]:
    return parse_gpu_setting(setting) if setting is not None else detect_gpus()
