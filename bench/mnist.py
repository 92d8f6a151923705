"""The MNIST example, 12 epochs: directly and as a momo-jobs job, in the same run.

- classic model, ``python How_Train_Model.py`` with its output to a file (the baseline);
- the same, submitted as a CPU job through the REST client and timed from the
  submit to the job seen completed;
- the improved model, directly (its accuracy, and its wall time against classic).

Bars (DESIGN §5 and the MNIST issue): job/direct wall time at most 1.02; classic
test accuracy at least 99.1% (the original's headline is 99.25%); improved at least
99.4% at no more than 1.5× the classic model's wall time.

One classic run's accuracy moves by about ±0.1 point with the seed, as much as the
gap between the bar and the original's headline, so that bar is not judged on one
run: ``--seeds`` runs the classic model directly, once per seed, and puts the bar on
their mean (too long for the default run, which prints its one seed's figure).

    python bench/mnist.py                          # ~15-30 min on 2 quiet cores
    python bench/mnist.py --epochs 2 --pairs 2     # a shorter, ABBA-ordered overhead check
    python bench/mnist.py --quick                  # the same flow on a subset, to check the bench
    python bench/mnist.py --seeds 1-8              # the classic model's spread over seeds (~4 min a seed)
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import PYTHON, Server, header, verdict, write_results

from momo_jobs.examples import prepare_example

SCRIPT = "How_Train_Model.py"


def load() -> str:
    return "load %.1f %.1f %.1f" % os.getloadavg()


def accuracy_from(text: str) -> float:
    found = re.findall(r"^Test accuracy: ([0-9.]+)", text, re.M)
    if not found:
        raise RuntimeError(f"no test accuracy in the output:\n{text[-3000:]}")
    return float(found[-1])


def script_args(model: str, quick: bool, epochs: int | None) -> list[str]:
    return ["--model", model, *(["--quick"] if quick else []), *(["--epochs", str(epochs)] if epochs else [])]


def parse_seeds(text: str) -> list[int]:
    """``1-4,9`` → [1, 2, 3, 4, 9]."""
    seeds = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds.extend(range(int(first), int(last or first) + 1))
    return seeds


def run_direct(folder: Path, label: str, extra: list[str]) -> tuple[float, float]:
    """(wall seconds, test accuracy) of ``python How_Train_Model.py`` in the example's folder,
    with the environment a CPU job gets and its output going to a file, as a job's does."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", CUDA_VISIBLE_DEVICES="")
    env.pop("MOMO_EXAMPLE_QUICK", None)
    log = folder / f"direct-{label}.log"
    argv = [PYTHON, SCRIPT, *extra, "--results", f"results/direct-{label}"]
    with open(log, "wb") as out:
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - started
    text = log.read_text(errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"direct {label} run failed ({done.returncode}):\n{text[-3000:]}")
    return wall, accuracy_from(text)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_job(server: Server, folder: Path, model: str, extra: list[str]) -> tuple[float, float, dict, tuple]:
    """(wall seconds from submit to completed, test accuracy, job, (CPU seconds of the
    server, of the job's supervisor) meanwhile) of the same run as a CPU job.

    On a shared machine the wall-time ratio carries the neighbours' noise; the CPU that
    momo-jobs' own processes used is the overhead itself."""
    client = server.client
    server_cpu = cpu_seconds(server.pid) or 0.0
    supervisor_cpu, supervisor_pid = 0.0, None
    started = time.perf_counter()
    job = client.submit(folder / SCRIPT, resource="cpu", name=f"mnist {model}", args=extra)
    supervisor_file = server.data_dir / "jobs" / job["id"] / "supervisor.json"
    while job["status"] not in ("completed", "failed", "stopped"):
        time.sleep(0.5)  # polling is server work too: not faster than a browser would
        if supervisor_pid is None and supervisor_file.exists():
            supervisor_pid = json.loads(supervisor_file.read_text() or "{}").get("pid")
        if supervisor_pid:
            supervisor_cpu = max(supervisor_cpu, cpu_seconds(supervisor_pid) or 0.0)
        job = client.get(job["id"])
    wall = time.perf_counter() - started
    server_cpu = (cpu_seconds(server.pid) or 0.0) - server_cpu
    if job["status"] != "completed":
        text = client.log(job["id"], 0, 1 << 22)["text"]
        raise RuntimeError(f"job {job['id']} {job['status']} ({job.get('reason')}):\n{text[-3000:]}")
    series = {s["name"]: s for s in client.metrics(job["id"], names=["test_accuracy"])["series"]}
    return wall, float(series["test_accuracy"]["y"][-1]), job, (server_cpu, supervisor_cpu)


def run_kind(full: bool) -> str:
    return f"{'12 epochs' if full else 'short run'}, CPU ({os.cpu_count()} cores)"


