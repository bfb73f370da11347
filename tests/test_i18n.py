"""Languages: the gettext catalogs, how a language is chosen, and Chinese output end to end."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from schemalens.analyzers.i18n import LOCALE_DIR, _, _n, choose_language, join, normalize_language, translator
from schemalens.analyzers.report.audit_text import HEADINGS
from schemalens.analyzers.report.rule_docs import doc_paragraphs, docs_markdown, rules_markdown
from schemalens.analyzers.rules import all_rules
from schemalens.analyzers.workspace.config import config_from_mapping
from schemalens.commands import main

PO = LOCALE_DIR / "zh" / "LC_MESSAGES" / "schemalens.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]?\d*(?:\.\d+)?[sdrfi]")


def _catalog():
    with PO.open("rb") as handle:
        return read_po(handle)


def _ids(message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (tuple, list)) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (tuple, list)) else (message.string,)


@pytest.mark.parametrize("value, expected", [
    ("zh", "zh"), ("zh-cn", "zh"), ("zh-CN", "zh"), ("zh_Hans", "zh"), ("en-US", "en"), ("en", "en"),
    ("fr", None), ("", None), (None, None), (3, None)])
def test_locales_normalize_to_the_languages_we_have(value, expected):
    assert normalize_language(value) == expected


def test_the_first_named_language_wins_else_english():
    assert choose_language(None, "zh-CN", "en") == "zh"
    assert choose_language("en", "zh") == "en"
    assert choose_language(None, "fr") == "en"


def test_every_message_id_has_a_chinese_translation_with_the_same_placeholders():
    untranslated, different = [], []
    for message in _catalog():
        if not message.id:
            continue
        strings = _strings(message)
        if not all(strings):
            untranslated.append(_ids(message)[0])
            continue
        wanted = set(PLACEHOLDER.findall(_ids(message)[-1]))
        different += [(_ids(message)[0], s) for s in strings if set(PLACEHOLDER.findall(s)) != wanted]
    assert untranslated == [] and different == []


def test_the_compiled_catalog_is_the_po_file_compiled():
    """The .mo ships in the package and is read at run time: `scripts/catalog.py compile` after editing the .po."""
    with MO.open("rb") as handle:
        compiled = {_ids(message): _strings(message) for message in read_mo(handle) if message.id}
    source = {_ids(message): _strings(message) for message in _catalog() if message.id and "fuzzy" not in message.flags}
    assert compiled == source


def test_the_catalog_holds_every_marked_text():
    """`scripts/catalog.py` extracts again after texts change: no marked text is missing from the .po."""
    ids = {_ids(message)[0] for message in _catalog()}
    assert {str(rule.summary.msgid) for rule in all_rules()} <= ids
    assert {heading.msgid for heading in HEADINGS.values()} <= ids
    assert {paragraph for paragraph, _module, _code in doc_paragraphs()} <= ids, \
        "a rule's docs changed: run scripts/catalog.py and translate the new paragraphs (locale/README.md)"


def test_glossary_terms_are_the_report_headings():
    rows = [line.split("|")[1:3] for line in (LOCALE_DIR / "glossary.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and not line.startswith("| English")]
    glossary = {english.strip(): chinese.strip() for english, chinese in rows}
    zh = translator("zh")
    for key in ("short_term", "medium_term", "long_term", "verification", "gaps", "root_cause", "impact", "evidence"):
        english = str(HEADINGS[key]).removeprefix("II. ")
        assert zh.localize(HEADINGS[key]).endswith(glossary[english]), english


def test_a_message_is_english_until_localized_and_survives_pickling():
    message = _("Ignore %(rule)s on this line", rule="SL401")
    assert message == "Ignore SL401 on this line"
    assert translator("zh").localize(message) == "在此行忽略 SL401"
    assert pickle.loads(pickle.dumps(message)).translate("zh") == message.translate("zh")
    joined = join("; ", [message, "plain"])
    assert joined == "Ignore SL401 on this line; plain" and translator("zh").localize(joined) == "在此行忽略 SL401; plain"
    assert translator("en").localize(message + "!") == "Ignore SL401 on this line!"


def test_plural_forms_follow_the_count():
    more = _n(" (and %(count)d more)", " (and %(count)d more)", 3)
    assert more == " (and 3 more)" and "3" in translator("zh").localize(more)


def test_lang_in_the_project_configuration():
    assert config_from_mapping({"lang": "zh-CN"}, "pyproject.toml").lang == "zh"
    wrong = config_from_mapping({"lang": "klingon"}, "pyproject.toml")
    assert wrong.lang is None and "lang" in wrong.problems[0].message


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "shop"


@pytest.mark.parametrize("argv, chinese", [
    (["rule", "SL401", "--lang", "zh"], "外键列"),
    (["schema", str(EXAMPLE), "--lang", "zh", "--no-cache"], "领域"),
    (["locks", "--lang", "zh"], None),
])
def test_every_command_takes_lang(capsys, argv, chinese):
    assert main(argv) == 0
    if chinese:
        assert chinese in capsys.readouterr().out


def test_cli_errors_follow_lang(capsys):
    assert main(["rule", "SL999", "--lang", "zh"]) == 2
    assert "没有规则" in capsys.readouterr().err


def test_project_lang_is_the_default_of_the_cli(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text('[tool.schemalens]\nlang = "zh"\n', encoding="utf-8")
    (tmp_path / "V1__init.sql").write_text("CREATE TABLE t (id bigint PRIMARY KEY);\n", encoding="utf-8")
    assert main(["schema", str(tmp_path), "--no-cache"]) == 0
    assert "读取范围" in capsys.readouterr().out
    assert main(["schema", str(tmp_path), "--no-cache", "--lang", "en"]) == 0
    assert "Coverage" in capsys.readouterr().out


def test_the_prose_checker_flags_english_and_ignores_code():
    from prose import english_prose

    assert english_prose("最坏情况：rows point at deleted targets")
    assert not english_prose("运行 `CREATE INDEX CONCURRENTLY ix ON orders (user_id)` 即可；SELECT count(*) FROM t;")
    assert not english_prose("PostgreSQL 报错：`relation \"orders\" does not exist`")


def test_a_chinese_audit_of_the_example_has_no_english_prose():
    """Everything but code spans, identifiers and quoted SQL is Chinese (tests/prose.py)."""
    from prose import english_prose

    text = run_report(["audit", str(EXAMPLE), "--lang", "zh", "--no-cache"])
    found = {run for line in text.splitlines() for run in english_prose(line)}
    assert found == set()
    for heading in ("缺口地图", "短期止血", "中期重构", "长期演进", "验证方法", "最坏情况"):
        assert heading in text


def run_report(argv: list[str]) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()


_TEXT_FIELDS = ("title", "message", "impact", "root_cause", "verification")


def _texts(finding):
    yield from (getattr(finding, name) for name in _TEXT_FIELDS)
    yield from (finding.fix.short_term, finding.fix.medium_term, finding.fix.long_term)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_every_finding_text_goes_through_the_catalog_and_reads_as_chinese(rule, tmp_path):
    """Each INVALID example's findings: every text is a catalog Text, and in Chinese it has no
    English prose left (SQL, code and identifiers aside)."""
    from prose import english_prose

    from schemalens.analyzers.audit import run_audit
    from schemalens.analyzers.i18n import Text
    from schemalens.analyzers.workspace.index import WorkspaceIndex

    zh = translator("zh")
    for number, example in enumerate(rule.invalid):
        root = tmp_path / str(number)
        for path, text in example.files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        if example.config:
            (root / "pyproject.toml").write_text("[tool.schemalens]\n" + example.config, encoding="utf-8")
        for finding in run_audit(WorkspaceIndex(root).index_all(), rules=[rule]).findings:
            for text in filter(None, _texts(finding)):
                assert isinstance(text, Text), text
                assert english_prose(zh.localize(text)) == [], zh.localize(text)


def test_chinese_rule_docs_have_no_english_prose_outside_code():
    from prose import english_prose

    text = rules_markdown("zh")
    assert english_prose(text) == []
    assert text.count("### 为什么重要") == len(all_rules())


def test_rule_docs_translate_prose_and_keep_code_and_headings_levels():
    docs = "## Why it matters\nP2.\n\n```sql\nCREATE INDEX ix ON t (a);\n```\nUntranslated\ntext."
    assert docs_markdown(docs) == "### Why it matters\nP2.\n\n```sql\nCREATE INDEX ix ON t (a);\n```\nUntranslated\ntext."
    assert docs_markdown(docs, "zh").splitlines() == [
        "### 为什么重要", "P2。", "", "```sql", "CREATE INDEX ix ON t (a);", "```",
        "Untranslated", "text."]  # no translation yet: shown in English, never dropped
    assert [paragraph for kind, paragraph in _doc_parts(docs) if kind == "prose"] == ["P2.", "Untranslated\ntext."]


def _doc_parts(docs):
    from schemalens.analyzers.report.rule_docs import _docs_parts

    return list(_docs_parts(docs))


def test_the_rule_command_prints_chinese_docs(capsys):
    assert main(["rule", "SL401", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "### 为什么重要" in out and "PostgreSQL 不会为外键的引用方建索引" in out


def test_scaffold_docstrings_follow_the_language():
    from schemalens.analyzers.scaffold import ChangeRequest, scaffold
    from schemalens.analyzers.workspace.index import WorkspaceIndex

    model = WorkspaceIndex(EXAMPLE).index_all()
    request = ChangeRequest("add-index", "orders", columns=("status",))
    chinese, _project = scaffold(model, request, lang="zh")
    english, _project = scaffold(model, request)
    assert "SchemaLens 安全迁移" in chinese[0].text and "SchemaLens safe migration" in english[0].text
    # file names come from the English revision message (after the new revision id)
    assert chinese[0].path.split("_", 1)[1] == english[0].path.split("_", 1)[1]


def test_help_speaks_the_language_asked_for(capsys):
    from schemalens.commands import main

    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "--lang", "zh", "--help"])
    assert exit_info.value.code == 0
    assert "工作区目录（默认：当前目录）" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    assert "workspace folder (default: the current one)" in capsys.readouterr().out


def test_configuration_warnings_read_as_chinese():
    from prose import english_prose

    config = config_from_mapping({
        "dialect": "oracle", "exclude": 3, "tables": {"orders": {"rows": -1, "pages": 2}, "users": 5},
        "severity": {"SL301": "P9"}, "per_path_ignores": 3, "preset": ["nope"], "postgres_version": "x",
        "sql_transactions": {"db": "sometimes"}, "lang": "klingon", "colour": "blue"}, "pyproject.toml")
    zh = translator("zh")
    assert len(config.problems) == 12
    for problem in config.problems:
        chinese = zh.localize(problem.message)
        assert english_prose(chinese) == [] and re.search(r"[\u4e00-\u9fff]", chinese), chinese
    assert zh.localize(config_from_mapping({"postgres_version": 99}, "pyproject.toml").problems[0].message) == \
        "配置：postgres_version 99 不在 9-19 之间；改用 19"


BROKEN_REVISION = '"""broken"""\nrevision = "b2"\ndown_revision = "zz"\n\ndef upgrade():\n    pass\n'


def test_problems_reading_a_workspace_are_listed_in_chinese(tmp_path, capsys):
    """What could not be read (a file that does not parse, a revision whose parent is missing, a
    model with no table name) is told in the chosen language; Python's own message stays, as code."""
    from prose import english_prose

    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "migrations" / "versions" / "b2_broken.py").write_text(BROKEN_REVISION)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "broken.py").write_text("def (:\n")
    (tmp_path / "app" / "models.py").write_text(
        "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
        "class Order(Base):\n    name = 'orders'\n")
    (tmp_path / "pyproject.toml").write_text('[tool.schemalens]\ncolour = "blue"\n')
    assert main(["schema", str(tmp_path), "--lang", "zh", "--no-cache"]) == 0
    problems = capsys.readouterr().err
    assert "个问题" in problems and "语法错误" in problems and "没有任何 revision 文件定义它" in problems
    assert "未知的设置项 'colour'" in problems and "没有 __tablename__" in problems
    assert english_prose(problems) == [], problems
