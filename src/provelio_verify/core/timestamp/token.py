"""Reading an RFC 3161 token (guide items A1, A2, B1, B2; the TSTInfo is ``core.tstinfo``).

Pure: bytes in, a :class:`Token` out. The containers (TimeStampResp, ContentInfo,
SignedData, SignerInfo, attributes) are walked with ``core.der``, so every part's
bytes are the bytes as received, every tag and length is checked (OpenSSL too refuses
a token with a malformed part), and no object is built for a container nobody reads.
asn1crypto parses the values with structure of their own (a rejection's status, names,
ESS attributes, the tsa name), cryptography each certificate. Nothing is re-encoded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import cms, tsp

from ...outcome import CheckFailure
from .algorithms import DIGEST_OIDS
from .certs import Cert, general_name_text
from .der import (
    CONTEXT,
    INTEGER,
    MAX_DEPTH,
    OCTET_STRING,
    OID,
    SEQUENCE,
    SET,
    UNIVERSAL,
    Node,
    read_tlv,
)
from .fields import AlgorithmId, algorithm_id, format_failure, integer, oid_of
from .tstinfo import Accuracy, read_tst_info

ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4"
ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
ID_RI_OCSP_RESPONSE = "1.3.6.1.5.5.7.16.2"
_GRANTED = (0, 1)  # granted, grantedWithMods (RFC 3161 §2.4.2)
_STATUS_NAMES = {0: "granted", 1: "granted_with_mods"}  # asn1crypto's names


class _TimeStampResp(tsp.TimeStampResp):  # type: ignore[misc]
    """(A2) asn1crypto marks the token as required, so a rejection response (which
    carries none) would not parse: here it is optional, as RFC 3161 §2.4.2 has it."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class Token:
    """A parsed token; every byte string is as received."""

    form: str  # "TimeStampResp" or "TimeStampToken"
    status: str | None  # a response's PKIStatus; None for a bare token
    #: The SignerInfo's sid: (issuer Name DER as received, serial number), or the
    #: subject key identifier.
    sid_id: tuple[bytes, int] | bytes
    digest_algorithm: AlgorithmId  # the SignerInfo's
    signature_algorithm: AlgorithmId  # the SignerInfo's
    signature: bytes
    #: The signed attributes' values (DER, as received) by attribute type OID: one
    #: tuple per occurrence of the attribute.
    attributes: dict[str, list[tuple[bytes, ...]]]
    #: The signed attributes exactly as received, tagged SET OF (0x31): what is signed.
    #: Empty when the SignerInfo has none.
    signed_attrs: bytes
    attribute_encodings: tuple[bytes, ...]  # each signed attribute's DER, in order
    e_content: bytes  # the eContent octets: what the message-digest attribute covers
    gen_time: datetime
    accuracy: Accuracy | None
    policy: str
    serial: int
    nonce: int | None
    ordering: bool
    tsa_name: Any  # asn1crypto GeneralName or None
    imprint_algorithm_id: AlgorithmId
    imprint: bytes
    certificates: tuple[Cert, ...]  # the embedded certificates, in token order
    crls: tuple[bytes, ...]  # embedded CRLs (DER)
    ocsp_responses: tuple[bytes, ...]  # embedded OCSP responses (DER)
    extensions: tuple[tuple[str, bool], ...]  # (OID, critical)
    digest_algorithms: tuple[str, ...]  # the SignedData's digestAlgorithms (OIDs)
    warnings: tuple[str, ...] = field(default=())

    @property
    def imprint_algorithm(self) -> str:
        """The imprint's hash name (``sha256``), or its OID when unknown."""
        oid = self.imprint_algorithm_id.oid
        return DIGEST_OIDS.get(oid, oid)

    @property
    def margin(self) -> timedelta:
        return self.accuracy.delta if self.accuracy else timedelta(0)

    @property
    def earliest(self) -> datetime:
        """genTime minus accuracy: the interval the token vouches for starts here."""
        return self.gen_time - self.margin

    @property
    def latest(self) -> datetime:
        """genTime plus accuracy: the latest instant the token vouches for."""
        return self.gen_time + self.margin

    def facts(self) -> dict[str, Any]:
        """What the token says, for the report (a new dict each call; its nested values
        are shared: read them, do not change them)."""
        return dict(self._facts)

    @functools.cached_property
    def _facts(self) -> dict[str, Any]:
        # Made once per token: the token check and the report's summary both need it.
        return {
            "form": self.form,
            "status": self.status,
            "genTime": self.gen_time.isoformat().replace("+00:00", "Z"),
            "accuracy": None if self.accuracy is None else {
                "seconds": self.accuracy.seconds, "millis": self.accuracy.millis,
                "micros": self.accuracy.micros},
            "policy": self.policy,
            "serialNumber": hex(self.serial),
            "nonce": None if self.nonce is None else hex(self.nonce),
            "ordering": self.ordering,
            "tsa": general_name_text(self.tsa_name) if self.tsa_name is not None else None,
            "imprintAlgorithm": self.imprint_algorithm,
            "imprint": self.imprint.hex(),
            "extensions": [{"oid": oid, "critical": crit} for oid, crit in self.extensions],
            "embeddedCertificates": len(self.certificates),
        }


