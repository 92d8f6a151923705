"""Runs every benchmark, one after the other, and sums up the bars.

    python bench/run_all.py               # all of them, bench/mnist.py last (~15 min on its own)
    python bench/run_all.py --skip-mnist  # the others only: under 30 minutes on 2 cores
    python bench/run_all.py --only api_scale print_visible
    python bench/run_all.py --only mnist --mnist-quick  # checks the MNIST bench's flow

Each bench runs in its own process with a time limit (the limits of the
non-MNIST ones add up to under 30 minutes); a bench that fails or runs out of
time is reported and the next one runs. Nothing here runs in CI.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name, arguments, time limit (s). The limits of these add up to 29 minutes.
BENCHES = [
    ("first_line", ["--trials", "30", "--peer-trials", "5"], 270),
    ("print_visible", ["--lines", "500", "--runs", "3"], 150),
    ("metrics_heavy", ["--runs", "3"], 240),
    ("api_scale", ["--trials", "40"], 180),
    ("ray_latency", ["--trials", "8", "--budget", "60"], 180),
    ("supervisor_speed", ["--runs", "5"], 150),
    ("runs_scale", ["--trials", "40"], 180),
    ("telemetry_cost", ["--runs", "3"], 120),
    ("gpu_handoff", ["--trials", "15"], 120),
    ("slurm_latency", ["--trials", "10", "--budget", "60"], 150),
]
MNIST = ("mnist", [], 3600)


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = int(open("/proc/meminfo").readline().split()[1]) / (1 << 20)
    except (OSError, ValueError, IndexError):
        mem = float("nan")
    load = "%.1f %.1f %.1f" % os.getloadavg()
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; load average at start {load}")


def run(name: str, args: list[str], limit: float, results: Path) -> tuple[str, float]:
    script = HERE / f"{name}.py"
    env = dict(os.environ, MOMO_BENCH_RESULTS=str(results), PYTHONUNBUFFERED="1")
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(script), *args], cwd=HERE, env=env, start_new_session=True)
    try:
        code = proc.wait(limit)
        outcome = "ok" if code == 0 else f"failed (exit {code})"
    except subprocess.TimeoutExpired:
        outcome = f"stopped after its {limit:.0f} s limit"
    finally:
        if proc.poll() is None:  # the bench cleans up on SIGTERM; its group goes after
            for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
                try:
                    os.killpg(proc.pid, sig)
                    proc.wait(wait)
                    break
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    continue
    return outcome, time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-mnist", action="store_true", help="leave out bench/mnist.py (~15 min on its own)")
    parser.add_argument("--mnist-quick", action="store_true", help="bench/mnist.py --quick: its flow on a subset")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these (first_line, print_visible, "
                        "metrics_heavy, api_scale, ray_latency, supervisor_speed, runs_scale, telemetry_cost, mnist)")
    args = parser.parse_args()

    plan = list(BENCHES)
    if not args.skip_mnist and (HERE / "mnist.py").exists():
        plan.append(MNIST)
    elif not args.skip_mnist:
        print("bench/mnist.py is not there: MNIST left out")
    if args.only:
        plan = [b for b in BENCHES + [MNIST] if b[0] in args.only]
    if args.mnist_quick:
        plan = [(n, a + ["--quick"] if n == "mnist" else a, t) for n, a, t in plan]
    print(f"machine: {machine()}", flush=True)
    started = time.monotonic()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="momo-bench-") as tmp:
        results = Path(tmp) / "results.jsonl"
        results.touch()
        if any(name == "first_line" for name, _, _ in plan):
            # jupyter-scheduler's venv, installed once from PyPI: not part of any bench's time.
            outcome, seconds = run("first_line", ["--prepare"], 600, results)
            print(f"(jupyter-scheduler venv: {outcome}, {seconds:.0f} s)", flush=True)
        for name, bench_args, limit in plan:
            outcome, seconds = run(name, bench_args, limit, results)
            outcomes.append((name, outcome, seconds))
        verdicts = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    total = time.monotonic() - started

    print("\n== summary ==")
    for name, outcome, seconds in outcomes:
        print(f"  {name:<14} {outcome:<28} {seconds:7.1f} s")
    for v in verdicts:
        print(f"  {'MET   ' if v['met'] else 'MISSED'} {v['bench']}: {v['bar']} — {v['detail']}")
    others = sum(s for n, _, s in outcomes if n != "mnist")
    print(f"  total {total / 60:.1f} min (without MNIST {others / 60:.1f} min)")
    return 0 if all(o == "ok" for _, o, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
