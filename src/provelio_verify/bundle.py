"""The proof bundle (contract section 2): strict parsing into frozen dataclasses.

Every value in a bundle is a claim to be checked later; this module only makes sure
the claims are well-formed. Any malformation raises :class:`BundleFormatError` naming
the field (``anchor.block.header``) and what was wrong with it. Unknown keys are kept
out of the dataclasses and reported as warnings (forward compatibility).

Byte order: hashes are kept exactly as written in the bundle. ``txid``, ``block.hash``
and ``merkleBranch`` entries are in Bitcoin's display order; ``merkleRoot``,
``sha256Hash`` and path siblings are plain SHA-256 outputs.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ProvelioError

# Limits (contract section 2). Each bounds the work or memory a hostile bundle can cost.
MAX_BUNDLE_BYTES = 16 * 1024 * 1024  # a bundle is a small JSON document
MAX_TOKEN_BYTES = 1024 * 1024  # real RFC 3161 tokens are a few KiB
MAX_PATH_STEPS = 64  # a Merkle tree of 2**64 leaves is more than will ever be batched
MAX_BRANCH_ENTRIES = 32  # 2**32 transactions cannot fit in a block
MAX_EXTRA_CERTS = 32  # TSA paths are a handful of certificates long
# Bounds of integers that must fit the protocols they describe.
MAX_BLOCK_HEIGHT = 2**31 - 1  # Bitcoin Core keeps heights in an int32
MAX_TX_INDEX = 2**32 - 1  # at most 32 branch levels
MAX_FILE_SIZE = 2**63 - 1  # a file size fits in a signed 64-bit offset
MAX_OUTPUT_INDEX = 2**32 - 1  # outputs are counted by a 32-bit index

SUPPORTED_VERSION = 1

_HEX = re.compile(r"[0-9a-fA-F]*")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


class BundleFormatError(ProvelioError):
    """The bundle does not obey the contract's section 2."""

    def __init__(self, field_name: str, problem: str) -> None:
        self.field = field_name
        self.problem = problem
        super().__init__(f"{field_name}: {problem}" if field_name else problem)


class Status(enum.StrEnum):
    CREATED = "created"
    ANCHORING = "anchoring"
    CONFIRMED = "confirmed"
    FAILED = "failed"


class Network(enum.StrEnum):
    MAINNET = "mainnet"
    TESTNET = "testnet"
    TESTNET4 = "testnet4"
    SIGNET = "signet"
    REGTEST = "regtest"


@dataclass(frozen=True)
class Certificate:
    sha256_hash: bytes
    status: Status
    test_mode: bool
    certificate_id: str | None = None
    public_id: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    file_type: str | None = None
    created_at: str | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Timestamp:
    token: bytes
    extra_certs: tuple[bytes, ...] = ()
    type: str = "rfc3161"


@dataclass(frozen=True)
class PathStep:
    side: Literal["left", "right"]
    sibling: bytes


@dataclass(frozen=True)
class Transaction:
    txid: bytes  # display byte order
    raw: bytes | None = None
    output_index: int | None = None


@dataclass(frozen=True)
class Block:
    hash: bytes  # display byte order
    height: int
    header: bytes | None = None
    tx_index: int | None = None
    merkle_branch: tuple[bytes, ...] | None = None  # display byte order

    @property
    def has_inclusion_proof(self) -> bool:
        return self.header is not None


@dataclass(frozen=True)
class Anchor:
    network: Network
    merkle_root: bytes | None = None
    path: tuple[PathStep, ...] | None = None
    transaction: Transaction | None = None
    block: Block | None = None
    type: str = "bitcoin-op-return"


@dataclass(frozen=True)
class Bundle:
    certificate: Certificate
    timestamp: Timestamp
    anchor: Anchor | None
    warnings: tuple[str, ...] = ()
    #: SHA-256 of the bundle's bytes as read, so a report can name exactly what it judged.
    source_sha256: bytes | None = field(default=None, compare=False)
    version: int = SUPPORTED_VERSION


# --------------------------------------------------------------------------- reading


