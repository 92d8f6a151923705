"""The Jobs sidebar and the Runs view with 10,000 jobs, in Chromium.

Two servers, one after the other: the baseline's store holds 100 jobs, the other's
10,000 (each with arguments ``--lr``/``--batch-size``, a printed param and 10
series of a few points: their summaries and telemetry peaks fill the runs table),
filled through ``Store.ingest_metrics`` before the server starts (the filling of
bench/runs_scale.py). On each, bench/ui_runs_scale.js (headless Chromium,
playwright-core from ui-tests/node_modules) opens JupyterLab and measures:

- the sidebar: shown (the newest 500 jobs, as it loads them), refreshed, filtered
  by status and back, and the frame times while it is scrolled;
- the Runs view: opened (every run fetched page by page, sorted, the first rows
  drawn), sorted by best loss and back, filtered (``lr=0.01``) and back, the frame
  times while scrolled 40 px a frame, and while flung through the whole table in
  100 frames (new rows every frame).

The bar (DESIGN §5) is "stays responsive": this bench reads it as a re-render after
a sort or a filter under 100 ms and a p95 frame time while scrolling under 50 ms
(a long task), at 10,000 jobs; the figures of 100 jobs, from the same run, are
beside them.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from common import Server, header, percentile, verdict, write_results
from print_visible import run_driver, ui_driver


def fill(server: Server, jobs: int) -> None:
    try:
        from runs_scale import populate
    except ImportError as exc:  # bench/runs_scale.py comes with the runs table's server side
        raise SystemExit(f"  needs bench/runs_scale.py (GET /runs on the server): {exc}")
    started = time.perf_counter()
    populate(server.data_dir, server.root, jobs, 5, 1, 5)
    print(f"  ({jobs:,} jobs put in the store in {time.perf_counter() - started:.1f} s)", flush=True)


def measure(jobs: int, driver: list[str]) -> dict | None:
    server = Server(cpu_slots=2, extra_args=["--LabApp.expose_app_in_browser=True"])
    fill(server, jobs)
    with server:
        out = run_driver(driver, server, 600)
    if out is None:
        return None
    return json.loads(out.strip().splitlines()[-1])


def frames(gaps: list[float]) -> str:
    slow = sum(1 for g in gaps if g > 50) / max(1, len(gaps))
    return (f"p50 {percentile(gaps, 50):5.1f}  p95 {percentile(gaps, 95):5.1f}  max {max(gaps):6.1f} ms  "
            f"({slow:.0%} over 50 ms)")


def report(base: dict, big: dict, jobs: int) -> None:
    rows = [
        ("sidebar: shown", "sidebar", "open_ms"),
        ("sidebar: refreshed", "sidebar", "refresh_ms"),
        ("sidebar: filtered by status", "sidebar", "filter_ms"),
        ("sidebar: filter cleared", "sidebar", "unfilter_ms"),
        ("Runs view: opened (first rows drawn)", "runs", "open_ms"),
        ("Runs view: sorted by best loss", "runs", "sort_ms"),
        ("Runs view: sorted the other way", "runs", "resort_ms"),
        ("Runs view: filtered (lr=0.01)", "runs", "filter_ms"),
        ("Runs view: filter cleared", "runs", "unfilter_ms"),
    ]
    print(f"  {'':<40} {'100 jobs':>10} {f'{jobs:,} jobs':>12}  ratio", flush=True)
    for label, part, key in rows:
        a, b = base[part][key], big[part][key]
        print(f"  {label:<40} {a:8.1f} ms {b:10.1f} ms  {b / max(a, 0.1):5.2f}×", flush=True)
    print(f"  sidebar rows: {base['sidebar']['rows']} / {big['sidebar']['rows']} "
          f"(of {big['sidebar']['total']:,} jobs); Runs view rows in the DOM: "
          f"{base['runs']['rows_in_dom']} / {big['runs']['rows_in_dom']} "
          f"(after the fling {big['runs']['rows_in_dom_scrolled']}) of {big['runs']['runs']:,} runs", flush=True)
    for label, part, key in [("sidebar, scrolled 60 px/frame", "sidebar", "scroll_gaps"),
                             ("Runs view, scrolled 40 px/frame", "runs", "scroll_gaps"),
                             ("Runs view, flung (whole table, 100 frames)", "runs", "fling_gaps")]:
        print(f"  frames, {label}:", flush=True)
        print(f"    100 jobs      {frames(base[part][key])}", flush=True)
        print(f"    {jobs:,} jobs  {frames(big[part][key])}", flush=True)
    worst_render = max(big["runs"][k] for k in ("sort_ms", "resort_ms", "filter_ms", "unfilter_ms"))
    verdict(f"Runs view at {jobs:,} jobs: sort and filter re-render under 100 ms", worst_render < 100,
            f"slowest {worst_render:.0f} ms (100 jobs: "
            f"{max(base['runs'][k] for k in ('sort_ms', 'resort_ms', 'filter_ms', 'unfilter_ms')):.0f} ms)")
    for label, part in [("Runs view", "runs"), ("sidebar", "sidebar")]:
        p95 = percentile(big[part]["scroll_gaps"], 95)
        verdict(f"{label} at {jobs:,} jobs: p95 frame while scrolling under 50 ms", p95 < 50,
                f"p95 {p95:.1f} ms (100 jobs: {percentile(base[part]['scroll_gaps'], 95):.1f} ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=100)
    args = parser.parse_args()
    header(f"Jobs sidebar and Runs view, {args.jobs:,} jobs against {args.baseline} (Chromium)")
    driver = ui_driver("ui_runs_scale.js")
    if not driver:
        return 0
    base = measure(args.baseline, driver)
    big = measure(args.jobs, driver) if base else None
    if not base or not big:
        return 1
    report(base, big, args.jobs)
    write_results("ui_runs_scale")
    return 0


if __name__ == "__main__":
    sys.exit(main())
