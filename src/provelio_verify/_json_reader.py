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

from ._json_bounds import BadConstant, JsonLimitError, join, loads_bounded, no_constants
from .errors import BundleFormatError

_HEX = re.compile(r"[0-9a-fA-F]*")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


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
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=no_constants
        )
    except JsonLimitError as exc:
        raise BundleFormatError(exc.where, exc.problem) from None
    except _DuplicateKey as exc:
        raise BundleFormatError("", f"duplicated key {exc.key!r} in a JSON object") from None
    except BadConstant as exc:
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


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


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
