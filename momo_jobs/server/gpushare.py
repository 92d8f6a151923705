"""Shared GPUs, the server's side: this server's tickets in the lock folder, and what
the folder says about everyone else (DESIGN §2 "Shared GPUs").

The folder (``gpu_lock_dir``) holds, every file usable by every user:

- ``gpu-<name>.lock``: one per GPU; a running job's tree holds it (job/gpulocks.py).
- ``holder-<uid>-<job>.json``: who holds which GPUs since when; locked by that job's tree.
- ``ticket-<uid>-<job>.json``: a waiting GPU job of some server, locked by that server,
  so a dead server's tickets read as stale: its place in the common line (when it was
  submitted, how many GPUs, which GPUs it may take) and, once its server has chosen its
  GPUs and is starting it, those GPUs (``claim``) until the job's own locks hold them.
- ``schedule.lock``: held by a server while it decides what starts, so two servers
  never give one GPU away at once.

A file whose lock nobody holds is stale: its owner's server removes it on sight, others
skip it (in a sticky folder only the owner may remove a file).
"""
from __future__ import annotations

import asyncio
import fcntl
import json
import os
import stat
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

from ..job.files import iso_from_unix
from ..job.gpulocks import is_held, is_locked, lock_file_name, open_lock_file, user_name, write_locked_file
from ..vocabulary import GpuInfo, Inventory, JobFiles
from .gpus import compute_processes
from .scheduler import SharedGpus, Waiter, created_unix, held_gpus

MUTEX = "schedule.lock"
# Filesystems on which flock is emulated, per client or not at all.
NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "ceph", "glusterfs", "lustre",
                       "gpfs", "beegfs", "fuse.sshfs", "fuse.glusterfs", "fuse.cephfs", "fuse.s3fs", "fuse.gcsfuse",
                       "davfs", "fuse.rclone", "fuse.juicefs", "virtiofs"}
MUTEX_RETRY_SECONDS = 0.002


class LockDirError(ValueError):
    """The lock folder can't be used; the message says why and what to do."""


def filesystem_type(path: Path, mountinfo: str) -> str:
    """The type of the filesystem ``path`` lies on, from the text of /proc/self/mountinfo."""
    best, kind = "", ""
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 5 or not rest:
            continue
        mount = fields[4].replace("\\040", " ")
        inside = str(path) == mount or str(path).startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, rest[0]
    return kind


def prepare_lock_dir(path: Path, mountinfo: str | None = None) -> Path:
    """Makes sure the lock folder can be shared: created (mode 1777, whatever the umask)
    when absent; refused on a network filesystem or where this user can't write."""
    path = Path(path)
    if not path.is_dir():
        try:
            path.mkdir(parents=True)
            os.chmod(path, 0o1777)
        except FileExistsError:
            pass
        except OSError as exc:
            raise LockDirError(f"gpu_lock_dir {path}: can't create it: {exc}") from None
    real = Path(os.path.realpath(path))
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    kind = filesystem_type(real, mountinfo)
    if kind in NETWORK_FILESYSTEMS or kind.startswith("nfs"):
        raise LockDirError(f"gpu_lock_dir {path} is on a network filesystem ({kind}), where flock is not "
                           f"reliable: use a local folder such as /run/momo-jobs (a tmpfs)")
    if not os.access(real, os.W_OK | os.X_OK):
        mode = stat.filemode(real.stat().st_mode)
        raise LockDirError(f"gpu_lock_dir {path} ({mode}) is not writable by this user: give it mode 1777 "
                           f"(chmod 1777 {path}) or a group every user of the GPUs is in (chmod 2770)")
    return real


@dataclass
class Holder:
    """Who holds a GPU: a job of some server (its user, since when), as its holder file says."""

    user: str
    uid: int
    since: float
    job: str


@dataclass
class Ticket:
    """A waiting GPU job's place in the common line."""

    user: str
    uid: int
    job: str
    created: float
    gpus: int
    pool: list[str]  # lock names of the GPUs its server may give it
    claim: list[str] | None = None  # lock names chosen for it while it starts


