"""Notebook → ``.py`` that runs under plain ``python``.

nbconvert turns IPython magics and ``!shell`` lines into ``get_ipython()`` calls,
which crash outside IPython; here they become comments saying what was removed.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbconvert.exporters import PythonExporter
from nbconvert.preprocessors import Preprocessor

REMOVED = "[momo-jobs] removed for plain python:"
# A line magic, a shell escape, or an assignment from either (``files = !ls``).
_IPYTHON_LINE = re.compile(r"^(\s*)(?:%|!|[\w\s,]+=\s*[!%])")


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


class CommentIPythonSyntax(Preprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.source = _comment_ipython(cell.source)
        return cell, resources


def notebook_to_script(notebook: Path) -> str:
    nb = nbformat.read(str(notebook), as_version=4)
    exporter = PythonExporter()
    exporter.register_preprocessor(CommentIPythonSyntax(), enabled=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def export_notebook(notebook: Path, target: Path) -> Path:
    target.write_text(notebook_to_script(notebook), encoding="utf-8")
    return target
