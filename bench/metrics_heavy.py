"""A metric-heavy job: 1,000,000 metric lines.

The script prints its metrics with ``momo_jobs.log_metric`` (one flushed line
each) and times its own loop. It is run, alternately:

- baseline: ``python script.py > file`` (the same script writing to a file,
  with the job's environment: PYTHONUNBUFFERED=1);
- momo-jobs: as a local job (stdout a pipe to its supervisor, which writes the
  log, parses every line and records the points; the server moves them into
  SQLite while the job runs).

It reports the loop time and the whole run (spawn to exit; for the job, its
started_at to finished_at), then the time from the job's end until every point
is queryable through the API (the series' count equals the lines printed, and
the CSV export holds them all).

Bar (DESIGN §5): the job within 5% of the baseline; every point queryable.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from common import PYTHON, Server, header, median, verdict, write_results

SCRIPT = """\
import sys, time
from momo_jobs import log_metric
n, stamp = int(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
for i in range(n):
    log_metric("loss", 1.0 / (i + 1), step=i)
with open(stamp, "w") as f:
    f.write(f"{time.perf_counter() - t0!r} {time.process_time()!r}")
"""


def unix(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def stamp_of(path: Path) -> tuple[float, float]:
    """(loop seconds, the script's CPU seconds) as the script wrote them."""
    loop, cpu = path.read_text().split()
    return float(loop), float(cpu)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def baseline(script: Path, n: int, tmp: Path) -> tuple[float, float, float]:
    stamp, out = tmp / "base.stamp", tmp / "base.out"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    start = time.perf_counter()
    with open(out, "wb") as f:
        subprocess.run([PYTHON, str(script), str(n), str(stamp)], stdout=f, env=env, check=True, cwd=script.parent)
    wall = time.perf_counter() - start
    lines = sum(1 for _ in open(out, "rb"))
    assert lines == n, lines
    out.unlink()
    loop, cpu = stamp_of(stamp)
    return loop, wall, cpu


def as_job(server: Server, rel: str, n: int, tmp: Path, timeout: float) -> tuple[float, float, float, str, float, float]:
    stamp = tmp / "job.stamp"
    server_cpu = cpu_seconds(server.pid)
    job = server.client.submit(server.root / rel, args=[str(n), str(stamp)])
    job = server.wait_final(job["id"], timeout, poll=0.5)  # finished_at is the server's; polling less costs it less
    ended = unix(job["finished_at"])  # when the script ended, from its exit record
    if job["status"] != "completed":
        raise RuntimeError(f"job {job['id']} {job['status']}: {job['reason']}")
    wall = unix(job["finished_at"]) - unix(job["started_at"])
    # every point queryable: the series count, then the downsampled chart
    deadline = time.monotonic() + timeout
    while True:
        series = server.client.metrics(job["id"], names=["loss"], max_points=100)["series"]  # not telemetry's
        count = sum(s["count"] for s in series)
        if count >= n:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {count} of {n} points queryable after {timeout} s")
        time.sleep(0.05)
    queryable = time.time() - ended
    server_cpu = cpu_seconds(server.pid) - server_cpu
    loop, cpu = stamp_of(stamp)
    return loop, wall, queryable, job["id"], cpu, server_cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    n = args.lines

    header(f"metric-heavy job: {n:,} metric lines")
    base_loop, base_wall, job_loop, job_wall, queryable = [], [], [], [], []
    base_cpu, job_cpu, server_cpu = [], [], []
    with Server(cpu_slots=2) as server, tempfile.TemporaryDirectory(prefix="momo-bench-metrics-") as t:
        tmp = Path(t)
        rel = server.write("heavy/heavy.py", SCRIPT)
        script = server.root / rel
        last_job = None
        for i in range(args.runs):
            loop, wall, cpu = baseline(script, n, tmp)
            base_loop.append(loop)
            base_wall.append(wall)
            base_cpu.append(cpu)
            loop, wall, ready, last_job, cpu, served = as_job(server, rel, n, tmp, timeout=60 + n / 5000)
            job_loop.append(loop)
            job_wall.append(wall)
            queryable.append(ready)
            job_cpu.append(cpu)
            server_cpu.append(served)
            print(f"  run {i + 1}: baseline loop {base_loop[-1]:.2f} s (process {base_wall[-1]:.2f} s), "
                  f"job loop {loop:.2f} s (started→finished {wall:.2f} s), all points queryable {ready:.2f} s "
                  f"after the job ended", flush=True)
        # The CSV export gives every point back.
        start = time.perf_counter()
        csv_text = server.client.metrics_csv(last_job)
        csv_s = time.perf_counter() - start
        csv_points = sum(1 for line in csv_text.splitlines() if line.startswith("loss,"))  # not telemetry's
    bl, jl = median(base_loop), median(job_loop)
    bw, jw = median(base_wall), median(job_wall)
    print(f"  loop: baseline p50 {bl:.2f} s, job p50 {jl:.2f} s, ratio {jl / bl:.3f}", flush=True)
    print(f"  whole run: baseline process p50 {bw:.2f} s, job started→finished p50 {jw:.2f} s, ratio {jw / bw:.3f}",
          flush=True)
    print(f"  CPU: the script {median(base_cpu):.2f} s alone, {median(job_cpu):.2f} s as a job; the server "
          f"{median(server_cpu):.2f} s for the job (ingest included); load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores", flush=True)
    print(f"  all {n:,} points queryable p50 {median(queryable):.2f} s after the job ended "
          f"(max {max(queryable):.2f} s); CSV export: {csv_points:,} points in {csv_s:.2f} s", flush=True)
    verdict("1M metric lines within 5% of writing to a file", jl / bl <= 1.05,
            f"loop ratio {jl / bl:.3f} ({jl:.2f} s vs {bl:.2f} s); whole-run ratio {jw / bw:.3f}")
    verdict("every point queryable", csv_points == n,
            f"{csv_points:,} of {n:,} in the CSV; all queryable {median(queryable):.2f} s after the end")
    write_results("metrics_heavy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
