"""What is known of the TSA certificate's revocation (guide item D7), from CRLs and OCSP
responses the caller supplies, the token embeds, or the shell fetched.

RFC 3161 §4: a TSA certificate revoked for keyCompromise (or for no stated reason)
voids every token its key made; revoked for unspecified, affiliationChanged,
superseded or cessationOfOperation, tokens made before the revocation date stay valid.
Every other reason is treated as keyCompromise (the cautious reading). Pure: DER in,
a verdict out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from ...outcome import CheckFailure, CheckIndeterminate, Passed, SubIndication
from .algorithms import SIGNATURE_OIDS, verify_signature
from .certs import Cert

#: RFC 3161 §4: reasons under which tokens made before the revocation date stay valid.
BENIGN_REASONS = frozenset({
    x509.ReasonFlags.unspecified, x509.ReasonFlags.affiliation_changed,
    x509.ReasonFlags.superseded, x509.ReasonFlags.cessation_of_operation,
})
#: RFC 5280 §5.2.7 expiredCertsOnCRL and RFC 6960 §4.4.4 archiveCutoff: data issued
#: after the certificate expired still lists it only when these say so.
ID_EXPIRED_CERTS_ON_CRL = "2.5.29.60"
ID_ARCHIVE_CUTOFF = "1.3.6.1.5.5.7.48.1.6"

GOOD, REVOKED, UNUSABLE, UNKNOWN = "good", "revoked", "unusable", "unknown"


@dataclass(frozen=True)
class RevocationSource:
    """Revocation data and where it came from (for the report)."""

    kind: str  # "crl" or "ocsp"
    origin: str  # "--crl #1", "embedded in the token", "http://…"
    der: bytes


@dataclass(frozen=True)
class Evidence:
    """What one source says about the TSA certificate."""

    source: RevocationSource
    status: str
    note: str
    as_of: datetime | None = None
    revoked_at: datetime | None = None
    reason: x509.ReasonFlags | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.source.kind, "origin": self.source.origin, "status": self.status,
                "note": self.note, "asOf": self.as_of, "revokedAt": self.revoked_at,
                "reason": self.reason.value if self.reason else None}


def evaluate(source: RevocationSource, leaf: Cert, issuer: Cert,
             gen_time: datetime) -> Evidence:
    """Read one CRL or OCSP response about ``leaf`` (issued by ``issuer``)."""
    try:
        if source.kind == "crl":
            return _crl(source, leaf, issuer, gen_time)
        return _ocsp(source, leaf, issuer, gen_time)
    except ValueError as exc:
        return Evidence(source, UNUSABLE, f"does not parse ({str(exc).splitlines()[0]})")


def _not_revoked(source: RevocationSource, leaf: Cert, as_of: datetime, gen_time: datetime,
                 keeps_expired: bool) -> Evidence:
    """A source that does not list the certificate proves something only if it was
    issued after genTime, and before the certificate expired or while it still lists
    expired certificates (RFC 5280 §3.3)."""
    if as_of < gen_time:
        return Evidence(source, UNUSABLE, f"issued {as_of.isoformat()}, before genTime: it "
                        "cannot show the key was not compromised later", as_of)
    if as_of > leaf.not_after and not keeps_expired:
        return Evidence(source, UNUSABLE, f"issued {as_of.isoformat()}, after the certificate "
                        "expired; entries of expired certificates may have been dropped", as_of)
    return Evidence(source, GOOD, f"not revoked as of {as_of.isoformat()}", as_of)


def _crl(source: RevocationSource, leaf: Cert, issuer: Cert, gen_time: datetime) -> Evidence:
    crl = x509.load_der_x509_crl(source.der)
    if crl.issuer != leaf.crypto.issuer:
        return Evidence(source, UNUSABLE, f"CRL of {crl.issuer.rfc4514_string()}, not of the "
                        "TSA certificate's issuer (indirect CRLs are not used)")
    algorithm = SIGNATURE_OIDS.get(crl.signature_algorithm_oid.dotted_string)
    if algorithm is not None and algorithm.digest in ("md5", "sha1"):
        return Evidence(source, UNUSABLE, f"CRL signed with {algorithm.name}, refused")
    if not crl.is_signature_valid(issuer.public_key):
        return Evidence(source, UNUSABLE, f"CRL signature does not verify with the key of "
                        f"{issuer.subject}")
    oids = {ext.oid.dotted_string: ext for ext in crl.extensions}
    if x509.oid.ExtensionOID.DELTA_CRL_INDICATOR.dotted_string in oids:
        return Evidence(source, UNUSABLE, "a delta CRL (only complete CRLs are used)")
    scope = _scope_problem(crl, leaf)
    if scope:
        return Evidence(source, UNUSABLE, scope)
    entry = crl.get_revoked_certificate_by_serial_number(leaf.crypto.serial_number)
    if entry is not None:
        try:
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        except x509.ExtensionNotFound:
            reason = None
        return Evidence(source, REVOKED, "the CRL lists the certificate",
                        crl.last_update_utc, entry.revocation_date_utc, reason)
    return _not_revoked(source, leaf, crl.last_update_utc, gen_time,
                        ID_EXPIRED_CERTS_ON_CRL in oids)


def _scope_problem(crl: x509.CertificateRevocationList, leaf: Cert) -> str | None:
    """RFC 5280 §5.2.5: a CRL with a partial scope does not speak for this certificate."""
    try:
        idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    except x509.ExtensionNotFound:
        return None
    if (idp.only_contains_ca_certs or idp.only_contains_attribute_certs
            or idp.only_some_reasons or idp.indirect_crl):
        return "the CRL's issuingDistributionPoint limits its scope"
    if idp.full_name:
        try:
            points = leaf.crypto.extensions.get_extension_for_class(
                x509.CRLDistributionPoints).value
        except x509.ExtensionNotFound:
            return "the CRL covers a distribution point the certificate does not name"
        names = {n for p in points for n in (p.full_name or [])}
        if not names.intersection(idp.full_name):
            return "the CRL covers a distribution point the certificate does not name"
    return None


def _ocsp(source: RevocationSource, leaf: Cert, issuer: Cert, gen_time: datetime) -> Evidence:
    response = ocsp.load_der_ocsp_response(source.der)
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return Evidence(source, UNUSABLE, f"OCSP response status {response.response_status.name}")
    responder = _responder_key(response, issuer)
    if isinstance(responder, str):
        return Evidence(source, UNUSABLE, responder)
    algorithm = SIGNATURE_OIDS.get(response.signature_algorithm_oid.dotted_string)
    if algorithm is None or algorithm.digest in (None, "md5", "sha1"):
        return Evidence(source, UNUSABLE, "OCSP response signature algorithm "
                        f"{response.signature_algorithm_oid.dotted_string} is not accepted")
    if not verify_signature(responder, response.signature, response.tbs_response_bytes,
                            algorithm.scheme, algorithm.digest):
        return Evidence(source, UNUSABLE, "OCSP response signature does not verify")
    for single in response.responses:
        if not _names(single, leaf, issuer):
            continue
        status = single.certificate_status
        if status is ocsp.OCSPCertStatus.REVOKED:
            return Evidence(source, REVOKED, "the OCSP responder says revoked",
                            single.this_update_utc, single.revocation_time_utc,
                            single.revocation_reason)
        if status is ocsp.OCSPCertStatus.UNKNOWN:
            return Evidence(source, UNKNOWN, "the OCSP responder does not know the certificate",
                            single.this_update_utc)
        keeps = any(e.oid.dotted_string == ID_ARCHIVE_CUTOFF for e in response.extensions)
        return _not_revoked(source, leaf, single.this_update_utc, gen_time, keeps)
    return Evidence(source, UNUSABLE, "the OCSP response is about other certificates")


def _names(single: ocsp.OCSPSingleResponse, leaf: Cert, issuer: Cert) -> bool:
    """RFC 6960 §4.1.1: CertID = hashes of the issuer's name and key, and the serial."""
    if single.serial_number != leaf.crypto.serial_number:
        return False
    name = single.hash_algorithm.name
    key_bits = issuer.asn1.public_key["public_key"].contents[1:]
    return bool(single.issuer_name_hash == hashlib.new(name, issuer.asn1.subject.dump()).digest()
                and single.issuer_key_hash == hashlib.new(name, key_bits).digest())


