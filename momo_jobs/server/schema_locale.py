"""The settings schema's strings (toolbar labels, setting titles) in the UI's language.

jupyterlab_server translates a schema with the gettext domain it declares
(``jupyter.lab.internationalization``), but looks for that domain's ``.mo`` only in
the language pack's folder. momo_jobs ships its own catalogue (``momo_jobs/locale``),
so its domain's bundle is registered here to read it, before the language pack's.
"""
from __future__ import annotations

import gettext
import logging
from pathlib import Path

DOMAIN = "momo_jobs"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def register_schema_catalogue(log: logging.Logger | None = None) -> bool:
    """Makes jupyterlab_server's translator read momo_jobs' own .mo; False without jupyterlab_server."""
    try:
        from jupyterlab_server.translation_utils import TranslationBundle, translator
    except ImportError:
        return False

    class OwnCatalogueBundle(TranslationBundle):
        def update_locale(self, locale_: str) -> None:
            super().update_locale(locale_)
            own = gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=(locale_,), fallback=True)
            if type(own) is not gettext.NullTranslations:
                own.add_fallback(self._translator)
                self._translator = own

    translator._TRANSLATORS[DOMAIN] = OwnCatalogueBundle(DOMAIN, translator._LOCALE)
    if log:
        log.debug("momo-jobs: settings schema translated from %s", LOCALE_DIR)
    return True
