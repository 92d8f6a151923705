"""Other Unix users for tests of a shared machine: the users themselves (made with
useradd when absent), a Python they can run with momo-jobs installed, and folders
they can use.

The test runner's Python may live where other users can't enter (pyenv in root's
home), so theirs is a venv made from Debian's /usr/bin/python3 under /var/tmp, with
momo-jobs installed from a wheel of this checkout; it is kept across runs, named by a
hash of the project's Python files.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"
ENV_PARENT = Path("/var/tmp")
ENV_PREFIX = "momo-jobs-test-env-"


def why_not() -> str | None:
    """Why tests as other users can't run here, or None."""
    if os.geteuid() != 0:
        return "running servers as other Unix users needs root (setpriv, useradd)"
    for tool in ("setpriv", "useradd"):
        if shutil.which(tool) is None:
            return f"{tool} is missing"
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} is missing (apt-get install python3 python3-venv)"
    return None


def ensure_user(name: str) -> tuple[int, int]:
    """(uid, gid) of a test user, made when absent."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def project_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted([*REPO.joinpath("momo_jobs").rglob("*.py"), REPO / "pyproject.toml"]):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def shared_python() -> str:
    """The path of a Python every user can run, with this checkout's momo-jobs installed."""
    env_dir = ENV_PARENT / f"{ENV_PREFIX}{project_hash()}"
    python = env_dir / "bin" / "python"
    ready = env_dir / ".ready"
    with open(ENV_PARENT / f"{ENV_PREFIX}build.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists():
            return str(python)
        for old in ENV_PARENT.glob(f"{ENV_PREFIX}*"):
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        _run([SYSTEM_PYTHON, "-m", "venv", str(env_dir)])
        with tempfile.TemporaryDirectory() as wheels:
            _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheels,
                  str(REPO)], env=dict(os.environ, SKIP_JUPYTER_BUILDER="1"))
            wheel = next(Path(wheels).glob("*.whl"))
            _run([str(python), "-m", "pip", "install", "-q", str(wheel), "nvidia-ml-py"], attempts=3)
        os.chmod(env_dir, 0o755)
        ready.touch()
    return str(python)


def _run(argv: list[str], attempts: int = 1, **kwargs) -> None:
    """Runs a setup step; a failure says what the step printed (a package index that
    doesn't answer for a moment is tried again)."""
    for attempt in range(attempts):
        done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
        if done.returncode == 0:
            return
    errors = [line for line in (done.stdout + done.stderr).splitlines() if "WARNING: Location" not in line]
    raise RuntimeError(f"{' '.join(argv[:4])} … failed ({done.returncode}):\n" + "\n".join(errors[-30:]))


def shared_folder(prefix: str, mode: int = 0o755) -> Path:
    """A fresh folder under /tmp that other users can enter (pytest's own are root's alone)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(path, mode)
    return path


def run_as(uid: int, gid: int, argv: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *argv], **kwargs)