def _responder_key(response: ocsp.OCSPResponse, issuer: Cert) -> Any:
    """RFC 6960 §4.2.2.2: the issuer itself, or a responder it certified for
    id-kp-OCSPSigning. Returns the key, or why there is none."""
    key_bits = issuer.asn1.public_key["public_key"].contents[1:]
    if (response.responder_key_hash == hashlib.sha1(key_bits).digest()
            or response.responder_name == issuer.crypto.subject):
        return issuer.public_key
    for cert in response.certificates:
        try:
            cert.verify_directly_issued_by(issuer.crypto)
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except Exception:  # noqa: BLE001 - any failure means: not a delegated responder
            continue
        produced = response.produced_at_utc
        if (ExtendedKeyUsageOID.OCSP_SIGNING in eku
                and cert.not_valid_before_utc <= produced <= cert.not_valid_after_utc):
            return cert.public_key()
    return "the OCSP responder is neither the issuer nor certified by it for OCSP signing"


def judge(evidence: Sequence[Evidence], latest: datetime, leaf: Cert,
          settle: str) -> Passed[None]:
    """(D7) Combine what the sources say; ``latest`` is genTime plus accuracy and
    ``settle`` tells a person where to get revocation data.

    Raises:
        CheckFailure: REVOKED when an authentic source voids the token.
        CheckIndeterminate: TRY_LATER when no source establishes the status.
    """
    details = {"certificate": leaf.summary(), "evidence": [e.to_dict() for e in evidence]}
    revoked = [e for e in evidence if e.status == REVOKED]
    for item in revoked:
        assert item.revoked_at is not None
        reason = item.reason.value if item.reason else "no stated reason"
        if item.reason not in BENIGN_REASONS:
            raise CheckFailure(
                SubIndication.REVOKED,
                f"TSA certificate {leaf.subject} was revoked on {item.revoked_at.isoformat()} "
                f"for {reason} ({item.source.origin}): its key may have made any token, so "
                "every token it signed is void (RFC 3161 §4)", details)
        if item.revoked_at <= latest:
            raise CheckFailure(
                SubIndication.REVOKED,
                f"TSA certificate {leaf.subject} was revoked on {item.revoked_at.isoformat()} "
                f"for {reason} ({item.source.origin}), before the token's genTime + accuracy "
                f"{latest.isoformat()}", details)
    if revoked:
        item = revoked[0]
        assert item.revoked_at is not None and item.reason is not None
        return Passed(f"TSA certificate was revoked on {item.revoked_at.isoformat()} for "
                      f"{item.reason.value}, after the token's genTime + accuracy: the token "
                      "stays valid (RFC 3161 §4)", details)
    good = [e for e in evidence if e.status == GOOD]
    if good:
        newest = max(good, key=lambda e: e.as_of or latest)
        assert newest.as_of is not None
        return Passed(f"TSA certificate {leaf.subject} not revoked as of "
                      f"{newest.as_of.isoformat()} ({newest.source.origin})", details)
    seen = "; ".join(f"{e.source.origin}: {e.note}" for e in evidence) or "none supplied"
    raise CheckIndeterminate(
        SubIndication.TRY_LATER,
        f"revocation status of TSA certificate {leaf.subject} is not established (revocation "
        f"data: {seen}): {settle}", details)


