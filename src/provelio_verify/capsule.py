"""Evidence capsules: everything a verification relied on, in one folder, so that it
can be run again offline years later and reach the same verdict.

Layout of a capsule (format version 1; see docs/evidence-capsule.md)::

    capsule.json        what was verified, when, under which policy; which file is what
    proof.json          the proof bundle, byte for byte as it was read
    token.der           the RFC 3161 token from the bundle (for openssl ts by hand)
    extra-certs.pem     the bundle's extraCerts, if any (untrusted helpers)
    roots/NN.pem        the trust anchors the verification was given
    revocation/*.der    CRLs and OCSP responses it was given
    chain/answers.json  every chain-source answer, by source
    report.json         the report as it was produced
    report.html         the same report for a person (self-contained HTML)
    README.txt          what this folder is and how to check it by hand
    SHA256SUMS          SHA-256 of every file above (``sha256sum -c SHA256SUMS``)

Re-verification (:func:`load_capsule`) first checks every file against SHA256SUMS,
then runs the whole verification again with the recorded policy, the recorded trust
anchors and revocation data, chain sources replayed from the recorded answers (every
header hashed again), and the verifier's clock set to the recorded moment.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._version import __version__
from .chain.base import ChainSource
from .chain.replay import ReplaySource
from .errors import InputError
from .inputs import read_at_most
from .policy import Policy
from .report import Report
from .subject import Missing, Subject
from .trust import load_certificates
from .verifier import Verification, Verifier

CAPSULE_VERSION = 1
SUMS = "SHA256SUMS"
MANIFEST = "capsule.json"
#: Largest capsule file read back; bundles are capped at 16 MiB, CRLs can be large.
MAX_FILE_BYTES = 64 * 1024 * 1024
_SUM_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")

_POLICY_FLAGS = ("use_system_roots", "min_confirmations", "require_anchor",
                 "require_revocation", "allow_test_mode", "allow_legacy_sha1",
                 "fetch_revocation")


class CapsuleError(InputError):
    """A capsule folder that cannot be used: missing, altered, or not a capsule."""


@dataclass(frozen=True)
class Capsule:
    """A capsule read back and checked against its SHA256SUMS."""

    path: str
    subject: Subject | Missing
    bundle_bytes: bytes
    policy: Policy
    sources: tuple[ChainSource, ...]
    recorded_report: Mapping[str, Any]
    created_at: str


# --------------------------------------------------------------------------- writing


def save_capsule(
    folder: str | os.PathLike[str],
    verification: Verification,
    verifier: Verifier,
    *,
    html: str | None = None,
) -> None:
    """Write a capsule of ``verification`` (made by ``verifier``, whose policy, chain
    sources and fetched revocation data it records) into ``folder``, which must not
    exist yet (or be empty).

    The capsule is assembled in a temporary folder beside ``folder`` and moved into
    place at the end, so an interrupted save leaves no half capsule behind.

    Raises:
        InputError: ``folder`` exists and is not empty, or cannot be written.
    """
    target = os.fspath(folder)
    if os.path.exists(target) and (not os.path.isdir(target) or os.listdir(target)):
        raise InputError(f"{target} exists and is not an empty folder; "
                         "a capsule is written into a new folder")
    parent = os.path.dirname(os.path.abspath(target))
    try:
        work = tempfile.mkdtemp(prefix=".capsule-", dir=parent)
    except OSError as exc:
        raise InputError(f"cannot write into {parent}: {exc.strerror or exc}") from None
    if verification.bundle_bytes is None:
        raise ValueError("a capsule needs the bundle's bytes: verify a path or bytes, "
                         "not a parsed Bundle")
    try:
        files = _capsule_files(verification, verifier, html)
        for name, data in files.items():
            path = os.path.join(work, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as out:
                out.write(data)
        sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                       for name, data in sorted(files.items()))
        with open(os.path.join(work, SUMS), "w", encoding="ascii") as out:
            out.write(sums)
        if os.path.isdir(target):
            os.rmdir(target)
        os.rename(work, target)
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise InputError(f"cannot write the capsule {target}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _capsule_files(verification: Verification, verifier: Verifier,
                   html: str | None) -> dict[str, bytes]:
    policy, sources = verifier.policy, verifier.sources
    bundle, subject = verification.bundle, verification.subject
    report_dict = verification.report.to_dict()
    assert verification.bundle_bytes is not None
    files: dict[str, bytes] = {"proof.json": verification.bundle_bytes,
                               "report.json": _json(report_dict)}
    if html is not None:
        files["report.html"] = html.encode("utf-8")
    if bundle is not None:
        files["token.der"] = bundle.timestamp.token
        if bundle.timestamp.extra_certs:
            files["extra-certs.pem"] = b"".join(_pem(c) for c in bundle.timestamp.extra_certs)
    roots = []
    for i, der in enumerate(policy.tsa_roots, start=1):
        name = f"roots/{i:02d}.pem"
        files[name] = _pem(der)
        roots.append(name)
    # Revocation data given by the user and fetched by this verification alike: a
    # re-verification judges the same bytes, with fetching off.
    revocation = [("crl", d) for d in policy.crls] + [("ocsp", d) for d in policy.ocsp_responses]
    revocation += [item for item in verifier.fetched_revocation if item not in revocation]
    crls: list[str] = []
    ocsp: list[str] = []
    for kind, der in revocation:
        names = crls if kind == "crl" else ocsp
        names.append(name := f"revocation/{kind}-{len(names) + 1:02d}.der")
        files[name] = der
    answers = {source.label: source.answers() for source in sources}
    files["chain/answers.json"] = _json(answers)
    manifest = {
        "capsuleVersion": CAPSULE_VERSION,
        "createdAt": report_dict.get("verifiedAt"),
        "tool": {"name": "provelio-verify", "version": __version__},
        "verdict": {"indication": report_dict["indication"],
                    "subIndication": report_dict["subIndication"]},
        "subject": None if subject is None else {
            "path": subject.path,
            "size": subject.size,
            "digests": {alg: d.hex() for alg, d in sorted(subject.digests.items())},
            "digestGiven": subject.digest_given,
            "missing": subject.missing,
        },
        "policy": {name: getattr(policy, name) for name in _POLICY_FLAGS},
        "files": {"bundle": "proof.json", "report": "report.json", "roots": roots,
                  "crls": crls, "ocsp": ocsp, "chainAnswers": "chain/answers.json"},
        "sources": [source.describe() for source in sources],
    }
    files[MANIFEST] = _json(manifest)
    files["README.txt"] = _readme(report_dict, manifest).encode("utf-8")
    return files


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _pem(der: bytes) -> bytes:
    body = base64.b64encode(der).decode("ascii")
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n".encode("ascii")


def _readme(report: Mapping[str, Any], manifest: Mapping[str, Any]) -> str:
    subject = manifest["subject"] or {"path": "(not hashed: the bundle is malformed)",
                                      "digests": {}}
    lines = [
        "PROVELIO EVIDENCE CAPSULE",
        "",
        f"Verified at {manifest['createdAt']} by provelio-verify {__version__}.",
        f"Verdict: {report['indication']}"
        + (f" ({report['subIndication']})" if report.get("subIndication") else ""),
        f"Subject: {subject['path'] or '(digest given)'}, SHA-256 "
        f"{subject['digests'].get('sha256')}",
        "",
        "This folder holds everything that verification relied on. To check that",
        "nothing in it has changed since:",
        "",
        "    sha256sum -c SHA256SUMS",
        "",
        "To run the whole verification again, offline, as of the moment above:",
        "",
        "    provelio-verify --evidence THIS-FOLDER [FILE]",
        "",
        "Give FILE to hash the file again; without it the recorded digest stands in.",
        "report.html is the report for a person; its 'Verify it yourself' section lists",
        "commands that check each step without provelio-verify (token.der and",
        "roots/*.pem are the files those commands name).",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- reading


def load_capsule(folder: str | os.PathLike[str]) -> Capsule:
    """Read a capsule back after checking every file against its SHA256SUMS.

    Raises:
        CapsuleError: the folder is not a capsule, a file is missing or altered, or
            the capsule is of an unknown version.
    """
    root = os.fspath(folder)
    if not os.path.isdir(root):
        raise CapsuleError(f"cannot read {root}: not a folder")
    files = _verified_files(root)
    try:
        manifest = json.loads(files[MANIFEST])
        version = manifest.get("capsuleVersion")
        if version != CAPSULE_VERSION:
            raise CapsuleError(f"{root}: capsule version {version!r}; this tool reads "
                               f"version {CAPSULE_VERSION}")
        named = manifest["files"]
        report = json.loads(files[named["report"]])
        answers = json.loads(files[named["chainAnswers"]])
        subject_info = manifest["subject"]
        subject: Subject | Missing
        if subject_info is None:
            subject = Missing("the capsule holds no subject: its bundle is malformed")
        else:
            subject = Subject(
                {alg: bytes.fromhex(hexd) for alg, hexd in subject_info["digests"].items()},
                path=subject_info["path"], size=subject_info["size"],
                digest_given=bool(subject_info["digestGiven"]),
                missing=subject_info.get("missing"),
            )
        roots = tuple(der for name in named["roots"]
                      for der in load_certificates(os.path.join(root, name)))
        flags = {name: manifest["policy"][name] for name in _POLICY_FLAGS}
        policy = Policy(
            tsa_roots=roots,
            crls=tuple(files[name] for name in named["crls"]),
            ocsp_responses=tuple(files[name] for name in named["ocsp"]),
            now=datetime.fromisoformat(str(manifest["createdAt"]).replace("Z", "+00:00")),
            **{**flags, "fetch_revocation": False},  # a capsule never fetches
        )
        sources = tuple(ReplaySource(f"replay of {label}", records)
                        for label, records in answers.items())
        bundle_bytes = files[named["bundle"]]
    except CapsuleError:
        raise
    except (KeyError, TypeError, ValueError, InputError) as exc:
        raise CapsuleError(f"{root}: not a readable capsule ({type(exc).__name__}: {exc})")\
            from None
    return Capsule(path=root, subject=subject, bundle_bytes=bundle_bytes, policy=policy,
                   sources=sources, recorded_report=report,
                   created_at=str(manifest["createdAt"]))


def _verified_files(root: str) -> dict[str, bytes]:
    sums_path = os.path.join(root, SUMS)
    try:
        # Regular files only: a FIFO or device in a capsule is refused, never read.
        lines = read_at_most(sums_path, MAX_FILE_BYTES)[:MAX_FILE_BYTES].decode(
            "ascii").splitlines()
    except (InputError, UnicodeDecodeError) as exc:
        raise CapsuleError(f"{root}: no readable {SUMS} ({exc}); not a capsule") from None
    files: dict[str, bytes] = {}
    for number, line in enumerate(lines, start=1):
        match = _SUM_LINE.fullmatch(line)
        if not match:
            raise CapsuleError(f"{sums_path} line {number} is not '<sha256>  <file>'")
        expected, name = match.groups()
        if name.startswith("/") or ".." in name.split("/"):
            raise CapsuleError(f"{sums_path} line {number} names a file outside the capsule")
        path = os.path.join(root, name)
        try:
            data = read_at_most(path, MAX_FILE_BYTES)
        except InputError as exc:
            raise CapsuleError(f"capsule file {name} cannot be read ({exc})") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise CapsuleError(f"capsule file {name} has SHA-256 {actual}, not {expected} "
                               f"as {SUMS} says: the capsule was altered")
        files[name] = data
    if MANIFEST not in files:
        raise CapsuleError(f"{root}: {SUMS} does not list {MANIFEST}; not a capsule")
    return files


def compare_reports(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What differs between a recorded verdict and a re-run: the overall indication and
    each check's indication and sub-indication. An empty list means the same verdict."""
    differences = []
    for key in ("indication", "subIndication"):
        if recorded.get(key) != now.get(key):
            differences.append(f"{key}: recorded {recorded.get(key)}, now {now.get(key)}")
    before = {c["id"]: c for c in recorded.get("checks", [])}
    for check in now.get("checks", []):
        old = before.get(check["id"])
        if old is None:
            differences.append(f"{check['id']}: not in the recorded report")
            continue
        for key in ("indication", "subIndication"):
            if old.get(key) != check.get(key):
                differences.append(f"{check['id']} {key}: recorded {old.get(key)}, "
                                   f"now {check.get(key)}")
    return differences


def reverify(capsule: Capsule, file: str | os.PathLike[str] | None = None) -> Report:
    """Run a capsule's verification again, offline, as of its recorded moment.

    Without ``file`` the recorded digests stand in for the file; with it, the file is
    hashed again. The report's warnings say that it is a re-verification, and list any
    difference from the recorded verdict.

    Raises:
        InputError: ``file`` cannot be read.
    """
    verifier = Verifier(capsule.policy, capsule.sources)
    subject: Any = capsule.subject if file is None else file
    report = verifier.verify(subject, capsule.bundle_bytes)
    notes = [f"re-verified offline from the evidence capsule {capsule.path}, as of its "
             f"recorded moment {capsule.created_at}, with chain answers replayed from it"]
    if file is None and isinstance(capsule.subject, Subject) and not capsule.subject.missing:
        notes.append("the file itself was not read again: the digest recorded in the "
                     "capsule stands in for it (give FILE to hash it again)")
    differences = compare_reports(capsule.recorded_report, report.to_dict())
    if differences:
        notes.append("the verdict differs from the one recorded: " + "; ".join(differences))
    else:
        notes.append("the verdict is the one recorded, check by check")
    return dataclasses.replace(report, warnings=(*report.warnings, *notes))
