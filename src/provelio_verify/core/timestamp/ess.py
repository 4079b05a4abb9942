"""The binding of the token to its signer's certificate: the ESS signing-certificate
attributes (guide item B7) and the TSTInfo's ``tsa`` name (C7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asn1crypto import tsp

from ...outcome import CheckFailure, CheckIndeterminate, Passed, SubIndication
from .algorithms import BROKEN_DIGESTS, DIGEST_OIDS, digest
from .certs import Cert, general_name_matches, general_name_text
from .cms import attribute_format, single_attribute
from .der import OCTET_STRING, SEQUENCE, UNIVERSAL, Node, read_tlv
from .fields import algorithm_id
from .token import Token

ID_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12"
ID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"


@dataclass(frozen=True)
class CertId:
    """One ESSCertID / ESSCertIDv2."""

    attribute: str  # "signingCertificate" or "signingCertificateV2"
    index: int  # 1-based position in its attribute
    hash_name: str
    cert_hash: bytes
    issuer_serial: Any  # asn1crypto IssuerSerial or None

    @property
    def label(self) -> str:
        return f"{self.attribute} certID #{self.index} ({self.hash_name} {self.cert_hash.hex()})"

    def names(self, cert: Cert) -> bool:
        """Whether this certID identifies ``cert``: its hash, and issuer and serial when
        given (RFC 2634 §5.4.1, RFC 5035 §4)."""
        if digest(self.hash_name, cert.der) != self.cert_hash:
            return False
        if self.issuer_serial is None:
            return True
        if int(self.issuer_serial["serial_number"]) != cert.crypto.serial_number:
            return False
        return any(name.name == "directory_name" and name.chosen == cert.asn1.issuer
                   for name in self.issuer_serial["issuer"])


def cert_ids(token: Token) -> list[CertId]:
    """See :func:`_cert_ids`; a value that does not parse is a FORMAT_FAILURE.

    Raises:
        CheckFailure: as :func:`_cert_ids`.
    """
    try:
        return _cert_ids(token)
    except (ValueError, TypeError, KeyError) as exc:
        raise attribute_format("signingCertificate(V2)", exc) from None


def _cert_ids(token: Token) -> list[CertId]:
    """(1) RFC 3161 §2.4.1 / RFC 5816 §2: the SigningCertificate (ESSCertID, SHA-1)
    and SigningCertificateV2 (ESSCertIDv2, SHA-256 by default) attributes, each
    single-valued; both are read when both are present.

    Raises:
        CheckFailure: SIG_CONSTRAINTS_FAILURE when neither is present or one is empty;
            CRYPTO_CONSTRAINTS_FAILURE for an MD5 or unknown certID hash;
            FORMAT_FAILURE for a repeated attribute.
        ValueError: an attribute value that does not parse.
    """
    found: list[CertId] = []
    for oid, label in ((ID_SIGNING_CERTIFICATE, "signingCertificate"),
                       (ID_SIGNING_CERTIFICATE_V2, "signingCertificateV2")):
        raw = single_attribute(token, oid, label, required=False)
        if raw is None:
            continue
        # SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), ... }
        value = read_tlv(raw)
        if not value.is_(UNIVERSAL, SEQUENCE) or not value.children[0].is_(UNIVERSAL,
                                                                            SEQUENCE):
            raise ValueError(f"{label} is not a SEQUENCE starting with its certs")
        entries = value.children[0].children
        if not entries:
            raise CheckFailure(SubIndication.SIG_CONSTRAINTS_FAILURE,
                               f"ESS {label} attribute lists no certificate")
        for index, entry in enumerate(entries, start=1):
            found.append(_cert_id(label, index, entry))
    if not found:
        raise CheckFailure(
            SubIndication.SIG_CONSTRAINTS_FAILURE,
            "token has neither an ESS signingCertificate nor a signingCertificateV2 attribute; "
            "RFC 3161 §2.4.1 requires one to bind the TSA's certificate")
    return found


def _cert_id(label: str, index: int, entry: Node) -> CertId:
    """ESSCertID ::= SEQUENCE { certHash, issuerSerial OPTIONAL }; ESSCertIDv2 ::=
    SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, issuerSerial OPTIONAL }."""
    parts = list(entry.children)
    hash_name = "sha1"
    if label == "signingCertificateV2":
        hash_name = "sha256"
        if parts and parts[0].is_(UNIVERSAL, SEQUENCE):
            oid = algorithm_id(parts.pop(0)).oid
            hash_name = DIGEST_OIDS.get(oid, oid)
    if not parts or not parts[0].is_(UNIVERSAL, OCTET_STRING) or parts[0].constructed \
            or len(parts) > 2:
        raise ValueError(f"{label} certID #{index} is malformed")
    if hash_name in BROKEN_DIGESTS or hash_name not in DIGEST_OIDS.values():
        raise CheckFailure(SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
                           f"ESS {label} certID #{index} uses hash {hash_name}, which is not "
                           "accepted")
    issuer_serial = None
    if len(parts) == 2:
        issuer_serial = tsp.IssuerSerial.load(parts[1].raw, strict=True)
        _ = issuer_serial.native
    return CertId(label, index, hash_name, parts[0].contents, issuer_serial)


def check_signing_certificate(
    token: Token,
    signer: Cert,
    path: Sequence[Cert] | None,
    found_chain: Sequence[Cert],
) -> Passed[None]:
    """The signed ESS attribute names the signer certificate, its further certIDs name
    certificates on the path, and the ``tsa`` name names the signer.

    ``path`` is the validated path (leaf first) or ``None`` when none was validated;
    ``found_chain`` the chain found without a trusted root.

    Raises:
        CheckFailure: SIG_CONSTRAINTS_FAILURE when an identifier names another
            certificate (see also :func:`cert_ids`).
        CheckIndeterminate: NO_CERTIFICATE_CHAIN_FOUND when a further certID can only
            be settled on a validated path.
    """
    ids = cert_ids(token)
    # (2) B7: the first certID of each attribute names the signer certificate.
    for cert_id in (c for c in ids if c.index == 1):
        if not cert_id.names(signer):
            actual = digest(cert_id.hash_name, signer.der).hex()
            raise CheckFailure(
                SubIndication.SIG_CONSTRAINTS_FAILURE,
                f"ESS {cert_id.label} does not name the signer certificate {signer.subject} "
                f"({cert_id.hash_name} {actual}"
                + (", or its issuer and serial differ" if cert_id.issuer_serial else "")
                + "): the signed attributes bind another certificate",
                {"certId": cert_id.cert_hash.hex(), "signerHash": actual,
                 "hashAlgorithm": cert_id.hash_name, "signer": signer.summary()})
    # (3) B7, RFC 5035 §4: further certIDs name certificates on the validated path.
    unsettled = []
    for cert_id in (c for c in ids if c.index > 1):
        if path is not None and any(cert_id.names(c) for c in path):
            continue
        if path is not None:
            raise CheckFailure(
                SubIndication.SIG_CONSTRAINTS_FAILURE,
                f"ESS {cert_id.label} names no certificate on the validated path",
                {"certId": cert_id.cert_hash.hex(), "path": [c.fingerprint for c in path]})
        if not any(cert_id.names(c) for c in found_chain):
            unsettled.append(cert_id.label)
    # (4) C7, RFC 3161 §2.4.2: a tsa name names the signer certificate.
    tsa = token.tsa_name
    if tsa is not None and not general_name_matches(tsa, signer):
        raise CheckFailure(
            SubIndication.SIG_CONSTRAINTS_FAILURE,
            f"TSTInfo tsa name {general_name_text(tsa)} is neither the subject nor a "
            f"subjectAltName of the signer certificate {signer.subject}",
            {"tsa": general_name_text(tsa), "signer": signer.subject})
    if unsettled:
        raise CheckIndeterminate(
            SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
            f"{', '.join(unsettled)} name certificates that are not in the token or extraCerts "
            "and no path was validated: configure the TSA's root with --tsa-roots to settle "
            "them")
    attrs = sorted({c.attribute for c in ids})
    return Passed(
        f"ESS {' and '.join(attrs)} {'name' if len(attrs) > 1 else 'names'} the signer "
        f"certificate {signer.subject}"
        + (f" and {len(ids) - len(attrs)} further certificate(s) on the path"
           if len(ids) > len(attrs) else "")
        + ("; the tsa name names it too" if tsa is not None else ""),
        {"certIds": [{"attribute": c.attribute, "index": c.index, "hash": c.hash_name,
                      "value": c.cert_hash.hex(), "issuerSerial": c.issuer_serial is not None}
                     for c in ids],
         "signer": signer.summary(),
         "tsa": general_name_text(tsa) if tsa is not None else None})