#: At most this many URLs of each kind are tried for one certificate.
MAX_URLS = 4


def revocation_urls(cert: Cert) -> tuple[list[str], list[str]]:
    """The http(s) CRL distribution points and OCSP responders a certificate names."""
    crls: list[str] = []
    ocsps: list[str] = []
    ext = cert.crypto.extensions
    try:
        for point in ext.get_extension_for_class(x509.CRLDistributionPoints).value:
            crls.extend(n.value for n in point.full_name or []
                        if isinstance(n, x509.UniformResourceIdentifier))
    except x509.ExtensionNotFound:
        pass
    try:
        for desc in ext.get_extension_for_class(x509.AuthorityInformationAccess).value:
            if (desc.access_method == AuthorityInformationAccessOID.OCSP
                    and isinstance(desc.access_location, x509.UniformResourceIdentifier)):
                ocsps.append(desc.access_location.value)
    except x509.ExtensionNotFound:
        pass

    def web(urls: list[str]) -> list[str]:
        return [u for u in dict.fromkeys(urls) if u.startswith(("http://", "https://"))]

    return web(crls)[:MAX_URLS], web(ocsps)[:MAX_URLS]


def ocsp_request(leaf: Cert, issuer: Cert) -> bytes:
    """The DER OCSP request asking about ``leaf``, issued by ``issuer`` (SHA-1 CertID,
    as every responder accepts)."""
    return (ocsp.OCSPRequestBuilder()
            .add_certificate(leaf.crypto, issuer.crypto, hashes.SHA1())
            .build().public_bytes(serialization.Encoding.DER))
