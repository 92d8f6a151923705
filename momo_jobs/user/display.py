"""How jobs look in a notebook: status lines (text and HTML), the job table and
Vega-Lite charts of metrics. Plain data in, display bundles out; no IPython needed."""
from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

from ..vocabulary import ACTIVE, FINAL, Resource, Status, queue_of

VEGA_LITE = "application/vnd.vegalite.v5+json"
SYMBOLS = {Status.QUEUED: "⏳", Status.RUNNING: "▶", Status.STOPPING: "■", Status.COMPLETED: "✔",
           Status.FAILED: "✖", Status.STOPPED: "■"}
COLORS = {Status.FAILED: "#c62828", Status.COMPLETED: "#2e7d32", Status.STOPPED: "#6d6d6d"}


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _elapsed(job: dict) -> str | None:
    started = _parse_time(job.get("started_at"))
    if started is None:
        return None
    ended = _parse_time(job.get("finished_at")) or datetime.now(timezone.utc)
    return _duration((ended - started).total_seconds())


def _state(job: dict) -> str:
    status = job["status"]
    if status == Status.QUEUED and job.get("queue_position"):
        return (f"queued #{job['queue_position']} in the {queue_of(job['resource'])} queue"
                + (f", {job['reason']}" if job.get("reason") else ""))
    elapsed = _elapsed(job)
    if status in ACTIVE:
        return f"{status} {elapsed}" if elapsed else status
    if status in FINAL and elapsed:
        return f"{status} after {elapsed}"
    return status


def status_text(job: dict, note: str = "") -> str:
    where = job["resource"] + (f" {job['gpus']} GPU" if job["resource"] == Resource.GPU else "")
    text = f"{SYMBOLS.get(job['status'], '·')} {job['name']} [{job['id']}] {where}: {_state(job)}"
    if job.get("reason") and job["status"] in FINAL:
        text += f" ({job['reason']})"
    if job.get("kernel_id") and job["status"] in FINAL:
        text += f" · kernel {job['kernel_id']} alive"
    return text + (f" · {note}" if note else "")


def status_bundle(job: dict, note: str = "") -> dict:
    color = COLORS.get(job["status"], "inherit")
    parts = [f"<span style=\"color:{color}\">{SYMBOLS.get(job['status'], '·')}</span> <b>{html.escape(job['name'])}</b>",
             f"<code>{job['id']}</code>", html.escape(job["resource"]), html.escape(_state(job))]
    if job.get("reason") and job["status"] in FINAL:
        parts.append(f"<span style=\"color:{color}\">{html.escape(job['reason'])}</span>")
    if note:
        parts.append(f"<i>{html.escape(note)}</i>")
    return {"text/plain": status_text(job, note), "text/html": f"<div class=\"momo-job-status\">{' · '.join(parts)}</div>"}


class JobTable(list):
    """``%job list`` without pandas."""

    COLUMNS = ("id", "name", "status", "resource", "created_at", "finished_at", "reason")

    def _repr_html_(self):
        head = "".join(f"<th>{c}</th>" for c in self.COLUMNS)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(j.get(c) or ''))}</td>" for c in self.COLUMNS) + "</tr>"
                       for j in self)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"

    def _repr_pretty_(self, p, cycle):
        p.text("\n".join(status_text(j) for j in self) or "no jobs")


def vega_lite(job: dict, metrics: dict) -> dict:
    """A Vega-Lite chart of a job's metric series, one panel per metric."""
    x = metrics.get("x", "time")
    values = [{"metric": s["name"], "x": xv, "value": yv}
              for s in metrics.get("series", []) for xv, yv in zip(s["x"], s["y"]) if yv is not None and xv is not None]
    names = [s["name"] for s in metrics.get("series", [])]
    mark = {"type": "line", "point": len(values) <= 300, "tooltip": True}
    encoding = {
        "x": {"field": "x", "type": "quantitative", "title": "seconds" if x == "time" else x},
        "y": {"field": "value", "type": "quantitative", "title": None, "scale": {"zero": False}},
        "color": {"field": "metric", "type": "nominal", "legend": None},
    }
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": f"{job['name']} [{job['id']}] · {job['status']}",
        "data": {"values": values},
    }
    if len(names) <= 1:
        encoding["y"]["title"] = names[0] if names else "no metrics yet"
        spec.update(width=480, height=240, mark=mark, encoding=encoding)
    else:
        spec.update(facet={"field": "metric", "type": "nominal", "title": None, "sort": names},
                    columns=2, spec={"width": 300, "height": 180, "mark": mark, "encoding": encoding},
                    resolve={"scale": {"y": "independent"}})
    return spec


def chart_bundle(job: dict, metrics: dict) -> dict:
    counts = ", ".join(f"{s['name']} ({s['count']} points)" for s in metrics.get("series", [])) or "no metrics yet"
    return {VEGA_LITE: vega_lite(job, metrics), "text/plain": f"metrics of {job['name']} [{job['id']}]: {counts}"}
