"""Certificates as the timestamp checks see them: the bytes as received, parsed once by
cryptography (keys, signatures, extensions) and once by asn1crypto (names compared as
RFC 5280 §7.1 says, with case and space folded), and named for the report."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from ..._time import rfc3339
from .algorithms import RSA_PSS, SIGNATURE_OIDS, describe_key, verify_signature
from .der import CONTEXT, OCTET_STRING, SEQUENCE, UNIVERSAL, Node, nesting, read_tlv

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Cert:
    """One certificate. Two Certs are the same certificate when their bytes are."""

    der: bytes
    crypto: x509.Certificate = field(repr=False)
    asn1: asn1_x509.Certificate = field(repr=False)
    sha256: bytes
    issuer_der: bytes = field(repr=False)  # the issuer Name as encoded in the certificate
    #: How deep its encoding nests below its outermost element (``der.nesting``): a
    #: token that embeds these exact bytes need not walk them again (``parse_token``).
    nesting: int = field(repr=False)
    #: Results of pure functions of this certificate, kept as long as it is (see
    #: :meth:`remember`); never part of its identity.
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, der: bytes) -> Cert:
        """Parse DER with both libraries.

        Raises:
            ValueError: the bytes are not a certificate.
        """
        # Our bounded walk first: asn1crypto recurses on nesting (a name nested 1,200
        # deep was a RecursionError), so nothing deeper than der.MAX_DEPTH reaches it.
        try:
            outer = read_tlv(der)
            _check_structure(outer)
        except RecursionError:  # pragma: no cover - the walk bounds depth itself
            raise ValueError("certificate nested too deeply") from None
        crypto = x509.load_der_x509_certificate(der)
        try:  # cryptography parses the key lazily: a broken one must not surface later
            crypto.public_key()
        except UnsupportedAlgorithm as exc:
            raise ValueError(f"unsupported public key ({exc})") from None
        asn1 = asn1_x509.Certificate.load(der, strict=True)
        issuer_der = bytes(asn1["tbs_certificate"]["issuer"].dump())  # before any parsing
        _ = asn1["tbs_certificate"]["subject"].native, asn1["tbs_certificate"]["issuer"].native
        _ = crypto.extensions  # likewise for extensions
        return cls(der, crypto, asn1, hashlib.sha256(der).digest(), issuer_der,
                   nesting(outer))

    def remember(self, what: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per certificate (a pure function of it: a TSA profile, its
        revocation URLs); an exception it raises is raised again each time."""
        if what not in self._memo:
            try:
                self._memo[what] = (True, compute())
            except Exception as exc:  # noqa: BLE001 - replayed below, not swallowed
                self._memo[what] = (False, exc)
        ok, value = self._memo[what]
        if not ok:
            raise value.with_traceback(None)  # a fresh traceback each time, not a growing one
        return value  # type: ignore[no-any-return]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cert) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.sha256)

    @functools.cached_property
    def public_key(self) -> Any:
        """The subject's public key (parsed once)."""
        return self.crypto.public_key()

    @functools.cached_property
    def subject(self) -> str:
        return self.crypto.subject.rfc4514_string()

    @functools.cached_property
    def issuer(self) -> str:
        return self.crypto.issuer.rfc4514_string()

    @property
    def fingerprint(self) -> str:
        return self.sha256.hex()

    @property
    def not_before(self) -> datetime:
        return self.crypto.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.crypto.not_valid_after_utc

    @functools.cached_property
    def validity_text(self) -> tuple[str, str]:
        """notBefore and notAfter as the report writes them (RFC 3339), formatted once
        per certificate rather than once per report that names it."""
        return rfc3339(self.not_before), rfc3339(self.not_after)

    @property
    def self_issued(self) -> bool:
        return bool(self.asn1.subject == self.asn1.issuer)

    def issued_by(self, issuer: Cert) -> bool:
        """Whether ``issuer``'s name and key made this certificate's signature, whatever
        its algorithm (SHA-1 included: the path policy judges algorithms, this only
        links certificates to explain a refusal)."""
        if self.asn1.issuer != issuer.asn1.subject:
            return False
        algorithm = SIGNATURE_OIDS.get(self.crypto.signature_algorithm_oid.dotted_string)
        if algorithm is None or algorithm.scheme == RSA_PSS or algorithm.digest is None:
            try:  # PSS parameters and pure schemes: cryptography knows them
                self.crypto.verify_directly_issued_by(issuer.crypto)
            except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
                return False
            return True
        return verify_signature(issuer.public_key, self.crypto.signature,
                                self.crypto.tbs_certificate_bytes, algorithm.scheme,
                                algorithm.digest)

    @functools.cached_property
    def key_name(self) -> str:
        """The key's short name: ``RSA-2048``, ``ECDSA P-384``."""
        return describe_key(self.public_key)

    def summary(self) -> dict[str, Any]:
        """The certificate for a report: subject, issuer, fingerprint, serial, validity.
        (Made once and shared between reports: nothing changes a report's details.)"""
        return self._summary

    @functools.cached_property
    def _summary(self) -> dict[str, Any]:
        not_before, not_after = self.validity_text
        return {"subject": self.subject, "issuer": self.issuer, "sha256": self.fingerprint,
                "serialNumber": hex(self.crypto.serial_number),
                "notBefore": not_before, "notAfter": not_after}


