"""Print → visible: how long a printed line takes to be readable.

A script prints ``<seq> <time.time()>`` every 10 ms. Each line's latency is the
time it was read minus the time it was printed (same clock, same machine):

- baseline: the script run directly, its stdout a pipe read by this process;
- momo-jobs API: the script run as a job, its log followed through
  ``GET /jobs/{id}/log?wait=`` (the long-poll the UI and ``momo-jobs logs -f`` use);
- momo-jobs UI: the job's log view in JupyterLab, in headless Chromium
  (bench/ui_print_visible.js, playwright-core from ui-tests/node_modules): the
  time of the first animation frame at which the view holds the line; when the
  frontend is built and the driver is at hand, else said so.

Bars (DESIGN §5): API p50 under 100 ms; UI under 250 ms.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import PYTHON, REPO, Server, header, kill_group, summary, verdict, write_results

SCRIPT = """\
import sys, time
n = int(sys.argv[1])
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0.3)
for i in range(n):
    print(f"line {i} {time.time():.6f}", flush=True)
    time.sleep(0.01)
"""


def latencies_from(lines: list[tuple[float, str]]) -> list[float]:
    out = []
    for received, line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "line":
            out.append(received - float(parts[2]))
    return out


def direct(script: Path, n: int) -> list[float]:
    proc = subprocess.Popen([PYTHON, str(script), str(n)], stdout=subprocess.PIPE, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    lines = []
    for raw in proc.stdout:
        lines.append((time.time(), raw.decode()))
    proc.wait()
    return latencies_from(lines)


def through_api(server: Server, rel: str, n: int) -> list[float]:
    job = server.client.submit(server.root / rel, args=[str(n)])
    offset, partial, lines = 0, "", []
    deadline = time.monotonic() + 30 + n * 0.05
    while time.monotonic() < deadline:
        chunk = server.client.log(job["id"], offset, 1 << 20, wait=5.0)
        now = time.time()
        offset = chunk["next_offset"]
        text = partial + chunk["text"]
        *complete, partial = text.split("\n")
        lines.extend((now, line) for line in complete)
        if chunk["eof"]:
            break
    server.wait_final(job["id"], 30)
    return latencies_from(lines)


def ui_driver(script: str = "ui_print_visible.js") -> list[str] | None:
    """The command that runs a UI measurement (a driver in bench/), or None with the reason printed."""
    if not (REPO / "momo_jobs" / "labextension" / "package.json").exists():
        print("  UI: not measured — the frontend is not built (momo_jobs/labextension); "
              "run `jlpm build` and rerun", flush=True)
        return None
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    node = shutil.which("node")
    if not node or not Path(chromium).exists():
        print("  UI: not measured — needs node and Chromium", flush=True)
        return None
    if not (REPO / "ui-tests" / "node_modules" / "playwright-core").is_dir():
        print("  UI: not measured — playwright-core is not installed (cd ui-tests && jlpm install)", flush=True)
        return None
    return [node, str(REPO / "bench" / script)]


def run_driver(driver: list[str], server: Server, timeout: float, **env: str) -> str | None:
    """Runs a browser driver against the server (MOMO_BENCH_URL, MOMO_BENCH_TOKEN, CHROMIUM and
    ``env`` in its environment); its stdout, or None with the reason printed."""
    env = dict(os.environ, MOMO_BENCH_URL=server.url, MOMO_BENCH_TOKEN=server.token,
               CHROMIUM=shutil.which("chromium") or "/usr/bin/chromium", **env)
    # Its own process group: the browser goes with it, whatever happens.
    proc = subprocess.Popen(driver, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        print("  UI: the browser driver timed out", flush=True)
        return None
    finally:
        kill_group(proc)
    if proc.returncode != 0:
        print(f"  UI: the browser driver failed:\n{err[-1500:]}", flush=True)
        return None
    return out


def through_ui(server: Server, rel: str, n: int, driver: list[str]) -> list[float] | None:
    """Runs the browser driver: it opens JupyterLab, submits the job, and prints one
    latency in ms per line as the log view shows it."""
    out = run_driver(driver, server, 120 + n * 0.05, MOMO_BENCH_SCRIPT=rel, MOMO_BENCH_LINES=str(n),
                     MOMO_BENCH_DELAY="3")
    if out is None:
        return None
    values = [float(x) / 1000 for x in out.split() if x.lstrip("-").replace(".", "", 1).isdigit()]
    if len(values) < n:
        print(f"  UI: the view showed {len(values)} of {n} lines", flush=True)
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=500, help="lines per run (one each 10 ms)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-ui", action="store_true")
    args = parser.parse_args()

    header("print → visible (a line every 10 ms)")
    base, api = [], []
    with Server(cpu_slots=2, extra_args=["--LabApp.expose_app_in_browser=True"]) as server:
        rel = server.write("printer/printer.py", SCRIPT)
        script = server.root / rel
        for _ in range(args.runs):  # alternated, so noise hits both alike
            base += direct(script, args.lines)
            api += through_api(server, rel, args.lines)
        b = summary("direct, read from a pipe (baseline)", base)
        a = summary("momo-jobs, log through the API (long-poll)", api)
        print(f"  API − baseline: p50 {(a['p50'] - b['p50']) * 1000:+.1f} ms", flush=True)
        verdict("print→visible through the API p50 < 100 ms", a["p50"] < 0.100,
                f"p50 {a['p50'] * 1000:.1f} ms, p95 {a['p95'] * 1000:.1f} ms over {a['n']} lines "
                f"(pipe baseline p50 {b['p50'] * 1000:.2f} ms)")
        driver = None if args.no_ui else ui_driver()
        if driver:
            ui = through_ui(server, rel, args.lines, driver)
            if ui:
                u = summary("momo-jobs, the UI's log view (Chromium)", ui)
                verdict("print→visible in the UI < 250 ms", u["p50"] < 0.250,
                        f"p50 {u['p50'] * 1000:.0f} ms, p95 {u['p95'] * 1000:.0f} ms")
    write_results("print_visible")
    return 0


if __name__ == "__main__":
    sys.exit(main())
