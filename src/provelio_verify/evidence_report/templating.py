"""The Jinja2 environment that turns the evidence report's data into HTML.

The layout lives in ``templates/`` (shipped inside the package, loaded from there and
never from the current folder). The data is hostile: a bundle's file name, metadata or
status can hold any text. So:

- ``autoescape`` is on: whatever a template outputs is escaped unless it is
  :class:`markupsafe.Markup` (what another template's macro returned, or the rare
  pre-built markup the Python side marks explicitly, with a comment saying why);
- every ``{{ value }}`` passes through :func:`finalize`: control and format characters
  made visible (:func:`provelio_verify._text.printable`, as the terminal output does, so
  a right-to-left override in a file name cannot disguise it), then HTML-escaped,
  quotes included. A template cannot forget it: the environment applies it;
- the ``safe`` filter is removed, and ``join`` is replaced by one that treats each item
  as ``{{ item }}`` would, so no filter lets data past :func:`finalize` unescaped.

Line breaks in a template are for reading (:func:`join_lines`): a break next to a tag
vanishes with the indentation around it; a break between two words is one space.
Where the page needs a real line break (inside ``<pre>``, between the page's top-level
elements), a template writes ``{{ nl }}``.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Callable, Iterable
from typing import Any, cast

from jinja2 import Environment, PackageLoader, StrictUndefined
from jinja2.ext import Extension
from markupsafe import Markup

from .._text import printable
from ..report import Indication

#: Nesting shown as tables; deeper values (only bundle metadata can go deeper) are
#: shown as JSON text, so a hostile bundle cannot make the page arbitrarily deep.
MAX_TABLE_DEPTH = 6

_HEX = re.compile(r"[0-9a-fA-F]{32,}")
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")
_BREAK = re.compile(r"[ \t]*\n[ \t]*")


def finalize(value: Any) -> Markup:
    """What ``{{ value }}`` puts on the page: markup as it is; anything else as text,
    control/format characters made visible, then HTML-escaped (with the spelling of
    :func:`html.escape`, ``&quot;`` and ``&#x27;``, as the page always had)."""
    if isinstance(value, Markup):
        return value
    text = str(value)
    if not (text.isascii() and text.isprintable()):  # else printable() would change nothing
        text = printable(text)
    return Markup(html.escape(text, quote=True))  # escaped just here


def join_lines(source: str) -> str:
    """A template's source with its reading line breaks removed: a break (with the
    spaces around it) next to ``>``/``<`` or a Jinja tag's ``}``/``{`` vanishes; any
    other break becomes one space."""
    def one(match: re.Match[str]) -> str:
        before = source[match.start() - 1] if match.start() else ">"
        after = source[match.end()] if match.end() < len(source) else "<"
        return "" if before in ">}" or after in "<{" else " "
    return _BREAK.sub(one, source)


class JoinLines(Extension):
    """Applies :func:`join_lines` to every template as it is loaded."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return join_lines(source)


def _join(values: Iterable[Any], separator: str = "") -> Markup:
    """The ``join`` filter: each item as ``{{ item }}`` shows it."""
    return finalize(separator).join(finalize(v) for v in values)


def _json_text(value: Any) -> str:
    """JSON text of a value (for what is too deep to show as tables)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@functools.cache
def environment() -> Environment:
    """The one environment (templates are read once; it holds no page's data)."""
    env = Environment(
        loader=PackageLoader("provelio_verify.evidence_report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        finalize=finalize,
        extensions=[JoinLines],
        auto_reload=False,
    )
    del env.filters["safe"]
    env.filters["join"] = _join
    env.filters["json"] = _json_text
    env.tests["hex"] = lambda v: isinstance(v, str) and _HEX.fullmatch(v) is not None
    env.tests["hex_digits"] = lambda v: isinstance(v, str) and _HEX_DIGITS.fullmatch(v) is not None
    env.tests["list"] = lambda v: isinstance(v, (list, tuple))
    env.filters["thousands"] = lambda n: f"{n:,}"
    # A real line break, for <pre> and the page's own lines: pre-built markup on purpose.
    env.globals["nl"] = Markup("\n")
    env.globals["INDICATIONS"] = tuple(Indication.__members__)
    env.globals["MAX_TABLE_DEPTH"] = MAX_TABLE_DEPTH
    return env


@functools.cache
def macro(template: str, name: str) -> Callable[..., Markup]:
    """The macro ``name`` of ``template``, callable from Python; it returns markup."""
    module = environment().get_template(template).module
    return cast(Callable[..., Markup], getattr(module, name))


def render(template: str, **context: Any) -> str:
    """A whole template rendered with ``context``."""
    return environment().get_template(template).render(**context)
