"""The TSA certificate's profile (guide items D3, D4, D5, D8) and the judgement of its
path (D1, D2, D8): which chain the available certificates form, whether it reaches a
configured root, and whether every certificate on it was valid over the whole
interval genTime ± accuracy.

Pure: certificates and instants in, verdicts out. Path *validation* itself is
``core.x509path`` (cryptography); this module explains a refusal in the terms of the
contract (EXPIRED, NOT_YET_VALID, NO_CERTIFICATE_CHAIN_FOUND, constraints).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ...outcome import CheckFailure, Passed, SubIndication
from .algorithms import SIGNATURE_OIDS, check_key, describe_key
from .certs import Cert

#: Longest chain looked for when explaining a refusal (as in ``core.x509path``).
MAX_CHAIN_LENGTH = 8


def check_tsa_certificate(cert: Cert) -> Passed[None]:
    """The TSA certificate fits RFC 3161 §2.3 and the key policy.

    Raises:
        CheckFailure: CHAIN_CONSTRAINTS_FAILURE for a profile fault (every fault is
            named), CRYPTO_CONSTRAINTS_FAILURE when only the key is at fault.
    """
    ext = cert.crypto.extensions
    problems: list[str] = []
    # (1) D3, RFC 3161 §2.3: extendedKeyUsage present, critical, timeStamping only.
    try:
        eku = ext.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        problems.append("it has no extendedKeyUsage (timeStamping is required)")
    else:
        usages = [u.dotted_string for u in eku.value]
        if not eku.critical:
            problems.append("its extendedKeyUsage is not critical")
        if usages != [ExtendedKeyUsageOID.TIME_STAMPING.dotted_string]:
            problems.append(f"its extendedKeyUsage is {', '.join(usages)}, not "
                            "id-kp-timeStamping (1.3.6.1.5.5.7.3.8) only")
    # (2) D4: an end entity, not a CA.
    try:
        if ext.get_extension_for_class(x509.BasicConstraints).value.ca:
            problems.append("it is a CA certificate (basicConstraints CA:TRUE)")
    except x509.ExtensionNotFound:
        pass
    # (3) D5: keyUsage, when present, only digitalSignature and/or nonRepudiation.
    try:
        usage = ext.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None:
        extra = [n for n in ("key_encipherment", "data_encipherment", "key_agreement",
                             "key_cert_sign", "crl_sign") if getattr(usage, n)]
        if extra:
            problems.append(f"its keyUsage allows {', '.join(extra)} besides signing")
        if not (usage.digital_signature or usage.content_commitment):
            problems.append("its keyUsage allows neither digitalSignature nor nonRepudiation")
    details: dict[str, Any] = {"certificate": cert.summary(),
                               "key": describe_key(cert.public_key)}
    if problems:
        raise CheckFailure(SubIndication.CHAIN_CONSTRAINTS_FAILURE,
                           f"TSA certificate {cert.subject} does not fit RFC 3161 §2.3: "
                           + "; ".join(problems), {**details, "problems": problems})
    # (4) D8: the TSA's own key (cryptography's path validation does not check it).
    key = check_key(cert.public_key, what=f"TSA certificate {cert.subject}")
    return Passed(f"TSA certificate {cert.subject} is an end entity for timeStamping only "
                  f"(critical EKU) with a {key} key", details)


@dataclass(frozen=True)
class FoundChain:
    """The chain the available certificates form, leaf first; ``anchored`` when it
    ends at a configured root."""

    certs: tuple[Cert, ...]
    anchored: bool
    notes: tuple[str, ...] = field(default=())


def find_chain(leaf: Cert, pool: Sequence[Cert], roots: Sequence[Cert]) -> FoundChain:
    """Link certificates by name and signature, preferring configured roots; the first
    chain reaching a root wins, else the longest. Only explains: it trusts nothing."""
    root_set = set(roots)
    candidates = list(dict.fromkeys([*roots, *pool]))
    best: tuple[Cert, ...] = (leaf,)
    # Each certificate is explored once: bounds the work a bundle of many certificates
    # with one name and key (all "issuing" each other) can cause to n² signature checks.
    visited = {leaf}

    def walk(chain: tuple[Cert, ...]) -> tuple[Cert, ...] | None:
        nonlocal best
        top = chain[-1]
        if top in root_set:
            return chain
        if len(chain) > len(best):
            best = chain
        if len(chain) >= MAX_CHAIN_LENGTH:
            return None
        for issuer in candidates:
            if issuer in visited or not top.issued_by(issuer):
                continue
            visited.add(issuer)
            done = walk((*chain, issuer))
            if done is not None:
                return done
        return None

    anchored = walk((leaf,))
    if anchored is not None:
        return FoundChain(anchored, True)
    notes = []
    top = best[-1]
    if top.self_issued and top.issued_by(top):
        notes.append(f"the chain ends at the self-signed {top.subject} "
                     f"(sha256 {top.fingerprint}), which is not a configured root")
    elif any(top.asn1.issuer == c.asn1.subject for c in candidates if c != top):
        notes.append(f"a certificate named {top.issuer} is present but its key does not "
                     f"verify the signature on {top.subject}")
    return FoundChain(best, False, tuple(notes))


def root_needed(chain: Sequence[Cert]) -> dict[str, Any]:
    """The root a chain (leaf first) that reaches none would need: its subject, and its
    SHA-256 fingerprint when the chain ends at a self-signed certificate."""
    top = chain[-1]
    if top.self_issued and top.issued_by(top):
        return {"subject": top.subject, "sha256": top.fingerprint}
    aki = None
    try:
        aki_ext = top.crypto.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        aki = aki_ext.value.key_identifier.hex() if aki_ext.value.key_identifier else None
    except x509.ExtensionNotFound:
        pass
    return {"subject": top.issuer, "sha256": None, "keyIdentifier": aki}


def validity_fault(chain: Sequence[Cert], start: datetime, end: datetime) -> CheckFailure | None:
    """(D2) RFC 5280 §6.1.3 (a)(2) at genTime, over the whole interval genTime ±
    accuracy: each certificate valid from ``start`` through ``end``."""
    for cert in chain:
        if cert.not_after < end:
            return CheckFailure(
                SubIndication.EXPIRED,
                f"{cert.subject} expired {cert.not_after.isoformat()}, before the end of the "
                f"token's interval {end.isoformat()} (genTime + accuracy)",
                {"certificate": cert.summary(), "intervalEnd": end})
        if cert.not_before > start:
            return CheckFailure(
                SubIndication.NOT_YET_VALID,
                f"{cert.subject} is valid only from {cert.not_before.isoformat()}, after the "
                f"start of the token's interval {start.isoformat()} (genTime - accuracy)",
                {"certificate": cert.summary(), "intervalStart": start})
    return None


def weak_algorithm_fault(chain: Sequence[Cert]) -> CheckFailure | None:
    """(D8) A certificate on the path signed with MD5 or SHA-1, or a CA key refused by
    the key policy, explains a refusal as CRYPTO_CONSTRAINTS_FAILURE."""
    for cert in chain:
        algorithm = SIGNATURE_OIDS.get(cert.crypto.signature_algorithm_oid.dotted_string)
        if algorithm is not None and algorithm.digest in ("md5", "sha1"):
            return CheckFailure(
                SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
                f"{cert.subject} is signed with {algorithm.name}; MD5 and SHA-1 signatures "
                "are refused on the path", {"certificate": cert.summary()})
    for cert in chain[1:]:
        try:
            check_key(cert.public_key, what=f"CA certificate {cert.subject}")
        except CheckFailure as fault:
            return fault
    return None
