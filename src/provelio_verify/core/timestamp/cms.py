"""The token's CMS signature (guide items B3, B4, B5, B6 and the signer digest of D8).

cryptography has no CMS verification; this module does it on asn1crypto's parse,
signing the signed attributes exactly as received (B4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asn1crypto import algos
from asn1crypto import x509 as asn1_x509

from ...outcome import CheckFailure, CheckIndeterminate, Passed, SubIndication
from .algorithms import (
    DIGEST_OIDS,
    ED25519,
    RSA_PSS,
    SIGNATURE_OIDS,
    PssParameters,
    SignatureAlgorithm,
    check_digest_strength,
    digest,
    pretty,
    verify_signature,
)
from .certs import Cert, name_text
from .der import CONTEXT, OCTET_STRING, SEQUENCE, UNIVERSAL, read_tlv
from .fields import AlgorithmId, algorithm_id, oid_of
from .token import ID_CT_TSTINFO, Token

ID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
ID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
ID_CMS_ALGORITHM_PROTECTION = "1.2.840.113549.1.9.52"
ID_MGF1 = "1.2.840.113549.1.1.8"
_NULL_OR_ABSENT = (b"", b"\x05\x00")


def _fail(sub: SubIndication, message: str, details: dict[str, Any] | None = None) -> CheckFailure:
    return CheckFailure(sub, message, details)


def describe_sid(token: Token) -> str:
    """The SignerInfo's signer identifier, for messages."""
    if isinstance(token.sid_id, bytes):
        return f"subjectKeyIdentifier {token.sid_id.hex()}"
    issuer_der, serial = token.sid_id
    try:
        issuer = name_text(asn1_x509.Name.load(issuer_der, strict=True))
    except ValueError:
        issuer = f"(unparsable name {issuer_der.hex()})"
    return f"issuer {issuer}, serial {hex(serial)}"


def sid_matches(token: Token, cert: Cert) -> bool:
    """(B6) RFC 5652 §5.3: the signer is named by issuer and serial number, or by
    subject key identifier: never "the first certificate"."""
    if isinstance(token.sid_id, bytes):
        return bool(cert.asn1.key_identifier == token.sid_id)
    issuer_der, serial = token.sid_id
    if cert.crypto.serial_number != serial:
        return False
    # Same bytes are the same name; otherwise compare as RFC 5280 §7.1 says (a name
    # that does not parse names nothing).
    if issuer_der == cert.issuer_der:
        return True
    try:
        return bool(cert.asn1.issuer == asn1_x509.Name.load(issuer_der, strict=True))
    except ValueError:
        return False


def find_signer(token: Token, pool: Sequence[Cert]) -> Cert:
    """(B6) The certificate the SignerInfo names, among the token's certificates,
    ``extraCerts`` and the configured roots (``pool``).

    Several different certificates may carry the same identifier (only one is the
    signer's): the one whose key verifies the signature is taken.

    Raises:
        CheckIndeterminate: NO_SIGNING_CERTIFICATE_FOUND when no certificate matches,
            or several match and verify.
    """
    candidates = [c for c in pool if sid_matches(token, c)]
    if len(candidates) > 1:
        verifying = [c for c in candidates if _signature_verifies(token, c)]
        candidates = verifying or candidates[:1]
    if len(candidates) == 1:
        return candidates[0]
    how = ("several certificates carry that identifier and verify the signature; keep "
           "only the TSA's in extraCerts" if candidates else
           "supply the TSA certificate in the bundle's extraCerts (or as a root) and verify "
           "again")
    raise CheckIndeterminate(
        SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
        f"signer certificate ({describe_sid(token)}) is not in the token, extraCerts or the "
        f"configured roots: {how}",
        {"signerIdentifier": describe_sid(token), "certificatesSeen": len(pool)})


