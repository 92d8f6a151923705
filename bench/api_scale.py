"""The API at scale: 10,000 jobs and 1,000,000 metric points, and a job printing 1 GB.

How the data is made (fast, and said so in bench/README.md): the SQLite store
is filled directly through ``momo_jobs.server.store.Store`` before the server starts
on that data folder: 10,000 finished jobs (each with its folder and an empty
log) and one of them holding 1,000,000 points of one series ("loss", step and
time), ingested with the same ``Store.ingest_metrics`` the server uses.

Then, against a real server on that data, over keep-alive connections:

- baseline: ``GET /api/status`` (jupyter_server's own smallest authenticated
  route: the floor of a request on this server);
- a page of the job list (``GET /jobs?limit=50``, first page and one deep in);
- the downsampled chart of the 1,000,000-point job (``max_points=2000``,
  x = time and x = step).

And the server's RSS while a job prints 1 GB and a client follows its log
through the API: before, the most during, and after.

Bars (DESIGN §5): list page and downsampled chart p50/p95 under 100 ms; the
server's RSS flat within 50 MB.
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
import uuid
from pathlib import Path

from common import PYTHON, Server, header, rss_bytes, summary, verdict, write_results

from momo_jobs.server.store import Store  # noqa: E402  (common puts the repo on the path)
from momo_jobs.vocabulary import JobFiles  # noqa: E402

PRINTER = """\
import sys
total = int(sys.argv[1])
line = ("x" * 99 + "\\n").encode()
block = line * 655          # ~64 KiB of 100-byte lines
out = sys.stdout.buffer
written = 0
while written < total:
    out.write(block)
    written += len(block)
