"""Helpers for the timestamp tests: the fixture generator's test PKI and TSA (imported
from tests/fixtures/gen), and proof bundles built around a token in memory."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import UTC, datetime
from typing import Any

from gen import cms_edit, tsa_tokens
from gen.tsa_world import tsa_world
from gen.world import GEN_TIME, world
from helpers.common import SCENARIOS
from provelio_verify import Policy, Report, Verifier

__all__ = ["GEN_TIME", "NOW", "cms_edit", "tsa_tokens", "tsa_world", "world", "bundle",
           "verify_token", "scenario_token"]

#: A verifier clock for tests: well after the fixtures' genTime.
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def bundle(token: bytes, *, digest: bytes | None = None, extra: tuple[bytes, ...] = ()) -> bytes:
    """A minimal `created` bundle around ``token`` for the shared test document."""
    document: dict[str, Any] = {
        "type": "provelio-proof", "version": 1,
        "certificate": {"status": "created", "testMode": False,
                        "sha256Hash": (digest or world().digest).hex()},
        "timestamp": {"type": "rfc3161", "token": base64.b64encode(token).decode()},
    }
    if extra:
        document["timestamp"]["extraCerts"] = [base64.b64encode(c).decode() for c in extra]
    return json.dumps(document).encode()


def verify_token(token: bytes, *, roots: tuple[bytes, ...] | None = None,
                 extra: tuple[bytes, ...] = (), verifier: Verifier | None = None,
                 **policy: Any) -> Report:
    """Verify ``token`` over the shared document with the test root configured."""
    if verifier is None:
        root_ders = (tsa_world().root.der,) if roots is None else roots
        verifier = Verifier(Policy(tsa_roots=root_ders, now=policy.pop("now", NOW), **policy))
    return verifier.verify(io.BytesIO(world().document), bundle(token, extra=extra))


def scenario_token(name: str) -> bytes:
    """The token of a committed fixture scenario."""
    proof = json.loads((SCENARIOS / name / "proof.json").read_bytes())
    return base64.b64decode(proof["timestamp"]["token"])


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
