"""Reading values from an encoding's layout (``core.der``): INTEGER, BOOLEAN, OBJECT
IDENTIFIER and AlgorithmIdentifier, the few types every part of a token is built from.
X.690 encodes them simply (two's complement integers, one-octet booleans); OIDs go to
asn1crypto unless they are among those every token carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asn1crypto import core

from ...outcome import CheckFailure, SubIndication
from .algorithms import DIGEST_OIDS, SIGNATURE_OIDS
from .der import CONTEXT, OID, SEQUENCE, UNIVERSAL, Node


def format_failure(message: str, details: dict[str, Any] | None = None) -> CheckFailure:
    return CheckFailure(SubIndication.FORMAT_FAILURE, message, details)


@dataclass(frozen=True)
class AlgorithmId:
    """An AlgorithmIdentifier as received: its OID, and its parameters' DER (``b""``
    when absent; asn1crypto is not asked to parse them, it insists on NULL for SHA-2)."""

    oid: str
    parameters: bytes


#: Encodings of the OIDs every token carries, so the common case needs no decoding.
_KNOWN_OIDS = {core.ObjectIdentifier(oid).dump(): oid for oid in (
    "1.2.840.113549.1.7.2", "1.2.840.113549.1.9.16.1.4", *DIGEST_OIDS, *SIGNATURE_OIDS,
    "1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4", "1.2.840.113549.1.9.5",
    "1.2.840.113549.1.9.16.2.12", "1.2.840.113549.1.9.16.2.47", "1.2.840.113549.1.9.52",
)}


def oid_of(node: Node) -> str:
    """An OBJECT IDENTIFIER's dotted form.

    Raises:
        ValueError: the node is not one.
    """
    if not node.is_(UNIVERSAL, OID):
        raise ValueError(f"an OBJECT IDENTIFIER was expected at offset {node.start}")
    raw = node.raw
    known = _KNOWN_OIDS.get(raw)
    return known if known is not None else str(
        core.ObjectIdentifier.load(raw, strict=True).dotted)


def boolean(node: Node) -> bool:
    """A BOOLEAN's value (X.690 §8.2: one octet, zero is FALSE)."""
    if node.constructed or len(node.contents) != 1:
        raise ValueError(f"malformed BOOLEAN at offset {node.start}")
    return node.contents != b"\x00"


def integer(node: Node) -> int:
    """An INTEGER's value (X.690 §8.3: two's complement, big-endian)."""
    if node.constructed or not node.contents:
        raise ValueError(f"malformed INTEGER at offset {node.start}")
    return int.from_bytes(node.contents, "big", signed=True)


def algorithm_id(node: Node, *, implicit: int | None = None) -> AlgorithmId:
    """An AlgorithmIdentifier: SEQUENCE { OID, parameters ANY OPTIONAL } (or, with
    ``implicit``, the same under that [n] IMPLICIT tag).

    Raises:
        CheckFailure: FORMAT_FAILURE when it is not one.
        ValueError: a malformed encoding inside it.
    """
    tag = (CONTEXT, implicit) if implicit is not None else (UNIVERSAL, SEQUENCE)
    if not node.is_(*tag) or not node.constructed or not node.children \
            or len(node.children) > 2:
        raise format_failure(f"an AlgorithmIdentifier was expected at offset {node.start}")
    parameters = b""
    if len(node.children) == 2:
        node.children[1].check()
        parameters = node.children[1].raw
    return AlgorithmId(oid_of(node.children[0]), parameters)
