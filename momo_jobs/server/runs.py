"""The runs table and the comparison of runs (DESIGN §3 "Run", ``GET /runs``,
``GET /compare``): a job's parameters (its arguments and the parameters it printed),
the summary of each of its series, its telemetry peaks, and metric series overlaid
across jobs. The table reads the summaries the store keeps as points arrive, as JSON
text: no point is scanned, and a page of a thousand runs is answered without
decoding and encoding again ten thousand summaries."""
from __future__ import annotations

import json
import re
import time
from datetime import datetime
from typing import Iterable

from .presenter import JsonText, json_array, json_with
from .requests import CompareQuery, RunsQuery
from .store import Store

_PARAM_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")
_NUMBER = re.compile(r"^-\d*\.?\d+(e[-+]?\d+)?$", re.IGNORECASE)


def _option(word: str) -> bool:
    """An option (``-x``, ``--lr``), not a value such as ``-0.5``."""
    return word[:1] == "-" and len(word) > 1 and not _NUMBER.match(word)


def _param_name(name: str) -> str:
    # As argparse names its destinations: --batch-size is batch_size.
    return name.replace("-", "_")


def params_from_args(args: Iterable[str]) -> dict[str, str]:
    """A job's parameters from its arguments: ``--lr 0.01``, ``--lr=0.01`` and
    ``lr=0.01``; an option that no value follows (``--quick``) is "true"."""
    words, params, i = list(args), {}, 0
    while i < len(words):
        word = words[i]
        if _option(word):
            name, eq, value = word.lstrip("-").partition("=")
            if name and _PARAM_NAME.match(name):
                if eq:
                    params[_param_name(name)] = value
                elif i + 1 < len(words) and not _option(words[i + 1]):
                    params[_param_name(name)] = words[i + 1]
                    i += 1
                else:
                    params[_param_name(name)] = "true"
        else:
            name, eq, value = word.partition("=")
            if eq and _PARAM_NAME.match(name):
                params[_param_name(name)] = value
        i += 1
    return params


def _unix(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None


def _duration(job: dict, now: float) -> float | None:
    started = job.get("started_unix")
    if started is None:
        return None
    ended = _unix(job.get("finished_at")) or now
    return round(max(0.0, ended - started), 3)


def run_table(store: Store, query: RunsQuery, now: float | None = None) -> JsonText:
    """``GET /runs``: a page of runs, newest first (or in the order of ``ids``), as JSON."""
    now = time.time() if now is None else now
    jobs, total = store.list_runs(query.ids, query.statuses, query.sweep, query.limit, query.offset)
    if query.ids is not None:
        order = {job_id: i for i, job_id in enumerate(query.ids)}
        jobs.sort(key=lambda j: order[j["id"]])
    printed = store.params_of([j["seq"] for j in jobs])
    runs = [json_with({
        "id": job["id"], "name": job["name"], "status": job["status"], "started_at": job["started_at"],
        "duration": _duration(job, now), "sweep_id": job.get("sweep_id"),
        "params": {**params_from_args(json.loads(job["args"])), **printed[job["seq"]]},
    }, metrics=job["run_metrics"], peak=job["run_peak"]) for job in jobs]
    return json_with({"total": total}, runs=json_array(runs))


def compare(store: Store, jobs: list[dict], query: CompareQuery) -> JsonText:
    """``GET /compare``: the series named (all when none is) of each job, along one
    x-axis, each downsampled as ``GET /jobs/{id}/metrics`` does."""
    series = []
    for job in jobs:
        for row in store.series_of(job, query.names):
            chart = store.series_points(row["id"], query.x, query.max_points)
            series.append(json_with({"job": job["id"], "name": row["name"], "count": row["count"]}, x=chart.x, y=chart.y))
    return json_with({"x": query.x}, series=json_array(series))
