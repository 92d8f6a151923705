"""Every call the Slurm backend makes (sbatch, squeue, scancel, sinfo) and the parsing
of their answers. The commands find their cluster as a user's shell does
(``SLURM_CONF``, or the system's ``slurm.conf``)."""
from __future__ import annotations

import asyncio
import math
import re
import shlex
from dataclasses import dataclass
from datetime import datetime

from ....job.files import RunSpec
from ....vocabulary import Resource

COMMAND_TIMEOUT = 30.0
# squeue's fields, one job a line: id, state, reason, user, priority, requested GRES,
# nodes, partition, start time. "|" is in none of them.
SQUEUE_FORMAT = "%i|%T|%r|%u|%Q|%b|%N|%P|%S"
SINFO_FORMAT = "%N|%G|%c"


class SlurmUnavailable(Exception):
    """The controller could not be asked (down, slow, or the commands are missing)."""


class SlurmRefused(Exception):
    """Slurm answered, and said no (sbatch's error, for the user)."""


async def slurm(*argv: str, timeout: float = COMMAND_TIMEOUT) -> str:
    """Runs a Slurm command; its output, or SlurmUnavailable / SlurmRefused."""
    try:
        proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
    except OSError as exc:
        raise SlurmUnavailable(f"{argv[0]}: {exc} (is Slurm's client installed?)") from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise SlurmUnavailable(f"{argv[0]} did not answer within {timeout:.0f} s") from None
    if proc.returncode != 0:
        text = (err or out).decode(errors="replace").strip()
        if _controller_down(text):
            raise SlurmUnavailable(f"{argv[0]}: {text}")
        raise SlurmRefused(text or f"{argv[0]} failed (exit code {proc.returncode})")
    return out.decode(errors="replace")


def _controller_down(text: str) -> bool:
    lowered = text.lower()
    return any(s in lowered for s in ("unable to contact slurm controller", "connection refused",
                                      "socket timed out", "slurm_receive_msg", "communication connection failure",
                                      "zero bytes were transmitted", "transient"))


def seconds_for_slurm(seconds: float) -> str:
    """A duration as sbatch's ``--time`` takes it: ``minutes:seconds``."""
    whole = max(1, math.ceil(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def time_options(run: RunSpec) -> list[str]:
    """``--time`` and ``--signal`` from the job's time limit (seconds) and warning
    signal (``"USR1@60"``), when the RunSpec has them."""
    limit = getattr(run, "time_limit", None)
    if not limit:
        return []
    options = [f"--time={seconds_for_slurm(float(limit))}"]
    warning = getattr(run, "time_limit_signal", None)
    if warning:
        sig, _, before = str(warning).partition("@")
        sig = sig.upper().removeprefix("SIG")
        # B: only the batch step, where momo's supervisor passes it to the job's processes.
        options.append(f"--signal=B:{sig}@{int(float(before))}" if before else f"--signal=B:{sig}")
    return options


def sbatch_argv(run: RunSpec, script: str, output: str, job_name: str, partition: str | None,
                extra: str | None) -> list[str]:
    """The sbatch command for one job. The site's extra options come last, so they win
    (``--cpus-per-task=4``, ``--mem=16G``, ``--account=…``)."""
    argv = ["sbatch", "--parsable", f"--job-name={job_name}", f"--output={output}", "--open-mode=append",
            f"--chdir={run.cwd}", "--cpus-per-task=1"]
    if run.resource == Resource.GPU.value and run.gpus:
        argv.append(f"--gres=gpu:{run.gpus}")
    if partition:
        argv.append(f"--partition={partition}")
    argv += time_options(run)
    argv += shlex.split(extra or "")
    return argv + [script]


def batch_script(python: str, job_dir: str, node_file: str, exit_name: str) -> str:
    """What the Slurm job runs: momo's supervisor, as for a local job, in the job folder
    on the shared filesystem; first it notes the node and the GPUs Slurm gave it."""
    q = shlex.quote
    return ("#!/bin/sh\n"
            f"printf '%s %s\\n' \"${{SLURMD_NODENAME:-$(hostname)}}\" \"${{SLURM_JOB_GPUS:-}}\" > {q(node_file)}\n"
            f"exec {q(python)} -m momo_jobs.supervisor --exit-as {q(exit_name)} {q(job_dir)}\n")


@dataclass
class SlurmJob:
    """One line of squeue."""

    id: str
    state: str
    reason: str
    user: str
    priority: int
    gpus: int
    nodes: str
    partition: str
    start: float | None  # unix time, when it started (or is expected to)


def _gpu_count(gres: str) -> int:
    """``gres:gpu:2``, ``gres/gpu:a100:2``, ``gpu:1``, ``(null)`` → GPUs asked for."""
    total = 0
    for part in gres.split(","):
        m = re.search(r"gpu(?::[^:,()]+)?:(\d+)", part)
        if m:
            total += int(m.group(1))
        elif re.search(r"\bgpu\b", part) and not re.search(r"\d", part):
            total += 1
    return total


def _unix(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp()  # Slurm writes the controller's local time
    except ValueError:
        return None


def parse_squeue(text: str) -> dict[str, SlurmJob]:
    jobs = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 9 or not parts[0]:
            continue
        job_id, state, reason, user, priority, gres, nodes, partition, start = parts
        try:
            prio = int(priority)
        except ValueError:
            prio = 0
        jobs[job_id] = SlurmJob(id=job_id, state=state.split()[0].rstrip("+"), reason=reason, user=user,
                                priority=prio, gpus=_gpu_count(gres), nodes=nodes, partition=partition,
                                start=_unix(start))
    return jobs


def parse_sinfo(text: str) -> list[tuple[str, int, int]]:
    """(node, GPUs, CPUs) per node, each node once."""
    nodes: dict[str, tuple[str, int, int]] = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 3 or not parts[0]:
            continue
        node, gres, cpus = parts
        try:
            n_cpus = int(cpus)
        except ValueError:
            n_cpus = 0
        nodes[node] = (node, _gpu_count(gres), n_cpus)
    return list(nodes.values())


def pending_places(jobs: dict[str, SlurmJob]) -> dict[str, int]:
    """Each pending job's 1-based place among its partition's pending jobs, highest
    priority first (then the older job id), as Slurm's scheduler looks at them."""
    places: dict[str, int] = {}
    by_partition: dict[str, list[SlurmJob]] = {}
    for job in jobs.values():
        if job.state == "PENDING":
            by_partition.setdefault(job.partition, []).append(job)
    for pending in by_partition.values():
        pending.sort(key=lambda j: (-j.priority, int(j.id) if j.id.isdigit() else 0))
        places.update({j.id: i + 1 for i, j in enumerate(pending)})
    return places