def _algorithms(token: Token) -> tuple[str, SignatureAlgorithm, PssParameters | None]:
    """(1) B5, RFC 5652 §5.3 / RFC 3370 / RFC 4056 / RFC 8419: the digest and signature
    algorithms are known and agree with each other."""
    digest_oid = token.digest_algorithm.oid
    digest_name = DIGEST_OIDS.get(digest_oid)
    if digest_name is None:
        raise _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
                    f"SignerInfo digestAlgorithm {digest_oid} is not supported")
    if token.digest_algorithm.parameters not in _NULL_OR_ABSENT:
        raise _fail(SubIndication.FORMAT_FAILURE,
                    f"SignerInfo digestAlgorithm {digest_name} has parameters")
    listed = list(token.digest_algorithms)
    if digest_oid not in listed:
        raise _fail(SubIndication.FORMAT_FAILURE,
                    f"SignedData digestAlgorithms ({', '.join(listed) or 'empty'}) does not list "
                    f"the SignerInfo's digestAlgorithm {digest_name} (RFC 5652 §5.1)",
                    {"digestAlgorithms": listed, "digestAlgorithm": digest_name})
    sig_oid = token.signature_algorithm.oid
    sig_params = token.signature_algorithm.parameters
    algorithm = SIGNATURE_OIDS.get(sig_oid)
    if algorithm is None:
        raise _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
                    f"SignerInfo signatureAlgorithm {sig_oid} is not supported (RSA PKCS#1 "
                    "v1.5, RSASSA-PSS, ECDSA and Ed25519 are)")
    pss = None
    if algorithm.scheme == RSA_PSS:
        pss = _pss_parameters(sig_params, digest_name)
    elif algorithm.scheme == ED25519:
        if sig_params != b"":
            raise _fail(SubIndication.FORMAT_FAILURE, "Ed25519 signatureAlgorithm has parameters")
        if digest_name != "sha512":
            raise _fail(SubIndication.FORMAT_FAILURE,
                        f"Ed25519 signer uses digestAlgorithm {digest_name}; RFC 8419 §3.1 "
                        "requires SHA-512")
    elif sig_params not in _NULL_OR_ABSENT:
        raise _fail(SubIndication.FORMAT_FAILURE,
                    f"signatureAlgorithm {algorithm.name} has unexpected parameters")
    if algorithm.digest is not None and algorithm.digest != digest_name:
        raise _fail(SubIndication.FORMAT_FAILURE,
                    f"signatureAlgorithm {algorithm.name} does not pair with digestAlgorithm "
                    f"{digest_name}", {"signatureAlgorithm": algorithm.name,
                                       "digestAlgorithm": digest_name})
    return digest_name, algorithm, pss


def _pss_parameters(params: bytes, digest_name: str) -> PssParameters:
    """RFC 4055 §3.1 / RFC 4056 §3: explicit parameters; one hash for the message, the
    SignerInfo digest and MGF1; trailer field 1."""
    if params in _NULL_OR_ABSENT:
        raise _fail(SubIndication.FORMAT_FAILURE,
                    "RSASSA-PSS signatureAlgorithm has no parameters (its SHA-1 defaults are "
                    "not accepted)")
    try:
        parsed = algos.RSASSAPSSParams.load(params, strict=True)
        hash_name = DIGEST_OIDS.get(parsed["hash_algorithm"]["algorithm"].dotted, "?")
        mgf = parsed["mask_gen_algorithm"]
        mgf_hash = DIGEST_OIDS.get(mgf["parameters"]["algorithm"].dotted, "?") \
            if mgf["algorithm"].dotted == ID_MGF1 else "not MGF1"
        salt = int(parsed["salt_length"].native)
        trailer = int(parsed["trailer_field"])
    except (ValueError, TypeError) as exc:
        raise _fail(SubIndication.FORMAT_FAILURE,
                    f"RSASSA-PSS parameters do not parse ({str(exc).splitlines()[0]})") from None
    problems = []
    if hash_name != digest_name:
        problems.append(f"hash {hash_name} differs from digestAlgorithm {digest_name}")
    if mgf_hash != digest_name:
        problems.append(f"MGF is {mgf_hash}, not MGF1 with {digest_name}")
    if trailer != 1:
        problems.append("trailerField is not 1")
    if salt < 0:
        problems.append(f"saltLength {salt} is negative")
    if problems:
        raise _fail(SubIndication.FORMAT_FAILURE,
                    f"RSASSA-PSS parameters do not fit: {'; '.join(problems)}",
                    {"pssHash": hash_name, "mgf": mgf_hash, "saltLength": salt})
    return PssParameters(digest_name, salt)


