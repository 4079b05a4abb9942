"""What the verifier trusts and demands. Frozen; no hidden defaults for trust."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ._time import require_aware

DEFAULT_MIN_CONFIRMATIONS = 6


@dataclass(frozen=True)
class Policy:
    """Verification policy.

    Attributes:
        tsa_roots: DER certificates trusted as roots of TSA paths. Only these (and the
            operating system's store with ``use_system_roots``) are trust anchors;
            certificates in a token or bundle never are.
        use_system_roots: also trust the operating system's root store.
        min_confirmations: depth the anchor block needs in the best chain.
        require_anchor: a bundle without a confirmed anchor cannot pass.
        require_revocation: the TSA certificate's revocation status must be known.
        allow_test_mode: accept test-mode certificates (not evidence).
        allow_legacy_sha1: admit SHA-1 imprints and signer digests (reported as warnings).
        crls / ocsp_responses: DER revocation data supplied by the user.
        fetch_revocation: allow fetching CRLs and OCSP over the network.
        now: the verifier's clock; ``None`` reads the system clock once per verification.
    """

    tsa_roots: tuple[bytes, ...] = ()
    use_system_roots: bool = False
    min_confirmations: int = DEFAULT_MIN_CONFIRMATIONS
    require_anchor: bool = False
    require_revocation: bool = False
    allow_test_mode: bool = False
    allow_legacy_sha1: bool = False
    crls: tuple[bytes, ...] = ()
    ocsp_responses: tuple[bytes, ...] = ()
    fetch_revocation: bool = False
    now: datetime | None = field(default=None)

    def __post_init__(self) -> None:
        if isinstance(self.min_confirmations, bool) or not isinstance(self.min_confirmations, int):
            raise TypeError("min_confirmations must be an integer")
        if self.min_confirmations < 1:
            raise ValueError(f"min_confirmations must be at least 1, got {self.min_confirmations}")
        for name in ("tsa_roots", "crls", "ocsp_responses"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, bytes) for v in value):
                raise TypeError(f"{name} must be a tuple of DER bytes")
        if self.now is not None:
            object.__setattr__(self, "now", require_aware(self.now, "Policy.now"))
