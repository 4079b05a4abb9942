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


def condensed(value: Any, seen: dict[str, str] | None = None, where: str = "") -> str:
    """Any JSON value in little room: nested objects flattened into one two-column
    table of dotted names (``signer.subject``, ``outputs[0].value``), lists of plain
    values on one line. Past :data:`MAX_TABLE_DEPTH` levels, JSON text.

    ``seen`` (shared across calls) turns an object of three fields or more that was
    already shown into a reference to where it was (``where`` names this value's
    place), so a certificate named by four checks is listed once."""
    if not isinstance(value, (Mapping, list, tuple)) or not value:
        return value_html(value)
    body = "".join(f'<tr><th>{e(name)}</th><td>{cell}</td></tr>'
                   for name, cell in condensed_rows(value, seen, where))
    return f'<table class="flat"><tbody>{body}</tbody></table>'


def condensed_rows(value: Any, seen: dict[str, str] | None = None, where: str = ""
                   ) -> list[tuple[str, str]]:
    """The rows of :func:`condensed`: (dotted name, value HTML)."""
    return _flat(value, "", 0, seen if seen is not None else {}, where)


def inline_pairs(rows: Sequence[tuple[str, str]]) -> str:
    """Label/value pairs (values HTML already) as one flowing paragraph."""
    if not rows:
        return '<p class="muted">(none)</p>'
    pairs = " · ".join(f'<span class="pair"><span class="k">{e(label)}</span> {value}</span>'
                       for label, value in rows)
    return f'<p class="pairs">{pairs}</p>'


def _flat(value: Any, name: str, depth: int, seen: dict[str, str], where: str
          ) -> list[tuple[str, str]]:
    if isinstance(value, (Mapping, list, tuple)) and value and depth >= MAX_TABLE_DEPTH:
        dumped = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        return [(name, f'<span class="wrap mono">{e(dumped)}</span>')]
    if isinstance(value, Mapping) and len(value) >= 3 and name:
        key = json.dumps(value, sort_keys=True, default=str)
        if key in seen:
            return [(name, f'<span class="muted">as {e(seen[key])} above</span>')]
        seen[key] = f"{where} {name}".strip()
    if isinstance(value, Mapping) and value:
        rows: list[tuple[str, str]] = []
        for field, item in value.items():
            rows += _flat(item, f"{name}.{field}" if name else str(field), depth + 1, seen,
                          where)
        return rows
    if isinstance(value, (list, tuple)) and value:
        if all(not isinstance(v, (Mapping, list, tuple)) for v in value):
            return [(name, ", ".join(value_html(v) for v in value))]
        rows = []
        for index, item in enumerate(value):
            rows += _flat(item, f"{name}[{index}]", depth + 1, seen, where)
        return rows
    return [(name, value_html(value))]


def _text_html(text: str) -> str:
    if _HEX.fullmatch(text):
        return f'<code class="hex">{e(text)}</code>'
    return f'<span class="wrap">{e(text)}</span>'


#: Widest command line on the page, in characters: it fits the printed A4 width at the
#: print stylesheet's command font, so printing never wraps a command by itself.
COMMAND_WIDTH = 96
#: What ends a line that a command continues on the next one (the shell's own line
#: continuation), and what starts the continuing line (in a comment, another comment).
CONTINUATION = " \\"
CODE_INDENT = "    "
COMMENT_INDENT = "#   "


def command_html(line: str) -> str:
    """One command line; a line that is a URL becomes a link (followed only if clicked).
    A long command is wrapped by :func:`wrap_command`, the continuation marks dimmed."""
    if _URL.fullmatch(line.strip()):
        url = line.strip()
        return f'<a href="{e(url)}" rel="noreferrer noopener">{e(url)}</a>'
    lines = wrap_command(line)
    return "\n".join(e(part[:-len(CONTINUATION)]) + f'<span class="cont">{e(CONTINUATION)}</span>'
                     if part.endswith(CONTINUATION) and index < len(lines) - 1 else e(part)
                     for index, part in enumerate(lines))


