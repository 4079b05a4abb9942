"""Evidence capsules: everything a verification relied on, in one folder, so that it
can be run again offline years later and reach the same verdict.

Layout of a capsule (format version 1; see docs/evidence-capsule.md)::

    capsule.json        what was verified, when, under which policy; which file is what
    proof.json          the proof bundle, byte for byte as it was read
    token.der           the RFC 3161 token from the bundle (for openssl ts by hand)
    extra-certs.pem     the bundle's extraCerts, if any (untrusted helpers)
    roots/NN.pem        the trust anchors the verification was given (shown, never trusted)
    revocation/*.der    CRLs and OCSP responses it was given or fetched
    chain/answers.json  every chain-source answer, by source
    chain/headers.bin   the run of raw headers around the anchor block, when a source gave it
    report.json         the report as it was produced
    report.html         the same report for a person (self-contained HTML)
    README.txt          what this folder is and how to check it by hand
    SHA256SUMS          SHA-256 of every file above (``sha256sum -c SHA256SUMS``)

Re-verification (:func:`load_capsule`, :func:`reverify`) first checks every file
against SHA256SUMS (which guards against accidental damage only: anyone can recompute
it) and confines every file to the folder, then runs the whole verification again
under the *re-verifier's* trust anchors and policy and clock. The capsule is evidence,
never trust: its recorded roots and policy are only shown beside the re-verifier's;
its revocation data is signed and judged again; the anchor block's chain is judged
from ``chain/headers.bin`` exactly as a headers file is; recorded answers supply only
transactions and Merkle branches, which are hashed again against the bundle.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from ._json_bounds import loads_bounded
from ._version import __version__
from .bundle import Bundle, Network
from .chain.base import ChainSource
from .chain.headers_file import HeadersFileSource
from .chain.replay import MATERIAL_QUESTIONS, CapsuleChainSource, ReplaySource
from .core.anchor.bitcoin import HEADER_SIZE, NETWORKS, RETARGET_INTERVAL, NetworkParams, dsha256
from .core.anchor.checkpoints import Checkpoints
from .core.anchor.headers import HeaderRunError, validate_run
from .errors import CapsuleError, InputError, SourceError
from .inputs.checkpoints import mainnet_checkpoints
from .inputs.files import read_at_most
from .inputs.subject import Missing, Subject
from .inputs.trust import PEM_CERT, pem_or_der
from .policy import Policy
from .report import TOOL_NAME, Report
from .verifier import Verification, Verifier

CAPSULE_VERSION = 1
SUMS = "SHA256SUMS"
MANIFEST = "capsule.json"
#: Largest capsule file read back; bundles are capped at 16 MiB, CRLs can be large.
MAX_FILE_BYTES = 64 * 1024 * 1024
_SUM_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")
#: A capsule file's name: relative, '/'-separated, printable, no backslash.
_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")

HEADERS = "chain/headers.bin"
#: Blocks above the anchor a capsule's header run reaches at least (a day's worth), so
#: a re-verification can show the depth it asks for.
CAPSULE_DEPTH = 144
#: The most headers a capsule asks a chain source for (in runs, ChainSource.header_run):
#: two retarget periods and the depth above. A headers file (--headers) is sliced
#: instead, whatever its length.
MAX_FETCHED_HEADERS = 2 * RETARGET_INTERVAL + CAPSULE_DEPTH

_POLICY_FLAGS = ("use_system_roots", "min_confirmations", "require_anchor",
                 "require_revocation", "allow_test_mode", "allow_legacy_sha1",
                 "fetch_revocation")


@dataclass(frozen=True)
class Capsule:
    """A capsule read back and checked against its SHA256SUMS. Nothing in it is trusted:
    it holds evidence, judged again under the policy :func:`reverify` is given.

    Attributes:
        recorded_roots / recorded_policy: what the capsule says its verification
            trusted, shown beside the re-verifier's own (never used as trust).
        crls / ocsp_responses: recorded revocation data (signed; judged again against
            the re-verifier's roots).
        headers: ``chain/headers.bin``, the run of headers the anchor's chain is judged
            by, or ``None`` when the capsule lacks it.
        material: the recorded chain answers, as sources of transactions and Merkle
            branches only.
    """

    path: str
    subject: Subject | Missing
    bundle_bytes: bytes
    recorded_roots: tuple[bytes, ...]
    recorded_policy: Mapping[str, Any]
    crls: tuple[bytes, ...]
    ocsp_responses: tuple[bytes, ...]
    headers: bytes | None
    material: tuple[ReplaySource, ...]
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
    revocation += [item for item in verification.fetched_revocation if item not in revocation]
    crls: list[str] = []
    ocsp: list[str] = []
    for kind, der in revocation:
        names = crls if kind == "crl" else ocsp
        names.append(name := f"revocation/{kind}-{len(names) + 1:02d}.der")
        files[name] = der
    # The answers as the verification left them, before the run below asks for more.
    answers = {source.label: source.answers() for source in sources}
    files["chain/answers.json"] = _json(answers)
    run = _chain_run(bundle, policy, sources)
    chain_info: dict[str, Any]
    if isinstance(run, str):
        chain_info = {"lacking": run}
    else:
        files[HEADERS] = run.data
        chain_info = {"firstHeight": run.first_height, "tipHeight": run.tip_height,
                      "from": run.source}
    manifest = {
        "capsuleVersion": CAPSULE_VERSION,
        "createdAt": report_dict.get("verifiedAt"),
        "tool": {"name": TOOL_NAME, "version": __version__},
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
                  "crls": crls, "ocsp": ocsp, "chainAnswers": "chain/answers.json",
                  "chainHeaders": HEADERS if HEADERS in files else None},
        "chainHeaders": chain_info,
        "sources": [source.describe() for source in sources],
    }
    files[MANIFEST] = _json(manifest)
    files["README.txt"] = _readme(report_dict, manifest).encode("utf-8")
    return files


@dataclass(frozen=True)
class _Run:
    data: bytes
    first_height: int
    tip_height: int
    source: str


def run_bounds(height: int, checkpoints: Checkpoints | None) -> tuple[int, int | None]:
    """The heights a capsule's header run spans for an anchor block at ``height``: from
    the shipped checkpoint at or below it (a genesis on a network without checkpoints,
    or below the first one), through the first checkpoint above it; ``None`` for the
    end means up to the tip (no checkpoint above: a test network, or an anchor above
    the last checkpoint shipped)."""
    if checkpoints is None:
        return 0, None
    last = checkpoints.last_height
    if height >= last:
        return max(last, 0), None
    if height < RETARGET_INTERVAL - 1:  # in the first period: from the genesis
        return 0, RETARGET_INTERVAL - 1
    start = height - (height + 1) % RETARGET_INTERVAL  # the last block of a period
    return start, start + RETARGET_INTERVAL


def _chain_run(bundle: Bundle | None, policy: Policy,
               sources: tuple[ChainSource, ...]) -> _Run | str:
    """The run of headers a re-verification judges the anchor block's chain by (see
    :func:`run_bounds`), from the first source that can give it, validated; or why
    none could. A headers file is sliced; any other source is asked header by header,
    down from the run's top along the headers' links, at most
    :data:`MAX_FETCHED_HEADERS` of them."""
    anchor = bundle.anchor if bundle is not None else None
    if anchor is None or anchor.block is None:
        return "the bundle names no anchor block"
    params = NETWORKS[anchor.network]
    checkpoints = mainnet_checkpoints() if anchor.network is Network.MAINNET else None
    height = anchor.block.height
    start, through = run_bounds(height, checkpoints)
    # Depth: at least a day of blocks above the anchor (or the confirmations asked for),
    # as far as the source's tip goes.
    depth = max(policy.min_confirmations, CAPSULE_DEPTH)
    reasons = []
    for source in sorted(sources, key=lambda s: s.remote):  # a headers file first
        try:
            run = _run_from(source, params, start, through, height + depth - 1)
            _validate_run(run, params, checkpoints)
            return run
        except (SourceError, CapsuleError) as exc:
            reasons.append(f"{source.label}: {exc}")
    if not sources:
        return "no chain source was used"
    return "; ".join(reasons)


def _run_from(source: ChainSource, params: NetworkParams, start: int, through: int | None,
              deep: int) -> _Run:
    """Raises: SourceError or CapsuleError (the source cannot give the run)."""
    if isinstance(source, HeadersFileSource):
        held = source.run()
        tip = held.tip_height
    else:
        held, tip = None, source.tip_height()  # the tip it gave the verification
    end = tip if through is None else min(tip, max(through, deep))
    if end < start or (through is not None and end < through):
        raise CapsuleError(f"its tip {tip} is below height {through or start}, where the "
                           "run must reach")
    count = end - start + 1
    if held is not None:
        if held.first_height > start or held.params.network is not params.network:
            raise CapsuleError(f"its headers start at height {held.first_height} of "
                               f"{held.params.network.value}, not at or below {start} of "
                               f"{params.network.value}")
        if count > MAX_FILE_BYTES // HEADER_SIZE:
            raise CapsuleError(f"the run of {count} headers is over the capsule's limit")
        offset = (start - held.first_height) * HEADER_SIZE
        return _Run(held.data[offset:offset + count * HEADER_SIZE], start, end, source.label)
    if count > MAX_FETCHED_HEADERS:
        raise CapsuleError(f"the run from height {start} to {end} is {count} headers, over "
                           f"the {MAX_FETCHED_HEADERS} a capsule asks a source for; build a "
                           "headers file once (provelio-verify --sync-headers PATH with a "
                           "source) and save the capsule with --headers PATH")
    top = source.block_hash(end)  # the answer the verification was given
    if top is None:
        raise CapsuleError(f"it has no block at height {end}")
    data = bytearray()
    while len(data) < count * HEADER_SIZE:  # in runs: a batch or a page, not a header a time
        height = start + len(data) // HEADER_SIZE
        chunk = source.header_run(height, end - height + 1)
        if not chunk or len(chunk) % HEADER_SIZE:
            raise CapsuleError(f"it gave no whole headers from height {height}")
        data += chunk[:(end - height + 1) * HEADER_SIZE]
    if dsha256(bytes(data[-HEADER_SIZE:]))[::-1].hex() != top:
        raise CapsuleError(f"its chain moved: the header it now has at height {end} is not "
                           f"block {top}, which the verification was shown")
    return _Run(bytes(data), start, end, source.label)


def _validate_run(run: _Run, params: NetworkParams, checkpoints: Checkpoints | None) -> None:
    """The run starts where a headers file may (a genesis, a checkpoint) and validates.

    Raises:
        CapsuleError: it does not.
    """
    first = dsha256(run.data[:HEADER_SIZE])[::-1].hex()
    expected = params.genesis_hash if run.first_height == 0 else \
        checkpoints.hash_at(run.first_height) if checkpoints is not None else None
    if first != expected:
        raise CapsuleError(f"its header at height {run.first_height} is {first}, not "
                           f"{expected}")
    try:
        validate_run(run.data, run.first_height, params, checkpoints)
    except HeaderRunError as exc:
        raise CapsuleError(f"its headers do not validate at {exc}") from None


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
        "nothing in it was damaged since (SHA256SUMS guards against accidents only:",
        "anyone who alters a file can recompute it, so it proves nothing about origin):",
        "",
        "    sha256sum -c SHA256SUMS",
        "",
        "To run the whole verification again, offline, under the roots YOU trust",
        "(the roots in roots/ are only shown for comparison, never trusted):",
        "",
        "    provelio-verify --evidence THIS-FOLDER --tsa-roots YOUR-ROOTS.pem [FILE]",
        "",
        "Give FILE to hash the file again; without it the recorded digest stands in.",
        "Give the policy options you require (--allow-test-mode, --min-confirmations,",
        "...) as for any verification: the policy recorded in capsule.json is not used.",
        "report.html is the report for a person; its 'Verify it yourself' section lists",
        "commands that check each step without provelio-verify (token.der and",
        "roots/*.pem are the files those commands name).",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- reading


def load_capsule(folder: str | os.PathLike[str]) -> Capsule:
    """Read a capsule back after checking every file against its SHA256SUMS.

    Nothing read here is trusted: the recorded roots and policy are kept only to be
    shown beside the ones a re-verification is given (see :func:`reverify`).

    Raises:
        CapsuleError: the folder is not a capsule, a file is missing, altered, outside
            the folder or malformed, or the capsule is of an unknown version.
    """
    root = os.fspath(folder)
    if not os.path.isdir(root):
        raise CapsuleError(f"cannot read {root}: not a folder")
    files = _verified_files(root)
    try:
        return _read(root, files)
    except CapsuleError as exc:
        raise CapsuleError(f"{root}: {exc}") from None
    except (KeyError, TypeError, ValueError, InputError, RecursionError) as exc:
        raise CapsuleError(f"{root}: not a readable capsule ({type(exc).__name__}: {exc})")\
            from None


def _read(root: str, files: Mapping[str, bytes]) -> Capsule:
    """The capsule of ``files`` (every one checked against SHA256SUMS).

    Raises:
        CapsuleError, KeyError, TypeError, ValueError, InputError: it is malformed.
    """
    manifest = _object(loads_bounded(files[MANIFEST]), MANIFEST)
    version = manifest.get("capsuleVersion")
    if version != CAPSULE_VERSION or isinstance(version, bool):
        raise CapsuleError(f"capsule version {version!r:.40}; this tool reads "
                           f"version {CAPSULE_VERSION}")
    named = _object(manifest.get("files"), "capsule.json files")

    def file(key: str, *, optional: bool = False) -> bytes | None:
        name = named.get(key)
        if name is None and optional:
            return None
        return files[_listed(name, f"files.{key}", files)]

    def listed(key: str) -> list[bytes]:
        names = named.get(key)
        if not isinstance(names, list):
            raise CapsuleError(f"not a readable capsule: capsule.json files.{key} "
                               f"is {_kind(names)}, not a list of file names")
        return [files[_listed(name, f"files.{key}", files)] for name in names]

    report = _object(loads_bounded(_required(file("report"))), "report.json")
    checks = report.get("checks", [])
    if not isinstance(checks, list) or not all(
            isinstance(c, dict) and isinstance(c.get("id"), str) for c in checks):
        raise CapsuleError("not a readable capsule: report.json checks is not a "
                           "list of checks with an id")
    answers = _object(loads_bounded(_required(file("chainAnswers"))), "chain/answers.json")
    material = tuple(ReplaySource(f"recorded answers of {label}", records,
                                  kinds=MATERIAL_QUESTIONS)
                     for label, records in answers.items())
    roots = tuple(der for i, data in enumerate(listed("roots"), start=1)
                  for der in pem_or_der(f"capsule root {i}", data, PEM_CERT, "CERTIFICATE",
                                         "certificate", x509.load_der_x509_certificate))
    recorded_policy = manifest.get("policy")
    created_at = manifest.get("createdAt")
    return Capsule(
        path=root, subject=_subject(manifest.get("subject")),
        bundle_bytes=_required(file("bundle")), recorded_roots=roots,
        recorded_policy=recorded_policy if isinstance(recorded_policy, dict) else {},
        crls=tuple(listed("crls")), ocsp_responses=tuple(listed("ocsp")),
        headers=file("chainHeaders", optional=True), material=material,
        recorded_report=report,
        created_at=created_at if isinstance(created_at, str) else repr(created_at))


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CapsuleError(f"not a readable capsule: {what} is {_kind(value)}, not an object")
    return value


def _required(data: bytes | None) -> bytes:
    assert data is not None  # only optional files may be absent
    return data


def _listed(name: Any, what: str, files: Mapping[str, bytes]) -> str:
    """``name``, a file the manifest names: a string that SHA256SUMS lists (so checked,
    and inside the capsule: see :func:`_verified_files`).

    Raises:
        CapsuleError: it is not.
    """
    if not isinstance(name, str):
        raise CapsuleError(f"not a readable capsule: capsule.json {what} names "
                           f"{_kind(name)} {name!r:.60}, not a file name")
    if name not in files or name in (MANIFEST, SUMS):
        raise CapsuleError(f"not a readable capsule: capsule.json {what} names {name!r:.80}, "
                           f"which {SUMS} does not list: only checked files inside the "
                           "capsule are read")
    return name


def _subject(info: Any) -> Subject | Missing:
    """The recorded subject: digests by algorithm (each of its algorithm's length).

    Raises:
        CapsuleError: a field is of the wrong type or a digest is not hex.
    """
    if info is None:
        return Missing("the capsule holds no subject: its bundle is malformed")
    info = _object(info, "capsule.json subject")
    digests = _object(info.get("digests"), "capsule.json subject.digests")
    values: dict[str, bytes] = {}
    for alg, hexd in digests.items():
        try:
            size = hashlib.new(alg).digest_size
        except (ValueError, TypeError):
            raise CapsuleError(f"not a readable capsule: subject digest algorithm {alg!r:.40} "
                               "is not known") from None
        if not isinstance(hexd, str) or not re.fullmatch(f"[0-9a-f]{{{2 * size}}}", hexd):
            raise CapsuleError(f"not a readable capsule: subject {alg} digest {hexd!r:.80} is "
                               f"not {2 * size} lowercase hex digits")
        values[alg] = bytes.fromhex(hexd)
    path, size_, given, missing = (info.get(k) for k in ("path", "size", "digestGiven",
                                                         "missing"))
    if "sha256" not in values or not isinstance(path, str | None) \
            or not isinstance(missing, str | None) or not isinstance(given, bool) \
            or size_ is not None and (isinstance(size_, bool) or not isinstance(size_, int)
                                      or size_ < 0):
        raise CapsuleError("not a readable capsule: capsule.json subject needs a sha256 "
                           "digest, path (text or null), size (a count or null), digestGiven "
                           "(true or false) and missing (text or null)")
    return Subject(values, path=path, size=size_, digest_given=given, missing=missing)


def _verified_files(root: str) -> dict[str, bytes]:
    sums_path = os.path.join(root, SUMS)
    real_root = os.path.realpath(root)
    _inside(root, real_root, SUMS)
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
        if not _SAFE_NAME.fullmatch(name) or any(p in (".", "..") for p in name.split("/")):
            raise CapsuleError(f"{sums_path} line {number} names {name!r:.80}: a capsule "
                               "file is a relative name inside the capsule (no '..', no "
                               "absolute name)")
        if name in files or name == SUMS:
            raise CapsuleError(f"{sums_path} line {number} lists {name} again")
        _inside(root, real_root, name)
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


def _inside(root: str, real_root: str, name: str) -> None:
    """No symbolic link on the way to capsule file ``name``, and it resolves inside the
    capsule folder.

    Raises:
        CapsuleError: it does not.
    """
    parts = name.split("/")
    for i in range(1, len(parts) + 1):
        if os.path.islink(os.path.join(root, *parts[:i])):
            raise CapsuleError(f"capsule file {name}: {'/'.join(parts[:i])} is a symbolic "
                               "link; a capsule holds its files itself")
    real = os.path.realpath(os.path.join(root, name))
    if not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise CapsuleError(f"capsule file {name} resolves to {real}, outside the capsule "
                           f"{real_root}")


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


def reverify(capsule: Capsule, file: str | os.PathLike[str] | None = None, *,
             policy: Policy, sources: Sequence[ChainSource] = ()) -> Report:
    """Run a capsule's verification again, offline, under ``policy``: the re-verifier's
    own trust anchors and demands, never the capsule's; with this verifier's clock
    (``policy.now``, the system clock by default), not the recorded moment.

    The capsule supplies evidence only: the bundle, the recorded digests (without
    ``file``; with it, the file is hashed again), its revocation data (added to the
    policy's: signed data, judged against ``policy``'s roots), its run of headers
    (judged as a headers file, for the anchor block's chain) and its recorded
    transactions and Merkle branches (hashed again against the bundle). ``sources``,
    chain sources of the re-verifier's own, are asked beside it.

    The report's warnings say that it is a re-verification, show the capsule's recorded
    roots and policy beside ``policy``'s, and list any difference from the recorded
    verdict.

    Raises:
        InputError: ``file`` cannot be read (or ``policy`` names a system store that
            cannot be found).
    """
    mine = dataclasses.replace(
        policy,
        crls=tuple(dict.fromkeys((*policy.crls, *capsule.crls))),
        ocsp_responses=tuple(dict.fromkeys((*policy.ocsp_responses,
                                            *capsule.ocsp_responses))))
    lacking = (f"the capsule holds no {HEADERS}, the run of headers its anchor block's "
               f"chain is judged by (a capsule older than that rule, or its chain sources "
               f"could not supply the run), and recorded answers do not establish a chain; "
               f"settle it live: provelio-verify FILE {os.path.join(capsule.path, 'proof.json')}"
               f" --headers HEADERS-FILE (or --bitcoin-node, --esplora), or give those "
               f"options with --evidence")
    with tempfile.TemporaryDirectory(prefix="provelio-capsule-") as work:
        headers: ChainSource | None = None
        if capsule.headers is not None:
            # The checked bytes, never the capsule's file again (it may have changed).
            path = os.path.join(work, "headers.bin")
            with open(path, "wb") as out:
                out.write(capsule.headers)
            headers = HeadersFileSource(path)
        chain = CapsuleChainSource(
            f"evidence capsule {capsule.path} ({HEADERS if headers else 'no ' + HEADERS}; "
            "recorded transactions and branches)", headers, capsule.material, lacking)
        verifier = Verifier(mine, (chain, *sources))
        subject: Any = file if file is not None else _recorded_subject(capsule.subject)
        # Read by its path in the capsule, so the report and its by-hand commands name
        # the capsule's own copy; judged only if it is still the checked bytes.
        bundle_path = os.path.join(capsule.path, "proof.json")
        verification = verifier.verify_detailed(subject, bundle_path)
        if verification.bundle_bytes != capsule.bundle_bytes:
            raise CapsuleError(f"{bundle_path} changed while the capsule was re-verified; "
                               "run again on a capsule nothing is writing to")
        report = verification.report
    notes = [f"re-verified from the evidence capsule {capsule.path} (recorded at "
             f"{capsule.created_at}) under your trust anchors and policy, with this "
             "verifier's clock: the capsule's recorded roots and policy are shown, "
             "not trusted", _roots_note(capsule.recorded_roots, policy),
             _policy_note(capsule.recorded_policy, policy)]
    if capsule.headers is not None:
        notes.append(f"the anchor block's chain is judged by the capsule's {HEADERS} as a "
                     "headers file (proof-of-work, linkage, shipped checkpoints); its "
                     "recorded chain answers supply only transactions and Merkle branches")
    if file is None and isinstance(capsule.subject, Subject) and not capsule.subject.missing:
        notes.append("the file itself was not read again: the digest recorded in the "
                     "capsule stands in for it (give FILE to hash it again)")
    differences = compare_reports(capsule.recorded_report, report.to_dict())
    if differences:
        notes.append("the verdict differs from the one recorded: " + "; ".join(differences))
    else:
        notes.append("the verdict is the one recorded, check by check")
    return dataclasses.replace(report, warnings=(*report.warnings, *notes))


def _recorded_subject(subject: Subject | Missing) -> Subject | Missing:
    """The capsule's subject for a re-verification without the file: its recorded
    digest stands in, as a digest given with ``--digest`` does (the by-hand commands
    then use the digest), and the first run's path, relative to a folder that may be
    long gone, names nothing here."""
    if isinstance(subject, Subject):
        return dataclasses.replace(subject, path=None, digest_given=True)
    return dataclasses.replace(subject, path=None)


def fingerprint(der: bytes) -> str:
    """A root's fingerprint as the reports show it: the SHA-256 of its DER, in hex."""
    return hashlib.sha256(der).hexdigest()


def _roots_note(recorded: tuple[bytes, ...], policy: Policy) -> str:
    def show(ders: tuple[bytes, ...]) -> str:
        return ", ".join(f"sha256:{fingerprint(d)}" for d in ders) or "none"

    yours = show(policy.tsa_roots) if policy.tsa_roots else "no roots"
    if policy.use_system_roots:
        yours += " and the system root store"
    same = " (the same)" if set(recorded) == set(policy.tsa_roots) else ""
    return f"capsule recorded roots: {show(recorded)}; you trusted: {yours}{same}"


def _policy_note(recorded: Mapping[str, Any], policy: Policy) -> str:
    differ = []
    for name in _POLICY_FLAGS:
        theirs, yours = recorded.get(name), getattr(policy, name)
        if theirs != yours or type(theirs) is not type(yours):
            differ.append(f"{name}={json.dumps(theirs)[:40]}, yours {json.dumps(yours)}")
    if not differ:
        return "the capsule's recorded policy is yours"
    return "recorded policy " + "; ".join(differ)
