"""The ``timestamp.*`` checks, in the contract's order, on the recorder of ``verifier.py``.

The token is read once (:func:`prepare`, before the subject is hashed, so the file is
read once with every hash the token needs). Each check then judges one thing; when an
earlier one makes a later one impossible, the later one is recorded NOT_EVALUATED,
never PASSED. The signature is checked even when no roots are configured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..bundle import Bundle, Timestamp
from ..core.timestamp import revocation as rev
from ..core.timestamp.algorithms import DIGEST_OIDS, SIGNATURE_OIDS
from ..core.timestamp.certpath import VALID, Interval, PathOutcome
from ..core.timestamp.certs import Cert, load_all
from ..core.timestamp.cms import check_signature, find_signer
from ..core.timestamp.ess import check_signing_certificate
from ..core.timestamp.imprint import IMPRINT_DIGESTS, check_gen_time, check_imprint
from ..core.timestamp.pki import check_tsa_certificate
from ..core.timestamp.token import Token, parse_token
from ..howto import DEFAULT_PROOF_NAME, recheck_commands
from ..inputs.subject import Subject
from ..net import HttpClient
from ..net.revocation import fetch_revocation
from ..outcome import CHECK_IDS, CheckFailure, CheckIndeterminate, Passed
from ..policy import Policy
from ..report import SubIndication
from .pathcache import PathCache

if TYPE_CHECKING:
    from .recorder import Recorder

T = TypeVar("T")

TIMESTAMP_CHECKS = tuple(c for c in CHECK_IDS if c.startswith("timestamp."))


@dataclass(frozen=True)
class TimestampFacts:
    """What the timestamp established, for ``existence`` and the report."""

    gen_time: datetime | None
    #: genTime plus its accuracy: the latest instant the token vouches for.
    not_after: datetime | None
    #: The report's ``timestamp`` summary (genTime, TSA, path, re-check command).
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PreparedToken:
    """The token as read before the subject is hashed."""

    token: Token | None
    failure: CheckFailure | None

    @property
    def subject_algorithms(self) -> tuple[str, ...]:
        """Hashes besides SHA-256 the subject needs for this token's imprint."""
        name = self.token.imprint_algorithm if self.token else None
        return (name,) if name in IMPRINT_DIGESTS and name != "sha256" else ()


@dataclass(frozen=True)
class TimestampEnv:
    """What the Verifier lends the timestamp checks: the trust roots (configured and,
    with ``--system-roots``, the system's), its path cache, and an HTTP client only
    when ``--fetch-revocation`` allows one."""

    roots: tuple[bytes, ...]
    path_cache: PathCache
    http: HttpClient | None = None


def prepare(timestamp: Timestamp, load_cert: Callable[[bytes], Cert] = Cert.load, *,
            known: Callable[[bytes], Cert | None] | None = None) -> PreparedToken:
    """Parse the bundle's token once (its certificates with ``load_cert``; those
    ``known`` has parsed already are not walked again)."""
    try:
        return PreparedToken(parse_token(timestamp.token, load_cert, known=known), None)
    except CheckFailure as exc:
        return PreparedToken(None, exc)


def required(check_id: str, policy: Policy) -> bool:
    """Every timestamp check is required, but revocation only with --require-revocation."""
    return check_id != "timestamp.revocation" or policy.require_revocation