def parse_bundle(data: bytes) -> Bundle:
    """Parse and check a bundle's bytes.

    Raises:
        BundleFormatError: the bytes are not a bundle of contract version 1.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"parse_bundle takes bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleFormatError(
            "", f"bundle is {len(data)} bytes, over the limit of {MAX_BUNDLE_BYTES}"
        )
    warnings: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        warnings.append("bundle starts with a UTF-8 byte order mark; it was ignored")
        data_text = data[3:]
    else:
        data_text = data
    try:
        text = data_text.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BundleFormatError(
            "", f"bundle is not UTF-8: byte 0x{data_text[exc.start]:02x} at offset {exc.start}"
        ) from None
    try:
        document = json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants
        )
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
    # Text decoded from UTF-8 holds no surrogate; only a \\uD8xx-\\uDFxx escape can
    # make one, so the walk is needed only when the text has such an escape.
    if _SURROGATE_ESCAPE.search(text):
        _check_unicode(document, "")
    bundle = _read_bundle(document, warnings)
    return Bundle(
        certificate=bundle.certificate,
        timestamp=bundle.timestamp,
        anchor=bundle.anchor,
        warnings=tuple(warnings),
        source_sha256=hashlib.sha256(data).digest(),
    )


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
    """Refuse lone surrogates (``"\\ud800"``): they are not text and cannot be printed."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            _encodable(item, path)
        elif isinstance(item, dict):
            for key, sub in item.items():
                _encodable(key, path)
                stack.append((sub, _join(path, key)))
        elif isinstance(item, list):
            stack.extend((sub, f"{path}[{i}]") for i, sub in enumerate(item))


