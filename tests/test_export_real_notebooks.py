"""Export of real notebooks that nobody here wrote: the test notebooks shipped in the
source distributions of nbconvert, nbformat and papermill (malformed ones, Julia and R
ones, Python 2 ones). Never a 500: a 400 with a code and nbformat's reason, or a script
that compiles, or one whose warnings name the cells that don't (DESIGN §6)."""
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import nbformat
import pytest

from conftest import wait_for_job

SDISTS = ("nbconvert", "nbformat", "papermill")
CACHE = Path(os.environ.get("MOMO_JOBS_TEST_CACHE", Path.home() / ".cache" / "momo-jobs-tests")) / "sdists"


def _sdists() -> list[Path]:
    found = [next(iter(sorted(CACHE.glob(f"{name}-*.tar.gz"))), None) for name in SDISTS]
    if all(found):
        return found
    CACHE.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q",
                          "-d", str(CACHE), *SDISTS], capture_output=True, text=True, timeout=600)
    found = [next(iter(sorted(CACHE.glob(f"{name}-*.tar.gz"))), None) for name in SDISTS]
    if not all(found):
        pytest.skip(f"the sdists of {', '.join(SDISTS)} can't be downloaded (offline?): {run.stderr.strip()[-300:]}")
    return found


@pytest.fixture(scope="module")
def real_notebooks(tmp_path_factory) -> Path:
    """The .ipynb files of the three sdists, unpacked under one folder."""
    folder = tmp_path_factory.mktemp("real-notebooks")
    for sdist in _sdists():
        with tarfile.open(sdist) as archive:
            for member in archive.getmembers():
                if member.isfile() and member.name.endswith(".ipynb"):
                    target = folder / member.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.extractfile(member).read())
    return folder


def _language(path: Path) -> str | None:
    try:
        metadata = nbformat.read(str(path), as_version=nbformat.NO_CONVERT).get("metadata", {})
    except Exception:
        return None
    return ((metadata.get("kernelspec") or {}).get("language") or (metadata.get("language_info") or {}).get("name"))


async def test_every_real_notebook_exports_or_is_refused_with_a_reason(jobs_api, jp_root_dir, real_notebooks):
    root = Path(jp_root_dir) / "real"
    shutil.copytree(real_notebooks, root)
    notebooks = sorted(root.rglob("*.ipynb"))
    assert len(notebooks) >= 60, f"only {len(notebooks)} notebooks in the sdists"
    answers = {}
    for path in notebooks:
        rel = path.relative_to(jp_root_dir).as_posix()
        code, answer = await jobs_api("POST", "export", {"path": rel, "overwrite": True})
        answers[path.name] = (code, answer)
        assert code in (201, 400), (rel, code, answer)
        if code == 400:
            assert answer["code"] in ("notebook_malformed", "notebook_not_python"), (rel, answer)
            assert path.name in answer["message"], answer
            continue
        language = (_language(path) or "python").lower()
        assert language == "python", (rel, language)
        script = path.with_suffix(".py")
        try:
            compile(script.read_text(encoding="utf-8"), str(script), "exec", dont_inherit=True)
        except SyntaxError as exc:
            assert answer["warnings"], f"{rel}: the script doesn't compile ({exc}) and the answer has no warnings"
        else:
            assert answer["warnings"] == [], (rel, answer)
    refused = {name: answer for name, (code, answer) in answers.items() if code == 400}
    assert refused["notebook_jl.ipynb"]["code"] == "notebook_not_python"
    assert "Julia" in refused["notebook_jl.ipynb"]["message"]
    assert refused["notimplemented_translator.ipynb"]["code"] == "notebook_not_python"
    malformed = sorted(n for n, a in refused.items() if a["code"] == "notebook_malformed")
    assert "invalid.ipynb" in malformed and "test3_no_worksheets.ipynb" in malformed, malformed
    python2 = answers["broken1.ipynb"][1]["warnings"]
    assert python2 == ["cell 8, line 1: Missing parentheses in call to 'print' (Python 2 print?)"], python2


async def test_a_notebook_job_carries_the_export_warnings(jobs_api, jp_root_dir):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# old code"),
                nbformat.v4.new_raw_cell("raw text: not python at all"),
                nbformat.v4.new_code_cell("x = 1\nprint 'hello'")]
    nbformat.write(nb, str(Path(jp_root_dir) / "old.ipynb"))
    code, check = await jobs_api("POST", "jobs", {"script": "old.ipynb", "dry_run": True})
    assert code == 200 and check == {"script": "old.ipynb",
                                     "warnings": ["cell 3, line 2: Missing parentheses in call to 'print' "
                                                  "(Python 2 print?)"]}
    assert (await jobs_api("GET", "jobs"))[1]["total"] == 0  # a dry run queues nothing
    code, job = await jobs_api("POST", "jobs", {"script": "old.ipynb"})
    assert code == 201 and job["warnings"] == check["warnings"]
    job = await wait_for_job(jobs_api, job["id"])
    assert job["status"] == "failed"  # as the warning said
    code, answer = await jobs_api("POST", "export", {"path": "old.ipynb"})
    assert code == 201 and answer["warnings"] == check["warnings"]
    script = (Path(jp_root_dir) / "old.py").read_text()
    assert "# raw text: not python at all" in script


async def test_refused_notebooks_queue_nothing(jobs_api, jp_root_dir):
    (Path(jp_root_dir) / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "ir", "display_name": "R", "language": "R"}})
    nb.cells = [nbformat.v4.new_code_cell("print('hi')")]
    nbformat.write(nb, str(Path(jp_root_dir) / "r.ipynb"))
    for path, error in (("broken.ipynb", "notebook_malformed"), ("r.ipynb", "notebook_not_python")):
        for method, route, body in (("POST", "jobs", {"script": path}), ("POST", "export", {"path": path})):
            code, answer = await jobs_api(method, route, body)
            assert code == 400 and answer["code"] == error, answer
    assert (await jobs_api("GET", "jobs"))[1]["total"] == 0
    assert not (Path(jp_root_dir) / "r.py").exists()


async def test_a_python_script_that_does_not_compile_carries_a_warning(jobs_api, write_script):
    rel = write_script("py2.py", "import os\nprint 'hello'\n")
    code, job = await jobs_api("POST", "jobs", {"script": rel, "dry_run": True})
    assert code == 200 and job["warnings"] == ["py2.py, line 2: Missing parentheses in call to 'print' "
                                               "(Python 2 print?)"]
    rel = write_script("ok.py", "print('fine')\n")
    code, job = await jobs_api("POST", "jobs", {"script": rel})
    assert code == 201 and job["warnings"] == []
