"""Strict reading of JSON into checked values, for the proof bundle.

Every problem raises :class:`BundleFormatError` naming the field (``anchor.block.header``)
and what was wrong with it; :class:`Obj` reads one JSON object with typed getters and
reports unknown keys as warnings.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from typing import Any

from ._limits import MAX_JSON_DEPTH
from .errors import BundleFormatError

_HEX = re.compile(r"[0-9a-fA-F]*")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


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
    hooks.setdefault("parse_constant", _no_constants)
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


def load_json(data: bytes, warnings: list[str]) -> Any:
    """Strict JSON: UTF-8 (a byte order mark is a warning), no duplicated key, no NaN
    or Infinity, no lone surrogate, bounded nesting.

    Raises:
        BundleFormatError: naming what was wrong and where.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        warnings.append("bundle starts with a UTF-8 byte order mark; it was ignored")
        data = data[3:]
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BundleFormatError(
            "", f"bundle is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}"
        ) from None
    try:
        document = loads_bounded(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants
        )
    except JsonLimitError as exc:
        raise BundleFormatError(exc.where, exc.problem) from None
    except _DuplicateKey as exc:
        raise BundleFormatError("", f"duplicated key {exc.key!r} in a JSON object") from None
    except _BadConstant as exc:
        raise BundleFormatError("", f"{exc.token} is not a JSON value") from None
    except json.JSONDecodeError as exc:
        raise BundleFormatError(
            "", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise BundleFormatError("", "JSON nesting is too deep") from None
    return document


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key


class _BadConstant(ValueError):
    def __init__(self, token: str) -> None:
        self.token = token


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constants(token: str) -> Any:
    raise _BadConstant(token)


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


# --------------------------------------------------------------------------- objects


class Obj:
    """A JSON object being read: typed getters that name the field on error."""

    def __init__(self, value: Any, path: str, known: tuple[str, ...], warnings: list[str]):
        if not isinstance(value, dict):
            raise BundleFormatError(path or "bundle", f"expected a JSON object, got {kind(value)}")
        self.value: dict[str, Any] = value
        self.path = path
        for key in value:
            if key not in known:
                warnings.append(f"unknown key {join(path, key)} ignored")

    def where(self, key: str) -> str:
        return join(self.path, key)

    def has(self, key: str) -> bool:
        return key in self.value

    def raw(self, key: str, *, required: bool, nullable: bool = False) -> Any:
        if key not in self.value:
            if required:
                raise BundleFormatError(self.where(key), "required field is missing")
            return None
        value = self.value[key]
        if value is None and not nullable:
            raise BundleFormatError(self.where(key), "null is not allowed here")
        return value

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self.raw(key, required=required)
        if value is not None and not isinstance(value, str):
            raise BundleFormatError(self.where(key), f"expected a string, got {kind(value)}")
        return value

    def boolean(self, key: str, *, required: bool = False) -> bool | None:
        value = self.raw(key, required=required)
        if value is not None and not isinstance(value, bool):
            raise BundleFormatError(self.where(key), f"expected true or false, got {kind(value)}")
        return value

    def integer(self, key: str, *, low: int, high: int, required: bool = False) -> int | None:
        value = self.raw(key, required=required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise BundleFormatError(self.where(key), f"expected an integer, got {kind(value)}")
        if not low <= value <= high:
            raise BundleFormatError(
                self.where(key), f"{value} is out of range [{low}, {high}]"
            )
        return value

    def hex(self, key: str, *, length: int | None, required: bool = False) -> bytes | None:
        value = self.string(key, required=required)
        return None if value is None else read_hex(value, self.where(key), length)

    def literal(self, key: str, expected: Any) -> None:
        value = self.raw(key, required=True)
        if type(value) is not type(expected) or value != expected:
            raise BundleFormatError(
                self.where(key), f"expected {json.dumps(expected)}, got {short_json(value)}"
            )

    def choice(self, key: str, enum_type: type[enum.StrEnum]) -> Any:
        value = self.string(key, required=True)
        assert value is not None
        try:
            return enum_type(value)
        except ValueError:
            allowed = ", ".join(m.value for m in enum_type)
            raise BundleFormatError(
                self.where(key), f"{short_json(value)} is not one of {allowed}"
            ) from None

    def obj(self, key: str, known: tuple[str, ...], warnings: list[str], *, required: bool,
            nullable: bool = False) -> Obj | None:
        value = self.raw(key, required=required, nullable=nullable)
        if value is None:
            return None
        return Obj(value, self.where(key), known, warnings)

    def array(self, key: str, *, required: bool, limit: int) -> list[Any] | None:
        value = self.raw(key, required=required)
        if value is None:
            return None
        if not isinstance(value, list):
            raise BundleFormatError(self.where(key), f"expected an array, got {kind(value)}")
        if len(value) > limit:
            raise BundleFormatError(
                self.where(key), f"{len(value)} entries, over the limit of {limit}"
            )
        return value


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction or exponent"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def short_json(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_hex(value: str, where: str, length: int | None) -> bytes:
    if value.startswith(("0x", "0X")):
        raise BundleFormatError(where, "hex must not start with 0x")
    if not _HEX.fullmatch(value):
        bad = next(ch for ch in value if ch not in "0123456789abcdefABCDEF")
        raise BundleFormatError(where, f"not hex: character {bad!r}")
    if length is not None and len(value) != 2 * length:
        raise BundleFormatError(
            where, f"expected {2 * length} hex characters ({length} bytes), got {len(value)}"
        )
    if len(value) % 2:
        raise BundleFormatError(where, f"odd number of hex characters ({len(value)})")
    return bytes.fromhex(value)


def read_base64(value: Any, where: str, limit: int) -> bytes:
    if not isinstance(value, str):
        raise BundleFormatError(where, f"expected a base64 string, got {kind(value)}")
    # Each 4 characters carry 3 bytes: refuse an over-long value before decoding it.
    if len(value) > (limit + 2) // 3 * 4:
        raise BundleFormatError(
            where, f"{len(value)} base64 characters decode to more than the limit of {limit} bytes"
        )
    if not _BASE64.fullmatch(value):
        if any(ch.isspace() for ch in value):
            problem = "base64 must not contain whitespace"
        elif "-" in value or "_" in value:
            problem = "base64 must use the standard alphabet (+ and /), not the URL-safe one"
        elif len(value) % 4:
            problem = f"base64 length {len(value)} is not a multiple of 4 (missing padding?)"
        else:
            problem = "not base64 (standard alphabet with padding)"
        raise BundleFormatError(where, problem)
    try:
        decoded = base64.b64decode(value, validate=True)
    except binascii.Error as exc:  # pragma: no cover - the pattern above already refused it
        raise BundleFormatError(where, f"not base64: {exc}") from None
    if len(decoded) > limit:
        raise BundleFormatError(
            where, f"decodes to {len(decoded)} bytes, over the limit of {limit}"
        )
    return decoded