def _encodable(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BundleFormatError(path, "string holds a lone UTF-16 surrogate") from None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --------------------------------------------------------------------------- objects


class _Obj:
    """A JSON object being read: typed getters that name the field on error."""

    def __init__(self, value: Any, path: str, known: tuple[str, ...], warnings: list[str]):
        if not isinstance(value, dict):
            raise BundleFormatError(path or "bundle", f"expected a JSON object, got {_kind(value)}")
        self.value: dict[str, Any] = value
        self.path = path
        for key in value:
            if key not in known:
                warnings.append(f"unknown key {_join(path, key)} ignored")

    def where(self, key: str) -> str:
        return _join(self.path, key)

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
            raise BundleFormatError(self.where(key), f"expected a string, got {_kind(value)}")
        return value

    def boolean(self, key: str, *, required: bool = False) -> bool | None:
        value = self.raw(key, required=required)
        if value is not None and not isinstance(value, bool):
            raise BundleFormatError(self.where(key), f"expected true or false, got {_kind(value)}")
        return value

    def integer(self, key: str, *, low: int, high: int, required: bool = False) -> int | None:
        value = self.raw(key, required=required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise BundleFormatError(self.where(key), f"expected an integer, got {_kind(value)}")
        if not low <= value <= high:
            raise BundleFormatError(
                self.where(key), f"{value} is out of range [{low}, {high}]"
            )
        return value

    def hex(self, key: str, *, length: int | None, required: bool = False) -> bytes | None:
        value = self.string(key, required=required)
        return None if value is None else _hex(value, self.where(key), length)

    def literal(self, key: str, expected: Any) -> None:
        value = self.raw(key, required=True)
        if type(value) is not type(expected) or value != expected:
            raise BundleFormatError(
                self.where(key), f"expected {json.dumps(expected)}, got {_short_json(value)}"
            )

    def choice(self, key: str, enum_type: type[enum.StrEnum]) -> Any:
        value = self.string(key, required=True)
        assert value is not None
        try:
            return enum_type(value)
        except ValueError:
            allowed = ", ".join(m.value for m in enum_type)
            raise BundleFormatError(
                self.where(key), f"{_short_json(value)} is not one of {allowed}"
            ) from None

    def obj(self, key: str, known: tuple[str, ...], warnings: list[str], *, required: bool,
            nullable: bool = False) -> _Obj | None:
        value = self.raw(key, required=required, nullable=nullable)
        if value is None:
            return None
        return _Obj(value, self.where(key), known, warnings)

    def array(self, key: str, *, required: bool, limit: int) -> list[Any] | None:
        value = self.raw(key, required=required)
        if value is None:
            return None
        if not isinstance(value, list):
            raise BundleFormatError(self.where(key), f"expected an array, got {_kind(value)}")
        if len(value) > limit:
            raise BundleFormatError(
                self.where(key), f"{len(value)} entries, over the limit of {limit}"
            )
        return value


def _kind(value: Any) -> str:
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


def _short_json(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hex(value: str, where: str, length: int | None) -> bytes:
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


def _base64(value: Any, where: str, limit: int) -> bytes:
    if not isinstance(value, str):
        raise BundleFormatError(where, f"expected a base64 string, got {_kind(value)}")
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


# --------------------------------------------------------------------------- sections

_TOP_KEYS = ("type", "version", "certificate", "timestamp", "anchor")
_CERT_KEYS = (
    "certificateId", "publicId", "status", "testMode", "sha256Hash", "fileName",
    "fileSize", "fileType", "createdAt", "metadata",
)
_TS_KEYS = ("type", "token", "extraCerts")
_ANCHOR_KEYS = ("type", "network", "merkleRoot", "path", "transaction", "block")
_TX_KEYS = ("txid", "hex", "outputIndex")
_BLOCK_KEYS = ("hash", "height", "header", "txIndex", "merkleBranch")


def _read_bundle(document: Any, warnings: list[str]) -> Bundle:
    top = _Obj(document, "", _TOP_KEYS, warnings)
    top.literal("type", "provelio-proof")
    top.literal("version", SUPPORTED_VERSION)
    cert_obj = top.obj("certificate", _CERT_KEYS, warnings, required=True)
    ts_obj = top.obj("timestamp", _TS_KEYS, warnings, required=True)
    anchor_obj = top.obj("anchor", _ANCHOR_KEYS, warnings, required=False, nullable=True)
    assert cert_obj is not None and ts_obj is not None
    certificate = _read_certificate(cert_obj, warnings)
    timestamp = _read_timestamp(ts_obj)
    anchor = _read_anchor(anchor_obj, warnings) if anchor_obj else None
    if certificate.status is Status.CONFIRMED:
        _require_complete_anchor(anchor)
    elif anchor is not None and anchor.block is not None:
        warnings.append(
            f"certificate status is {certificate.status.value} but the anchor names a block; "
            "the block is checked all the same"
        )
    return Bundle(certificate=certificate, timestamp=timestamp, anchor=anchor)


def _read_certificate(obj: _Obj, warnings: list[str]) -> Certificate:
    digest = obj.hex("sha256Hash", length=32, required=True)
    status = obj.choice("status", Status)
    test_mode = obj.boolean("testMode", required=True)
    metadata = obj.raw("metadata", required=False)
    if metadata is not None and not isinstance(metadata, dict):
        raise BundleFormatError(obj.where("metadata"), f"expected an object, got {_kind(metadata)}")
    assert digest is not None and test_mode is not None
    return Certificate(
        sha256_hash=digest,
        status=status,
        test_mode=test_mode,
        certificate_id=obj.string("certificateId"),
        public_id=obj.string("publicId"),
        file_name=obj.string("fileName"),
        file_size=obj.integer("fileSize", low=0, high=MAX_FILE_SIZE),
        file_type=obj.string("fileType"),
        created_at=obj.string("createdAt"),
        metadata=metadata,
    )


def _read_timestamp(obj: _Obj) -> Timestamp:
    obj.literal("type", "rfc3161")
    token = _base64(obj.raw("token", required=True), obj.where("token"), MAX_TOKEN_BYTES)
    extra = obj.array("extraCerts", required=False, limit=MAX_EXTRA_CERTS) or []
    certs = []
    for i, item in enumerate(extra):
        where = f"{obj.where('extraCerts')}[{i}]"
        der = _base64(item, where, MAX_TOKEN_BYTES)
        if not der:
            raise BundleFormatError(where, "certificate is empty")
        certs.append(der)
    return Timestamp(token=token, extra_certs=tuple(certs))


def _read_anchor(obj: _Obj, warnings: list[str]) -> Anchor:
    obj.literal("type", "bitcoin-op-return")
    network = obj.choice("network", Network)
    root = obj.hex("merkleRoot", length=32)
    raw_path = obj.array("path", required=False, limit=MAX_PATH_STEPS)
    path = None
    if raw_path is not None:
        path = tuple(_read_step(item, f"{obj.where('path')}[{i}]", warnings)
                     for i, item in enumerate(raw_path))
    if (root is None) != (path is None):
        present, missing = ("merkleRoot", "path") if root is not None else ("path", "merkleRoot")
        raise BundleFormatError(obj.where(missing), f"required with {present}")
    tx_obj = obj.obj("transaction", _TX_KEYS, warnings, required=False)
    block_obj = obj.obj("block", _BLOCK_KEYS, warnings, required=False)
    transaction = _read_transaction(tx_obj) if tx_obj else None
    block = _read_block(block_obj) if block_obj else None
    if transaction is not None and root is None:
        raise BundleFormatError(obj.where("merkleRoot"), "required with transaction")
    if block is not None and transaction is None:
        raise BundleFormatError(obj.where("transaction"), "required with block")
    return Anchor(network=network, merkle_root=root, path=path, transaction=transaction,
                  block=block)


def _read_step(item: Any, where: str, warnings: list[str]) -> PathStep:
    if not isinstance(item, dict):
        raise BundleFormatError(where, f"expected an object, got {_kind(item)}")
    sides = [key for key in ("left", "right") if key in item]
    if len(sides) != 1:
        raise BundleFormatError(
            where, "a path step has exactly one of left or right"
            if sides else "a path step needs left or right"
        )
    step = _Obj(item, where, ("left", "right"), warnings)
    side = sides[0]
    sibling = step.hex(side, length=32, required=True)
    assert sibling is not None
    return PathStep(side=side, sibling=sibling)  # type: ignore[arg-type]


def _read_transaction(obj: _Obj) -> Transaction:
    txid = obj.hex("txid", length=32, required=True)
    raw = obj.hex("hex", length=None)
    if raw is not None and not raw:
        raise BundleFormatError(obj.where("hex"), "transaction hex is empty")
    assert txid is not None
    return Transaction(
        txid=txid,
        raw=raw,
        output_index=obj.integer("outputIndex", low=0, high=MAX_OUTPUT_INDEX),
    )


def _read_block(obj: _Obj) -> Block:
    block_hash = obj.hex("hash", length=32, required=True)
    height = obj.integer("height", low=0, high=MAX_BLOCK_HEIGHT, required=True)
    group = ("header", "txIndex", "merkleBranch")
    present = [key for key in group if obj.has(key)]
    if present and len(present) != len(group):
        missing = next(key for key in group if key not in present)
        raise BundleFormatError(
            obj.where(missing), f"header, txIndex and merkleBranch go together ({present[0]} given)"
        )
    header = obj.hex("header", length=80)
    tx_index = obj.integer("txIndex", low=0, high=MAX_TX_INDEX)
    branch_raw = obj.array("merkleBranch", required=False, limit=MAX_BRANCH_ENTRIES)
    branch = None
    if branch_raw is not None:
        items = []
        for i, item in enumerate(branch_raw):
            where = f"{obj.where('merkleBranch')}[{i}]"
            if not isinstance(item, str):
                raise BundleFormatError(where, f"expected a hex string, got {_kind(item)}")
            items.append(_hex(item, where, 32))
        branch = tuple(items)
    assert block_hash is not None and height is not None
    return Block(hash=block_hash, height=height, header=header, tx_index=tx_index,
                 merkle_branch=branch)


def _require_complete_anchor(anchor: Anchor | None) -> None:
    """Contract section 2: a confirmed bundle needs merkleRoot, path, transaction.txid,
    block.hash and block.height."""
    if anchor is None:
        raise BundleFormatError("anchor", "a confirmed certificate needs an anchor")
    if anchor.merkle_root is None:
        raise BundleFormatError("anchor.merkleRoot", "required when status is confirmed")
    if anchor.transaction is None:
        raise BundleFormatError("anchor.transaction", "required when status is confirmed")
    if anchor.block is None:
        raise BundleFormatError("anchor.block", "required when status is confirmed")
