"""The runs table and overlaid runs at scale: ``GET /runs`` over 1,000 jobs with 10
series each (their parameters, every series' last/min/max, telemetry peaks), and
``GET /compare`` of 20 runs with 100,000 points each.

The store is filled through ``momo_jobs.server.store.Store.ingest_metrics`` (as the
server ingests points: the summaries are kept as they arrive) before the server
starts; the timings are HTTP GETs over one keep-alive connection, interleaved with
the baseline ``GET /api/status`` of the same server.

Bars (DESIGN §5): the runs table of 1,000 jobs × 10 series under 50 ms; 20 runs ×
100,000 points overlaid under 100 ms.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from pathlib import Path

from api_scale import KeepAlive, _iso
from common import PYTHON, Server, header, summary, verdict, write_results

from momo_jobs.server.store import Store  # noqa: E402  (common puts the repo on the path)
from momo_jobs.vocabulary import JobFiles  # noqa: E402

SERIES = ["loss", "accuracy", "val_loss", "val_accuracy", "batch_loss", "batch_accuracy", "lr",
          "sys/cpu_percent", "sys/rss_bytes", "sys/gpu0/memory_bytes"]


def populate(data_dir: Path, root: Path, jobs: int, per_series: int, heavy: int, heavy_points: int) -> list[str]:
    """Fills the store; returns the ids of the ``heavy`` newest jobs, whose loss has ``heavy_points`` points."""
    store = Store(data_dir / "jobs.sqlite3")
    cwd = root / "train"
    cwd.mkdir(parents=True, exist_ok=True)
    (cwd / "train.py").write_text("print('hi')\n")
    t0 = time.time() - jobs * 60
    ids = []
    for i in range(jobs):
        job_id = uuid.uuid4().hex[:12]
        folder = data_dir / "jobs" / job_id
        (folder / JobFiles.SNAPSHOT).mkdir(parents=True)
        started = t0 + i * 60
        job = store.insert_job({
            "id": job_id, "name": f"train-{i + 1}", "script": "train/train.py", "resource": "cpu", "gpus": 0,
            "gpu_ids": [], "status": "completed", "created_at": _iso(started - 1), "started_at": _iso(started),
            "finished_at": _iso(started + 50), "started_unix": started, "exit_code": 0, "backend": "local",
            "snapshot_script": "train.py", "args": ["--lr", str(10 ** -random.randint(1, 4)), f"--batch-size={2 ** (i % 4 + 5)}"],
            "env": {}, "interpreter": PYTHON, "cwd": str(cwd), "job_dir": str(folder),
        })
        records = [{"param": "optimizer", "value": "adam", "t": started}]
        for name in SERIES:
            records += [{"metric": name, "value": random.random(), "step": s, "epoch": None, "t": started + s}
                        for s in range(per_series)]
        store.ingest_metrics(job, records, 0)
        ids.append(job_id)
    newest = ids[-heavy:]
    for job_id in newest:
        job = store.get_job(job_id)
        start = job["started_unix"]
        for lo in range(per_series, heavy_points, 50_000):
            store.ingest_metrics(job, [{"metric": "loss", "value": 1.0 / (s + 1) + random.random() * 0.01, "step": s,
                                        "epoch": None, "t": start + s * 0.0005}
                                       for s in range(lo, min(heavy_points, lo + 50_000))], 0)
    store.close()
    return newest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--compared", type=int, default=20)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    header(f"runs table of {args.jobs:,} jobs × {len(SERIES)} series; {args.compared} runs × {args.points:,} points overlaid")
    server = Server(cpu_slots=2)
    started = time.perf_counter()
    heavy = populate(server.data_dir, server.root, args.jobs, 20, args.compared, args.points)
    print(f"  (store filled in {time.perf_counter() - started:.1f} s)", flush=True)
    api = "/momo-jobs/api"
    ids = ",".join(heavy)
    routes = {
        "GET /api/status (baseline)": "/api/status",
        "runs table, first page (limit=100)": f"{api}/runs?limit=100",
        f"runs table, all {args.jobs:,} (limit=1000)": f"{api}/runs?limit=1000",
        f"compare {args.compared} runs, x=step": f"{api}/compare?ids={ids}&names=loss&x=step&max_points=2000",
        f"compare {args.compared} runs, x=time": f"{api}/compare?ids={ids}&names=loss&x=time&max_points=2000",
    }
    with server:
        conn = KeepAlive(server)
        try:
            for path in routes.values():  # warm: page cache, SQLite's cache
                conn.get(path)
            table = json.loads(conn.get(routes[f"runs table, all {args.jobs:,} (limit=1000)"])[1])
            assert table["total"] == args.jobs and len(table["runs"]) == min(1000, args.jobs), table["total"]
            assert len(table["runs"][0]["metrics"]) == len(SERIES) and table["runs"][0]["params"]["optimizer"] == "adam"
            overlay = json.loads(conn.get(routes[f"compare {args.compared} runs, x=step"])[1])
            assert len(overlay["series"]) == args.compared and overlay["series"][0]["count"] == args.points
            print(f"  (compare answer: {len(overlay['series'])} series of {len(overlay['series'][0]['x'])} points "
                  f"drawn of {args.points:,})", flush=True)
            times = {label: [] for label in routes}
            for _ in range(args.trials):
                for label, path in routes.items():  # interleaved, so noise hits all alike
                    times[label].append(conn.get(path)[0])
        finally:
            conn.close()
    figures = {label: summary(label, t) for label, t in times.items()}
    table_p50 = figures[f"runs table, all {args.jobs:,} (limit=1000)"]["p50"]
    compare_p50 = max(figures[f"compare {args.compared} runs, x=step"]["p50"],
                      figures[f"compare {args.compared} runs, x=time"]["p50"])
    verdict(f"runs table of {args.jobs:,} jobs × {len(SERIES)} series under 50 ms", table_p50 < 0.050,
            f"p50 {table_p50 * 1000:.1f} ms (first page of 100: "
            f"{figures['runs table, first page (limit=100)']['p50'] * 1000:.1f} ms)")
    verdict(f"{args.compared} runs × {args.points:,} points overlaid under 100 ms", compare_p50 < 0.100,
            f"p50 {compare_p50 * 1000:.1f} ms (the slower of x=step and x=time)")
    write_results("runs_scale")
    return 0


if __name__ == "__main__":
    sys.exit(main())
