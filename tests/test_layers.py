"""The package's layers (docs/architecture.md): arrows point down only. The vocabulary
and the job side stay standard library only (a user's script imports them); the
scheduler and the store never import a backend; the user side never imports the server."""
import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "momo_jobs"


def imports_of(path: Path) -> set[str]:
    """The modules a file imports, relative imports made absolute."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def files(*parts: str) -> list[Path]:
    target = PACKAGE.joinpath(*parts)
    return sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]


def outside_stdlib(names: set[str]) -> set[str]:
    return {n for n in names if n.split(".")[0] not in sys.stdlib_module_names and n != "__future__"}


# The one exception: libraries imported lazily, inside a function, by the module that
# needs them; without them the job side still runs (telemetry says what is missing).
LAZY_IMPORTS = {"telemetry.py": {"psutil", "pynvml"}}


def top_level_imports(path: Path) -> set[str]:
    """The modules a file imports outside any function."""
    tree = ast.parse(path.read_text())
    nested = {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
              for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom)) and node is not fn}
    return {alias.name for node in ast.walk(tree)
            if isinstance(node, ast.Import) and id(node) not in nested for alias in node.names}


@pytest.mark.parametrize("path", files("vocabulary") + files("job"), ids=lambda p: p.name)
def test_the_vocabulary_and_the_job_side_need_only_the_standard_library(path):
    allowed = ("momo_jobs.vocabulary", "momo_jobs.job")
    lazy = LAZY_IMPORTS.get(path.name, set())
    assert {n for n in outside_stdlib(imports_of(path)) if not n.startswith(allowed)} == lazy
    assert not lazy & top_level_imports(path), "a lazy import must stay inside a function"


@pytest.mark.parametrize("path", files("vocabulary") + files("server", "scheduler") + files("server", "store"),
                         ids=lambda p: p.name)
def test_nothing_beneath_the_service_imports_a_backend_or_the_service(path):
    assert {n for n in imports_of(path)
            if n.startswith(("momo_jobs.server.backends", "momo_jobs.server.service"))} == set()


@pytest.mark.parametrize("path", files("server", "backends"), ids=lambda p: p.name)
def test_backends_never_reach_up_into_the_service_or_the_handlers(path):
    assert {n for n in imports_of(path)
            if n.startswith(("momo_jobs.server.service", "momo_jobs.server.handlers", "momo_jobs.server.app"))} == set()


@pytest.mark.parametrize("path", files("user"), ids=lambda p: p.name)
def test_the_user_side_talks_to_the_server_only_over_rest(path):
    # `momo-jobs serve` starts the extension: the one way in, and it is lazy.
    assert {n for n in imports_of(path) if n.startswith("momo_jobs.server")} <= {
        "momo_jobs.server.app", "momo_jobs.server.app.MomoJobsApp"}
