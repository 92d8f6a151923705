"""What telemetry costs a running job's supervisor: CPU time per sample of the job's
process tree, and the supervisor's whole CPU use with telemetry on and off.

1. Per sample: ``Telemetry.sample`` on a real job-like tree (a Python process with
   worker threads, like a training script, and two children), timed over many samples.
2. Whole supervisor: ``python -m momo_jobs.supervisor`` running a script that sleeps,
   with ``telemetry_seconds`` 1 (the default) and 0 (off), alternately; the CPU time
   the supervisor and its script used (their rusage), per second of the job.

Bar (DESIGN §5): telemetry costs at most 0.5% of a core per running job.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PYTHON, header, median, verdict, write_results

from momo_jobs.job.files import RunSpec  # noqa: E402  (common puts the repo on the path)
from momo_jobs.job.telemetry import Telemetry  # noqa: E402

TREE = """\
import subprocess, sys, threading, time
for _ in range(8):
    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(2)]
print("ready", flush=True)
time.sleep(600)
"""
SLEEPER = "import time\ntime.sleep(float(__import__('sys').argv[1]))\n"


def per_sample(samples: int) -> float:
    """Seconds of CPU per sample of a tree of 3 processes and 10 threads."""
    proc = subprocess.Popen([PYTHON, "-c", TREE], stdout=subprocess.PIPE, start_new_session=True)
    try:
        proc.stdout.readline()
        telemetry = Telemetry(proc.pid, [], 1.0, time.monotonic())
        telemetry.sample(time.monotonic())
        start = time.process_time()
        for _ in range(samples):
            points = telemetry.sample(time.monotonic())
        spent = (time.process_time() - start) / samples
        assert {name for name, _ in points} == {"sys/cpu_percent", "sys/rss_bytes"}, points
        return spent
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


def supervisor_cpu(folder: Path, seconds: float, telemetry_seconds: float) -> float:
    """CPU seconds per second of the job, of a supervisor and its sleeping script."""
    folder.mkdir(parents=True)
    script = folder / "sleep.py"
    script.write_text(SLEEPER)
    RunSpec(job_id=folder.name, job_dir=str(folder), interpreter=PYTHON, script=str(script), args=[str(seconds)],
            cwd=str(folder), env={"PYTHONUNBUFFERED": "1"}, resource="cpu",
            telemetry_seconds=telemetry_seconds).save()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([PYTHON, "-m", "momo_jobs.supervisor", str(folder)], check=True, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each supervised job sleeps")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    header("telemetry's cost per running job")
    sample = per_sample(args.samples)
    print(f"  one sample of 3 processes and 10 threads: {sample * 1e6:.0f} µs of CPU; at 1 a second "
          f"{sample * 100:.3f}% of a core", flush=True)
    on, off = [], []
    with tempfile.TemporaryDirectory(prefix="momo-bench-telemetry-") as tmp:
        for i in range(args.runs):
            off.append(supervisor_cpu(Path(tmp) / f"off{i}", args.seconds, 0))
            on.append(supervisor_cpu(Path(tmp) / f"on{i}", args.seconds, 1.0))
            print(f"  run {i + 1}: supervisor and script {off[-1] * 100:.3f}% of a core with telemetry off, "
                  f"{on[-1] * 100:.3f}% on", flush=True)
    cost = median(on) - median(off)
    detail = (f"{sample * 100:.3f}% a sample a second; whole supervisor +{cost * 100:.3f}% of a core "
              f"({median(on) * 100:.3f}% on vs {median(off) * 100:.3f}% off)")
    verdict("telemetry at most 0.5% of a core per running job", sample <= 0.005 and cost <= 0.005, detail)
    write_results("telemetry_cost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
