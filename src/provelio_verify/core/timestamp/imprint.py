"""Checks on what a token says: its imprint against the subject (guide item C2) and
its genTime against the verifier's clock (C5). Reading the token is ``core.token``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..._time import shift
from ...outcome import CheckFailure, CheckIndeterminate, Passed, SubIndication
from .algorithms import BROKEN_DIGESTS, DIGEST_SIZES, pretty
from .token import Token

#: A genTime may run ahead of the verifier's clock by its accuracy plus this much
#: before it counts as "in the future" (contract section 4): clocks drift.
FUTURE_TOLERANCE = timedelta(minutes=5)
#: Imprint algorithms whose digest of the subject this verifier can compute.
IMPRINT_DIGESTS = ("sha256", "sha384", "sha512")


def _format(message: str, details: dict[str, object] | None = None) -> CheckFailure:
    return CheckFailure(SubIndication.FORMAT_FAILURE, message, details)


def check_gen_time(token: Token, now: datetime) -> None:
    """(9) C5, contract section 4: genTime no later than the verifier's clock plus the
    accuracy plus :data:`FUTURE_TOLERANCE`.

    Raises:
        CheckFailure: FORMAT_FAILURE for a genTime in the future.
    """
    # The clock may be any instant a caller or a capsule names (up to 9999-12-31):
    # the sum is held to the calendar's end rather than overflowing (see _time.shift).
    limit = shift(now, token.margin + FUTURE_TOLERANCE)
    if token.gen_time > limit:
        raise _format(
            f"token genTime {token.gen_time.isoformat()} is later than this verifier's clock "
            f"{now.isoformat()} by more than the accuracy plus {FUTURE_TOLERANCE}: a token "
            "cannot vouch for the future",
            {"genTime": token.gen_time, "now": now},
        )


def check_imprint(token: Token, claimed: bytes, subject: dict[str, bytes],
                  digest_given: bool) -> Passed[None]:
    """(1) C2, RFC 3161 §2.4.2: an accepted hash algorithm, parameters absent or NULL,
    the right length, and the value of the subject's digest: ``sha256Hash`` for a
    SHA-256 imprint, the file's SHA-384/512 (computed here) for those.

    Raises:
        CheckFailure: CRYPTO_CONSTRAINTS_FAILURE for a refused algorithm,
            FORMAT_FAILURE for bad parameters or length, HASH_FAILURE for another value.
        CheckIndeterminate: SIGNED_DATA_NOT_FOUND when the token is over SHA-384/512
            and only a SHA-256 digest was given.
    """
    name = token.imprint_algorithm
    if name in BROKEN_DIGESTS or name == "sha1":
        raise CheckFailure(
            SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
            f"token imprint uses {pretty(name)}; only SHA-256, SHA-384 and SHA-512 imprints "
            "are accepted (a Provelio token is over the SHA-256 sha256Hash)",
            {"imprintAlgorithm": name})
    if name not in IMPRINT_DIGESTS:
        raise CheckFailure(
            SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
            f"token imprint algorithm {name} is not one of SHA-256, SHA-384, SHA-512",
            {"imprintAlgorithm": name})
    if token.imprint_algorithm_id.parameters not in (b"", b"\x05\x00"):
        raise _format(f"token imprint {name} has parameters; they must be absent or NULL")
    if len(token.imprint) != DIGEST_SIZES[name]:
        raise _format(f"token imprint is {len(token.imprint)} bytes, but {name} digests are "
                      f"{DIGEST_SIZES[name]}", {"imprint": token.imprint.hex()})
    if name == "sha256":
        expected, what = claimed, "sha256Hash"
    elif name in subject:
        expected, what = subject[name], f"the file's {pretty(name)}"
    else:
        assert digest_given
        raise CheckIndeterminate(
            SubIndication.SIGNED_DATA_NOT_FOUND,
            f"token imprint is over {pretty(name)} of the file, which cannot be derived from "
            f"the SHA-256 given with --digest: verify with the file instead, or check by hand "
            f"that `{name}sum FILE` prints {token.imprint.hex()}",
            {"imprintAlgorithm": name, "imprint": token.imprint.hex()})
    if token.imprint != expected:
        raise CheckFailure(
            SubIndication.HASH_FAILURE,
            f"token imprint {token.imprint.hex()} does not match {what} {expected.hex()}",
            {"imprintAlgorithm": name, "imprint": token.imprint.hex(),
             "expected": expected.hex()})
    return Passed(f"token imprint ({pretty(name)}) matches {what} {expected.hex()}",
                  {"imprintAlgorithm": name, "imprint": token.imprint.hex()})