@dataclass
class LockFolderView:
    """One look at the lock folder: every held GPU lock, live holder files and other
    servers' live tickets."""

    locked: set[str] = field(default_factory=set)  # lock names held by some job's tree
    holders: dict[str, Holder] = field(default_factory=dict)  # lock name → its holder
    tickets: list[Ticket] = field(default_factory=list)  # other servers' tickets

    def held_per_user(self) -> dict[str, int]:
        """GPUs each user's jobs hold or are being started on, each job counted once."""
        jobs: dict[str, tuple[str, int]] = {}
        for name, holder in self.holders.items():
            user, count = jobs.get(holder.job, (holder.user, 0))
            jobs[holder.job] = (user, count + 1)
        for ticket in self.tickets:
            if ticket.claim and ticket.job not in jobs:
                jobs[ticket.job] = (ticket.user, len(ticket.claim))
        counts: dict[str, int] = {}
        for user, count in jobs.values():
            counts[user] = counts.get(user, 0) + count
        return counts


def _read_live(path: Path, own_uid: int) -> dict | None:
    """The content of a holder or ticket file if its lock is held; a stale one of this
    user is removed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        if not is_held(fd):
            if os.fstat(fd).st_uid == own_uid:
                try:
                    os.unlink(path)
                except OSError:
                    pass
            return None
        data = os.read(fd, 1 << 16)
    finally:
        os.close(fd)
    try:
        content = json.loads(data)
    except ValueError:  # being rewritten: its writer holds the folder's mutex
        return None
    return content if isinstance(content, dict) else None


class GpuShare:
    """This server's presence in the lock folder: its tickets, the folder's mutex, and
    reading what every server's jobs hold and wait for."""

    def __init__(self, lock_dir: Path):
        self.folder = Path(lock_dir)
        self.uid = os.getuid()
        self.user = user_name(self.uid)
        self._lock_fds: dict[str, int] = {}  # kept open to look at the locks cheaply
        self._tickets: dict[str, tuple[int, Ticket]] = {}  # job id → (fd holding it, ticket)
        self._mutex_fd: int | None = None

    def close(self) -> None:
        for fd in self._lock_fds.values():
            os.close(fd)
        self._lock_fds.clear()
        for job_id in list(self._tickets):
            self.drop_ticket(job_id)
        if self._mutex_fd is not None:
            os.close(self._mutex_fd)
            self._mutex_fd = None

    @asynccontextmanager
    async def mutex(self) -> AsyncIterator[None]:
        """Held while this server decides what starts and writes its claims."""
        if self._mutex_fd is None:
            self._mutex_fd = open_lock_file(self.folder / MUTEX)
        while True:
            try:
                fcntl.flock(self._mutex_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(MUTEX_RETRY_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(self._mutex_fd, fcntl.LOCK_UN)

    # this server's tickets

    def _ticket_path(self, job_id: str) -> Path:
        return self.folder / f"ticket-{self.uid}-{job_id}.json"

    def has_ticket(self, job_id: str) -> bool:
        return job_id in self._tickets

    def own_tickets(self) -> list[Ticket]:
        return [ticket for _, ticket in self._tickets.values()]

    def take_ticket(self, job_id: str, created: float, gpus: int, pool: list[str]) -> None:
        if job_id in self._tickets:
            return
        ticket = Ticket(user=self.user, uid=self.uid, job=job_id, created=created, gpus=gpus, pool=pool)
        fd = write_locked_file(self._ticket_path(job_id), ticket.__dict__, exclusive=True)
        self._tickets[job_id] = (fd, ticket)

    def claim(self, job_id: str, gpus: list[str]) -> None:
        """Marks the job's ticket as starting on these GPUs (written under the mutex)."""
        entry = self._tickets.get(job_id)
        if entry is None:
            return
        fd, ticket = entry
        ticket.claim = list(gpus)
        data = json.dumps(ticket.__dict__).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)

    def drop_ticket(self, job_id: str) -> None:
        entry = self._tickets.pop(job_id, None)
        if entry is None:
            return
        try:
            os.unlink(self._ticket_path(job_id))
        except OSError:
            pass
        os.close(entry[0])

    # everyone's state

    def _lock_fd(self, name: str) -> int:
        fd = self._lock_fds.get(name)
        if fd is None:
            fd = self._lock_fds[name] = open_lock_file(self.folder / lock_file_name(name))
        return fd

    def look(self, names: list[str]) -> LockFolderView:
        """Which of these GPU locks are held, every live holder and every other server's live ticket."""
        view = LockFolderView(locked={name for name in names if is_locked(self._lock_fd(name))})
        own = {str(self._ticket_path(job_id)) for job_id in self._tickets}
        try:
            entries = sorted(os.scandir(self.folder), key=lambda e: e.name)
        except OSError:
            entries = []
        for entry in entries:
            holder_file = entry.name.startswith("holder-")
            ticket_file = entry.name.startswith("ticket-") and entry.path not in own
            if not (holder_file or ticket_file) or not entry.name.endswith(".json"):
                continue
            content = _read_live(Path(entry.path), self.uid)
            if not content:
                continue
            try:
                if holder_file:
                    holder = Holder(user=str(content["user"]), uid=int(content["uid"]),
                                    since=float(content["since"]), job=str(content["job"]))
                    view.holders.update({str(gpu): holder for gpu in content["gpus"]})
                else:
                    view.tickets.append(Ticket(
                        user=str(content["user"]), uid=int(content["uid"]), job=str(content["job"]),
                        created=float(content["created"]), gpus=int(content["gpus"]),
                        pool=[str(g) for g in content["pool"]],
                        claim=[str(g) for g in content["claim"]] if content.get("claim") else None))
            except (KeyError, TypeError, ValueError):  # not a file of this version: skipped
                continue
        return view


def shared_gpus(view: LockFolderView, pool: list[GpuInfo], running_here: set[str], own_user: str,
                busy: dict[str, str], max_gpus_per_user: int | None) -> SharedGpus:
    """The scheduler's data from one look at the folder: this pool's GPUs that others
    have (a lock this server's jobs don't hold, a claim of another server, a process
    that is no momo job), and the waiters of other servers, in this pool's ids."""
    index_of = {g.lock_name: g.index for g in pool}
    taken: dict[str, str] = {}
    for gpu in pool:
        holder = view.holders.get(gpu.lock_name)
        if gpu.index in running_here:
            continue
        if gpu.lock_name in view.locked:
            taken[gpu.index] = f"held by {holder.user}" if holder else "held by another job"
        elif gpu.index in busy:
            taken[gpu.index] = busy[gpu.index]
    waiters = []
    for ticket in view.tickets:
        if ticket.claim:
            for name in ticket.claim:
                if name in index_of and index_of[name] not in running_here:
                    taken.setdefault(index_of[name], f"held by {ticket.user}")
            continue
        waiters.append(Waiter(user=ticket.user, created=ticket.created, gpus=ticket.gpus,
                              pool=[index_of[name] for name in ticket.pool if name in index_of]))
    return SharedGpus(user=own_user, taken=taken, waiters=waiters, held_per_user=view.held_per_user(),
                      max_gpus_per_user=max_gpus_per_user)


def size_text(n: int) -> str:
    gib = n / (1 << 30)
    return f"{gib:.0f} GiB" if gib >= 10 else f"{gib:.1f} GiB" if gib >= 1 else f"{n / (1 << 20):.0f} MiB"


def process_owner(pid: int) -> str | None:
    """The user a process runs as, or None when the pid doesn't resolve here (another
    pid namespace, a container)."""
    try:
        return user_name(os.stat(f"/proc/{pid}").st_uid)
    except OSError:
        return None


def foreign_usage(processes: dict[str, list[tuple[int, int]]], locked: set[str], pool: list[GpuInfo],
                  threshold_bytes: int) -> dict[str, str]:
    """GPU index → why it is busy, for GPUs no momo job holds on which compute processes
    use more than the threshold (a momo job's processes are only on the GPUs it locked)."""
    busy = {}
    for gpu in pool:
        procs = processes.get(gpu.index, [])
        if gpu.lock_name in locked or not procs:
            continue
        used = sum(memory for _, memory in procs)
        if used <= threshold_bytes:
            continue
        owners = sorted({owner for owner in (process_owner(pid) for pid, _ in procs) if owner})
        if len(procs) == 1 and owners:
            who = f"a process of {owners[0]}"
        elif owners:
            who = f"processes of {', '.join(owners)}"
        else:
            who = "processes that are no momo job"
        busy[gpu.index] = f"used by {who}, {size_text(used)}"
    return busy


FOREIGN_LOOK_SECONDS = 1.0


class SharedGpuLine:
    """The service's side of the common GPU line: keeps this server's tickets in step
    with its queue, gives the scheduler what the folder says, and says who holds what."""

    def __init__(self, share: GpuShare, settings):
        self.share = share
        self.folder = str(share.folder)
        self.max_gpus_per_user = settings.max_gpus_per_user
        self.foreign_bytes = int(settings.gpu_foreign_memory_mib) << 20
        self.notes: list[str] = []  # why GPUs that look free are busy, for waiting jobs' reasons
        self._busy: dict[str, str] = {}
        self._busy_at = 0.0

    def close(self) -> None:
        self.share.close()

    def mutex(self):
        return self.share.mutex()

    def in_line(self) -> bool:
        """Whether this server has jobs waiting in, or starting from, the common line."""
        return bool(self.share.own_tickets())

    def _sync_tickets(self, queued: list[dict], running: list[dict], pool: list[GpuInfo]) -> None:
        names = [g.lock_name for g in pool]
        waiting = {j["id"]: j for j in queued if j["resource"] == "gpu"}
        for job in waiting.values():
            self.share.take_ticket(job["id"], created_unix(job), job["gpus"], names)
        started = {j["id"]: j for j in running}
        for ticket in self.share.own_tickets():
            if ticket.job in waiting:
                continue
            job = started.get(ticket.job)
            folder = Path(job["job_dir"]) if job else None
            # A starting job's claim stands until its own locks hold its GPUs.
            if folder is None or ticket.claim is None or (folder / JobFiles.SUPERVISOR).exists() \
                    or (folder / JobFiles.EXIT).exists():
                self.share.drop_ticket(ticket.job)

    def _foreign(self, locked: set[str], pool: list[GpuInfo]) -> dict[str, str]:
        now = time.monotonic()
        if now - self._busy_at >= FOREIGN_LOOK_SECONDS:
            self._busy_at = now
            self._busy = foreign_usage(compute_processes(pool), locked, pool, self.foreign_bytes)
        return {index: why for index, why in self._busy.items()
                if next(g for g in pool if g.index == index).lock_name not in locked}

    def look(self, queued: list[dict], running: list[dict], inventory: Inventory) -> SharedGpus:
        """Called under the mutex, before the scheduler decides."""
        pool = inventory.gpus
        self._sync_tickets(queued, running, pool)
        view = self.share.look([g.lock_name for g in pool])
        # This server's jobs being started count for their user until their locks hold.
        view.tickets += [ticket for ticket in self.share.own_tickets() if ticket.claim]
        busy = self._foreign(view.locked, pool)
        self.notes = [f"GPU {index} {why}" for index, why in sorted(busy.items())]
        return shared_gpus(view, pool, set(held_gpus(running)), self.share.user, busy, self.max_gpus_per_user)

    def claim(self, job_id: str, gpu_ids: list[str], inventory: Inventory) -> None:
        names = {g.index: g.lock_name for g in inventory.gpus}
        self.share.claim(job_id, [names[i] for i in gpu_ids])

    def describe_holders(self, gpus: list[dict], pool: list[GpuInfo], running: dict[str, dict]) -> None:
        """Adds to each GPU of /resources who holds it (``held_by``: this server's job, or
        another server's user and since when, never their job) and why it is busy."""
        view = self.share.look([g.lock_name for g in pool])
        busy = self._foreign(view.locked, pool)
        for entry, gpu in zip(gpus, pool):
            job = running.get(entry["holder"]) if entry["holder"] else None
            holder = view.holders.get(gpu.lock_name)
            if job is not None:
                entry["held_by"] = {"user": self.share.user, "since": job.get("started_at"), "job": job["id"]}
            elif gpu.lock_name in view.locked:
                entry["held_by"] = {"user": holder.user if holder else None,
                                    "since": iso_from_unix(holder.since) if holder else None, "job": None}
            else:
                entry["held_by"] = None
            entry["busy"] = busy.get(gpu.index)
