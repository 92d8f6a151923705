"""The frontend's status lists (src/api.ts) are the ones of momo_jobs.vocabulary.

The TypeScript constants are read from the source with a regex, so that the two
vocabularies cannot drift apart without a test failing.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from momo_jobs import vocabulary

API_TS = Path(__file__).resolve().parent.parent / "src" / "api.ts"

# `export const NAME = [ 'a', 'b' ] as const;` or
# `export const NAME: ReadonlyArray<JobStatus> = [ 'a', 'b' ];`
_CONSTANT = r"export\s+const\s+{name}\b[^=]*=\s*\[(?P<items>[^\]]*)\]"
_ITEM = re.compile(r"""^\s*(['"])(?P<value>[a-z_]+)\1\s*$""")


def ts_string_list(name: str) -> tuple[str, ...]:
    """The strings of the array constant ``name`` exported by src/api.ts."""
    if not API_TS.is_file():
        pytest.fail(f"{API_TS} is missing: cannot check the frontend's statuses")
    source = API_TS.read_text(encoding="utf-8")
    match = re.search(_CONSTANT.format(name=re.escape(name)), source)
    if match is None:
        pytest.fail(
            f"src/api.ts exports no array constant {name!r} "
            f"(expected `export const {name} = ['...', ...]`); "
            "update this test if the constant was renamed or moved"
        )
    values = []
    for raw in match.group("items").split(","):
        if not raw.strip():
            continue  # a trailing comma
        item = _ITEM.match(raw)
        if item is None:
            pytest.fail(f"{name} in src/api.ts holds {raw.strip()!r}, not a plain string literal")
        values.append(item.group("value"))
    if not values:
        pytest.fail(f"{name} in src/api.ts is empty")
    return tuple(values)


def test_statuses_match_the_vocabulary():
    assert ts_string_list("JOB_STATUSES") == vocabulary.STATUSES


def test_final_statuses_match_the_vocabulary():
    assert ts_string_list("FINAL_STATUSES") == vocabulary.FINAL


def test_active_statuses_match_the_vocabulary():
    assert ts_string_list("ACTIVE_STATUSES") == vocabulary.ACTIVE


def test_job_status_type_is_derived_from_the_list():
    source = API_TS.read_text(encoding="utf-8")
    assert re.search(
        r"export\s+type\s+JobStatus\s*=\s*\(\s*typeof\s+JOB_STATUSES\s*\)\s*\[\s*number\s*\]",
        source,
    ), "JobStatus in src/api.ts should be `(typeof JOB_STATUSES)[number]`"