def _check_structure(cert: Node) -> None:
    """Walk a certificate, and each extension's value (DER inside an OCTET STRING,
    RFC 5280 §4.1, which the walk does not enter), with the bounded DER walker: both
    reach asn1crypto (a subjectAltName's directory name is parsed to match the tsa
    name).

    Raises:
        ValueError: a malformed or too deeply nested encoding.
    """
    cert.check()
    parts = cert.children if cert.is_(UNIVERSAL, SEQUENCE) else []
    tbs = parts[0].children if parts and parts[0].is_(UNIVERSAL, SEQUENCE) else []
    for field_node in tbs:
        if field_node.is_(CONTEXT, 3) and field_node.constructed and field_node.children:
            for extension in field_node.children[0].children:
                value = extension.children[-1] \
                    if extension.constructed and extension.children else None
                if value is not None and value.is_(UNIVERSAL, OCTET_STRING) \
                        and not value.constructed:
                    read_tlv(value.contents).check()


def load_all(ders: Iterable[bytes], load: Callable[[bytes], Cert] = Cert.load,
             ) -> tuple[list[Cert], list[str]]:
    """Parse every DER certificate with ``load``, skipping those that do not parse.

    Returns the certificates (first occurrence of each) and a warning for each skipped.
    """
    seen: dict[bytes, Cert] = {}
    warnings: list[str] = []
    for der in ders:
        if der in seen:
            continue
        try:
            seen[der] = load(der)
        except ValueError as exc:
            warnings.append(f"a certificate given to build the TSA path does not parse and "
                            f"was ignored ({str(exc).splitlines()[0]})")
    return list(seen.values()), warnings


def name_text(name: asn1_x509.Name) -> str:
    """A name for people to read (asn1crypto's field names)."""
    return str(name.human_friendly)


def general_name_text(general_name: Any) -> str:
    """A GeneralName for people to read: a directory name as its fields, others as
    ``kind:value``."""
    if general_name.name == "directory_name":
        return name_text(general_name.chosen)
    return f"{general_name.name}:{general_name.native}"


def general_name_matches(general_name: Any, cert: Cert) -> bool:
    """(C7) Whether a GeneralName names this certificate: its subject (a directory name,
    compared as RFC 5280 §7.1 says) or one of its subjectAltName entries."""
    if general_name.name == "directory_name" and general_name.chosen == cert.asn1.subject:
        return True
    alt_names = cert.asn1.subject_alt_name_value
    for alt in alt_names or []:
        if alt.name != general_name.name:
            continue
        if alt.name == "directory_name":
            if alt.chosen == general_name.chosen:
                return True
        elif alt.chosen.dump() == general_name.chosen.dump():
            return True
    return False
