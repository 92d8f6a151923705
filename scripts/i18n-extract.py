"""The momo_jobs translation catalogue: extract, merge, compile.

    python scripts/i18n-extract.py            # extract every msgid into the .pot, merge it into each .po
    python scripts/i18n-extract.py --compile  # and write each .po's .json (JupyterLab) and .mo (gettext)
    python scripts/i18n-extract.py --check    # exit 1 if the .pot, .json or .mo are not those of the sources

Msgids come from ``trans.__('…')``, ``trans._n('…', '…', n)`` and ``trans._p('ctx', '…')`` in
src/ (tests left out), from the settings schemas in schema/ (the strings jupyterlab_server
translates, in its contexts: ``schema``, ``settings``, ``toolbar``, ``menu``) and from
``_('…')`` / ``ngettext('…', '…', n)`` in momo_jobs/ (the command line and the magics).
One domain, ``momo_jobs``: the frontend reads the .json through the ``jupyterlab.locale``
entry point, Python's gettext (and jupyterlab_server, for the schemas) the .mo.
Standard library and Babel (a dependency of jupyterlab_server) only.
"""
from __future__ import annotations

import argparse
import ast
import io
import json
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "momo_jobs"
LOCALE_DIR = ROOT / "momo_jobs" / "locale"
POT = LOCALE_DIR / f"{DOMAIN}.pot"

_STRING = r"""('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
_SEP = r"\s*,\s*"
_TS_CALLS = {
    "__": re.compile(r"\btrans\.__\(\s*" + _STRING),
    "_n": re.compile(r"\btrans\._n\(\s*" + _STRING + _SEP + _STRING),
    "_p": re.compile(r"\btrans\._p\(\s*" + _STRING + _SEP + _STRING),
}
# The strings of a settings schema that jupyterlab_server translates, and their contexts
# (jupyterlab_server.translation_utils.DEFAULT_SCHEMA_SELECTORS).
_SCHEMA_SELECTORS = [
    (r"properties/[^/]+/(title|description)", "settings"),
    (r"(title|description)", "schema"),
    (r"jupyter\.lab\.menus/.*/label", "menu"),
    (r"jupyter\.lab\.toolbars/.*/label", "toolbar"),
]


def _js_string(literal: str) -> str:
    """A JS string literal's value (the escapes the sources use: \\n, \\', \\", \\\\, \\u)."""
    body = literal[1:-1]
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", lambda m: (chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "u" else
                                                      {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1))), body)


def frontend_messages(src: Path = ROOT / "src") -> list[tuple[str | None, str | tuple[str, str], str]]:
    """(context, msgid or (singular, plural), where) of every trans call in src/."""
    found = []
    for path in sorted(src.rglob("*.ts*")):
        if "__tests__" in path.parts or path.name == "i18n.ts":  # i18n.ts: the translator, no UI text
            continue
        text = path.read_text(encoding="utf-8")
        where = (path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).as_posix()
        for kind, pattern in _TS_CALLS.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                first, *rest = (_js_string(g) for g in match.groups())
                if kind == "__":
                    found.append((None, first, f"{where}:{line}"))
                elif kind == "_n":
                    found.append((None, (first, rest[0]), f"{where}:{line}"))
                else:
                    found.append((first, rest[0], f"{where}:{line}"))
    return found


def schema_messages(schema_dir: Path = ROOT / "schema") -> list[tuple[str, str, str]]:
    found = []
    patterns = [(re.compile("^/" + p + "$"), c) for p, c in _SCHEMA_SELECTORS]

    def walk(node, prefix, where):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            path = f"{prefix}/{key}" if isinstance(node, dict) else f"{prefix}[{key}]"
            if isinstance(value, str):
                for pattern, context in patterns:
                    if pattern.fullmatch(path):
                        found.append((context, value, where))
                        break
            elif isinstance(value, (dict, list)):
                walk(value, path, where)

    for path in sorted(schema_dir.glob("*.json")):
        walk(json.loads(path.read_text(encoding="utf-8")), "", path.relative_to(ROOT).as_posix())
    return found


def python_messages(package: Path = ROOT / "momo_jobs") -> list[tuple[None, str | tuple[str, str], str]]:
    """``_('…')`` and ``ngettext('…', '…', n)`` calls with literal strings in the package."""
    found = []
    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.id == "_" and len(args) == 1 == len(node.args):
                found.append((None, args[0], f"{where}:{node.lineno}"))
            elif node.func.id == "ngettext" and len(args) == 2:
                found.append((None, (args[0], args[1]), f"{where}:{node.lineno}"))
    return found


