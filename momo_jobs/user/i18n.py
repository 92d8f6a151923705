"""The messages of the command line and the magics in the user's language: stdlib
gettext over the catalogue shipped in ``momo_jobs/locale`` (domain ``momo_jobs``, the
frontend's too), chosen by ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` or ``LANG`` as
gettext does (``LANG=zh_CN.UTF-8``: Chinese). Without a catalogue for it, English."""
from __future__ import annotations

import gettext
from pathlib import Path

DOMAIN = "momo_jobs"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def _translation() -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), fallback=True)


def _(message: str) -> str:
    return _translation().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation().ngettext(singular, plural, n)