def single_attribute(token: Token, oid: str, name: str, *, required: bool) -> bytes | None:
    """(2) RFC 5652 §5.3 / §11: an attribute occurs at most once, with one value.
    Returns that value's DER (``None`` when absent and not required)."""
    found = token.attributes.get(oid, [])
    if not found:
        if required:
            raise _fail(SubIndication.FORMAT_FAILURE,
                        f"signed attributes lack the {name} attribute (RFC 5652 §5.3)")
        return None
    if len(found) > 1 or len(found[0]) != 1:
        raise _fail(SubIndication.FORMAT_FAILURE,
                    f"signed attribute {name} must occur once with one value; found "
                    f"{len(found)} attribute(s), {len(found[0])} value(s)")
    return found[0][0]


def attribute_format(name: str, exc: Exception) -> CheckFailure:
    """A signed attribute whose value does not parse (asn1crypto parses lazily, so the
    reader of each attribute turns its parse errors into this)."""
    return _fail(SubIndication.FORMAT_FAILURE,
                 f"signed attribute {name} does not parse ({str(exc).splitlines()[0]})")


def _check_attributes(token: Token, digest_name: str) -> bytes:
    """(2) B3: content-type equals eContentType; message-digest equals the hash of the
    eContent octets under the SignerInfo's digestAlgorithm. Returns the digest."""
    if not token.signed_attrs:
        raise _fail(SubIndication.FORMAT_FAILURE,
                    "SignerInfo has no signed attributes; RFC 3161 §2.4.2 requires them")
    try:
        content_type = oid_of(read_tlv(single_attribute(
            token, ID_CONTENT_TYPE, "content-type", required=True) or b""))
    except ValueError as exc:
        raise attribute_format("content-type", exc) from None
    if content_type != ID_CT_TSTINFO:
        raise _fail(SubIndication.FORMAT_FAILURE,
                    f"content-type attribute {content_type} does not match eContentType "
                    f"{ID_CT_TSTINFO}")
    try:
        node = read_tlv(single_attribute(token, ID_MESSAGE_DIGEST, "message-digest",
                                         required=True) or b"")
        if not node.is_(UNIVERSAL, OCTET_STRING) or node.constructed:
            raise ValueError("not a primitive OCTET STRING")
        claimed = node.contents
    except ValueError as exc:
        raise attribute_format("message-digest", exc) from None
    computed = digest(digest_name, token.e_content)
    if claimed != computed:
        raise _fail(SubIndication.HASH_FAILURE,
                    f"message-digest attribute {claimed.hex()} does not match the {digest_name} "
                    f"of the TSTInfo {computed.hex()}: the TSTInfo is not what was signed",
                    {"messageDigest": claimed.hex(), "computed": computed.hex()})
    return computed


def _check_algorithm_protection(token: Token) -> bool:
    """(3) B5, RFC 6211 §2: a CMSAlgorithmProtection attribute, when present, names the
    SignerInfo's own algorithms. Returns whether one was present."""
    value = single_attribute(token, ID_CMS_ALGORITHM_PROTECTION, "CMSAlgorithmProtection",
                             required=False)
    if value is None:
        return False
    # CMSAlgorithmProtection ::= SEQUENCE { digestAlgorithm, signatureAlgorithm [1]
    # IMPLICIT OPTIONAL, macAlgorithm [2] IMPLICIT OPTIONAL }
    try:
        node = read_tlv(value)
        node.check()
        parts = node.children if node.is_(UNIVERSAL, SEQUENCE) else []
        digest_id = algorithm_id(parts[0])
        tags = [(p.cls, p.tag) for p in parts[1:]]
        signature_id = algorithm_id(parts[1], implicit=1) if tags[:1] == [(CONTEXT, 1)] \
            else None
    except (ValueError, IndexError) as exc:
        raise attribute_format("CMSAlgorithmProtection", exc) from None
    if signature_id is None or (CONTEXT, 2) in tags or len(parts) != 2:
        raise _fail(SubIndication.FORMAT_FAILURE, "CMSAlgorithmProtection must name a "
                    "signatureAlgorithm and no macAlgorithm for a signed token")
    for what, protected, actual in (
        ("digestAlgorithm", digest_id, token.digest_algorithm),
        ("signatureAlgorithm", signature_id, token.signature_algorithm),
    ):
        if _algorithm_key(protected) != _algorithm_key(actual):
            raise _fail(SubIndication.SIG_CONSTRAINTS_FAILURE,
                        f"CMSAlgorithmProtection {what} {protected.oid} does not match the "
                        f"SignerInfo's {actual.oid} (RFC 6211)",
                        {"protected": protected.oid, "signerInfo": actual.oid})
    return True


