"""The evidence report's templates (issue 10): autoescape and the printable finalize
cannot be forgotten, hostile bundles stay text, and the templates are the package's own
wherever the command runs."""

from __future__ import annotations

import ast
import fnmatch
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from jinja2 import TemplateAssertionError, UndefinedError
from markupsafe import Markup

from helpers.hostile import FREE_TEXT, HOSTILE, RLO, hostile_report
from helpers.reports import PageParts, made_up
from provelio_verify.evidence_report import render_html
from provelio_verify.evidence_report.templating import environment, join_lines, macro

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "provelio_verify" / "evidence_report"
TEMPLATES = PACKAGE / "templates"
#: Elements that load or run something; none may come from a bundle's strings.
ACTIVE_TAGS = {"script", "img", "iframe", "object", "embed", "link", "svg", "form", "input"}


# ------------------------------------------------------------------ hostile bundles


@pytest.mark.parametrize("status", [False, True], ids=["free-text", "status"])
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_every_string_of_a_hostile_bundle_stays_text(tmp_path, kind, status):
    text = HOSTILE[kind]
    report = hostile_report(tmp_path, text, status=status)
    page_html = render_html(report)
    page = PageParts(page_html)
    # Nothing of it is markup: no element, no attribute, no raw override on the page.
    assert text not in page_html
    assert RLO not in page_html
    assert not page.tags & ACTIVE_TAGS
    assert all(not a.startswith("on") for _, attrs in page.elements for a in attrs)
    # ... and all of it is shown, as text; the override made visible as "\u202e".
    visible = text.replace(RLO, "\\u202e")
    shown = page.text
    if status:
        assert report["checks"][0]["id"] == "bundle.format"
        assert visible[:16] in shown  # the format check's message echoes the status
    else:
        cert = report["certificate"]
        assert all(cert[field] == text for field in FREE_TEXT)
        # fileName, certificateId, publicId, fileType, createdAt, metadata keys and
        # values (twice nested), the warning about the unknown key, the subject's name.
        assert shown.count(visible) >= len(FREE_TEXT) + 4, shown.count(visible)
        assert f"unknown key {visible} ignored" in shown
        assert visible.replace("/", "_") + ".txt" in shown
    if kind == "rlo":
        assert "\\u202efdp.exe" in shown


def test_a_hostile_report_dict_stays_text_in_every_field():
    """Fields a bundle cannot set but a report read back from JSON can: messages,
    details, warnings, notShown, the tool's version, chain answers."""
    bad = "".join(HOSTILE.values())
    report = made_up(details={"anchor.chain": {"sources": [{"source": bad, "answers": [
        {"question": bad, bad: bad, "answer": bad}]}]}}).to_dict()
    report["checks"][0]["message"] = bad
    report["checks"][1]["details"] = {bad: bad}
    report["checks"][2]["subIndication"] = bad
    report["warnings"] = [bad]
    report["notShown"] = [{"id": bad, "text": bad}]
    report["tool"] = {"name": bad, "version": bad}
    report["subject"]["path"] = bad
    visible = bad.replace(RLO, "\\u202e")
    for page_html in (render_html(report), render_html([report, report], passed_in_full=True)):
        page = PageParts(page_html)
        assert RLO not in page_html
        assert not page.tags & ACTIVE_TAGS
        assert all(not a.startswith("on") for _, attrs in page.elements for a in attrs)
        assert page.text.count(visible) >= 8, page.text.count(visible)
        assert visible in page.attribute_values("data-id")


# ------------------------------------------------------------------ the environment


def test_the_environment_escapes_whatever_a_template_outputs():
    env = environment()
    assert env.autoescape is True
    raw = '<b onclick="x()">bold</b> & \'quoted\'' + RLO
    escaped = ("&lt;b onclick=&quot;x()&quot;&gt;bold&lt;/b&gt; &amp; &#x27;quoted&#x27;"
               "\\u202e")
    assert env.from_string("{{ x }}").render(x=raw) == escaped
    assert env.from_string('<p title="{{ x }}">{{ x }}</p>').render(x=raw) == (
        f'<p title="{escaped}">{escaped}</p>')
    # A value joined, concatenated or set in a block is escaped all the same.
    assert env.from_string("{{ xs|join(', ') }}").render(xs=[raw, raw]) == f"{escaped}, {escaped}"
    assert env.from_string("{{ xs|join(', ') }}").render(xs=[Markup("<i>"), raw]) == (
        f"<i>, {escaped}")  # even beside markup (Jinja's own join would skip printable)
    assert env.from_string("{{ x ~ '!' }}").render(x=raw) == escaped + "!"
    assert env.from_string("{% set y %}{{ x }}{% endset %}{{ y }}").render(x=raw) == escaped
    # Markup (what a macro returns) goes in as it is, exactly once escaped.
    assert env.from_string("{{ x }}").render(x=Markup("<br>")) == "<br>"
    assert macro("values.html", "value")(raw) == f'<span class="wrap">{escaped}</span>'
    assert macro("values.html", "kv_table")([(raw, raw)]) == (
        f'<table class="kv"><tbody><tr><th>{escaped}</th><td>{escaped}</td></tr></tbody>'
        "</table>")


def test_a_template_cannot_mark_data_safe_nor_use_what_it_was_not_given():
    env = environment()
    with pytest.raises(TemplateAssertionError):
        env.from_string("{{ x|safe }}")
    with pytest.raises(UndefinedError):
        env.from_string("{{ missing }}").render()


def test_line_breaks_in_templates_are_for_reading():
    assert join_lines("<p>\n  <b>one\n  two</b>\n</p>\n") == "<p><b>one two</b></p>"
    assert join_lines("{% if x %}\n  words\n{% endif %}") == "{% if x %}words{% endif %}"
    assert environment().from_string("a{{ nl }}b").render() == "a\nb"


def test_every_template_loads_and_ships_as_package_data():
    names = sorted(p.name for p in TEMPLATES.glob("*.html"))
    assert {"page.html", "item.html", "batch.html", "values.html"} <= set(names)
    for name in names:
        environment().get_template(name)
    pyproject = tomllib.loads((PACKAGE.parents[2] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["provelio_verify"]
    for name in names:
        path = f"evidence_report/templates/{name}"
        assert any(fnmatch.fnmatch(path, pattern) for pattern in patterns), path
    assert any(d.startswith("jinja2") for d in pyproject["project"]["dependencies"])


def test_the_python_side_writes_no_html_tags():
    """Markup is made in templates; a string literal with a tag in the package's Python
    (docstrings aside) would be HTML built outside them."""
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and id(node) not in docstrings and "<" in node.value \
                    and any(f"<{c}" in node.value for c in "abcdefghijklmnopqrstuvwxyz/!"):
                found.append(f"{path.name}:{node.lineno}: {node.value[:60]!r}")
    assert not found, found


# ------------------------------------------------------------------ wherever it runs


def test_templates_are_the_packages_own_when_run_from_another_folder(tmp_path):
    """Run from a folder holding a decoy templates/page.html: the page is still ours."""
    (tmp_path / "templates").mkdir()
    for name in ("page.html", "item.html", "values.html"):
        (tmp_path / "templates" / name).write_text("DECOY {{ title }}")
    (tmp_path / "report.json").write_text(json.dumps(made_up().to_dict()))
    script = ("import json, sys; from provelio_verify.evidence_report import render_html; "
              "sys.stdout.write(render_html(json.load(open('report.json'))))")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "DECOY" not in proc.stdout
    assert proc.stdout.startswith("<!DOCTYPE html>\n")
    assert 'id="verify-yourself"' in proc.stdout
