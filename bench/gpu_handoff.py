"""Shared GPUs: a GPU given back by one server's job → the next waiting job, of another
server, prints its first line.

Two servers share one lock folder and one GPU (``MOMO_JOBS_GPUS=0``). A job holds the
GPU until the bench releases it; it prints ``END <time>`` and exits. A job waiting on
the other server prints ``FIRST <time>`` as its first line. The handoff is the time
between the two lines (same clock). The baseline is the same handoff inside one
server (both jobs on the same server), measured in the same run, trials alternating.
Both servers run as the user running the bench: across Unix users the path is the
same (the lock folder), only the files' owners differ.

Bar (DESIGN §5): across servers p50 under 250 ms.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from common import Server, header, summary, verdict, write_results

HOLDER = """
import os, sys, time
release = sys.argv[1]
print("START", time.time(), flush=True)
while not (os.path.exists(release) or os.path.exists(os.path.join(os.path.dirname(release), "ALL"))):
    time.sleep(0.005)
print("END", time.time(), flush=True)
"""
WAITER = 'import time; print("FIRST", time.time(), flush=True)\n'


def printed_time(server: Server, job_id: str, word: str, timeout: float = 30.0) -> float:
    path = server.data_dir / "jobs" / job_id / "output.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text().split("\n")[:-1]:  # whole lines only
                if line.startswith(word + " "):
                    return float(line.split()[1])
        time.sleep(0.005)
    raise TimeoutError(f"job {job_id} printed no {word} line in {timeout} s")


def trial(holder_server: Server, waiter_server: Server, release_dir: Path, n: int) -> float:
    release = release_dir / f"release-{n}"
    holder = holder_server.client.submit(holder_server.root / "holder.py", resource="gpu", gpus=1,
                                         args=[str(release)])
    printed_time(holder_server, holder["id"], "START")
    waiter = waiter_server.client.submit(waiter_server.root / "waiter.py", resource="gpu", gpus=1)
    if waiter["status"] != "queued":
        raise RuntimeError(f"the waiting job is {waiter['status']}: the GPU was not held")
    time.sleep(0.3)  # the waiter settles in the line, as a job that has waited a while
    release.touch()
    end = printed_time(holder_server, holder["id"], "END")
    first = printed_time(waiter_server, waiter["id"], "FIRST")
    waiter_server.wait_final(waiter["id"], 30)
    holder_server.wait_final(holder["id"], 30)
    return first - end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=15, help="trials of each kind (default 15)")
    args = parser.parse_args()
    header("Shared GPUs: a freed GPU → the next waiting job's first line")
    work = Path(tempfile.mkdtemp(prefix="momo-bench-handoff-"))
    locks = work / "locks"
    env = {"MOMO_JOBS_GPU_LOCK_DIR": str(locks), "MOMO_JOBS_GPUS": "0"}
    servers = []
    try:
        for _ in range(2):
            server = Server(extra_env=env)
            servers.append(server)
            server.write("holder.py", HOLDER)
            server.write("waiter.py", WAITER)
            server.start()
        a, b = servers
        kinds = {"across servers (lock folder)": (a, b), "inside one server (baseline)": (a, a)}
        times: dict[str, list[float]] = {label: [] for label in kinds}
        for n in range(args.trials):  # alternated, so noise hits both alike
            for k, (label, (holder, waiter)) in enumerate(kinds.items()):
                times[label].append(trial(holder, waiter, work, 2 * n + k))
        figures = {label: summary(label, values) for label, values in times.items()}
        across, inside = figures.values()
        print(f"  across - inside: p50 {1000 * (across['p50'] - inside['p50']):+.1f} ms", flush=True)
        detail = ", ".join(f"{label.split(' (')[0]} {f['p50'] * 1000:.0f} ms (p95 {f['p95'] * 1000:.0f})"
                           for label, f in figures.items())
        verdict("shared GPU handoff p50 < 250 ms", across["p50"] < 0.25, detail)
    finally:
        (work / "ALL").touch()  # a holder left by a failed trial ends too
        time.sleep(0.2)
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
        write_results("gpu_handoff")


if __name__ == "__main__":
    os.environ.pop("CUDA_VISIBLE_DEVICES", None)
    main()