def parse_token(data: bytes, load_cert: Callable[[bytes], Cert] = Cert.load, *,
                known: Callable[[bytes], Cert | None] | None = None) -> Token:
    """Parse a DER TimeStampResp or TimeStampToken and check its structure.
    ``load_cert`` parses the embedded certificates (a caching loader may be given);
    ``known`` returns the certificate already parsed from exactly these bytes, if any
    (an embedded certificate it knows is not walked again).

    Raises:
        CheckFailure: FORMAT_FAILURE, naming what is wrong.
    """
    try:
        top = read_tlv(data)
        # (0) Every tag, length and nesting level of the token, once, by our bounded
        # walk: asn1crypto recurses on nesting, and it parses parts (the sid's issuer
        # name, a refusal's status) that the reading below does not enter.
        _check_all(top, known)
        parts = top.children if top.is_(UNIVERSAL, SEQUENCE) else []
        # (1) A1, RFC 3161 §2.4.2: a TimeStampResp is SEQUENCE { PKIStatusInfo (a
        # SEQUENCE), token OPTIONAL }; a TimeStampToken is a ContentInfo, SEQUENCE {
        # OBJECT IDENTIFIER, [0] ... }. The first element's tag tells them apart.
        if not parts:
            raise format_failure("token is not an ASN.1 SEQUENCE with contents")
        if parts[0].is_(UNIVERSAL, OID):
            return _read_signed("TimeStampToken", None, top, load_cert)
        if not parts[0].is_(UNIVERSAL, SEQUENCE):
            raise format_failure("token is neither a TimeStampResp nor a TimeStampToken "
                                 f"(ContentInfo): its first element has tag {parts[0].tag}")
        status = _status(data, parts)
        return _read_signed("TimeStampResp", status, parts[1], load_cert)
    except CheckFailure:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise format_failure(f"token does not parse: {str(exc).splitlines()[0]}") from None


def _check_all(top: Node, known: Callable[[bytes], Cert | None] | None) -> None:
    """Walk every element of the token (``Node.check``), except the inside of an
    embedded certificate whose exact bytes ``known`` has parsed before: its loading
    walked them already, and its nesting, counted then, is held to MAX_DEPTH from where
    it lies here, as the walk would hold it. Elements are checked in document order."""
    path = _path_to_certificates(top) if known is not None else None
    if path is None or known is None:
        top.check()
        return
    for parent, on_path in zip(path, path[1:], strict=False):
        for child in parent.children:
            if child is not on_path:
                child.check()
    for choice in path[-1].children:
        cert = known(choice.raw) if choice.is_(UNIVERSAL, SEQUENCE) else None
        if cert is None or choice.depth + cert.nesting > MAX_DEPTH:
            choice.check()


def _path_to_certificates(top: Node) -> list[Node] | None:
    """The elements from the token down to SignedData's ``certificates [0]``, when the
    token has that shape (else ``None``: it is then walked whole). Reading a level
    checks each element's tag and length at that level, as the walk does."""
    if not top.constructed:
        return None
    parts = top.children
    if parts and parts[0].is_(UNIVERSAL, OID):
        path, info = [top], top
    elif len(parts) == 2 and parts[1].constructed:
        path, info = [top, parts[1]], parts[1]
    else:
        return None
    fields = info.children
    if len(fields) != 2 or not fields[1].is_(CONTEXT, 0) or not fields[1].constructed:
        return None
    inner = fields[1].children
    if len(inner) != 1 or not inner[0].is_(UNIVERSAL, SEQUENCE) or not inner[0].constructed:
        return None
    signed = inner[0].children
    if len(signed) < 4 or not signed[3].is_(CONTEXT, 0) or not signed[3].constructed:
        return None
    return [*path, fields[1], inner[0], signed[3]]


