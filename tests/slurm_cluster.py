"""A throwaway single-node Slurm cluster for tests, from Debian's packages
(slurmctld, slurmd, slurm-client, munge).

Everything it has lives in its own temporary folder: a munge key and a munged with
its own socket, pid and log files; a ``slurm.conf`` on loopback with free ports, its
own state and spool dirs and pid files; two fake GPUs (``gres.conf`` ``File=`` two
tty devices: Slurm only needs device files to hand out). No accounting storage, so
no ``sacct``. Clients find it through ``SLURM_CONF``.

It is torn down through its own pid files, never by name: every job is cancelled
first (slurmd ignores SIGTERM while job steps run), then slurmd, slurmctld, munged.

Use it from a test module::

    from slurm_cluster import slurm_cluster  # noqa: F401  (session fixture)

or by hand: ``python tests/slurm_cluster.py`` prints the ``SLURM_CONF`` to export
and keeps the cluster up until Ctrl-C.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from momo_jobs.server.backends.processes import process_alive
from ray_head import free_ports

DAEMONS = ("slurmctld", "slurmd", "munged", "mungekey", "sbatch", "squeue", "scancel", "sinfo", "scontrol")
GPU_DEVICES = ("/dev/tty10", "/dev/tty11")
NODE = "momonode"
PARTITION = "momo"


def missing_tools() -> list[str]:
    return [t for t in DAEMONS if shutil.which(t) is None and not Path("/usr/sbin", t).exists()]


def _tool(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class SlurmCluster:
    def __init__(self, cpus: int = 4, gpus: int = 2):
        self.cpus = cpus
        self.gpus = gpus
        self.dir: Path | None = None
        self.conf: Path | None = None
        self.partition = PARTITION

    # paths

    def path(self, name: str) -> Path:
        assert self.dir is not None
        return self.dir / name

    @property
    def env(self) -> dict[str, str]:
        """What a Slurm client needs to find this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([_tool(argv[0]), *argv[1:]], env={**os.environ, **self.env}, text=True,
                              capture_output=True, check=check, timeout=timeout)

    # life

    def start(self) -> "SlurmCluster":
        # Socket paths must stay short: a folder right under /tmp.
        self.dir = Path(tempfile.mkdtemp(prefix="momo-slurm-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        for sub in ("state", "spool", "munge"):
            self.path(sub).mkdir(mode=0o700)
        steps = (self._start_munge, self._write_config, self._start_daemons)
        try:
            for step in steps:
                step()
        except BaseException:  # what started is ended again, through its pid files
            self.stop()
            raise
        return self

    def _start_munge(self) -> None:
        key = self.path("munge/munge.key")
        subprocess.run([_tool("mungekey"), "--create", f"--keyfile={key}"], check=True, capture_output=True)
        os.chmod(key, 0o400)
        subprocess.run([
            _tool("munged"), "--force", f"--key-file={key}", f"--socket={self.path('munge/munge.socket')}",
            f"--pid-file={self.path('munge/munged.pid')}", f"--log-file={self.path('munge/munged.log')}",
            f"--seed-file={self.path('munge/munged.seed')}",
        ], check=True, capture_output=True, timeout=30)

    def _write_config(self) -> None:
        ctld_port, slurmd_port = free_ports(2)
        d = self.dir
        self.conf = self.path("slurm.conf")
        self.conf.write_text(f"""\
ClusterName=momotest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d}/munge/munge.socket
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobContainerType=job_container/none
SwitchType=switch/none
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
SlurmdParameters=config_overrides
ReturnToService=2
SlurmctldTimeout=300
SlurmdTimeout=300
MessageTimeout=10
KillWait=5
MinJobAge=300
NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname={socket.gethostname()} CPUs={self.cpus} Gres=gpu:{self.gpus} RealMemory=1000 State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
""")
        lines = [f"NodeName={NODE} Name=gpu File={dev}" for dev in GPU_DEVICES[:self.gpus]]
        self.path("gres.conf").write_text("\n".join(lines) + "\n")

    def _start_daemons(self) -> None:
        env = {**os.environ, **self.env}
        self.start_controller()
        subprocess.run([_tool("slurmd"), "-f", str(self.conf), "-N", NODE], env=env, check=True,
                       capture_output=True, timeout=60)
        self._wait_node_idle()

    def start_controller(self) -> None:
        env = {**os.environ, **self.env}
        subprocess.run([_tool("slurmctld"), "-f", str(self.conf)], env=env, check=True, capture_output=True,
                       timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.run("sinfo", "-h", "-o", "%T", check=False, timeout=15).returncode == 0:
                return
            time.sleep(0.3)
        raise RuntimeError(f"slurmctld did not answer:\n{self._log_tail('slurmctld.log')}")

    def stop_controller(self) -> None:
        """Stops slurmctld (jobs go on running under slurmd)."""
        self._stop_daemon(self.path("slurmctld.pid"))

    def _wait_node_idle(self) -> None:
        deadline = time.monotonic() + 90
        state = ""
        while time.monotonic() < deadline:
            out = self.run("sinfo", "-h", "-N", "-o", "%T", check=False, timeout=15)
            state = out.stdout.strip()
            if state.startswith("idle"):
                return
            if state.startswith(("down", "drain")):
                self.run("scontrol", "update", f"NodeName={NODE}", "State=RESUME", check=False)
            time.sleep(0.5)
        raise RuntimeError(f"the node did not come up ({state!r}):\n{self._log_tail('slurmd.log')}")

    def _log_tail(self, name: str) -> str:
        try:
            return "\n".join(self.path(name).read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"

    def cancel_all(self, wait: float = 60) -> None:
        if self.conf is None or not self.conf.exists():
            return
        self.run("scancel", "--full", "--signal=KILL", f"--partition={PARTITION}", check=False)
        self.run("scancel", f"--partition={PARTITION}", check=False)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            out = self.run("squeue", "-h", "-o", "%i", check=False, timeout=15)
            if out.returncode != 0 or not out.stdout.strip():
                return
            time.sleep(0.5)

    def _stop_daemon(self, pid_file: Path, timeout: float = 30) -> None:
        """Ends the daemon whose pid file this is (the name guards against a reused pid)."""
        pid = _read_pid(pid_file)
        name = pid_file.name.removesuffix(".pid")

        def alive() -> bool:
            return pid is not None and process_alive(pid, name)

        if not alive():
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive():
            time.sleep(0.1)
        if alive():
            os.kill(pid, signal.SIGKILL)
            while alive():
                time.sleep(0.1)

    def stop(self) -> None:
        if self.dir is None:
            return
        ctld = _read_pid(self.path("slurmctld.pid"))
        if ctld is not None and process_alive(ctld, "slurmctld"):
            self.cancel_all()
        for name in ("slurmd.pid", "slurmctld.pid", "munge/munged.pid"):
            self._stop_daemon(self.path(name))
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


@pytest.fixture(scope="session")
def slurm_cluster():
    missing = missing_tools()
    if missing:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)}): `make test` apt-installs it")
    if os.geteuid() != 0:
        pytest.skip("the test Slurm cluster runs its daemons as root")
    cluster = SlurmCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


if __name__ == "__main__":
    c = SlurmCluster().start()
    print(f"export SLURM_CONF={c.conf}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()
