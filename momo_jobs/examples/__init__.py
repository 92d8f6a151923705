"""Copy a worked example into a folder and prepare its data (``momo-jobs example mnist DIR``).

The user's files win: a file the folder already has is never overwritten, so running
this again only fills in what is missing.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

Log = Callable[[str], None]


@dataclass(frozen=True)
class Example:
    folder: str  # under examples/ in a source tree, under momo_jobs/_examples/ in a wheel
    notebook: str  # the English one
    files: tuple[str, ...]
    prepare_data: Callable[[Path, Log], object]
    # The notebook in another language, by language tag (``zh-CN``); all are copied.
    translations: tuple[tuple[str, str], ...] = ()

    def notebook_for(self, language: str | None) -> str:
        """The notebook in ``language`` (``zh-CN``, ``zh_CN.UTF-8``, ``zh``), else the English one."""
        tag = (language or "").split(".")[0].replace("_", "-").lower()
        for lang, notebook in self.translations:
            lang = lang.lower()
            if tag and (tag == lang or lang.split("-")[0] == tag or tag.split("-")[0] == lang.split("-")[0]):
                return notebook
        return self.notebook


def _mnist_data(dest: Path, log: Log) -> object:
    from .mnist_data import ensure_mnist

    return ensure_mnist(dest, log=log)


EXAMPLES = {
    "mnist": Example("mnist", "How_Train_Model.ipynb",
                     ("How_Train_Model.ipynb", "How_Train_Model_zh_CN.ipynb", "How_Train_Model.py"), _mnist_data,
                     translations=(("zh-CN", "How_Train_Model_zh_CN.ipynb"),)),
}


def example_source(name: str) -> Path:
    """The folder that holds an example's files: packaged in the wheel, or the source tree's."""
    example = _example(name)
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_examples" / example.folder, package.parent / "examples" / example.folder):
        if all((candidate / f).is_file() for f in example.files):
            return candidate
    raise RuntimeError(f"the {name} example's files are missing from this installation of momo-jobs")


def _example(name: str) -> Example:
    try:
        return EXAMPLES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown example {name!r}; available: {', '.join(sorted(EXAMPLES))}") from None


def prepare_example(name: str, dest: Path, log: Log = print, language: str | None = None) -> Path:
    """Copy example ``name``'s files that ``dest`` lacks, prepare its data; return the path of its
    notebook in ``language`` (a tag such as ``zh-CN``, or a locale such as ``zh_CN.UTF-8``) if it
    has one, else of the English one.

    Raises ``ValueError`` for an unknown example, ``RuntimeError`` (one line) when its
    data can't be had from any source; the files are copied either way.
    """
    example = _example(name)
    source = example_source(name)
    dest = Path(dest).expanduser()
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"{dest} exists and is not a folder")
    dest.mkdir(parents=True, exist_ok=True)
    for file in example.files:
        target = dest / file
        try:
            # "x": never replace a file, even one that appears while this runs
            with open(source / file, "rb") as src, open(target, "xb") as out:
                shutil.copyfileobj(src, out)
        except FileExistsError:
            log(f"kept your {target}")
        else:
            log(f"wrote {target}")
    example.prepare_data(dest, log)
    return dest / example.notebook_for(language)
