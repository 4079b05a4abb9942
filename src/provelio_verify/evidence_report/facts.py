"""What the report adds for a reader who must reproduce it: the software that produced
it, the trust anchors it was given, and the steps to check it by hand."""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography import x509

from .._time import rfc3339
from .._version import __version__
from ..bundle import Bundle
from ..policy import Policy
from ..report import TOOL_NAME
from .howto import how_to_check

#: Distributions whose versions decide what this tool computes, as named on PyPI.
DEPENDENCIES = ("asn1crypto", "cryptography", "python-bitcoinlib", "click", "requests")


def evidence_keys(
    report: Mapping[str, Any], bundle: Bundle | None, policy: Policy
) -> dict[str, Any]:
    """The top-level keys the evidence report needs (contract section 4 allows added
    keys): ``environment``, ``trustAnchors`` and ``howToCheck``.

    ``report`` is the report's ``to_dict()`` so far; ``bundle`` the parsed bundle
    (``None`` when malformed).
    """
    return {
        "environment": environment(),
        "trustAnchors": trust_anchors(policy.tsa_roots),
        "howToCheck": how_to_check(report, bundle),
    }


def environment() -> dict[str, Any]:
    """The tool, Python, the dependencies and the OpenSSL libraries in use, by version."""
    return copy.deepcopy(_environment())


@functools.cache
def _environment() -> dict[str, Any]:
    # Imported and read once, when a report is first rendered: none of it changes while
    # the process runs, and a run that renders no report never pays for it.
    import platform
    import ssl

    return {
        "tool": {"name": TOOL_NAME, "version": __version__},
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": platform.platform(),
        "packages": dict(_package_versions()),
        "openssl": {
            "cryptography": _cryptography_openssl(),
            "python": ssl.OPENSSL_VERSION,
        },
    }


@functools.cache
def _package_versions() -> tuple[tuple[str, str | None], ...]:
    # Cached: installed versions do not change while a batch runs, and reading the
    # metadata costs milliseconds per call.
    return tuple((name, _version(name)) for name in DEPENDENCIES)


def _version(name: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cryptography_openssl() -> str:
    """The OpenSSL that cryptography is linked with: it checks the signatures."""
    from cryptography.hazmat.backends.openssl.backend import backend

    return str(backend.openssl_version_text())


def trust_anchors(roots: Iterable[bytes]) -> list[dict[str, Any]]:
    """Subject, SHA-256 fingerprint, serial and validity of each configured root (DER)."""
    return [dict(_trust_anchor(der)) for der in roots]


@functools.lru_cache(maxsize=256)
def _trust_anchor(der: bytes) -> dict[str, Any]:
    # Once per root: a batch reports the same roots for every item.
    entry: dict[str, Any] = {"sha256": hashlib.sha256(der).hexdigest()}
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        entry["error"] = f"does not parse as an X.509 certificate: {exc}"
    else:
        entry.update({
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "serialNumber": format(cert.serial_number, "x"),
            "notBefore": rfc3339(cert.not_valid_before_utc),
            "notAfter": rfc3339(cert.not_valid_after_utc),
        })
    return entry