def _algorithm_key(identifier: AlgorithmId) -> tuple[str, bytes]:
    params = identifier.parameters
    return identifier.oid, b"" if params in _NULL_OR_ABSENT else params


def signed_bytes(token: Token) -> bytes:
    """(4) B4, RFC 5652 §5.4: the signed attributes exactly as received, with their
    [0] IMPLICIT tag replaced by SET OF (0x31). Never re-encoded: captured when the
    token was read, since asn1crypto re-sorts a SET OF in place once it is parsed."""
    return token.signed_attrs


def _signature_verifies(token: Token, cert: Cert) -> bool:
    try:
        digest_name, algorithm, pss = _algorithms(token)
    except CheckFailure:
        return False
    return verify_signature(cert.public_key, token.signature,
                            signed_bytes(token), algorithm.scheme,
                            algorithm.digest or digest_name, pss)


def _der_sorted(token: Token) -> bool:
    """Whether the attributes as received are in DER order (X.690 §11.6)."""
    encodings = list(token.attribute_encodings)
    width = max((len(e) for e in encodings), default=0)
    padded = [e.ljust(width, b"\x00") for e in encodings]
    return padded == sorted(padded)


def check_signature(token: Token, signer: Cert, *, allow_legacy_sha1: bool) -> Passed[None]:
    """The CMS signature of the token holds (RFC 5652 §5.3–5.6, RFC 3161 §2.4.2).

    Raises:
        CheckFailure: FORMAT_FAILURE (attributes or algorithm identifiers wrong),
            HASH_FAILURE (the TSTInfo is not what was signed), SIG_CONSTRAINTS_FAILURE
            (CMSAlgorithmProtection disagrees), SIG_CRYPTO_FAILURE (the signature does
            not verify), CRYPTO_CONSTRAINTS_FAILURE (a refused algorithm).
    """
    digest_name, algorithm, pss = _algorithms(token)
    message_digest = _check_attributes(token, digest_name)
    protected = _check_algorithm_protection(token)
    key = signer.public_key
    scheme = algorithm.scheme
    key_name = signer.key_name
    details: dict[str, Any] = {
        "signer": signer.summary(), "digestAlgorithm": digest_name,
        "signatureAlgorithm": algorithm.name, "key": key_name,
        "messageDigest": message_digest.hex(), "algorithmProtection": protected,
    }
    if pss is not None:
        details["pss"] = {"hash": pss.digest, "saltLength": pss.salt_length}
    if not verify_signature(key, token.signature, signed_bytes(token),
                            scheme, algorithm.digest or digest_name, pss):
        raise _fail(SubIndication.SIG_CRYPTO_FAILURE,
                    f"{algorithm.name} signature over the signed attributes does not verify "
                    f"with the {key_name} key of {signer.subject}", details)
    # (5) D8: the signer's digest is not MD5, nor SHA-1 unless the legacy switch says so.
    try:
        warnings = check_digest_strength(
            algorithm.digest or digest_name, what="the token's signer digest",
            allow_legacy_sha1=allow_legacy_sha1)
    except CheckFailure as exc:
        raise _fail(exc.sub_indication, f"the signature verifies, but {exc.message}",
                    {**details, **exc.details}) from None
    if not _der_sorted(token):
        warnings += ("the token's signed attributes are not in DER order; the signature was "
                     "checked over them as received",)
    return Passed(f"{algorithm.name} signature with {pretty(digest_name)} verifies with the "
                  f"{key_name} key of {signer.subject}; content-type and message-digest hold",
                  details, warnings=warnings)
