"""A sweep's grid of argument values expanded into its jobs (DESIGN §3 ``POST /sweeps``):
one job per combination, its arguments ``--lr 0.1 --batch_size 64``, its name the
values (``train lr=0.1 batch_size=64``)."""
from __future__ import annotations

import itertools
import re

MAX_COMBINATIONS = 1000
PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def combinations(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination of the grid's values, the first parameter varying slowest."""
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def combination_count(grid: dict[str, list[str]]) -> int:
    count = 1
    for values in grid.values():
        count *= len(values)
    return count


def sweep_args(values: dict[str, str]) -> list[str]:
    """``{"lr": "0.1", "batch_size": "64"}`` → ``["--lr", "0.1", "--batch_size", "64"]``."""
    return [word for name, value in values.items() for word in (f"--{name}", value)]


def job_name(base: str, values: dict[str, str]) -> str:
    """``train`` and the values → ``train lr=0.1 batch_size=64``."""
    return " ".join([base, *(f"{name}={value}" for name, value in values.items())])
