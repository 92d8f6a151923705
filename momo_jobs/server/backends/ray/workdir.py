"""What travels to the Ray node with a job, and what comes back.

The script's folder travels as Ray's working dir, so relative data paths work as in
the notebook: a copy (hard links where it can) without ``results/``, ``.git`` and
``.ipynb_checkpoints``, with the job's snapshot as its script and without the
``.gitignore`` files Ray would honour (a tutorial's data is often listed there, and
the script reads it all the same). On the node the job runs under ``carryback.py``,
which copies what it wrote to ``results/`` into the notebook's ``results/``.
"""
from __future__ import annotations

import os
import shlex
import shutil
import time
from pathlib import Path

from ....job import carryback
from ....job.files import RunSpec, read_json
from ....job.limits import parse_time_limit_signal
from ....vocabulary import JobFiles
from ..base import LaunchError

STAGED = "ray-workdir"  # in the job folder, while Ray packs it
LEFT_OUT = {"results", ".git", ".ipynb_checkpoints", "__pycache__"}
IGNORE_FILES = {".gitignore", ".rayignore"}
CARRYBACK = ".momo_carryback.py"
# Ray's limit on a working dir's package (its gRPC message size), when Ray doesn't say.
DEFAULT_LIMIT = 512 << 20


def results_target(run: RunSpec) -> str:
    return str(Path(run.cwd) / "results")


# Runs the script on the node when its time limit has a warning signal, which Ray has no
# call for: the signal to the script's process group at the unix time given (the server's
# deadline less the warning's lead: Ray may take a while to start the job, and the server
# stops it at its deadline). Ray's stop reaches the script itself (Ray signals the
# entrypoint's whole process tree), so this one ignores it.
_WARNER = ";".join([
    "import os,signal,subprocess,sys,threading,time",
    "s,w=int(sys.argv[1]),max(0.0,float(sys.argv[2])-time.time())",
    "p=subprocess.Popen(sys.argv[3:],start_new_session=True)",
    "[signal.signal(g,signal.SIG_IGN) for g in (signal.SIGTERM,signal.SIGINT)]",
    "t=threading.Timer(w,lambda:p.poll() is None and os.killpg(p.pid,s))",
    "t.daemon=True",
    "t.start()",
    "c=p.wait()",
    "c<0 and (signal.signal(-c,signal.SIG_DFL),os.kill(os.getpid(),-c))",
    "sys.exit(c if c>=0 else 1)",
])


def entrypoint_for(run: RunSpec, launched_at: float | None = None) -> str:
    """The command Ray runs on the node, in the working dir (``launched_at``: when the
    server started the attempt, which its time limit counts from). The cluster's Python:
    the interpreter path of this server means nothing there."""
    command = ["python", Path(run.script).name, *run.args]
    if run.time_limit and run.time_limit_signal:
        sig, before = parse_time_limit_signal(run.time_limit_signal)
        warn_at = (launched_at or time.time()) + max(0.0, run.time_limit - before)
        command = ["python", "-c", _WARNER, str(int(sig)), f"{warn_at:.3f}", *command]
    return shlex.join(["python", CARRYBACK, run.job_id, results_target(run), "--", *command])


def _package_limit() -> int:
    try:  # Ray is the ray extra's: imported here only
        from ray._private.runtime_env.packaging import GCS_STORAGE_MAX_SIZE
        return int(GCS_STORAGE_MAX_SIZE)
    except Exception:
        return DEFAULT_LIMIT


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _ignore(folder: str, names: list[str]) -> set[str]:
    """What stays behind: results/ and the like, the ignore files, and job folders (a
    data dir kept beside the script; the job's own folder holds the copy being made)."""
    return {n for n in names if n in LEFT_OUT or n in IGNORE_FILES
            or os.path.exists(os.path.join(folder, n, JobFiles.SPEC))}


def _sizes(root: Path) -> list[tuple[int, str]]:
    """(size, path) of each file, largest first."""
    sizes = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            sizes.append((path.stat().st_size, path.relative_to(root).as_posix()))
    return sorted(sizes, reverse=True)


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def stage(run: RunSpec) -> Path:
    """The working dir to hand to Ray, made in the job folder; LaunchError if it is too big."""
    staged = run.folder / STAGED
    shutil.rmtree(staged, ignore_errors=True)
    try:
        shutil.copytree(run.cwd, staged, symlinks=False, ignore=_ignore, copy_function=_link_or_copy)
        shutil.copy2(run.script, staged / Path(run.script).name)  # the script as it was at submit time
        shutil.copy2(carryback.__file__, staged / CARRYBACK)
    except (OSError, shutil.Error) as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise LaunchError(f"could not gather the script's folder for the Ray cluster: {exc}") from exc
    sizes = _sizes(staged)
    total = sum(size for size, _ in sizes)
    limit = _package_limit()
    if total >= limit:
        shutil.rmtree(staged, ignore_errors=True)
        names = ", ".join(f"{name} ({_mib(size)})" for size, name in sizes[:3])
        raise LaunchError(f"the script's folder is {_mib(total)}, over Ray's limit of {_mib(limit)} for a "
                          f"job's working dir; the largest files: {names}. Move big data to storage the "
                          "cluster's nodes read, or out of the script's folder")
    return staged


def unstage(run: RunSpec) -> None:
    shutil.rmtree(run.folder / STAGED, ignore_errors=True)


def results_note(run: RunSpec) -> str | None:
    """After the job: None if its results came back (the note carryback left, removed
    now), else what to add to its reason."""
    note = Path(results_target(run)) / carryback.note_name(run.job_id)
    if read_json(note) is not None:
        note.unlink(missing_ok=True)
        return None
    return ("its results/ did not come back from the Ray node (the notebook's folder is not reachable "
            "there, or the job was killed before copying; see the end of its log)")