out.flush()
"""


def populate(data_dir: Path, root: Path, jobs: int, points: int) -> str:
    """Fills the store; returns the id of the job that holds the points."""
    store = Store(data_dir / "jobs.sqlite3")
    jobs_dir = data_dir / "jobs"
    cwd = root / "train"
    cwd.mkdir(parents=True, exist_ok=True)
    (cwd / "train.py").write_text("print('hi')\n")
    t0 = time.time() - jobs * 60
    heavy = None
    store._db.execute("BEGIN")
    for i in range(jobs):
        job_id = uuid.uuid4().hex[:12]
        folder = jobs_dir / job_id
        (folder / JobFiles.SNAPSHOT).mkdir(parents=True)
        (folder / JobFiles.LOG).write_bytes(b"")
        started = t0 + i * 60
        status = ("completed", "failed", "stopped")[i % 10 // 8] if i % 10 >= 8 else "completed"
        row = {
            "id": job_id, "name": f"train-{i + 1}", "script": "train/train.py", "resource": "cpu", "gpus": 0,
            "gpu_ids": "[]", "status": status, "created_at": _iso(started - 1), "started_at": _iso(started),
            "finished_at": _iso(started + 50), "started_unix": started, "exit_code": 0 if status == "completed" else 1,
            "reason": None if status == "completed" else "exit code 1", "backend": "local", "snapshot_script": "train.py", "args": '[]',
            "env": "{}", "interpreter": PYTHON, "cwd": str(cwd), "job_dir": str(folder),
        }
        cols = ", ".join(row)
        store._db.execute(f"INSERT INTO jobs ({cols}) VALUES ({', '.join(':' + k for k in row)})", row)
        heavy = job_id
    store._db.execute("COMMIT")
    # The newest job holds the points, ingested as the server would.
    job = store.get_job(heavy)
    batch = 100_000
    start = job["started_unix"]
    for lo in range(0, points, batch):
        records = [{"metric": "loss", "value": 1.0 / (i + 1) + random.random() * 0.01, "step": i,
                    "t": start + i * 0.00005} for i in range(lo, min(points, lo + batch))]
        store.ingest_metrics(job, records, 0)
    store.close()
    return heavy


def _iso(t: float) -> str:
    from momo_jobs.job.files import iso_from_unix
    return iso_from_unix(t)


class KeepAlive:
    """GETs over one keep-alive connection, as a browser makes them."""

    def __init__(self, server: Server):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.headers = {"Authorization": f"token {server.token}"}

    def get(self, path: str) -> tuple[float, bytes]:
        start = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
        return elapsed, body

    def close(self) -> None:
        self.conn.close()


def latencies(server: Server, heavy: str, trials: int) -> dict[str, list[float]]:
    api = "/momo-jobs/api"
    routes = {
        "GET /api/status (baseline)": "/api/status",
        "job list, first page (limit=50)": f"{api}/jobs?limit=50",
        "job list, page at offset 5000": f"{api}/jobs?limit=50&offset=5000",
        "chart, 1M points, x=time, max_points=2000": f"{api}/jobs/{heavy}/metrics?x=time&max_points=2000",
        "chart, 1M points, x=step, max_points=2000": f"{api}/jobs/{heavy}/metrics?x=step&max_points=2000",
    }
    conn = KeepAlive(server)
    try:
        for path in routes.values():  # warm: page cache, SQLite's cache
            conn.get(path)
        _, body = conn.get(routes["job list, first page (limit=50)"])
        listing = json.loads(body)
        assert listing["total"] >= 10_000 and len(listing["jobs"]) == 50, listing["total"]
        _, body = conn.get(routes["chart, 1M points, x=step, max_points=2000"])
        chart = json.loads(body)["series"][0]
        print(f"  (chart answer: {len(chart['x'])} points drawn of count {chart['count']:,})", flush=True)
        out = {label: [] for label in routes}
        deadline = time.monotonic() + 150
        for i in range(trials):
            for label, path in routes.items():  # interleaved, so noise hits all alike
                out[label].append(conn.get(path)[0])
            if i >= 5 and time.monotonic() > deadline:
                print(f"  (time budget spent after {i + 1} trials)", flush=True)
                break
    finally:
        conn.close()
    return out


def rss_while_printing(server: Server, size: int) -> tuple[int, int, int, float, int]:
    """(before, max during, after, seconds, bytes followed) of the server's RSS."""
    rel = server.write("printer/printer.py", PRINTER)
    samples: list[int] = []
    done = threading.Event()

    def sample():
        while not done.is_set():
            samples.append(rss_bytes(server.pid))
            time.sleep(0.1)

    before = rss_bytes(server.pid)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.monotonic()
    job = server.client.submit(server.root / rel, args=[str(size)])
    followed, offset = 0, 0
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:  # a client follows the log, as the UI does
            chunk = server.client.log(job["id"], offset, 4 << 20, wait=2.0)
            followed += len(chunk["text"])
            offset = chunk["next_offset"]
            if chunk["eof"]:
                break
        job = server.wait_final(job["id"], 60, poll=0.2)
    finally:
        done.set()
        sampler.join()
    seconds = time.monotonic() - start
    time.sleep(1.0)
    after = rss_bytes(server.pid)
    if job["status"] != "completed":
        raise RuntimeError(f"the 1 GB job {job['status']}: {job['reason']}")
    return before, max(samples + [before]), after, seconds, offset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--print-bytes", type=int, default=1 << 30)
    args = parser.parse_args()

    header(f"API at scale: {args.jobs:,} jobs, {args.points:,} metric points")
    server = Server(cpu_slots=2)
    try:
        t = time.perf_counter()
        heavy = populate(server.data_dir, server.root, args.jobs, args.points)
        print(f"  store filled directly in {time.perf_counter() - t:.1f} s", flush=True)
        server.start()
        figures = latencies(server, heavy, args.trials)
        stats = {label: summary(label, values) for label, values in figures.items()}
        base = stats["GET /api/status (baseline)"]
        for label, s in stats.items():
            if "baseline" in label:
                continue
            print(f"    {label}: {s['p50'] / base['p50']:.1f}× the baseline p50", flush=True)
        for label in ("job list, first page (limit=50)", "job list, page at offset 5000"):
            s = stats[label]
            verdict(f"{label} p50/p95 < 100 ms", s["p95"] < 0.100,
                    f"p50 {s['p50'] * 1000:.1f} ms, p95 {s['p95'] * 1000:.1f} ms "
                    f"(baseline p50 {base['p50'] * 1000:.1f} ms)")
        for label in ("chart, 1M points, x=time, max_points=2000", "chart, 1M points, x=step, max_points=2000"):
            s = stats[label]
            verdict(f"{label} p50/p95 < 100 ms", s["p95"] < 0.100,
                    f"p50 {s['p50'] * 1000:.1f} ms, p95 {s['p95'] * 1000:.1f} ms "
                    f"(baseline p50 {base['p50'] * 1000:.1f} ms)")

        size = args.print_bytes
        before, peak, after, seconds, followed = rss_while_printing(server, size)
        mb = 1 << 20
        print(f"  a job printed {size / mb:,.0f} MiB in {seconds:.1f} s, {followed / mb:,.0f} MiB followed "
              f"through the API; server RSS before {before / mb:.0f} MiB, max {peak / mb:.0f} MiB, "
              f"after {after / mb:.0f} MiB", flush=True)
        verdict("server RSS flat within 50 MB while a job prints 1 GB", peak - before < 50e6,
                f"+{(peak - before) / mb:.1f} MiB at most, +{(after - before) / mb:.1f} MiB after")
    finally:
        server.stop()
    write_results("api_scale")
    return 0


if __name__ == "__main__":
    sys.exit(main())
