"""The submit options of the ``momo-jobs`` command line and of ``%job``/``%%job``: the
same flags, read the same way."""
from __future__ import annotations

import argparse
import re

from ..vocabulary import Resource
from .i18n import _

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def split_script_args(words: list[str]) -> tuple[list[str], list[str]]:
    """(our words, the script's arguments): the script's come after the first ``--``."""
    if "--" in words:
        cut = words.index("--")
        return words[:cut], words[cut + 1:]
    return words, []


def add_submit_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--gpu", nargs="?", type=int, const=1, metavar="N", help=_("run on N whole GPUs (default 1)"))
    where.add_argument("--cpu", action="store_true", help=_("run on a CPU slot (the default)"))
    where.add_argument("--console", action="store_true",
                       help=_("run in a fresh kernel that stays alive for inspection"))
    parser.add_argument("--name", help=_("the job's name"))
    parser.add_argument("--kernel", help=_("kernelspec whose Python runs the job (default: the server's)"))
    parser.add_argument("--env", action="append", metavar="KEY=VALUE", help=_("an environment variable (repeatable)"))
    parser.add_argument("--time", metavar="DURATION",
                        help=_("time limit, e.g. 2h30m, 90s or 45 (seconds); then the job is stopped and fails"))
    parser.add_argument("--time-signal", metavar="SIG@DURATION",
                        help=_("warn the job with this signal this long before its time limit, "
                               "e.g. USR1@60 or USR1@5m"))
    parser.add_argument("--retries", type=int, metavar="N", help=_("run a failed job again, up to N more times (0-10)"))
    parser.add_argument("--retry-on-time-limit", action="store_true", help=_("retry a job its time limit stopped too"))


def parse_duration(text: str) -> float:
    """``2h30m`` → 9000, ``90s`` → 90, ``45`` → 45 (seconds), ``1d`` → 86400; ValueError else."""
    text = text.strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    if not text or _DURATION.sub("", text):
        raise ValueError(_("{text!r} is not a duration (e.g. 2h30m, 90s, 45)").format(text=text))
    return float(sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(text)))


def parse_time_signal(text: str) -> str:
    """``USR1@5m`` → ``USR1@300``: the API's SIGNAL@SECONDS."""
    name, sep, when = text.partition("@")
    if not sep or not name:
        raise ValueError(_("--time-signal takes SIGNAL@DURATION (e.g. USR1@60), not {text!r}").format(text=text))
    return f"{name}@{parse_duration(when):g}"


def parse_grid(pairs: list[str]) -> dict[str, list[str]]:
    """``--grid lr=0.1,0.01`` words as a sweep's grid; ValueError for one without values."""
    grid: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, values = pair.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise ValueError(_("--grid takes NAME=V1,V2,..., not {pair!r}").format(pair=pair))
        grid[name.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    if not grid:
        raise ValueError(_("a sweep needs at least one --grid NAME=V1,V2"))
    return grid


def add_sweep_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--grid", action="append", required=True, metavar="NAME=V1,V2",
                        help=_("a parameter and its values, passed as --NAME V (repeatable: every combination runs)"))
    parser.add_argument("--max-parallel", type=int, metavar="N", help=_("run at most N of the sweep's jobs at once"))


def parse_env(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` words as a dict; ValueError for one without ``=`` or without a key."""
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(_("--env takes KEY=VALUE, not {pair!r}").format(pair=pair))
        env[key] = value
    return env


def submit_kwargs(options: argparse.Namespace) -> dict:
    """The parsed submit options as keyword arguments of ``JobsClient.submit`` (all but the script's args)."""
    if options.gpu is not None:
        resource = Resource.GPU.value
    elif options.console:
        resource = Resource.CONSOLE.value
    else:
        resource = Resource.CPU.value
    return {"resource": resource, "gpus": options.gpu, "name": options.name,
            "env": parse_env(options.env or []) or None, "kernel": options.kernel,
            "time_limit": parse_duration(options.time) if options.time else None,
            "time_limit_signal": parse_time_signal(options.time_signal) if options.time_signal else None,
            "retries": options.retries, "retry_on_time_limit": options.retry_on_time_limit or None}


def sweep_kwargs(options: argparse.Namespace) -> dict:
    """The parsed sweep options as keyword arguments of ``JobsClient.sweep`` (with the submit options)."""
    return {**submit_kwargs(options), "grid": parse_grid(options.grid), "max_parallel": options.max_parallel}
