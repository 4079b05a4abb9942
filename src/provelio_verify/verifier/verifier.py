"""Runs the checks in order. The one place where check exceptions become results."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..bundle import MAX_BUNDLE_BYTES, Bundle, parse_bundle
from ..chain.base import ChainSource
from ..core.digest import check_sha256
from ..core.timestamp.revocation import RevocationSource
from ..errors import BundleFormatError
from ..howto import proof_name
from ..inputs.files import read_at_most
from ..inputs.subject import Missing, Subject, SubjectInput, open_subject
from ..inputs.trust import load_system_roots
from ..net import HttpClient, network_budget
from ..net.revocation import revocation_client
from ..outcome import CheckFailure, Passed
from ..policy import Policy
from ..report import (
    CHECK_IDS,
    Report,
    SubIndication,
)
from . import anchor as _anchor_steps
from . import timestamp as _timestamp_steps
from .assemble import existence, extra_keys, with_evidence
from .mode import check_mode
from .pathcache import PathCache
from .recorder import Recorder

BundleInput = str | os.PathLike[str] | bytes | Bundle



@dataclass(frozen=True)
class Verification:
    """A report with what it was made from: the subject as hashed (every digest the
    token needed), the parsed bundle and the bundle's bytes as read (``None`` when a
    parsed :class:`Bundle` was given). An evidence capsule is made from this."""

    report: Report
    subject: Subject | None
    bundle: Bundle | None
    bundle_bytes: bytes | None
    #: ``(kind, der)`` of each CRL ("crl") and OCSP response ("ocsp") this verification
    #: fetched over the network (``--fetch-revocation``): its own, not the Verifier's.
    fetched_revocation: tuple[tuple[str, bytes], ...] = ()


def load_bundle(
    source: BundleInput,
) -> tuple[Bundle | None, BundleFormatError | None, bytes | None]:
    """Read and parse a bundle; a malformed one is returned as its error, with the
    bytes that were read.

    Raises:
        InputError: the bundle path cannot be read.
    """
    if isinstance(source, Bundle):
        return source, None, None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        # An over-size bundle is a malformed one (FAILED), not an unreadable input.
        data = read_at_most(source, MAX_BUNDLE_BYTES)
    else:
        raise TypeError(f"a bundle is a path, bytes or a Bundle, not {type(source).__name__}")
    try:
        return parse_bundle(data), None, data
    except BundleFormatError as exc:
        return None, exc, data


class Verifier:
    """Verifies subjects against proof bundles under one policy and set of chain sources.

    A Verifier holds no per-verification state and may be reused for many bundles;
    caches it holds (TSA path results, chain-source answers) make a batch faster
    without changing any verdict.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        sources: Sequence[ChainSource] = (),
        *,
        path_cache: PathCache | None = None,
        http: HttpClient | None = None,
    ) -> None:
        """
        Args:
            policy: what to trust and demand.
            sources: chain sources to ask about the anchor block (see
                :mod:`provelio_verify.chain`); none means no network and no files.
            path_cache: TSA path results, shareable between Verifiers with the same
                roots.
            http: the client for ``fetch_revocation`` only (one is made when the policy
                allows fetching and none is given).

        Raises:
            TypeError: a source is not a :class:`~provelio_verify.chain.ChainSource`.
            InputError: ``use_system_roots`` is set but no system root store is found.
        """
        self.policy = policy or Policy()
        self.sources = tuple(sources)
        for source in self.sources:
            if not isinstance(source, ChainSource):
                raise TypeError(f"a chain source must be a ChainSource, not "
                                f"{type(source).__name__}")
        self.path_cache = path_cache if path_cache is not None else PathCache()
        if http is None and self.policy.fetch_revocation:
            http = revocation_client()
        system = load_system_roots() if self.policy.use_system_roots else ()
        self._timestamp_env = _timestamp_steps.TimestampEnv(
            roots=tuple(dict.fromkeys((*self.policy.tsa_roots, *system))),
            path_cache=self.path_cache, http=http)

    def verify(
        self,
        subject: SubjectInput,
        bundle: BundleInput,
        *,
        progress: Callable[[int], None] | None = None,
        on_size: Callable[[int], None] | None = None,
    ) -> Report:
        """Verify ``subject`` (a path, a binary stream or a :class:`Digest`) against
        ``bundle`` (a path, the bundle's bytes, or a parsed :class:`Bundle`).

        Raises:
            InputError: the subject or the bundle cannot be read.
        """
        return self.verify_detailed(subject, bundle, progress=progress,
                                    on_size=on_size).report

    def verify_detailed(
        self,
        subject: SubjectInput,
        bundle: BundleInput,
        *,
        progress: Callable[[int], None] | None = None,
        on_size: Callable[[int], None] | None = None,
    ) -> Verification:
        """As :meth:`verify`, keeping what the report was made from (for a capsule).

        Raises:
            InputError: the subject or the bundle cannot be read.
        """
        with network_budget():  # one wall-clock budget for all its requests
            return self._verify_detailed(subject, bundle, progress=progress,
                                         on_size=on_size)

    def _verify_detailed(
        self,
        subject: SubjectInput,
        bundle: BundleInput,
        *,
        progress: Callable[[int], None] | None,
        on_size: Callable[[int], None] | None,
    ) -> Verification:
        now = self.policy.now or datetime.now(UTC)
        parsed, format_error, data = load_bundle(bundle)
        source = os.fspath(bundle) if isinstance(bundle, (str, os.PathLike)) else None
        rec = Recorder()
        if parsed is None:
            assert format_error is not None
            report = self._malformed(rec, format_error, subject, now, source)
            return Verification(report, None, None, data)
        rec.warnings.extend(parsed.warnings)
        rec.run("bundle.format", lambda: Passed(
            "bundle parses and obeys proof-bundle v1",
            {"bundleSha256": parsed.source_sha256.hex() if parsed.source_sha256 else None},
        ), required=True)
        rec.run("certificate.mode", lambda: check_mode(parsed, self.policy), required=True)
        if parsed.certificate.test_mode and self.policy.allow_test_mode:
            rec.warnings.append("test-mode certificate: accepted by --allow-test-mode, "
                                "but it is not evidence")

        # Read the token first: the file is then read once, with every hash it needs.
        token = _timestamp_steps.prepare(parsed.timestamp, self.path_cache.certificate,
                                         known=self.path_cache.known)
        if isinstance(subject, Missing):
            # (2) The file is not at hand: the claim stands in for its digest so the
            # rest of the bundle is still judged, and file.sha256 says what is missing.
            subj = Subject({"sha256": parsed.certificate.sha256_hash}, path=subject.path,
                           size=None, digest_given=True, missing=subject.reason)
            rec.skip("file.sha256", SubIndication.SIGNED_DATA_NOT_FOUND,
                     f"{subject.reason}: the file's SHA-256 was not computed; verify the "
                     f"file itself (sha256sum FILE must print "
                     f"{parsed.certificate.sha256_hash.hex()})", required=True)
        else:
            subj = open_subject(subject, token.subject_algorithms, progress=progress,
                                on_size=on_size)
            claimed_size = parsed.certificate.file_size
            rec.run("file.sha256", lambda: check_sha256(
                subj.sha256, parsed.certificate.sha256_hash,
                size=subj.size, claimed_size=claimed_size,
            ), required=True)

        proof = proof_name(source)
        fetched: list[RevocationSource] = []
        ts_facts = _timestamp_steps.run(rec, parsed, subj, self.policy, now, token,
                                        self._timestamp_env, proof, fetched)
        anchor_facts = _anchor_steps.run(rec, parsed, self.policy, self.sources, proof)
        report = self._report(rec, parsed, subj, now, ts_facts, anchor_facts, source)
        return Verification(report, subj, parsed, data,
                            tuple((s.kind, s.der) for s in fetched))

    def verify_without_proof(self, subject: SubjectInput | None, reason: str) -> Report:
        """The report for a file whose proof bundle is missing or unreadable: the file
        is hashed (so its proof can be looked for) and nothing else can be judged.

        Raises:
            InputError: the subject cannot be read.
        """
        now = self.policy.now or datetime.now(UTC)
        rec = Recorder()
        if subject is None:
            subject_info: dict[str, Any] = {"sha256": None, "path": None, "size": None}
            hint = ""
        else:
            subj = open_subject(subject)
            subject_info = subj.to_dict()
            hint = f"; find the proof bundle for SHA-256 {subj.sha256.hex()}"
        rec.skip("bundle.format", SubIndication.PROOF_NOT_FOUND,
                 f"{reason}: nothing proves this file{hint}", required=True)
        rec.skip_unrecorded("not evaluated: no proof bundle")
        report = Report.build(
            list(rec.results.values()), subject=subject_info, certificate=None,
            existence={"notAfter": None, "evidence": []}, warnings=rec.warnings,
            extra=extra_keys(now, self.policy, None, None),
        )
        return with_evidence(report, None, self.policy)

    # ------------------------------------------------------------------ reports

    def _malformed(
        self, rec: Recorder, error: BundleFormatError, subject: SubjectInput, now: datetime,
        source: str | None,
    ) -> Report:
        rec.run("bundle.format", lambda: _raise(CheckFailure(
            SubIndication.FORMAT_FAILURE, str(error),
            {"field": error.field, "problem": error.problem},
        )), required=True)
        rec.skip_unrecorded("not evaluated: the bundle is malformed")
        subject_info: dict[str, Any] = {"sha256": None, "path": None, "size": None}
        if isinstance(subject, (str, os.PathLike)):
            subject_info["path"] = os.fspath(subject)
        report = Report.build(
            list(rec.results.values()),
            subject=subject_info,
            certificate=None,
            existence={"notAfter": None, "evidence": []},
            warnings=rec.warnings,
            extra=extra_keys(now, self.policy, None, source),
        )
        return with_evidence(report, None, self.policy)

    def _report(
        self,
        rec: Recorder,
        bundle: Bundle,
        subject: Subject,
        now: datetime,
        ts_facts: _timestamp_steps.TimestampFacts | None,
        anchor_facts: _anchor_steps.AnchorFacts | None,
        source: str | None,
    ) -> Report:
        missing = [c for c in CHECK_IDS if c not in rec.results]
        if missing:  # a defect: every check id appears exactly once
            raise AssertionError(f"checks not recorded: {missing}")
        cert = bundle.certificate
        report = Report.build(
            list(rec.results.values()),
            subject=subject.to_dict(),
            certificate={
                "certificateId": cert.certificate_id,
                "publicId": cert.public_id,
                "status": cert.status.value,
                "testMode": cert.test_mode,
                "fileName": cert.file_name,
                "fileSize": cert.file_size,
                "fileType": cert.file_type,
                "createdAt": cert.created_at,
                "sha256Hash": cert.sha256_hash.hex(),
                "metadata": dict(cert.metadata or {}),
            },
            existence=existence(rec.passed, ts_facts, anchor_facts),
            warnings=rec.warnings,
            extra={**extra_keys(now, self.policy, bundle, source, ts_facts, anchor_facts),
                   "timestamp": ts_facts.summary if ts_facts else None},
        )
        return with_evidence(report, bundle, self.policy)


def _raise(exc: Exception) -> Passed[None]:
    raise exc


def verify(
    file_or_digest: SubjectInput,
    bundle: BundleInput,
    *,
    policy: Policy | None = None,
    sources: Iterable[ChainSource] = (),
) -> Report:
    """Verify a file (path or binary stream) or a :class:`Digest` against a proof bundle.

    Returns a :class:`Report` whatever the verdict; a malformed bundle is a FAILED
    report, not an exception.

    Raises:
        InputError: the file or the bundle path cannot be read.
    """
    return Verifier(policy, tuple(sources)).verify(file_or_digest, bundle)


def verify_strict(
    file_or_digest: SubjectInput,
    bundle: BundleInput,
    *,
    policy: Policy | None = None,
    sources: Iterable[ChainSource] = (),
) -> Report:
    """As :func:`verify`, but a verdict other than PASSED raises.

    Raises:
        InputError: the file or the bundle path cannot be read.
        VerificationFailed: the verdict is FAILED.
        VerificationIndeterminate: the verdict is INDETERMINATE.
    """
    report = verify(file_or_digest, bundle, policy=policy, sources=sources)
    report.raise_for_indication()
    return report
