"""Notebook → ``.py`` that runs under plain ``python``, or a clear refusal.

nbconvert turns IPython magics and ``!shell`` lines into ``get_ipython()`` calls,
which crash outside IPython; here they become comments saying what was removed, and
so do raw cells (nbconvert copies them verbatim, as code). A notebook nbformat can't
read, or one in another language than Python, is refused (``BadRequest`` with a code);
code that Python 3 can't compile (a Python 2 ``print "…"``) is exported with warnings
naming the cell and the line, so a job isn't queued only to fail at its first line.
"""
from __future__ import annotations

import json
import re
import warnings as python_warnings
from pathlib import Path
from typing import NamedTuple

import nbformat
from nbconvert.exporters import PythonExporter
from nbconvert.preprocessors import Preprocessor

from .errors import BadRequest

REMOVED = "[momo-jobs] removed for plain python:"
RAW_CELL = "[momo-jobs] raw cell, kept as a comment:"
# A line magic, a shell escape, or an assignment from either (``files = !ls``).
_IPYTHON_LINE = re.compile(r"^(\s*)(?:%|!|[\w\s,]+=\s*[!%])")
# Python 2 statements that Python 3 reads as a syntax error.
_PYTHON2_HINTS = (
    (re.compile(r"^\s*print\s+[^\s(=.,)\[]"), "Python 2 print?"),
    (re.compile(r"^\s*exec\s+[\"'\w]"), "Python 2 exec?"),
    (re.compile(r"^\s*except\s+[\w.]+\s*,\s*\w+\s*:"), "Python 2 except?"),
    (re.compile(r"^\s*raise\s+[\w.]+\s*,"), "Python 2 raise?"),
    (re.compile(r"`"), "Python 2 backticks?"),
    (re.compile(r"\bur[\"']|\b0\d+\b"), "Python 2 literal?"),
)


class ExportResult(NamedTuple):
    script: str
    warnings: list[str]


def _comment_ipython(source: str) -> str:
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return "\n".join(f"# {REMOVED} {line}" if i == 0 else f"# {line}" for i, line in enumerate(lines))
    out = []
    for line in lines:
        match = _IPYTHON_LINE.match(line)
        if match:
            indent = match.group(1)
            # Inside a block a bare comment would leave it empty: keep a statement.
            prefix = f"{indent}pass  # " if indent else "# "
            out.append(f"{prefix}{REMOVED} {line.strip()}")
        else:
            out.append(line)
    return "\n".join(out)


def _commented_raw(source: str) -> str:
    return "\n".join([f"# {RAW_CELL}"] + [f"# {line}".rstrip() for line in source.splitlines()])


def compile_warning(source: str, where: str) -> str | None:
    """``"<where>, line 2: invalid syntax (Python 2 print?)"`` if Python 3 can't compile ``source``."""
    try:
        with python_warnings.catch_warnings():
            python_warnings.simplefilter("ignore")  # SyntaxWarnings (invalid escapes) still run
            compile(source, where, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (source.splitlines() or [""])[max(0, (exc.lineno or 1) - 1)] if exc.lineno else ""
        hint = next((text for pattern, text in _PYTHON2_HINTS if pattern.search(line)), None)
        message = (exc.msg or "invalid syntax").split(". Did you mean")[0]
        return f"{where}, line {exc.lineno or 1}: {message}" + (f" ({hint})" if hint else "")
    except (ValueError, OverflowError) as exc:  # a NUL byte, a literal too large
        return f"{where}: {exc}"
    return None


class ForPlainPython(Preprocessor):
    """Magics and shell lines commented out, raw cells kept as comments, and a warning for
    each code cell that Python 3 can't compile (``cell N`` counts every cell from 1)."""

    def preprocess(self, nb, resources):
        found = resources.setdefault("momo_warnings", [])
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "raw":
                nb.cells[index] = nbformat.v4.new_code_cell(_commented_raw(cell.source))
            elif cell.cell_type == "code":
                cell.source = _comment_ipython(cell.source)
                warning = compile_warning(cell.source, f"cell {index + 1}")
                if warning:
                    found.append(warning)
        return nb, resources


def _malformed(name: str, reason: object) -> BadRequest:
    text = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    return BadRequest(f"{name} is not a notebook that nbformat can read: {text}", code="notebook_malformed")


def read_notebook(notebook: Path):
    """The notebook as nbformat 4, or BadRequest ``notebook_malformed`` with nbformat's reason."""
    try:
        with python_warnings.catch_warnings():
            python_warnings.simplefilter("ignore")
            nb = nbformat.read(str(notebook), as_version=4)
            nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise _malformed(notebook.name, exc.message) from None
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _malformed(notebook.name, exc) from None
    if not isinstance(nb.get("cells"), list):
        raise _malformed(notebook.name, "it has no list of cells")
    return nb


def notebook_language(nb) -> str | None:
    """The notebook's language as its metadata says (kernelspec, then language_info); None if unsaid."""
    metadata = nb.get("metadata") or {}
    for value in ((metadata.get("kernelspec") or {}).get("language"), (metadata.get("language_info") or {}).get("name")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def check_python(nb, name: str) -> None:
    language = notebook_language(nb)
    if language is not None and language.lower() not in ("python", "python3", "python2", "ipython"):
        raise BadRequest(f"{name} is a notebook in {language[:1].upper()}{language[1:]}, not Python: only Python "
                         "notebooks can be exported to a script and run as jobs", code="notebook_not_python")


def notebook_to_script(notebook: Path) -> ExportResult:
    nb = read_notebook(notebook)
    check_python(nb, notebook.name)
    exporter = PythonExporter()
    exporter.register_preprocessor(ForPlainPython(), enabled=True)
    try:
        body, resources = exporter.from_notebook_node(nb)
    except Exception as exc:  # nbconvert on a notebook nbformat read but can't render
        raise _malformed(notebook.name, exc) from None
    return ExportResult(body, list(resources.get("momo_warnings", [])))


def script_warnings(script: Path) -> list[str]:
    """The compile warning of a ``.py`` file, if any, as a list like an export's."""
    try:
        source = script.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [f"{script.name}: not UTF-8 text ({exc.reason})"]
    warning = compile_warning(source, script.name)
    return [warning] if warning else []


def export_notebook(notebook: Path, target: Path) -> ExportResult:
    result = notebook_to_script(notebook)
    target.write_text(result.script, encoding="utf-8")
    return result
