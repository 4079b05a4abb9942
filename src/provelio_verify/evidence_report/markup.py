"""HTML building blocks of the evidence report.

Every string that reaches the page goes through :func:`e`: control and format
characters shown escaped (as the terminal output does, so a right-to-left override in
a file name cannot disguise it), then HTML-escaped, quotes included.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .._text import printable
from ..howto import HOW_TO_CHECK, how_to_check
from ..report import VERDICT_WORDS, Indication

ReportDict = Mapping[str, Any]

#: Nesting shown as tables; deeper values (only bundle metadata can go deeper) are
#: shown as JSON text, so a hostile bundle cannot make the page arbitrarily deep.
MAX_TABLE_DEPTH = 6

_HEX = re.compile(r"[0-9a-fA-F]{32,}")
_URL = re.compile(r"https?://[^\s\"'<>]+")


def anchor_id(*parts: str) -> str:
    """An element id made of ``parts`` (ASCII letters, digits, ``.``, ``_``, ``-``)."""
    return "-".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", p) for p in parts if p)


def e(value: Any) -> str:
    """Text for the page: control/format characters made visible, then HTML-escaped."""
    return html.escape(printable(str(value)), quote=True)


def subject_name(report: ReportDict) -> str:
    subject = report.get("subject")
    path = subject.get("path") if isinstance(subject, Mapping) else None
    if isinstance(path, str) and path:
        return path
    cert = report.get("certificate")
    name = cert.get("fileName") if isinstance(cert, Mapping) else None
    if isinstance(name, str) and name:
        return f"{name} (digest given)"
    return "(digest given)"


def indication_html(value: Any) -> str:
    """An indication as a word with its colour class (the word alone carries it)."""
    text = str(value)
    cls = text if text in Indication.__members__ else "unknown"
    return f'<span class="ind {cls}">{e(text)}</span>'


def verdict_words(indication: Any) -> str:
    try:
        return VERDICT_WORDS[Indication(str(indication))]
    except ValueError:
        return "no verdict recorded"


def deciding_check(report: ReportDict) -> Mapping[str, Any] | None:
    """As ``Report.deciding_check``, on the JSON object: the first check in table order
    that has the overall indication (FAILED, or INDETERMINATE and required)."""
    overall = report.get("indication")
    if overall == Indication.PASSED.value:
        return None
    for check in checks_of(report):
        if check.get("indication") == overall and (
            overall == Indication.FAILED.value or check.get("required", True)
        ):
            return check
    return None


def checks_of(report: ReportDict) -> list[Mapping[str, Any]]:
    checks = report.get("checks")
    if not isinstance(checks, (list, tuple)):
        return []
    return [c for c in checks if isinstance(c, Mapping)]


def steps_of(report: ReportDict) -> list[Mapping[str, Any]]:
    """The report's ``howToCheck`` steps, or those that can be derived from it alone."""
    steps = report.get(HOW_TO_CHECK)
    if not isinstance(steps, (list, tuple)):
        steps = how_to_check(report)
    return [s for s in steps if isinstance(s, Mapping)]


def kv_table(rows: Sequence[tuple[str, str]]) -> str:
    """A two-column table; ``rows`` hold an escaped-by-caller value HTML per label."""
    if not rows:
        return '<p class="muted">(none)</p>'
    body = "".join(f"<tr><th>{e(label)}</th><td>{value}</td></tr>" for label, value in rows)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def value_html(value: Any, depth: int = 0) -> str:
    """Any JSON value: objects as key/value tables, lists as numbered lists, long hex
    wrapped in monospace, ``null`` as a word."""
    if value is None:
        return '<span class="muted">null</span>'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return e(value)
    if isinstance(value, str):
        return _text_html(value)
    if depth >= MAX_TABLE_DEPTH:
        dumped = json.dumps(value, ensure_ascii=False, sort_keys=True)
        return f'<pre class="wrap">{e(dumped)}</pre>'
    if isinstance(value, Mapping):
        if not value:
            return '<span class="muted">(empty)</span>'
        return kv_table([(str(k), value_html(v, depth + 1)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        if not value:
            return '<span class="muted">(none)</span>'
        items = "".join(f"<li>{value_html(v, depth + 1)}</li>" for v in value)
        return f'<ol class="values">{items}</ol>'
    return e(value)


def _text_html(text: str) -> str:
    if _HEX.fullmatch(text):
        return f'<code class="hex">{e(text)}</code>'
    return f'<span class="wrap">{e(text)}</span>'


def command_html(line: str) -> str:
    """One command line; a line that is a URL becomes a link (followed only if clicked)."""
    if _URL.fullmatch(line.strip()):
        url = line.strip()
        return f'<a href="{e(url)}" rel="noreferrer noopener">{e(url)}</a>'
    return e(line)


def section(level: int, ident: str, title: str, body: str) -> str:
    """A titled ``<section>``; ``body`` is HTML already."""
    return (f'<section id="{ident}"><h{level}>{e(title)}</h{level}>\n{body}\n</section>')


def get(mapping: Any, key: str) -> Any:
    """``mapping[key]`` when ``mapping`` is a mapping (a report read from JSON may not be)."""
    return mapping.get(key) if isinstance(mapping, Mapping) else None


def maybe(value: Any, missing: str = "not established") -> str:
    """``value`` as HTML, or the words ``missing`` when it is ``null``."""
    return f'<span class="muted">{e(missing)}</span>' if value is None else value_html(value)
