"""JSON within bounds, for every reader of untrusted JSON (bundles, manifests, capsules,
chain sources' answers): nesting, number literals and lone surrogates are refused before
or as ``json`` reads them.

Ground floor: imports only ``_limits``, so every room may read JSON through it (a chain
source's answer is as untrusted as a bundle). The bundle's own rules (duplicate keys,
field types, :class:`~provelio_verify.errors.BundleFormatError`) stay in
``_json_reader``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._limits import MAX_JSON_DEPTH

__all__ = ["MAX_JSON_DEPTH", "MAX_NUMBER_CHARS", "BadConstant", "JsonLimitError",
           "check_depth", "join", "loads_bounded", "no_constants"]

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

#: Longest number literal accepted: 2^64 has 20 digits and the longest float a
#: program writes (``repr``) 24 characters. Longer ones are refused before ``int()``
#: meets Python's 4,300-digit conversion limit.
MAX_NUMBER_CHARS = 40
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JsonLimitError(ValueError):
    """JSON over one of this module's limits (nesting, number size); ``where`` is the
    path of the value (``certificate.fileSize``) when known."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}" if where else problem)


class _Refused:
    """Stands in for a number literal over the limits until its path is known."""

    def __init__(self, literal: str, problem: str) -> None:
        self.literal = literal
        self.problem = problem


def _int(literal: str, refused: list[_Refused]) -> Any:
    if len(literal) > MAX_NUMBER_CHARS:
        refused.append(r := _Refused(literal, f"a number of {len(literal)} digits, over the "
                                              f"{MAX_NUMBER_CHARS} allowed"))
        return r
    return int(literal)


def _float(literal: str, refused: list[_Refused]) -> Any:
    value = float(literal) if len(literal) <= MAX_NUMBER_CHARS else float("inf")
    if len(literal) > MAX_NUMBER_CHARS or value != value or value in (float("inf"),
                                                                        float("-inf")):
        problem = (f"a number of {len(literal)} characters, over the {MAX_NUMBER_CHARS} "
                   "allowed" if len(literal) > MAX_NUMBER_CHARS else
                   f"the number {literal} is beyond the range of a double (±1.8e308)")
        refused.append(r := _Refused(literal, problem))
        return r
    return value


def check_depth(text: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON text nested deeper than ``limit``, by one linear scan (strings
    skipped), before any parser recurses into it.

    Raises:
        JsonLimitError: too deep.
    """
    brackets = _BRACKET.findall(_STRING.sub("", text)) if text.count("[") + \
        text.count("{") > limit else ()
    depth = 0
    for bracket in brackets:
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            raise JsonLimitError("", f"JSON nested deeper than {limit} levels")


def _locate(value: Any, target: _Refused) -> str:
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if item is target:
            return path
        if isinstance(item, dict):
            stack.extend((sub, join(path, key)) for key, sub in item.items())
        elif isinstance(item, list):
            stack.extend((sub, f"{path}[{i}]") for i, sub in enumerate(item))
    return ""


def loads_bounded(text: str | bytes, **hooks: Any) -> Any:
    """``json.loads`` within this module's limits: nesting at most
    :data:`MAX_JSON_DEPTH`, numbers at most :data:`MAX_NUMBER_CHARS` long and finite
    (no NaN or Infinity, spelled or overflowing), so that what is read can always be
    written back as JSON. For every reader of untrusted JSON (bundles, manifests,
    capsules, chain sources).

    Raises:
        JsonLimitError: over a limit, naming where.
        ValueError: not JSON (``json.JSONDecodeError``), or what ``hooks`` raise.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    check_depth(text)
    refused: list[_Refused] = []
    hooks.setdefault("parse_constant", no_constants)
    document = json.loads(text, parse_int=lambda s: _int(s, refused),
                          parse_float=lambda s: _float(s, refused), **hooks)
    if refused:
        raise JsonLimitError(_locate(document, refused[0]), refused[0].problem)
    # Text decoded from UTF-8 holds no surrogate; only a \\uD8xx-\\uDFxx escape can
    # make one (not text: it cannot be written out as UTF-8 again, in a report or a
    # capsule), so the walk is needed only when the text has such an escape.
    if _SURROGATE_ESCAPE.search(text):
        _check_unicode(document, "")
    return document


class BadConstant(ValueError):
    def __init__(self, token: str) -> None:
        self.token = token


def no_constants(token: str) -> Any:
    raise BadConstant(token)


def _check_unicode(value: Any, where: str) -> None:
    """Refuse lone surrogates (``"\\ud800"``): they are not text and cannot be printed.

    Raises:
        JsonLimitError: naming the string's path.
    """
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            _encodable(item, path)
        elif isinstance(item, dict):
            for key, sub in item.items():
                _encodable(key, path)
                stack.append((sub, join(path, key)))
        elif isinstance(item, list):
            stack.extend((sub, f"{path}[{i}]") for i, sub in enumerate(item))


def _encodable(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonLimitError(path, "string holds a lone UTF-16 surrogate") from None


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