def _status(data: bytes, parts: list[Node]) -> str:
    """(2) A2: only granted(0) and grantedWithMods(1) carry a token."""
    status_info = parts[0]
    status_info.check()
    if not status_info.children or not status_info.children[0].is_(UNIVERSAL, INTEGER):
        raise format_failure("TimeStampResp status is not a PKIStatusInfo")
    code = integer(status_info.children[0])
    if code not in _GRANTED:
        # The rejection path: asn1crypto, on a TimeStampResp whose token is optional.
        info = _TimeStampResp.load(data, strict=True)["status"]
        text = info["status"].native
        strings = [s.native for s in info["status_string"]] if info["status_string"] else []
        fail = sorted(info["fail_info"].native) if info["fail_info"].native else []
        raise format_failure(
            f"the TSA refused the request: status {text}"
            + (f", failInfo {', '.join(fail)}" if fail else "")
            + (f", statusString {'; '.join(strings)!r}" if strings else ""),
            {"status": text, "statusString": strings, "failInfo": fail},
        )
    text = _STATUS_NAMES[code]
    if len(parts) != 2:
        raise format_failure(f"response status is {text} but it carries "
                             + ("no timeStampToken" if len(parts) < 2 else "more than a token"),
                             {"status": text})
    return text


def _read_signed(form: str, status: str | None, info: Node,
                 load_cert: Callable[[bytes], Cert]) -> Token:
    # (3) B1, RFC 5652 §5.2: a SignedData whose eContent is a TSTInfo.
    if len(info.children) != 2 or not info.children[1].is_(CONTEXT, 0):
        raise format_failure("token is not a ContentInfo { contentType, [0] content }")
    content_type = oid_of(info.children[0])
    if content_type != ID_SIGNED_DATA:
        raise format_failure(f"token content type is {content_type}, not id-signedData "
                             f"({ID_SIGNED_DATA})")
    (signed,) = info.children[1].children
    fields = signed.children
    if len(fields) < 4 or not (fields[0].is_(UNIVERSAL, INTEGER)
                               and fields[1].is_(UNIVERSAL, SET)
                               and fields[2].is_(UNIVERSAL, SEQUENCE)
                               and fields[-1].is_(UNIVERSAL, SET)):
        raise format_failure("SignedData does not have version, digestAlgorithms, "
                             "encapContentInfo and signerInfos")
    digest_algorithms = tuple(_digest_algorithm(a) for a in fields[1].children)
    e_content = _e_content(fields[2])
    certs, crls, ocsps = _embedded(fields[3:-1], load_cert)
    # (4) B2, RFC 3161 §2.4.2: the TSA's signature is the only one.
    signers = fields[-1].children
    if len(signers) != 1:
        raise format_failure(f"token has {len(signers)} SignerInfos; RFC 3161 §2.4.2 allows only "
                             "the TSA's", {"signerInfos": len(signers)})
    return Token(form=form, status=status, **_signer(signers[0]), e_content=e_content,
                 certificates=certs, crls=crls, ocsp_responses=ocsps,
                 digest_algorithms=digest_algorithms, **read_tst_info(e_content))


def _digest_algorithm(node: Node) -> str:
    return algorithm_id(node).oid


def _e_content(encap: Node) -> bytes:
    """The eContent octets of an EncapsulatedContentInfo that holds a TSTInfo."""
    e_type = oid_of(encap.children[0])
    if e_type != ID_CT_TSTINFO:
        raise format_failure(f"token eContentType is {e_type}, not id-ct-TSTInfo ({ID_CT_TSTINFO})")
    if len(encap.children) != 2 or not encap.children[1].is_(CONTEXT, 0):
        raise format_failure("token has no eContent (a detached TSTInfo is not a token)")
    (octets,) = encap.children[1].children
    if not octets.is_(UNIVERSAL, OCTET_STRING):
        raise format_failure("token eContent is not an OCTET STRING")
    e_content = _octets(octets)
    # The TSTInfo is DER inside the OCTET STRING, which the token's walk does not
    # enter: walk it too before asn1crypto parses its parts (the tsa name).
    read_tlv(e_content).check()
    return e_content


def _octets(node: Node) -> bytes:
    """An OCTET STRING's value, primitive or (BER) constructed of segments."""
    if not node.constructed:
        return node.contents
    return b"".join(_octets(part) for part in node.children)


