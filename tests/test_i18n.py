"""The zh_CN catalogue: every msgid of the sources is in it and translated, its compiled
files are those of its .po, the placeholders survive translation, and the command
line, the settings schema and the error codes are covered."""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from momo_jobs.server.errors import CODES

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "momo_jobs" / "locale" / "zh_CN" / "LC_MESSAGES" / "momo_jobs.po"


def _extractor():
    spec = importlib.util.spec_from_file_location("i18n_extract", ROOT / "scripts" / "i18n-extract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _catalog():
    from babel.messages.pofile import read_po

    with open(PO, "rb") as f:
        return read_po(f, locale="zh_CN", domain="momo_jobs")


def test_every_msgid_of_the_sources_is_translated_in_zh_cn():
    catalog = _catalog()
    missing = []
    for context, msgid, where in _extractor().all_messages():
        message = catalog.get(msgid if isinstance(msgid, str) else msgid[0], context)
        if message is None or not message.string or message.fuzzy:
            missing.append(f"{where}: {msgid!r}" + (f" (context {context})" if context else ""))
    assert not missing, "not in the zh_CN catalogue (run jlpm i18n, then translate):\n" + "\n".join(missing)


def test_the_extractor_finds_every_kind_of_call(tmp_path):
    extractor = _extractor()
    (tmp_path / "a.tsx").write_text("trans.__('One %1', x);\ntrans._n(\n  'a job',\n  \"%1 jobs\", n);\n"
                                    "trans._p('menu', 'Open');\nconst t = `not ${'this'}`;\n", encoding="utf-8")
    found = {(c, m) for c, m, _ in extractor.frontend_messages(tmp_path)}
    assert found == {(None, "One %1"), (None, ("a job", "%1 jobs")), ("menu", "Open")}
    labels = {(c, m) for c, m, _ in extractor.schema_messages()}
    assert ("toolbar", "Create Job") in labels and ("settings", "Notifications") in labels


def test_the_compiled_catalogues_are_those_of_the_po():
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "i18n-extract.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="msgfmt (Debian's gettext) is not installed")
def test_msgfmt_counts_nothing_untranslated_or_fuzzy():
    run = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, str(PO)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    statistics = run.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ translated messages\.", statistics), statistics


def test_translations_keep_their_placeholders():
    for message in _catalog():
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            for pattern in (r"%\d", r"\{[^}]*\}"):
                assert sorted(re.findall(pattern, ids[0])) == sorted(re.findall(pattern, text)), (message.id, text)


def test_the_platform_words_are_as_the_tutorial_says():
    words = {m.id: m.string for m in _catalog() if m.id and not m.context}
    assert {k: words[k] for k in ("Jobs", "Create Job", "GPU machine", "CPU machine", "Notebook console",
                                  "queued", "running", "failed", "completed", "stopped", "Open job", "Stop Job",
                                  "Export to .py")} == {
        "Jobs": "任务", "Create Job": "创建任务", "GPU machine": "GPU 机器", "CPU machine": "CPU 机器",
        "Notebook console": "Notebook 控制台", "queued": "排队中", "running": "运行中", "failed": "运行失败",
        "completed": "已完成", "stopped": "已终止", "Open job": "查看日志", "Stop Job": "终止任务",
        "Export to .py": "导出为 .py"}


def test_the_jupyterlab_catalogue_has_the_language_pack_layout():
    data = json.loads(PO.with_suffix(".json").read_text(encoding="utf-8"))
    assert data[""]["domain"] == "momo_jobs" and data[""]["plural_forms"] == "nplurals=1; plural=0;"
    assert data[""]["language"] == "zh-CN"  # as JupyterLab names the locale it looks messages up in
    assert data["Create Job"] == ["创建任务"] and data["toolbar\u0004Create Job"] == ["创建任务"]
    # a plural entry JupyterLab uses has more than one string, even in a language of one form
    assert data["%1 run"] == ["%1 个运行记录", "%1 个运行记录"]
    plurals = [m.id[0] for m in _catalog() if m.id and m.pluralizable and not m.context]
    assert plurals and all(len(data[k]) > 1 for k in plurals)


def test_every_error_code_the_api_answers_has_a_frontend_sentence():
    source = (ROOT / "src" / "errors.ts").read_text(encoding="utf-8")
    handled = set(re.findall(r"case '([a-z_]+)':", source))
    assert set(CODES) <= handled, sorted(set(CODES) - handled)


def test_the_command_line_speaks_chinese_under_a_chinese_lang():
    env = {**os.environ, "LANG": "zh_CN.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""}
    run = subprocess.run([sys.executable, "-m", "momo_jobs.user.cli", "--help"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert run.returncode == 0 and "将训练脚本作为后台任务运行。" in run.stdout, run.stdout + run.stderr
    env["LANG"] = "C.UTF-8"
    run = subprocess.run([sys.executable, "-m", "momo_jobs.user.cli", "--help"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert "Run training scripts as background jobs." in run.stdout


def test_the_settings_schema_is_translated_from_the_packaged_catalogue():
    from jupyterlab_server.translation_utils import translator

    from momo_jobs.server.schema_locale import register_schema_catalogue

    schema = json.loads((ROOT / "schema" / "plugin.json").read_text(encoding="utf-8"))
    assert schema["jupyter.lab.internationalization"]["domain"] == "momo_jobs"
    saved = translator._LOCALE
    try:
        assert register_schema_catalogue()
        translator.set_locale("zh_CN")
        translated = translator.translate_schema(schema)
    finally:
        translator.set_locale(saved)
    assert translated["jupyter.lab.toolbars"]["Editor"][0]["label"] == "创建任务"
    assert translated["jupyter.lab.toolbars"]["Notebook"][0]["label"] == "导出为 .py"
    assert translated["properties"]["notifications"]["title"] == "通知"
