"""Paths given by users are relative to the server's root and must stay inside it."""
from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from .errors import BadRequest, Forbidden, NotFound


def resolve_in_root(root: Path, rel: object, *, must_exist: bool = True) -> Path:
    """The real path of ``rel`` under ``root``; refuses absolute paths, ``..`` and
    symlinks that lead out of the root."""
    if not isinstance(rel, str) or not rel.strip():
        raise BadRequest("path must be a non-empty string", code="path_invalid")
    if "\0" in rel:
        raise BadRequest("path must not contain NUL", code="path_invalid")
    pure = PurePosixPath(rel.replace("\\", "/"))
    if pure.is_absolute() or rel.startswith("~"):
        raise Forbidden(f"{rel}: absolute paths are not allowed; give a path relative to the server root")
    if ".." in pure.parts:
        raise Forbidden(f"{rel}: '..' is not allowed")
    real_root = Path(os.path.realpath(root))
    target = Path(os.path.realpath(real_root / pure))
    if target != real_root and real_root not in target.parents:
        raise Forbidden(f"{rel}: leads outside the server root")
    if must_exist and not target.exists():
        raise NotFound(f"{rel}: no such file", code="file_not_found")
    return target


def relative_to_root(root: Path, path: Path) -> str:
    return Path(os.path.realpath(path)).relative_to(os.path.realpath(root)).as_posix()
