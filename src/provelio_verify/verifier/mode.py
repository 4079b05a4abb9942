"""``certificate.mode``: live or test mode, and its agreement with the network."""

from __future__ import annotations

from ..bundle import Bundle, Network
from ..outcome import CheckFailure, Passed, SubIndication
from ..policy import Policy


def check_mode(bundle: Bundle, policy: Policy) -> Passed[None]:
    """(1) Contract section 4: a test-mode certificate is FAILED unless allowed; a
    testMode that contradicts anchor.network is FAILED."""
    cert = bundle.certificate
    network = bundle.anchor.network if bundle.anchor else None
    if cert.test_mode and network is Network.MAINNET:
        raise CheckFailure(
            SubIndication.NETWORK_MISMATCH,
            "testMode is true but anchor.network is mainnet: test certificates are not "
            "anchored on mainnet",
            {"testMode": True, "network": network.value},
        )
    if not cert.test_mode and network is not None and network is not Network.MAINNET:
        raise CheckFailure(
            SubIndication.NETWORK_MISMATCH,
            f"testMode is false but anchor.network is {network.value}: live certificates "
            "are anchored on mainnet",
            {"testMode": False, "network": network.value},
        )
    if cert.test_mode and not policy.allow_test_mode:
        raise CheckFailure(
            SubIndication.TEST_MODE,
            "test-mode certificate: not evidence (pass --allow-test-mode to check it anyway)",
            {"testMode": True, "network": network.value if network else None},
        )
    mode = "test-mode certificate, allowed by policy" if cert.test_mode else "live certificate"
    where = f" anchored on {network.value}" if network else ""
    return Passed(f"{mode}{where}",
                  {"testMode": cert.test_mode, "network": network.value if network else None})
