"""pytest's fixtures and settings; shared helpers live in ``tests/helpers/``."""

from __future__ import annotations

import os

import pytest

from helpers.common import run_cli


@pytest.fixture
def cli():
    return run_cli


# Property-based tests (hypothesis): bounded so the suite stays fast, and reproducible.
# CI runs a fixed number of examples from a fixed seed (derandomize); set
# PROVELIO_HYPOTHESIS_EXAMPLES=5000 (say) to search harder on a workstation.
try:
    from hypothesis import HealthCheck
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # pragma: no cover - the test extra installs it
    pass
else:
    _examples = int(os.environ.get("PROVELIO_HYPOTHESIS_EXAMPLES", "0") or 0)
    _hypothesis_settings.register_profile(
        "ci", max_examples=60, deadline=2000, derandomize=True, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow])
    _hypothesis_settings.register_profile(
        "deep", max_examples=max(_examples, 1), deadline=None, derandomize=False,
        print_blob=True, suppress_health_check=[HealthCheck.too_slow])
    _hypothesis_settings.load_profile("deep" if _examples else "ci")