def wrap_command(line: str, width: int = COMMAND_WIDTH) -> list[str]:
    """``line`` as lines of at most ``width`` characters that a POSIX shell runs the same
    way: broken only at a space outside quotes (or inside ``$( )``), each broken line
    ending with `` \\`` and the next indented; a comment goes on as another comment
    (``#   ``). A single word longer than ``width`` stays whole (the line overflows rather
    than break inside the word). Joining each `` \\`` + newline + indent back into a space
    gives ``line`` again (up to runs of spaces)."""
    if len(line) <= width or _URL.fullmatch(line.strip()):
        return [line]
    breaks, comment_at = _break_points(line)
    if comment_at == 0 or (comment_at is not None and not line[:comment_at].strip()):
        return _wrap_words(line, "", width)
    code = line if comment_at is None else line[:comment_at].rstrip()
    comment = None if comment_at is None else line[comment_at:]
    out: list[str] = []
    start, indent = 0, ""
    while len(indent) + len(code) - start > width:
        room = start + width - len(indent) - len(CONTINUATION)
        fits = [b for b in breaks if start < b <= room]
        later = [b for b in breaks if b > room]
        if not fits and not later:
            break
        # Before a pipe when one is in the second half of the line, else as late as fits.
        pipes = [b for b in fits if line[b + 1:b + 2] == "|" and b - start > (room - start) // 2]
        at = max(pipes or fits) if fits else min(later)
        out.append(indent + code[start:at].rstrip() + CONTINUATION)
        start = at
        while start < len(code) and code[start] == " ":
            start += 1
        indent = CODE_INDENT
    out.append(indent + code[start:])
    if comment is not None:
        if len(out[-1]) + 2 + len(comment) <= width:
            out[-1] += "  " + comment
        else:
            out[-1] += CONTINUATION
            out += _wrap_words(comment, CODE_INDENT, width)
    return out


def _wrap_words(comment: str, indent: str, width: int) -> list[str]:
    """A comment wrapped at spaces; continuing lines start with ``#   ``."""
    out: list[str] = []
    current = indent
    for word in comment.split(" "):
        if current.strip() and len(current) + 1 + len(word) + len(CONTINUATION) > width:
            out.append(current + CONTINUATION)
            current = COMMENT_INDENT + word
        else:
            current += (" " + word) if current.strip() else word
    out.append(current)
    return out


def _break_points(line: str) -> tuple[list[int], int | None]:
    """The spaces of ``line`` where a shell line continuation may go (outside single and
    double quotes and backquotes; inside ``$( )`` too), and where a trailing comment
    starts (None without one)."""
    stack: list[str] = []
    breaks: list[int] = []
    word_start = True
    i = 0
    while i < len(line):
        c = line[i]
        top = stack[-1] if stack else ""
        if top == "'":
            if c == "'":
                stack.pop()
        elif c == "\\":
            i += 2
            word_start = False
            continue
        elif top == '"':
            if c == '"':
                stack.pop()
            elif c == "$" and line[i + 1:i + 2] == "(":
                stack.append("(")
                i += 2
                word_start = True
                continue
            elif c == "`":
                stack.append("`")
        elif top == "`":
            if c == "`":
                stack.pop()
        else:
            if c == "#" and word_start and not top:
                return breaks, i
            if c in "'\"`":
                stack.append(c)
            elif c == "$" and line[i + 1:i + 2] == "(":
                stack.append("(")
                i += 2
                word_start = True
                continue
            elif c == "(" and top == "(":
                stack.append("(")
            elif c == ")" and top == "(":
                stack.pop()
            elif c == " ":
                breaks.append(i)
        word_start = c in " \t;|&("
        i += 1
    return breaks, None


def section(level: int, ident: str, title: str, body: str) -> str:
    """A titled ``<section>``; ``body`` is HTML already."""
    return (f'<section id="{ident}"><h{level}>{e(title)}</h{level}>\n{body}\n</section>')


def get(mapping: Any, key: str) -> Any:
    """``mapping[key]`` when ``mapping`` is a mapping (a report read from JSON may not be)."""
    return mapping.get(key) if isinstance(mapping, Mapping) else None


def maybe(value: Any, missing: str = "not established") -> str:
    """``value`` as HTML, or the words ``missing`` when it is ``null``."""
    return f'<span class="muted">{e(missing)}</span>' if value is None else value_html(value)
