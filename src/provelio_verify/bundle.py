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

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._json_reader import (
    Obj,
    kind,
    load_json,
    read_base64,
    read_hex,
)
from .core.anchor.bitcoin import Network
from .core.anchor.merkle import PathStep
from .core.anchor.transaction import MAX_BRANCH_LENGTH
from .errors import BundleFormatError

__all__ = [
    "MAX_BUNDLE_BYTES", "Anchor", "Block", "Bundle", "BundleFormatError", "Certificate",
    "Network", "PathStep", "Status", "Timestamp", "Transaction", "parse_bundle",
]

# Limits (contract section 2). Each bounds the work or memory a hostile bundle can cost.
MAX_BUNDLE_BYTES = 16 * 1024 * 1024  # a bundle is a small JSON document
MAX_TOKEN_BYTES = 1024 * 1024  # real RFC 3161 tokens are a few KiB
MAX_PATH_STEPS = 64  # a Merkle tree of 2**64 leaves is more than will ever be batched
MAX_BRANCH_ENTRIES = MAX_BRANCH_LENGTH  # core's limit: 2**32 transactions cannot fit in a block
MAX_EXTRA_CERTS = 32  # TSA paths are a handful of certificates long
# Bounds of integers that must fit the protocols they describe.
MAX_BLOCK_HEIGHT = 2**31 - 1  # Bitcoin Core keeps heights in an int32
MAX_TX_INDEX = 2**32 - 1  # at most 32 branch levels
MAX_FILE_SIZE = 2**63 - 1  # a file size fits in a signed 64-bit offset
MAX_OUTPUT_INDEX = 2**32 - 1  # outputs are counted by a 32-bit index

SUPPORTED_VERSION = 1



class Status(enum.StrEnum):
    CREATED = "created"
    ANCHORING = "anchoring"
    CONFIRMED = "confirmed"
    FAILED = "failed"


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
    document = load_json(data, warnings)
    bundle = _read_bundle(document, warnings)
    return Bundle(
        certificate=bundle.certificate,
        timestamp=bundle.timestamp,
        anchor=bundle.anchor,
        warnings=tuple(warnings),
        source_sha256=hashlib.sha256(data).digest(),
    )


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
    top = Obj(document, "", _TOP_KEYS, warnings)
    top.literal("type", "provelio-proof")
    top.literal("version", SUPPORTED_VERSION)
    cert_obj = top.obj("certificate", _CERT_KEYS, warnings, required=True)
    ts_obj = top.obj("timestamp", _TS_KEYS, warnings, required=True)
    anchor_obj = top.obj("anchor", _ANCHOR_KEYS, warnings, required=False, nullable=True)
    assert cert_obj is not None and ts_obj is not None
    certificate = _read_certificate(cert_obj)
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


def _read_certificate(obj: Obj) -> Certificate:
    digest = obj.hex("sha256Hash", length=32, required=True)
    status = obj.choice("status", Status)
    test_mode = obj.boolean("testMode", required=True)
    metadata = obj.raw("metadata", required=False)
    if metadata is not None and not isinstance(metadata, dict):
        raise BundleFormatError(obj.where("metadata"), f"expected an object, got {kind(metadata)}")
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


def _read_timestamp(obj: Obj) -> Timestamp:
    obj.literal("type", "rfc3161")
    token = read_base64(obj.raw("token", required=True), obj.where("token"), MAX_TOKEN_BYTES)
    extra = obj.array("extraCerts", required=False, limit=MAX_EXTRA_CERTS) or []
    certs = []
    for i, item in enumerate(extra):
        where = f"{obj.where('extraCerts')}[{i}]"
        der = read_base64(item, where, MAX_TOKEN_BYTES)
        if not der:
            raise BundleFormatError(where, "certificate is empty")
        certs.append(der)
    return Timestamp(token=token, extra_certs=tuple(certs))


def _read_anchor(obj: Obj, warnings: list[str]) -> Anchor:
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
        raise BundleFormatError(where, f"expected an object, got {kind(item)}")
    sides = [key for key in ("left", "right") if key in item]
    if len(sides) != 1:
        raise BundleFormatError(
            where, "a path step has exactly one of left or right"
            if sides else "a path step needs left or right"
        )
    step = Obj(item, where, ("left", "right"), warnings)
    side = sides[0]
    sibling = step.hex(side, length=32, required=True)
    assert sibling is not None
    return PathStep(side=side, sibling=sibling)  # type: ignore[arg-type]


def _read_transaction(obj: Obj) -> Transaction:
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


def _read_block(obj: Obj) -> Block:
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
                raise BundleFormatError(where, f"expected a hex string, got {kind(item)}")
            items.append(read_hex(item, where, 32))
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