def seed_study(seeds: list[int], classic: list[str], full: bool) -> None:
    header(f"MNIST classic model over {len(seeds)} seeds, {run_kind(full)}")
    with tempfile.TemporaryDirectory(prefix="momo-bench-") as tmp:
        folder = Path(tmp) / "mnist"
        prepare_example("mnist", folder, log=lambda line: None)
        accuracies = []
        for seed in seeds:
            wall, acc = run_direct(folder, f"classic-seed{seed}", [*classic, "--seed", str(seed)])
            accuracies.append(acc)
            print(f"  seed {seed:>3}: {wall:7.1f} s   test accuracy {acc:.2%}   ({load()})", flush=True)
    mean = statistics.fmean(accuracies)
    spread = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    print(f"  mean {mean:.2%}, standard deviation {spread:.2%}, "
          f"range {min(accuracies):.2%}-{max(accuracies):.2%}", flush=True)
    if not full:
        print("  (a short run: the bar holds for the full 12 epochs only)")
        return
    verdict(f"MNIST classic mean test accuracy over {len(seeds)} seeds >= 99.1% (original 99.25%)",
            mean >= 0.991, f"{mean:.2%} ± {spread:.2%}")
    write_results("mnist-seeds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few thousand images, 2 epochs (checks the bench)")
    parser.add_argument("--epochs", type=int, help="fewer epochs than 12: a shorter check (no bars)")
    parser.add_argument("--pairs", type=int, default=1,
                        help="classic direct/job pairs, run in ABBA order against a drifting load (default 1)")
    parser.add_argument("--skip-improved", action="store_true")
    parser.add_argument("--seeds", type=parse_seeds, metavar="LIST",
                        help="only the classic model, directly, once per seed (e.g. 1-8): its spread")
    args = parser.parse_args()
    full = not args.quick and args.epochs in (None, 12)
    if args.seeds:
        seed_study(args.seeds, script_args("classic", args.quick, args.epochs), full)
        return

    header(f"MNIST example, {run_kind(full)}")
    with Server(cpu_slots=1) as server:
        folder = server.root / "mnist"
        prepare_example("mnist", folder, log=lambda line: None)
        classic = script_args("classic", args.quick, args.epochs)
        directs, jobs, own_cpus = [], [], []
        for pair in range(args.pairs):
            for kind in (("direct", "job") if pair % 2 == 0 else ("job", "direct")):
                print(f"  classic, {kind} ...  ({load()})", flush=True)
                if kind == "direct":
                    wall, acc = run_direct(folder, "classic", classic)
                    directs.append((wall, acc))
                    note = ""
                else:
                    wall, acc, job, (server_cpu, supervisor_cpu) = run_job(server, folder, "classic", classic)
                    jobs.append((wall, acc))
                    own_cpus.append((server_cpu + supervisor_cpu) / wall)
                    note = (f"  job {job['id']}; CPU of the server {server_cpu:.2f} s, "
                            f"of the supervisor {supervisor_cpu:.2f} s")
                print(f"  classic, {kind + ':':<8}{wall:7.1f} s   test accuracy {acc:.2%}   ({load()}){note}",
                      flush=True)
        direct_wall = sum(w for w, _ in directs)
        ratio = sum(w for w, _ in jobs) / direct_wall
        direct_wall /= len(directs)
        accuracies = [a for _, a in directs + jobs]
        print(f"  job / direct wall time: {ratio:.3f}"
              + (f" (pairs: {', '.join(f'{j[0] / d[0]:.3f}' for d, j in zip(directs, jobs))})" if args.pairs > 1 else ""),
              flush=True)
        print(f"  CPU that the server and the supervisor used while the job ran: {max(own_cpus):.2%} of one core "
              "at the most (the overhead itself, free of the machine's load)", flush=True)
        if not args.skip_improved:
            improved_wall, improved_acc = run_direct(folder, "improved", script_args("improved", args.quick, args.epochs))
            print(f"  improved, direct: {improved_wall:7.1f} s   test accuracy {improved_acc:.2%}   ({load()})",
                  flush=True)
            print(f"  improved / classic wall time: {improved_wall / direct_wall:.2f}", flush=True)

    if not full:
        print("  (a short run: the bars hold for the full 12 epochs only)")
        return
    verdict("MNIST job/direct wall time <= 1.02", ratio <= 1.02, f"{ratio:.3f} over {args.pairs} pair(s)")
    print(f"  classic test accuracy, the default seed: {', '.join(f'{a:.2%}' for a in accuracies)} "
          "(one seed; the 99.1% bar is on the mean over seeds: --seeds 1-8)", flush=True)
    if not args.skip_improved:
        verdict("MNIST improved test accuracy >= 99.4%", improved_acc >= 0.994, f"{improved_acc:.2%}")
        verdict("MNIST improved wall time <= 1.5x classic", improved_wall <= 1.5 * direct_wall,
                f"{improved_wall:.1f} s vs {direct_wall:.1f} s: {improved_wall / direct_wall:.2f}x")
    write_results("mnist")


if __name__ == "__main__":
    main()
