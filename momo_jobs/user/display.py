"""How jobs look in a notebook: status lines (text and HTML), the job table and
Vega-Lite charts of metrics. Plain data in, display bundles out; no IPython needed."""
from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

from ..vocabulary import ACTIVE, FINAL, Resource, Status, queue_of
from .i18n import _

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


def _line_chart(title: str, x: str, values: list[dict], names: list[str], color: dict) -> dict:
    """Lines of ``values`` ({"metric", "x", "value", …}), one panel per metric name."""
    mark = {"type": "line", "point": len(values) <= 300, "tooltip": True}
    encoding = {
        "x": {"field": "x", "type": "quantitative", "title": "seconds" if x == "time" else x},
        "y": {"field": "value", "type": "quantitative", "title": None, "scale": {"zero": False}},
        "color": color,
    }
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
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


def vega_lite(job: dict, metrics: dict) -> dict:
    """A Vega-Lite chart of a job's metric series, one panel per metric."""
    values = [{"metric": s["name"], "x": xv, "value": yv}
              for s in metrics.get("series", []) for xv, yv in zip(s["x"], s["y"]) if yv is not None and xv is not None]
    return _line_chart(f"{job['name']} [{job['id']}] · {job['status']}", metrics.get("x", "time"), values,
                       [s["name"] for s in metrics.get("series", [])],
                       {"field": "metric", "type": "nominal", "legend": None})


def chart_bundle(job: dict, metrics: dict) -> dict:
    counts = ", ".join(f"{s['name']} ({s['count']} points)" for s in metrics.get("series", [])) or "no metrics yet"
    return {VEGA_LITE: vega_lite(job, metrics), "text/plain": f"metrics of {job['name']} [{job['id']}]: {counts}"}


# comparing runs

SYS_PREFIX = "sys/"
# Metrics of these names are better when lower; any other is better when higher (accuracy).
_LOWER_IS_BETTER = ("loss", "error", "err", "mae", "mse", "rmse", "perplexity", "wer", "cer")
PREFERRED_METRICS = ("val_loss", "test_loss", "loss", "val_accuracy", "accuracy")


def lower_is_better(metric: str) -> bool:
    words = metric.lower().replace("/", "_").split("_")
    return any(w in _LOWER_IS_BETTER for w in words)


def default_metric(runs: list[dict]) -> str | None:
    """The metric to compare runs by: a usual one they share, else the first shared one."""
    names = [n for n in dict.fromkeys(n for r in runs for n in r["metrics"]) if not n.startswith(SYS_PREFIX)]
    shared = [n for n in names if all(n in r["metrics"] and r["metrics"][n]["max"] is not None for r in runs)]
    for name in PREFERRED_METRICS:
        if name in shared:
            return name
    return (shared or names or [None])[0]


def best_value(run: dict, metric: str) -> float | None:
    summary = run["metrics"].get(metric)
    if not summary:
        return None
    return summary["min"] if lower_is_better(metric) else summary["max"]


def best_run(runs: list[dict], metric: str | None) -> dict | None:
    scored = [r for r in runs if metric and best_value(r, metric) is not None]
    if not scored:
        return None
    pick = min if lower_is_better(metric) else max
    return pick(scored, key=lambda r: best_value(r, metric))


def _mib(value: float | None) -> float | None:
    return None if value is None else round(value / (1 << 20), 1)


def shared_params(runs: list[dict]) -> dict[str, str]:
    """The parameters every run has with the same value (when there are two runs or more)."""
    if len(runs) < 2:
        return {}
    first = runs[0]["params"]
    return {k: v for k, v in first.items() if all(r["params"].get(k) == v for r in runs[1:])}


def run_rows(runs: list[dict], metric: str | None, differing_only: bool = False) -> list[dict]:
    """One flat row per run: its parameters (with ``differing_only``, those that tell the
    runs apart), the metric's best, last and where its best lies, and its telemetry peaks
    (CPU %, memory in MiB)."""
    same = shared_params(runs) if differing_only else {}
    params = [p for p in dict.fromkeys(p for r in runs for p in r["params"]) if p not in same]
    rows = []
    for run in runs:
        row = {"id": run["id"], "name": run["name"], "status": run["status"], "duration_s": run["duration"]}
        row.update({f"param {p}": run["params"].get(p) for p in params})
        summary = run["metrics"].get(metric) if metric else None
        if metric:
            where = "min" if lower_is_better(metric) else "max"
            row[f"{metric} best"] = summary[where] if summary else None
            row[f"{metric} best step"] = summary[f"{where}_step"] if summary else None
            row[f"{metric} last"] = summary["last"] if summary else None
        peak = run.get("peak") or {}
        row["peak cpu %"] = peak.get("cpu_percent")
        row["peak rss MiB"] = _mib(peak.get("rss_bytes"))
        row["peak gpu MiB"] = _mib(peak.get("gpu_memory_bytes"))
        rows.append(row)
    return rows


def best_text(runs: list[dict], metric: str | None) -> str:
    best = best_run(runs, metric)
    if best is None:
        return _("no run has {metric}").format(metric=metric) if metric else _("no metrics to compare")
    lowest = lower_is_better(metric)
    summary = best["metrics"][metric]
    step = summary["min_step" if lowest else "max_step"]
    differ = {k: v for k, v in best["params"].items()
              if any(r["params"].get(k) != v for r in runs if r is not best)}
    because = ", ".join(f"{k}={v}" for k, v in differ.items())
    text = (_("best: {name} [{id}], lowest {metric} {value}") if lowest
            else _("best: {name} [{id}], highest {metric} {value}"))
    text = text.format(name=best["name"], id=best["id"], metric=metric, value=f"{best_value(best, metric):.6g}")
    if step is not None:
        text += _(" at step {step}").format(step=step)
    return text + (f" ({because})" if because else "")


def compare_vega_lite(runs: list[dict], data: dict) -> dict:
    """Series of several runs overlaid, one line per run, one panel per metric."""
    label = {r["id"]: f"{r['name']} [{r['id']}]" for r in runs}
    values = [{"run": label.get(s["job"], s["job"]), "metric": s["name"], "x": xv, "value": yv}
              for s in data.get("series", []) for xv, yv in zip(s["x"], s["y"]) if xv is not None and yv is not None]
    return _line_chart(f"{len(runs)} runs compared", data.get("x", "time"), values,
                       list(dict.fromkeys(s["name"] for s in data.get("series", []))),
                       {"field": "run", "type": "nominal", "title": "run"})


def compare_bundle(runs: list[dict], data: dict, metric: str | None) -> dict:
    return {VEGA_LITE: compare_vega_lite(runs, data), "text/plain": best_text(runs, metric)}
