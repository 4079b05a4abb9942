"""provelio-verify: check a Provelio proof bundle without trusting anyone.

    >>> from provelio_verify import verify, Policy, Indication
    >>> report = verify("document.pdf", "proof.json", policy=Policy(tsa_roots=roots))
    >>> report.indication is Indication.PASSED

A :class:`Report` has no truth value; use ``report.indication`` or
``report.raise_for_indication()`` (or :func:`verify_strict`).
"""

from ._version import __version__
from .bundle import Bundle, Network, Status, parse_bundle
from .errors import (
    BundleFormatError,
    InputError,
    ProvelioError,
    VerificationError,
    VerificationFailed,
    VerificationIndeterminate,
)
from .inputs.subject import Digest, Missing
from .inputs.trust import load_certificates
from .outcome import CheckFailure, CheckIndeterminate
from .policy import Policy
from .report import CHECK_IDS, CheckResult, Indication, Report, SubIndication
from .verifier import Verifier, verify, verify_strict

__all__ = [
    "__version__",
    "CHECK_IDS",
    "Bundle",
    "BundleFormatError",
    "CheckFailure",
    "CheckIndeterminate",
    "CheckResult",
    "Digest",
    "Missing",
    "Indication",
    "InputError",
    "Network",
    "Policy",
    "ProvelioError",
    "Report",
    "Status",
    "SubIndication",
    "VerificationError",
    "VerificationFailed",
    "VerificationIndeterminate",
    "Verifier",
    "load_certificates",
    "parse_bundle",
    "verify",
    "verify_strict",
]
