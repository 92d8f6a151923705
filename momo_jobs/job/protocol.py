"""The metric line protocol (DESIGN §4): one JSON object ending a printed line.

This module is imported by user scripts (through ``momo_jobs.log_metric``) and by
the supervisor, so it depends on the standard library alone.
"""
from __future__ import annotations

import json
import math
import sys
from typing import Any, NamedTuple, TextIO

# A line longer than this is never searched for a metric object: it is log.
MAX_METRIC_LINE = 1 << 16
# How many '{' candidates one line may cost before it is given up on as log.
MAX_CANDIDATES = 32

_raw_decode = json.JSONDecoder().raw_decode


class MetricPoint(NamedTuple):
    metric: str
    value: Any
    step: int | None
    epoch: int | None


class ParamPoint(NamedTuple):
    """A parameter of the run (``{"param": "lr", "value": 0.01}``): lands in the runs table."""

    param: str
    value: Any


def _optional_int(obj: dict, key: str) -> tuple[bool, int | None]:
    if key not in obj or obj[key] is None:
        return True, None
    value = obj[key]
    if isinstance(value, int) and not isinstance(value, bool):
        return True, value
    return False, None


def _point_from(obj: Any) -> MetricPoint | ParamPoint | None:
    """The metric or the parameter an object is, or None (a metric wins over a param)."""
    if type(obj) is not dict or "value" not in obj:
        return None
    name = obj.get("metric")
    if type(name) is not str or not name:
        param = obj.get("param")
        if "metric" not in obj and type(param) is str and param:
            return ParamPoint(param, obj["value"])
        return None
    ok_step, step = _optional_int(obj, "step")
    ok_epoch, epoch = _optional_int(obj, "epoch")
    if not (ok_step and ok_epoch):
        return None
    return MetricPoint(name, obj["value"], step, epoch)


def parse_metric_line(line: str) -> MetricPoint | None:
    """The metric that ends ``line``, or None when the line is plain log.

    Text may stand before the object (progress bars write without a newline);
    text after it makes the line plain log. Never raises.
    """
    found = find_metric(line)
    return found[0] if found is not None else None


def find_metric(line: str) -> tuple[MetricPoint, str] | None:
    """The metric that ends ``line`` and the JSON text of its object, or None."""
    found = find_record(line)
    return found if found is not None and type(found[0]) is MetricPoint else None


def find_record(line: str) -> tuple[MetricPoint | ParamPoint, str] | None:
    """The metric or parameter object that ends ``line`` and its JSON text, or None."""
    text = line.rstrip("\r\n\t ")
    if not text.endswith("}") or len(text) > MAX_METRIC_LINE:
        return None
    end = len(text)
    start = text.find("{")
    tries = 0
    while start != -1 and tries < MAX_CANDIDATES:
        tries += 1
        try:
            obj, stop = _raw_decode(text, start)
        except (ValueError, RecursionError):
            stop = -1
        if stop == end:  # the object ends the line
            point = _point_from(obj)
            if point is not None:
                return point, text[start:]
        start = text.find("{", start + 1)
    return None


def is_plottable(value: Any) -> bool:
    """Ints and floats are drawn (NaN and Infinity as gaps); anything else is listed."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_param_line(name: str, value: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError("param name must be a non-empty string")
    return json.dumps({"param": name, "value": value}, default=_json_default)


def param_text(value: Any) -> str:
    """A parameter's value as the runs table shows it: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def format_metric_line(name: str, value: Any, step: int | None = None, epoch: int | None = None) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError("metric name must be a non-empty string")
    obj: dict[str, Any] = {"metric": name, "value": value}
    for key, number in (("step", step), ("epoch", epoch)):
        if number is not None:
            if isinstance(number, bool) or not isinstance(number, int):
                raise TypeError(f"{key} must be an int, not {type(number).__name__}")
            obj[key] = number
    return json.dumps(obj, default=_json_default)


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays, tensors: anything with item() or tolist()
    for attr in ("item", "tolist"):
        method = getattr(value, attr, None)
        if callable(method):
            try:
                return method()
            except (TypeError, ValueError):
                continue
    return str(value)


def log_metric(name: str, value: Any, step: int | None = None, epoch: int | None = None,
               file: TextIO | None = None) -> None:
    """Print one metric line; a job's metrics chart picks it up. Needs no server."""
    out = file if file is not None else sys.stdout
    # A leading newline would split a progress bar's line; the protocol takes the
    # object at the end of the line, so it is written as is.
    out.write(format_metric_line(name, value, step, epoch) + "\n")
    out.flush()


def log_param(name: str, value: Any, file: TextIO | None = None) -> None:
    """Print one parameter line (learning rate, batch size…); it shows in the runs table."""
    out = file if file is not None else sys.stdout
    out.write(format_param_line(name, value) + "\n")
    out.flush()


def finite_or_none(value: Any) -> Any:
    """JSON for browsers has no NaN or Infinity: they travel as null (a gap)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
