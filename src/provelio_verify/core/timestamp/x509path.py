"""RFC 5280 path validation for TSA certificates, on ``cryptography.x509.verification``.

That API is marked unstable by its authors: this module is the only one that imports
it, so a change there is mended here. It validates a path from a TSA certificate to
one of the configured roots at a given instant, with two custom extension policies
(guide "Libraries", items D3 and D6):

- the TSA certificate (end entity): extendedKeyUsage present, critical, and only
  id-kp-timeStamping (cryptography's default wants a non-critical clientAuth EKU);
- CAs: the web PKI defaults, but an EKU extension is allowed when it contains
  timeStamping or anyExtendedKeyUsage (real TSA intermediates carry one), and
  basicConstraints must say CA:TRUE, critical except on a configured root (RFC 5280
  §6.1 does not process a trust anchor's extensions; real roots such as FreeTSA's
  have a non-critical one).

cryptography checks the signatures along the path and refuses SHA-1 and MD5 among
them, CA keys under 2048 bits, validity at the instant, name chaining and
constraints. It does not check the TSA's own key size, nor revocation: those are
``core.pki`` and ``core.revocation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

_SHA256_HASH = SHA256()
TIME_STAMPING = ExtendedKeyUsageOID.TIME_STAMPING
ANY_EKU = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE
#: Longest path accepted (leaf, intermediates, root); real TSA paths have 2 to 4.
MAX_CHAIN_DEPTH = 8


class PathRejected(Exception):
    """No path to a configured root satisfies the policy at the instant asked."""


class PathValidator:
    """Validates TSA paths to one fixed set of roots. Thread-safe (it holds no
    mutable state); not picklable (cryptography objects are not): rebuild it."""

    def __init__(self, roots: Sequence[x509.Certificate]) -> None:
        if not roots:
            raise ValueError("a PathValidator needs at least one root")
        self._root_fingerprints = frozenset(r.fingerprint(_SHA256_HASH) for r in roots)
        self._store = Store(list(roots))
        self._ee_policy = ExtensionPolicy.permit_all().require_present(
            x509.ExtendedKeyUsage, Criticality.CRITICAL, _leaf_eku)
        self._ca_policy = (
            ExtensionPolicy.webpki_defaults_ca()
            .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _ca_eku)
            .require_present(x509.BasicConstraints, Criticality.AGNOSTIC,
                             self._ca_basic_constraints)
        )

    def validate(
        self,
        leaf: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
        at: datetime,
    ) -> list[x509.Certificate]:
        """The validated path, leaf first and root last, at instant ``at``.

        Raises:
            PathRejected: with cryptography's reason, when no path satisfies the policy.
        """
        verifier = (
            PolicyBuilder().store(self._store).time(at).max_chain_depth(MAX_CHAIN_DEPTH)
            .extension_policies(ca_policy=self._ca_policy, ee_policy=self._ee_policy)
            .build_client_verifier()
        )
        try:
            return list(verifier.verify(leaf, list(intermediates)).chain)
        except VerificationError as exc:
            raise PathRejected(_reason(str(exc))) from None

    def _ca_basic_constraints(self, policy: Policy, cert: x509.Certificate,
                              value: x509.BasicConstraints) -> None:
        if not value.ca:
            raise ValueError(f"{cert.subject.rfc4514_string()} is used as a CA but its "
                             "basicConstraints say CA:FALSE")
        critical = cert.extensions.get_extension_for_class(x509.BasicConstraints).critical
        if not critical and cert.fingerprint(_SHA256_HASH) not in self._root_fingerprints:
            raise ValueError(f"{cert.subject.rfc4514_string()}: basicConstraints of a CA "
                             "must be critical (RFC 5280 §4.2.1.9)")


def _leaf_eku(policy: Policy, cert: x509.Certificate, value: x509.ExtendedKeyUsage) -> None:
    """(D3) RFC 3161 §2.3: only id-kp-timeStamping."""
    usages = list(value)
    if usages != [TIME_STAMPING]:
        raise ValueError(f"TSA certificate extendedKeyUsage is "
                         f"{', '.join(u.dotted_string for u in usages)}, not timeStamping only")


def _ca_eku(policy: Policy, cert: x509.Certificate,
            value: x509.ExtendedKeyUsage | None) -> None:
    """(D6) An intermediate's EKU, when present, allows timeStamping."""
    if value is None:
        return
    usages = list(value)
    if TIME_STAMPING not in usages and ANY_EKU not in usages:
        raise ValueError(f"CA {cert.subject.rfc4514_string()} has extendedKeyUsage "
                         f"{', '.join(u.dotted_string for u in usages)}, which excludes "
                         "timeStamping")


def _reason(text: str) -> str:
    """cryptography's message without its object dumps."""
    text = text.removeprefix("validation failed: ")
    cut = text.find(" (encountered processing")
    return text[:cut] if cut >= 0 else text