def run(
    rec: Recorder,
    bundle: Bundle,
    subject: Subject,
    policy: Policy,
    now: datetime,
    prepared: PreparedToken,
    env: TimestampEnv,
    proof: str = DEFAULT_PROOF_NAME,
    fetched: list[rev.RevocationSource] | None = None,
) -> TimestampFacts | None:
    """Record the seven ``timestamp.*`` checks; ``proof`` names the bundle in the
    by-hand commands, and revocation data fetched over the network is appended to
    ``fetched`` (this verification's, for an evidence capsule)."""

    def check(check_id: str, fn: Callable[[], Passed[Any]]) -> Any:
        return rec.run(check_id, fn, required=required(check_id, policy))

    def skip_rest(after: str, reason: str) -> None:
        for check_id in TIMESTAMP_CHECKS[TIMESTAMP_CHECKS.index(after) + 1:]:
            rec.skip(check_id, SubIndication.NOT_EVALUATED, f"not evaluated: {reason}",
                     required=required(check_id, policy))

    # (1) RFC 3161 §2.4.2: the token parses, a response is granted, genTime is not ahead.
    check("timestamp.token", lambda: _token(prepared, now))
    token = prepared.token
    if token is None:  # unparsable or refused: nothing further can be judged
        skip_rest("timestamp.token", "timestamp.token FAILED")
        return None
    # (2) C2: the imprint is the subject's digest.
    check("timestamp.imprint", lambda: check_imprint(
        token, bundle.certificate.sha256_hash, subject.digests, subject.digest_given))
    # (3) B3-B6, D8: the signer named by sid, and the CMS signature.
    roots, validator = env.path_cache.roots(env.roots)
    extra, warnings = load_all(bundle.timestamp.extra_certs, env.path_cache.certificate)
    rec.warnings.extend(warnings)
    helpers = list(dict.fromkeys([*token.certificates, *extra]))
    lookup = _Once(lambda: find_signer(token, [*helpers, *roots]))
    check("timestamp.signature", lambda: check_signature(
        token, lookup(), allow_legacy_sha1=policy.allow_legacy_sha1))
    # A token that failed its own check (genTime in the future) bounds nothing.
    not_after = token.latest if rec.passed("timestamp.token") else None
    # The by-hand commands, made once: the summary and timestamp.chain both show them.
    recheck = recheck_commands(token, bundle, subject.path, subject.digest_given, proof)
    facts = TimestampFacts(token.gen_time, not_after, _summary(token, recheck))
    if not lookup.done:
        skip_rest("timestamp.signature", "the signer certificate was not found")
        return facts
    signer = lookup()
    # (4) D1, D2: the path at genTime ± accuracy, evaluated once for the checks that
    # need it (inside them, so that a defect there is a result, not a crash; the
    # interval too: core.tstinfo bounds accuracy and keeps genTime clear of the
    # calendar's ends, so it cannot overflow, but if it did that would be a result).
    path = _Once(lambda: env.path_cache.evaluate(
        signer, helpers, roots, validator,
        Interval(token.gen_time, token.earliest, token.latest)))
    # (5) B7, C7: the signed attributes bind the signer certificate.
    check("timestamp.signing-certificate", lambda: check_signing_certificate(
        token, signer, path().chain if path().status == VALID else None, path().chain))
    # (6) D3-D5, D8: the TSA certificate's own profile and key.
    check("timestamp.tsa-certificate",
          lambda: signer.remember("tsa-certificate", lambda: check_tsa_certificate(signer)))
    # (7) D1, D2, D6, D8: the path to a configured root.
    check("timestamp.chain", lambda: _chain(path(), recheck))
    # (8) D7, RFC 3161 §4: revocation of the TSA certificate.
    check("timestamp.revocation",
          lambda: _revocation(token, signer, path(), policy, env, fetched))
    facts.summary["signer"] = {"subject": signer.subject, "sha256": signer.fingerprint}
    if path.done:
        outcome = path()
        facts.summary["path"] = [{"subject": c.subject, "sha256": c.fingerprint}
                                 for c in outcome.chain]
        facts.summary["root"] = ({"subject": outcome.chain[-1].subject,
                                  "sha256": outcome.chain[-1].fingerprint}
                                 if outcome.status == VALID else None)
    return facts


class _Once(Generic[T]):
    """A value computed on first use; later uses get the same value (or exception)."""

    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute = compute
        self._value: T | None = None
        self._error: Exception | None = None
        self._ran = False

    @property
    def done(self) -> bool:
        return self._ran and self._error is None

    def __call__(self) -> T:
        if not self._ran:
            self._ran = True
            try:
                self._value = self._compute()
            except Exception as exc:  # noqa: BLE001 - re-raised in every check that asks
                self._error = exc
        if self._error is not None:
            raise self._error.with_traceback(None)
        assert self._value is not None
        return self._value


def _token(prepared: PreparedToken, now: datetime) -> Passed[None]:
    if prepared.token is None:
        assert prepared.failure is not None
        raise prepared.failure
    token = prepared.token
    check_gen_time(token, now)
    accuracy = f" {token.accuracy.text()}" if token.accuracy else " (no accuracy given)"
    status = f"{token.form} ({token.status})" if token.status else token.form
    return Passed(f"{status} with genTime {token.gen_time.isoformat()}{accuracy}, policy "
                  f"{token.policy}, serial {hex(token.serial)}", token.facts(),
                  warnings=token.warnings)


