"""The supervisor's own speed: a job that writes ready-made metric lines flat out.

The script writes 300,000 ``{"metric": "loss", "value": …, "step": i}`` lines with
``sys.stdout.write`` (no ``log_metric``: nothing formats the line but the f-string, so
the supervisor, which reads, time-stamps, logs and parses every line, is the slower
side if any) and times its own loop. It runs, alternately:

- baseline: the same script with its stdout a file, in the job's environment
  (``PYTHONUNBUFFERED=1``, so each write is a system call, as under a supervisor);
- momo-jobs: as a local job through a real server (stdout a pipe to its supervisor).

It also checks that every line is in the log and every point in metrics.jsonl.

Bar (DESIGN §5, "a job that prints metric lines runs within 5% of the same script
writing to a file"): the job's loop within 5% of the baseline's.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import PYTHON, Server, header, median, verdict, write_results

SCRIPT = """\
import sys, time
n, stamp = int(sys.argv[1]), sys.argv[2]
write = sys.stdout.write
t0 = time.perf_counter()
for i in range(n):
    write(f'{{"metric": "loss", "value": {1.0 / (i + 1)!r}, "step": {i}}}\\n')
with open(stamp, "w") as f:
    f.write(repr(time.perf_counter() - t0))
"""


def baseline(script: Path, n: int, tmp: Path) -> float:
    stamp, out = tmp / "base.stamp", tmp / "base.out"
    with open(out, "wb") as f:
        subprocess.run([PYTHON, str(script), str(n), str(stamp)], stdout=f, check=True, cwd=script.parent,
                       env=dict(os.environ, PYTHONUNBUFFERED="1"))
    out.unlink()
    return float(stamp.read_text())


def as_job(server: Server, rel: str, n: int, tmp: Path) -> tuple[float, int, int]:
    stamp = tmp / "job.stamp"
    job = server.client.submit(server.root / rel, args=[str(n), str(stamp)])
    job = server.wait_final(job["id"], 120 + n / 10_000, poll=0.5)
    if job["status"] != "completed":
        raise RuntimeError(f"job {job['id']} {job['status']}: {job['reason']}")
    folder = server.data_dir / "jobs" / job["id"]
    lines = (folder / "output.log").read_bytes().count(b"\n")
    points = sum(1 for line in open(folder / "metrics.jsonl", "rb") if b'"metric": "loss"' in line)
    return float(stamp.read_text()), lines, points


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300_000, help="lines the script writes")
    parser.add_argument("--runs", type=int, default=5, help="trials of each")
    return parser.parse_args()


def main() -> int:
    args = options()
    n = args.lines
    header(f"supervisor speed: {n:,} ready-made metric lines written flat out")
    base, job = [], []
    with Server(cpu_slots=2) as server, tempfile.TemporaryDirectory(prefix="momo-bench-supervisor-") as t:
        tmp = Path(t)
        rel = server.write("flat/flat.py", SCRIPT)
        script = server.root / rel
        for i in range(args.runs):
            base.append(baseline(script, n, tmp))
            loop, lines, points = as_job(server, rel, n, tmp)
            job.append(loop)
            if lines != n or points != n:
                raise RuntimeError(f"the job's log has {lines:,} lines and {points:,} points of {n:,}")
            print(f"  run {i + 1}: to a file {base[-1]:.3f} s, as a job {loop:.3f} s "
                  f"({n / loop:,.0f} lines/s; all {n:,} lines logged and parsed)", flush=True)
    b, j = median(base), median(job)
    # Each job run follows its baseline run: the median of those pairs' ratios is less
    # at the mercy of a load that changes between trials than the ratio of the medians.
    paired = median([jt / bt for jt, bt in zip(job, base)])
    print(f"  loop p50: to a file {b:.3f} s, as a job {j:.3f} s, ratio {j / b:.3f}; median of the paired ratios "
          f"{paired:.3f}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    verdict("ready-made metric lines flat out within 5% of writing to a file", paired <= 1.05,
            f"paired ratio {paired:.3f}, ratio of medians {j / b:.3f} ({j:.3f} s vs {b:.3f} s, "
            f"{n / j:,.0f} lines/s through the supervisor)")
    write_results("supervisor_speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