def all_messages():
    return frontend_messages() + schema_messages() + python_messages()


def template() -> Catalog:
    catalog = Catalog(domain=DOMAIN, project="momo-jobs", charset="utf-8")
    for context, msgid, where in all_messages():
        file, _, line = where.partition(":")
        existing = catalog.get(msgid, context)
        locations = [(file, int(line) if line else None)]
        if existing is not None:
            existing.locations.append(locations[0])
        else:
            catalog.add(msgid, context=context, locations=locations,
                        flags=("python-brace-format",) if "{" in (msgid if isinstance(msgid, str) else msgid[0]) else ())
    return catalog


def _po_bytes(catalog: Catalog, **kwargs) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, sort_output=True, omit_header=False, include_lineno=False, **kwargs)
    return _without_false_python_format(out.getvalue())


def _without_false_python_format(data: bytes) -> bytes:
    """Babel flags ``python-format`` on any msgid with a ``%``; JupyterLab's ``%1`` is not
    one, and ``msgfmt -c`` would then refuse a translation that moves the ``%1``."""
    blocks = data.split(b"\n\n")
    for i, block in enumerate(blocks):
        if re.search(rb'^msgid ".*%\d', block, re.M):
            block = re.sub(rb"^#, python-format\n", b"", block, flags=re.M)
            blocks[i] = re.sub(rb"^(#,.*?)(, )?python-format", rb"\1", block, flags=re.M)
    return b"\n\n".join(blocks)


def _stable(data: bytes) -> bytes:
    """A .po's text without the dates Babel writes in its header."""
    return re.sub(rb'"(POT-Creation-Date|PO-Revision-Date): [^"]*\\n"\n', b"", data)


def merged(po_path: Path, pot: Catalog) -> Catalog:
    with open(po_path, "rb") as f:
        catalog = read_po(f, locale=po_path.parent.parent.name, domain=DOMAIN)
    catalog.update(pot, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    return catalog


def catalogue_json(catalog: Catalog, language: str) -> dict:
    """The .po as JupyterLab's translation data (as the language packs ship it). ``language``
    is the folder's name (``zh_CN``): JupyterLab looks its messages up as ``zh-CN``, which
    Babel's own name of the locale (``zh_Hans_CN``) is not."""
    data = {"": {"domain": DOMAIN, "language": language.replace("_", "-"),
                 "plural_forms": catalog.plural_forms, "version": "momo-jobs"}}
    for message in catalog:
        if not message.id or not message.string:
            continue
        key = message.id[0] if message.pluralizable else message.id
        if message.context:
            key = f"{message.context}\u0004{key}"
        strings = list(message.string) if message.pluralizable else [message.string]
        if message.pluralizable and len(strings) == 1:
            # JupyterLab's Gettext takes a plural entry of one form for a singular one and
            # ignores it; with one plural form (zh: plural=0) the second copy is never read
            strings *= 2
        data[key] = strings
    return dict(sorted(data.items()))


def mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def _mo_messages(data: bytes) -> dict:
    """A .mo's messages, its header (which carries dates) left out."""
    import gettext

    messages = dict(gettext.GNUTranslations(io.BytesIO(data))._catalog)
    messages.pop("", None)
    return messages


def outputs(pot: Catalog) -> dict[Path, bytes]:
    """Every file the catalogue consists of, as it should be."""
    files = {POT: _po_bytes(pot, ignore_obsolete=True)}
    for po_path in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        catalog = merged(po_path, pot)
        files[po_path] = _po_bytes(catalog, ignore_obsolete=True)
        files[po_path.with_suffix(".json")] = (json.dumps(catalogue_json(catalog, po_path.parent.parent.name), ensure_ascii=False, indent=1)
                                               + "\n").encode()
        files[po_path.with_suffix(".mo")] = mo_bytes(catalog)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile", action="store_true", help="write the .json and .mo of each .po too")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, data in outputs(template()).items():
        if path.suffix in (".json", ".mo") and not (args.compile or args.check):
            continue
        old = path.read_bytes() if path.exists() else b""
        if path.suffix in (".po", ".pot"):
            same = _stable(old) == _stable(data)
        elif path.suffix == ".mo":
            same = bool(old) and _mo_messages(old) == _mo_messages(data)
        else:
            same = old == data
        if same:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and stale:
        print("out of date (run python scripts/i18n-extract.py --compile):", *(p.relative_to(ROOT) for p in stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