def _chain(outcome: PathOutcome, recheck: list[str]) -> Passed[None]:
    details = {**outcome.details, "howToCheck": [
        *recheck,
        "# ROOTS.pem: the root certificates you trust for TSA paths (--tsa-roots); "
        "'Verification: OK' re-checks imprint, signature and path at genTime"]}
    if outcome.status == VALID:
        return Passed(outcome.message, details)
    assert outcome.sub_indication is not None
    if outcome.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND:
        raise CheckIndeterminate(outcome.sub_indication, outcome.message, details)
    raise CheckFailure(outcome.sub_indication, outcome.message, details)


def _revocation(token: Token, signer: Cert, outcome: PathOutcome, policy: Policy,
                env: TimestampEnv, fetched_into: list[rev.RevocationSource] | None) -> Passed[None]:
    issuer = outcome.chain[1] if len(outcome.chain) > 1 else None
    if issuer is None and signer.self_issued and signer.issued_by(signer):
        issuer = signer
    crl_urls, ocsp_urls = signer.remember("revocation-urls",
                                         lambda: rev.revocation_urls(signer))
    where = ", ".join(crl_urls + ocsp_urls)
    settle = ("supply a CRL with --crl or an OCSP response with --ocsp"
              + (f" (the certificate names {where})" if where else "")
              + ", or allow fetching them with --fetch-revocation")
    if issuer is None:
        raise CheckIndeterminate(
            SubIndication.TRY_LATER,
            f"the issuer of TSA certificate {signer.subject} is not known, so no CRL or OCSP "
            "response about it can be authenticated: configure its root (--tsa-roots) or add "
            f"its issuer to extraCerts, then {settle}")
    sources = [
        *(rev.RevocationSource("crl", f"--crl #{i}", d) for i, d in enumerate(policy.crls, 1)),
        *(rev.RevocationSource("ocsp", f"--ocsp #{i}", d)
          for i, d in enumerate(policy.ocsp_responses, 1)),
        *(rev.RevocationSource("crl", "embedded in the token", d) for d in token.crls),
        *(rev.RevocationSource("ocsp", "embedded in the token", d) for d in token.ocsp_responses),
    ]
    evidence = [rev.evaluate(s, signer, issuer, token.gen_time) for s in sources]
    if policy.fetch_revocation and env.http is not None and not any(
            e.status in (rev.GOOD, rev.REVOKED) for e in evidence):
        if outcome.status != VALID:
            # The addresses a certificate names are the attacker's to choose until the
            # certificate is shown to come from a CA the user trusts: fetch nothing.
            evidence.append(rev.Evidence(
                rev.RevocationSource("fetch", "network", b""), rev.UNUSABLE,
                "nothing was fetched: the TSA certificate's path to a root you trust was "
                "not established, so the CRL and OCSP addresses it names are only the "
                "token's claims"))
            return rev.judge(evidence, token.latest, signer, settle)
        answers, notes = fetch_revocation(crl_urls, ocsp_urls,
                                          lambda: rev.ocsp_request(signer, issuer), env.http)
        fetched = [rev.RevocationSource(kind, url, der) for kind, url, der in answers]
        if fetched_into is not None:
            fetched_into.extend(fetched)
        evidence += [rev.evaluate(s, signer, issuer, token.gen_time) for s in fetched]
        evidence += [rev.Evidence(rev.RevocationSource("fetch", "network", b""), rev.UNUSABLE, n)
                     for n in notes]
    return rev.judge(evidence, token.latest, signer, settle)


def _summary(token: Token, recheck: list[str]) -> dict[str, Any]:
    facts = token.facts()
    digest_oid = token.digest_algorithm.oid
    sig_oid = token.signature_algorithm.oid
    return {
        "genTime": facts["genTime"], "accuracy": facts["accuracy"], "policy": token.policy,
        "serialNumber": facts["serialNumber"], "tsa": facts["tsa"], "nonce": facts["nonce"],
        "algorithms": {
            "imprint": token.imprint_algorithm,
            "digest": DIGEST_OIDS.get(digest_oid, digest_oid),
            "signature": SIGNATURE_OIDS[sig_oid].name if sig_oid in SIGNATURE_OIDS else sig_oid,
        },
        "recheck": list(recheck),
    }
