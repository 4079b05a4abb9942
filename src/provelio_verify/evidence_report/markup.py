"""Building blocks of the evidence report: what to show of a report's JSON object,
and the Python side of the macros in ``templates/values.html`` that show it.

No HTML is written here: each ``*_html`` function and table helper calls a template
macro (:mod:`.templating`), which escapes every value and makes control and format
characters visible. They return :class:`markupsafe.Markup`, which other macros insert
as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from ..howto import HOW_TO_CHECK, how_to_check
from ..report import VERDICT_WORDS, Indication
from .templating import MAX_TABLE_DEPTH, macro

ReportDict = Mapping[str, Any]
#: A table's rows: a label and its cell (markup from a macro, or plain text).
Rows = Sequence[tuple[str, Any]]

_URL = re.compile(r"https?://[^\s\"'<>]+")


def anchor_id(*parts: str) -> str:
    """An element id made of ``parts`` (ASCII letters, digits, ``.``, ``_``, ``-``)."""
    return "-".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", p) for p in parts if p)


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


def indication_html(value: Any) -> Markup:
    """An indication as a word with its colour class (the word alone carries it)."""
    return macro("values.html", "indication")(value)


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


def kv_table(rows: Rows) -> Markup:
    """A two-column table of (label, cell) rows; a cell is markup or plain text."""
    return macro("values.html", "kv_table")(list(rows))


def value_html(value: Any, depth: int = 0) -> Markup:
    """Any JSON value: objects as key/value tables, lists as numbered lists, long hex
    wrapped in monospace, ``null`` as a word."""
    return macro("values.html", "value")(value, depth)


def condensed(value: Any, seen: dict[str, str] | None = None, where: str = "") -> Markup:
    """Any JSON value in little room: nested objects flattened into one two-column
    table of dotted names (``signer.subject``, ``outputs[0].value``), lists of plain
    values on one line. Past :data:`MAX_TABLE_DEPTH` levels, JSON text.

    ``seen`` (shared across calls) turns an object of three fields or more that was
    already shown into a reference to where it was (``where`` names this value's
    place), so a certificate named by four checks is listed once."""
    if not isinstance(value, (Mapping, list, tuple)) or not value:
        return value_html(value)
    return macro("values.html", "flat_table")(condensed_rows(value, seen, where))


def condensed_rows(value: Any, seen: dict[str, str] | None = None, where: str = ""
                   ) -> list[tuple[str, Any]]:
    """The rows of :func:`condensed`: (dotted name, value markup)."""
    return _flat(value, "", 0, seen if seen is not None else {}, where)


def inline_pairs(rows: Rows) -> Markup:
    """Label/value pairs (cells markup or plain text) as one flowing paragraph."""
    return macro("values.html", "inline_pairs")(list(rows))


def _flat(value: Any, name: str, depth: int, seen: dict[str, str], where: str
          ) -> list[tuple[str, Any]]:
    if isinstance(value, (Mapping, list, tuple)) and value and depth >= MAX_TABLE_DEPTH:
        return [(name, macro("values.html", "json_inline")(value))]
    if isinstance(value, Mapping) and len(value) >= 3 and name:
        key = json.dumps(value, sort_keys=True, default=str)
        if key in seen:
            return [(name, macro("values.html", "seen_above")(seen[key]))]
        seen[key] = f"{where} {name}".strip()
    if isinstance(value, Mapping) and value:
        rows: list[tuple[str, Any]] = []
        for field, item in value.items():
            rows += _flat(item, f"{name}.{field}" if name else str(field), depth + 1, seen,
                          where)
        return rows
    if isinstance(value, (list, tuple)) and value:
        if all(not isinstance(v, (Mapping, list, tuple)) for v in value):
            return [(name, macro("values.html", "scalars")(value))]
        rows = []
        for index, item in enumerate(value):
            rows += _flat(item, f"{name}[{index}]", depth + 1, seen, where)
        return rows
    return [(name, value_html(value))]


#: Widest command line on the page, in characters: it fits the printed A4 width at the
#: print stylesheet's command font, so printing never wraps a command by itself.
COMMAND_WIDTH = 96
#: What ends a line that a command continues on the next one (the shell's own line
#: continuation), and what starts the continuing line (in a comment, another comment).
CONTINUATION = " \\"
CODE_INDENT = "    "
COMMENT_INDENT = "#   "


def command_html(line: str) -> Markup:
    """One command line; a line that is a URL becomes a link (followed only if clicked).
    A long command is wrapped by :func:`wrap_command`, the continuation marks dimmed."""
    if _URL.fullmatch(line.strip()):
        return macro("values.html", "command")(line.strip(), [], CONTINUATION)
    lines = wrap_command(line)
    pieces = [(part[:-len(CONTINUATION)], True)
              if part.endswith(CONTINUATION) and index < len(lines) - 1 else (part, False)
              for index, part in enumerate(lines)]
    return macro("values.html", "command")("", pieces, CONTINUATION)


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


def section(level: int, ident: str, title: str, body: Markup) -> Markup:
    """A titled ``<section>``; ``body`` is markup (what a macro returned)."""
    return macro("values.html", "section")(level, ident, title, body)


def get(mapping: Any, key: str) -> Any:
    """``mapping[key]`` when ``mapping`` is a mapping (a report read from JSON may not be)."""
    return mapping.get(key) if isinstance(mapping, Mapping) else None


def maybe(value: Any, missing: str = "not established") -> Markup:
    """``value`` as markup, or the words ``missing`` when it is ``null``."""
    return macro("values.html", "maybe")(value, missing)