def _embedded(
    optional: list[Node], load_cert: Callable[[bytes], Cert],
) -> tuple[tuple[Cert, ...], tuple[bytes, ...], tuple[bytes, ...]]:
    """The embedded certificates ([0]: parsed, one that does not parse makes a malformed
    token), CRLs and OCSP responses ([1]: DER, judged when used)."""
    certs: list[Cert] = []
    crls: list[bytes] = []
    ocsps: list[bytes] = []
    for node in optional:
        if node.is_(CONTEXT, 0) and not certs:
            for index, choice in enumerate(node.children, start=1):
                if not choice.is_(UNIVERSAL, SEQUENCE):
                    choice.check()  # attribute and other certificates: not used for paths
                    continue
                try:
                    certs.append(load_cert(choice.raw))
                except ValueError as exc:
                    raise format_failure(f"embedded certificate #{index} does not parse: "
                                         f"{str(exc).splitlines()[0]}") from None
        elif node.is_(CONTEXT, 1) and not crls and not ocsps:
            node.check()
            for choice in node.children:
                if choice.is_(UNIVERSAL, SEQUENCE):
                    crls.append(choice.raw)
                elif choice.is_(CONTEXT, 1) and oid_of(choice.children[0]) == ID_RI_OCSP_RESPONSE:
                    ocsps.append(choice.children[1].raw)
        else:
            raise format_failure(f"SignedData has an unexpected field (tag [{node.tag}])")
    return tuple(dict.fromkeys(certs)), tuple(crls), tuple(ocsps)


def _signer(node: Node) -> dict[str, Any]:
    """RFC 5652 §5.3: SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm,
    signedAttrs [0] OPTIONAL, signatureAlgorithm, signature, unsignedAttrs [1]
    OPTIONAL }: its parts, with the signed attributes' bytes as received (B4)."""
    fields = list(node.children)
    if len(fields) < 5 or not fields[0].is_(UNIVERSAL, INTEGER):
        raise format_failure("SignerInfo is too short or has no version")
    # The issuer name inside the sid is not walked: it names a certificate only if it
    # equals a parsed certificate's issuer, byte for byte or as parsed by asn1crypto.
    sid_node = fields[1]
    if sid_node.is_(UNIVERSAL, SEQUENCE):  # IssuerAndSerialNumber ::= { issuer, serial }
        issuer, serial = sid_node.children
        if not issuer.is_(UNIVERSAL, SEQUENCE) or not serial.is_(UNIVERSAL, INTEGER):
            raise format_failure("SignerInfo sid is not { issuer Name, serialNumber }")
        sid_id: tuple[bytes, int] | bytes = (issuer.raw, integer(serial))
    elif sid_node.is_(CONTEXT, 0) and not sid_node.constructed:  # [0] SubjectKeyIdentifier
        sid_id = sid_node.contents
    else:
        raise format_failure("SignerInfo sid is neither issuerAndSerialNumber nor "
                             "subjectKeyIdentifier")
    digest_algorithm = algorithm_id(fields[2])
    rest = fields[3:]
    signed_attrs = b""
    encodings: tuple[bytes, ...] = ()
    attributes: dict[str, list[tuple[bytes, ...]]] = {}
    if rest and rest[0].is_(CONTEXT, 0) and rest[0].constructed:
        # (4b) B4, RFC 5652 §5.4: the [0] IMPLICIT tag replaced by SET OF (0x31).
        signed_attrs = b"\x31" + rest[0].raw[1:]
        encodings = tuple(a.raw for a in rest[0].children)
        for attr in rest[0].children:
            oid_node, values = attr.children
            if not values.is_(UNIVERSAL, SET):
                raise format_failure("a signed attribute's values are not a SET")
            for value in values.children:
                value.check()
            attributes.setdefault(oid_of(oid_node), []).append(
                tuple(v.raw for v in values.children))
        rest = rest[1:]
    if len(rest) not in (2, 3) or not rest[1].is_(UNIVERSAL, OCTET_STRING) or (
            len(rest) == 3 and not rest[2].is_(CONTEXT, 1)):
        raise format_failure("SignerInfo does not end with signatureAlgorithm, signature and "
                             "optional unsignedAttrs")
    signature_algorithm = algorithm_id(rest[0])
    if rest[1].constructed:
        raise format_failure("SignerInfo signature is not a primitive OCTET STRING")
    for extra in rest[2:]:
        extra.check()
    return {"sid_id": sid_id, "digest_algorithm": digest_algorithm,
            "signature_algorithm": signature_algorithm, "signature": rest[1].contents,
            "attributes": attributes, "signed_attrs": signed_attrs,
            "attribute_encodings": encodings}


