"""The locks of a shared GPU machine, as a job's supervisor takes and holds them.

In the lock folder (the ``gpu_lock_dir`` setting) every GPU has a lock file; a job
holds each of its GPUs through an ``flock`` on that file, taken by its supervisor
before the script starts and inherited by the script's processes, so the lock lasts
while any process of the job's tree lives. The kernel drops an flock when the last
process holding it is gone: a crash or kill -9 never leaves a GPU locked.

Beside the locks, a job leaves a holder file (who holds which GPUs since when),
itself locked by the job's tree, so a dead job's holder file reads as stale.

Files are made usable by every user whatever the umask (mode 0644, so another user
opens them read-only: an flock needs no write access). Standard library only.
"""
from __future__ import annotations

import fcntl
import json
import os
import pwd
import re
import time
from pathlib import Path

TAKE_RETRY_SECONDS = 0.002
# A server looking at a lock holds it shared for a moment; a supervisor taking it
# tries again for this long before it gives up.
TAKE_PATIENCE_SECONDS = 10.0


class GpuLockBusy(Exception):
    """A GPU's lock is held by another job."""


def lock_file_name(gpu: str) -> str:
    return f"gpu-{re.sub(r'[^A-Za-z0-9_.-]', '_', gpu)}.lock"


def holder_file_name(uid: int, job_id: str) -> str:
    return f"holder-{uid}-{job_id}.json"


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def open_lock_file(path: Path) -> int:
    """An fd on a lock file, creating it (mode 0644) when absent. One created by another
    user is opened read-only: the kernel refuses writing opens of another user's file in
    a sticky folder (fs.protected_regular), and an flock needs none."""
    while True:
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except FileNotFoundError:
            pass
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            continue  # another process created it meanwhile
        os.fchmod(fd, 0o644)  # whatever the umask
        return fd


def try_lock(fd: int, exclusive: bool = True) -> bool:
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def is_locked(fd: int) -> bool:
    """Whether another open file holds an exclusive lock on this file (looked at by taking
    a shared lock for a moment)."""
    if try_lock(fd, exclusive=False):
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    return True


def is_held(fd: int) -> bool:
    """Whether another open file holds any lock, shared or exclusive, on this file."""
    if try_lock(fd, exclusive=True):
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    return True


def write_locked_file(path: Path, content: dict, exclusive: bool) -> int:
    """Writes a JSON file that appears already locked (through an fd kept open) and
    readable by every user: written under a temporary name, locked, then renamed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.fchmod(fd, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        os.write(fd, json.dumps(content).encode())
        os.replace(tmp, path)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return fd


def take_gpu_locks(lock_dir: str, gpus: list[str], job_id: str,
                   patience: float = TAKE_PATIENCE_SECONDS) -> list[int]:
    """Takes the lock of each GPU (in name order, so two jobs never wait on each other)
    and writes the job's holder file; returns the fds that hold them, for the job's
    processes to inherit. Raises GpuLockBusy when a lock stays held."""
    folder = Path(lock_dir)
    fds: list[int] = []
    try:
        for gpu in sorted(gpus):
            fd = open_lock_file(folder / lock_file_name(gpu))
            fds.append(fd)
            deadline = time.monotonic() + patience
            while not try_lock(fd):
                if time.monotonic() > deadline:
                    raise GpuLockBusy(f"GPU {gpu} stayed held by another job")
                time.sleep(TAKE_RETRY_SECONDS)
        uid = os.getuid()
        fds.append(write_locked_file(folder / holder_file_name(uid, job_id), {
            "user": user_name(uid), "uid": uid, "job": job_id, "gpus": list(gpus), "since": time.time(),
            "pid": os.getpid(),
        }, exclusive=False))
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds
