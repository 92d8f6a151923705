"""Processes on this machine that a backend started: whether one still runs, and signalling one."""
from __future__ import annotations

import os
from pathlib import Path


def process_alive(pid: int, marker: str) -> bool:
    """Whether ``pid`` runs and its command line holds ``marker``; a zombie is not alive.

    The marker guards against a pid reused by another process after a restart.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in (b"Z", b"X") and marker in cmdline


def supervisor_serves(pid: int, folder: Path) -> bool:
    """Whether ``pid`` is a supervisor working in ``folder`` (a spare that was handed
    a job has the job's folder as its working directory, not in its command line)."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return cwd == os.path.realpath(folder) and process_alive(pid, "momo_jobs.supervisor")


def signal_if_there(pid: int, sig: int, group: bool = False) -> None:
    """Sends ``sig`` to a process, or with ``group`` to its process group; one that is
    gone, or no longer ours to signal, is left alone."""
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def processes_of_job(job_id: str) -> list[int]:
    """This user's live processes that a job started (its script and what that started,
    even in sessions of their own): those with ``MOMO_JOB_ID=job_id`` in their environment."""
    marker = f"MOMO_JOB_ID={job_id}".encode()
    uid = os.getuid()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    found.append(int(entry.name))
        except OSError:
            continue
    return found
