"""Algorithm policy (guide item D8) and the signature primitives the timestamp checks share.

Which hashes, signature schemes, key types and sizes this verifier accepts, in one
place, so that the CMS signature, the TSA certificate and revocation data are judged
by the same rules:

- MD5 is refused everywhere.
- SHA-1 is refused as a signer digest unless ``--allow-legacy-sha1`` (then a warning);
  as an *identifier* (ESSCertID v1, OCSP CertID) it is fine.
- RSA keys of at least 2048 bits; EC keys on P-256, P-384 or P-521; Ed25519.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from ...outcome import CheckFailure, SubIndication

#: Smallest RSA modulus accepted anywhere, the TSA's own key included (guide D8;
#: NIST SP 800-131A disallows smaller keys for signatures since 2014).
MIN_RSA_BITS = 2048

#: Named curves accepted for EC keys (guide D8), by cryptography's curve name.
CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}

#: Digest algorithms by OID, with their output sizes in bytes.
DIGEST_OIDS = {
    "1.2.840.113549.2.5": "md5",
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
DIGEST_SIZES = {"md5": 16, "sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64}
#: Digests accepted without reservation for signatures and imprints.
STRONG_DIGESTS = frozenset({"sha224", "sha256", "sha384", "sha512"})
#: Digests refused whatever the policy says.
BROKEN_DIGESTS = frozenset({"md5"})

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5, "sha1": hashes.SHA1, "sha224": hashes.SHA224,
    "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512,
}

RSA_PKCS1 = "RSA PKCS#1 v1.5"
RSA_PSS = "RSASSA-PSS"
ECDSA = "ECDSA"
ED25519 = "Ed25519"


@dataclass(frozen=True)
class SignatureAlgorithm:
    """A signature algorithm identifier as this verifier understands it.

    ``digest`` is the hash the identifier itself binds (``sha256WithRSAEncryption``),
    ``None`` when the hash comes from elsewhere (``rsaEncryption`` in CMS takes the
    SignerInfo's digestAlgorithm; RSASSA-PSS takes its parameters; Ed25519 has none).
    """

    scheme: str
    digest: str | None
    name: str


#: Signature algorithms by OID (RFC 3370, RFC 4056, RFC 5758, RFC 8419).
SIGNATURE_OIDS = {
    "1.2.840.113549.1.1.1": SignatureAlgorithm(RSA_PKCS1, None, "rsaEncryption"),
    "1.2.840.113549.1.1.4": SignatureAlgorithm(RSA_PKCS1, "md5", "md5WithRSAEncryption"),
    "1.2.840.113549.1.1.5": SignatureAlgorithm(RSA_PKCS1, "sha1", "sha1WithRSAEncryption"),
    "1.2.840.113549.1.1.14": SignatureAlgorithm(RSA_PKCS1, "sha224", "sha224WithRSAEncryption"),
    "1.2.840.113549.1.1.11": SignatureAlgorithm(RSA_PKCS1, "sha256", "sha256WithRSAEncryption"),
    "1.2.840.113549.1.1.12": SignatureAlgorithm(RSA_PKCS1, "sha384", "sha384WithRSAEncryption"),
    "1.2.840.113549.1.1.13": SignatureAlgorithm(RSA_PKCS1, "sha512", "sha512WithRSAEncryption"),
    "1.2.840.113549.1.1.10": SignatureAlgorithm(RSA_PSS, None, "RSASSA-PSS"),
    "1.2.840.10045.4.1": SignatureAlgorithm(ECDSA, "sha1", "ecdsa-with-SHA1"),
    "1.2.840.10045.4.3.1": SignatureAlgorithm(ECDSA, "sha224", "ecdsa-with-SHA224"),
    "1.2.840.10045.4.3.2": SignatureAlgorithm(ECDSA, "sha256", "ecdsa-with-SHA256"),
    "1.2.840.10045.4.3.3": SignatureAlgorithm(ECDSA, "sha384", "ecdsa-with-SHA384"),
    "1.2.840.10045.4.3.4": SignatureAlgorithm(ECDSA, "sha512", "ecdsa-with-SHA512"),
    "1.3.101.112": SignatureAlgorithm(ED25519, None, "Ed25519"),
}


@dataclass(frozen=True)
class PssParameters:
    """RSASSA-PSS parameters (RFC 4055 §3.1) after checking: one hash for the message
    and MGF1, an explicit salt length, trailer field 1."""

    digest: str
    salt_length: int


def pretty(name: str) -> str:
    """A digest name as people write it: ``sha256`` -> ``SHA-256``."""
    return {"md5": "MD5", "sha1": "SHA-1"}.get(name, name.upper().replace("SHA", "SHA-"))


def hash_algorithm(name: str) -> hashes.HashAlgorithm:
    """The cryptography hash object for a digest name.

    Raises:
        KeyError: a digest this verifier does not know.
    """
    return _HASHES[name]()


def digest(name: str, data: bytes) -> bytes:
    """``data`` hashed with the named digest (``hashlib`` names)."""
    return hashlib.new(name, data).digest()


def check_digest_strength(name: str, *, what: str, allow_legacy_sha1: bool) -> tuple[str, ...]:
    """(D8) Refuse MD5 always and SHA-1 unless the legacy switch admits it.

    Returns the warnings to report (one when SHA-1 was admitted).

    Raises:
        CheckFailure: CRYPTO_CONSTRAINTS_FAILURE for a refused digest.
    """
    if name in STRONG_DIGESTS:
        return ()
    if name == "sha1" and allow_legacy_sha1:
        return (f"{what} uses SHA-1, accepted only because of --allow-legacy-sha1: SHA-1 "
                "collisions are practical, so this evidence is weaker than it looks",)
    if name == "sha1":
        raise CheckFailure(
            SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
            f"{what} uses SHA-1, which this verifier refuses by default (collisions are "
            "practical); pass --allow-legacy-sha1 to accept it as legacy evidence",
            {"digest": name},
        )
    raise CheckFailure(
        SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
        f"{what} uses {pretty(name)}, which this verifier refuses (broken)",
        {"digest": name},
    )


def describe_key(key: Any) -> str:
    """A short name for a public key: ``RSA-2048``, ``ECDSA P-384``, ``Ed25519``."""
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {CURVES.get(key.curve.name, key.curve.name)}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return type(key).__name__.removeprefix("_").replace("PublicKey", "")


def check_key(key: Any, *, what: str) -> str:
    """(D8) The key's algorithm and size are acceptable; returns its short name.

    Raises:
        CheckFailure: CRYPTO_CONSTRAINTS_FAILURE for a small RSA key, an EC key on
            another curve, or another key type.
    """
    name = describe_key(key)
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CheckFailure(
                SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
                f"{what} has an RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} "
                "are required",
                {"key": name, "minimumRsaBits": MIN_RSA_BITS},
            )
        return name
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in CURVES:
            raise CheckFailure(
                SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
                f"{what} has an EC key on curve {key.curve.name}; only P-256, P-384 and "
                "P-521 are accepted",
                {"key": name},
            )
        return name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return name
    raise CheckFailure(
        SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
        f"{what} has a {name} key; only RSA, ECDSA and Ed25519 keys are accepted",
        {"key": name},
    )


def scheme_fits_key(scheme: str, key: Any) -> bool:
    """Whether a signature scheme can be computed with this kind of key."""
    if scheme in (RSA_PKCS1, RSA_PSS):
        return isinstance(key, rsa.RSAPublicKey)
    if scheme == ECDSA:
        return isinstance(key, ec.EllipticCurvePublicKey)
    return scheme == ED25519 and isinstance(key, ed25519.Ed25519PublicKey)


def verify_signature(
    key: Any,
    signature: bytes,
    data: bytes,
    scheme: str,
    digest_name: str | None,
    pss: PssParameters | None = None,
) -> bool:
    """Whether ``signature`` over ``data`` verifies under ``key``.

    ``digest_name`` is the message hash (ignored for Ed25519, which hashes itself).
    A key that does not fit the scheme does not verify.
    """
    if not scheme_fits_key(scheme, key):
        return False
    try:
        if scheme == ED25519:
            key.verify(signature, data)
        elif scheme == ECDSA:
            assert digest_name is not None
            key.verify(signature, data, ec.ECDSA(hash_algorithm(digest_name)))
        elif scheme == RSA_PSS:
            assert pss is not None
            hash_obj = hash_algorithm(pss.digest)
            key.verify(signature, data,
                       padding.PSS(mgf=padding.MGF1(hash_obj), salt_length=pss.salt_length),
                       hash_obj)
        else:
            assert digest_name is not None
            key.verify(signature, data, padding.PKCS1v15(), hash_algorithm(digest_name))
    except (InvalidSignature, ValueError):  # ValueError: e.g. a salt too long for the key
        return False
    return True
