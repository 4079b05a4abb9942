"""Differential test against `openssl ts -verify` (OpenSSL as an oracle).

Over every distinct token of the fixture corpus and a few hundred seeded mutations of
the tokens both verifiers accept, each case is verified by OpenSSL at genTime
(``-attime``) and by this verifier. The rule:

- wherever OpenSSL fails, our ``timestamp.*`` verdict is not PASSED;
- wherever we are stricter (OpenSSL OK, we are not PASSED), the case is listed in
  docs/timestamp.md with the reason: fixture scenarios by name, mutations by the class
  (first check that did not pass, and its sub-indication) they fall into.

``timestamp.revocation`` is left out on both sides: OpenSSL checks no revocation here.

OpenSSL 3.0's ts code verifies through PKCS#7, which knows neither RSASSA-PSS nor
Ed25519 signers. For RSASSA-PSS tokens the oracle is `openssl cms -verify` (signature,
attributes and path at genTime, timeStamping purpose). For Ed25519 OpenSSL 3.0 has no
oracle at all (`cms -verify` fails with "invalid digest" on any Ed25519 signer with
signed attributes), so Ed25519 tokens are left out here; test_timestamp_api.py checks
their signature with `openssl pkeyutl` instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms, core, parser, tsp

from helpers.common import REPO, SCENARIOS, manifest
from provelio_verify import Policy, Verifier, load_certificates
from provelio_verify.verifier.pathcache import PathCache

DOC = REPO / "docs" / "timestamp.md"
CHECKS = ("timestamp.token", "timestamp.imprint", "timestamp.signature",
          "timestamp.signing-certificate", "timestamp.tsa-certificate", "timestamp.chain")
#: Random mutations per accepted token (plus the structured ones); with ~24 accepted
#: tokens this is a few hundred cases.
MUTATIONS_PER_TOKEN = 16
SEED = 3161
#: A root no fixture chains to, for OpenSSL when a scenario configures none.
UNRELATED_ROOT = REPO / "tests" / "data" / "tsa" / "sigstage" / "root.pem"
#: -attime for a token whose genTime cannot be read (OpenSSL refuses those anyway):
#: the genTime of the fixture PKI.
FALLBACK_TIME = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None,
                                reason="openssl is not installed (apt-get install openssl)")


@dataclass(frozen=True)
class Case:
    name: str  # scenario name, or "<scenario>~<mutation>"
    token: bytes
    document: Path
    roots: tuple[bytes, ...]
    extra: tuple[bytes, ...]
    legacy: bool
    bare: bool  # a TimeStampToken (ContentInfo), not a TimeStampResp
    gen_time: datetime
    signature: str  # the base token's signature algorithm (asn1crypto's name)

    @property
    def mutated(self) -> bool:
        return "~" in self.name


def _pem(ders: tuple[bytes, ...]) -> bytes:
    return b"".join(b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(d)
                    + b"-----END CERTIFICATE-----\n" for d in ders)


def _split(token: bytes) -> tuple[bool, cms.ContentInfo]:
    """(bare, ContentInfo): told apart by structure, as RFC 3161 §2.4.2 has them.

    Raises:
        ValueError: not a parsable response with a token, nor a token.
    """
    first = parser.parse(parser.parse(token)[4])
    if first[2] == 6:  # ContentInfo starts with an OBJECT IDENTIFIER
        return True, cms.ContentInfo.load(token)
    return False, tsp.TimeStampResp.load(token)["time_stamp_token"]


def _read(token: bytes) -> tuple[bool, datetime, str]:
    """Whether the token is bare, its genTime (``FALLBACK_TIME`` when unreadable) and
    its signature algorithm."""
    try:
        bare, info = _split(token)
        signed = info["content"]
        gen_time = signed["encap_content_info"]["content"].parsed["gen_time"].native
        signature = signed["signer_infos"][0]["signature_algorithm"]["algorithm"].native
    except (ValueError, KeyError, TypeError, IndexError):
        return False, FALLBACK_TIME, "?"
    return bare, gen_time if gen_time.tzinfo else gen_time.replace(tzinfo=UTC), signature


def corpus() -> list[Case]:
    """One case per distinct (token, roots, extra certificates, legacy switch)."""
    cases: dict[tuple[object, ...], Case] = {}
    for scenario in manifest():
        folder, args = SCENARIOS / scenario["name"], scenario["args"]
        try:
            bundle = json.loads((folder / "proof.json").read_bytes())
            token = base64.b64decode(bundle["timestamp"]["token"])
        except (ValueError, KeyError):
            continue  # a malformed bundle: no token to compare
        bare, gen_time, signature = _read(token)
        if signature == "ed25519":
            continue  # no OpenSSL 3.0 oracle (module docstring)
        document = folder / ("document.txt" if (folder / "document.txt").exists()
                             else "data.txt")
        if not document.exists():
            # A --digest scenario with no file: ok-digest's token is ok-created's, and the
            # mainnet scenarios' tokens cover an OP_RETURN payload whose preimage nobody
            # has, so openssl has no data to check them against.
            continue
        roots = (tuple(load_certificates(folder / args[args.index("--tsa-roots") + 1]))
                 if "--tsa-roots" in args else ())
        extra = tuple(base64.b64decode(c) for c in bundle["timestamp"].get("extraCerts", []))
        legacy = "--allow-legacy-sha1" in args
        case = Case(scenario["name"], token, document, roots, extra, legacy, bare, gen_time,
                    signature)
        cases.setdefault((token, roots, extra, legacy), case)
    return list(cases.values())


def _regions(token: bytes) -> list[tuple[int, int]]:
    """Byte ranges of the parts worth mutating: TSTInfo, signed attributes, signature,
    each embedded certificate."""
    signed = _split(token)[1]["content"]
    signer = signed["signer_infos"][0]
    parts = [signed["encap_content_info"]["content"].contents,
             signer["signed_attrs"].contents, signer["signature"].contents]
    parts += [c.chosen.dump() for c in signed["certificates"] or []]
    spans = []
    for part in parts:
        start = token.find(part)
        if start >= 0 and part:
            spans.append((start, start + len(part)))
    return spans


def mutate(case: Case, rng: random.Random, count: int) -> list[Case]:
    token = case.token
    spans = [(0, len(token)), *_regions(token)]
    out = []
    for index in range(count):
        start, end = spans[index % len(spans)]
        pos = rng.randrange(start, end)
        kind = rng.choice(("xor", "xor", "xor", "xor", "truncate", "insert", "delete"))
        if kind == "xor":
            data = bytearray(token)
            data[pos] ^= rng.randrange(1, 256)
            changed = bytes(data)
        elif kind == "truncate":
            changed = token[:pos]
        elif kind == "insert":
            changed = token[:pos] + bytes([rng.randrange(256)]) + token[pos:]
        else:
            changed = token[:pos] + token[pos + 1:]
        out.append(Case(f"{case.name}~{kind}@{pos}", changed, case.document, case.roots,
                        case.extra, case.legacy, case.bare, case.gen_time, case.signature))
    return out


def _edited(case: Case, label: str, edit: Callable[[tsp.TimeStampResp | None,
                                                    cms.ContentInfo], object]) -> Case:
    bare, info = _split(case.token)
    resp = None if bare else tsp.TimeStampResp.load(case.token)
    if resp is not None:
        info = resp["time_stamp_token"]
    edit(resp, info)
    token = (resp if resp is not None else info).dump()
    return Case(f"{case.name}~{label}", token, case.document, case.roots, case.extra,
                case.legacy, case.bare, case.gen_time, case.signature)


def structured(case: Case) -> list[Case]:
    """Mutations that keep the token well-formed DER: the unsigned parts OpenSSL and
    this verifier may read differently (status, algorithm identifiers outside the
    signature, certificates, unsigned attributes)."""
    def signer(info: cms.ContentInfo) -> cms.SignerInfo:
        return info["content"]["signer_infos"][0]

    def set_status(value: str) -> Callable[[tsp.TimeStampResp | None, cms.ContentInfo], None]:
        def edit(resp: tsp.TimeStampResp | None, info: cms.ContentInfo) -> None:
            if resp is not None:
                resp["status"] = tsp.PKIStatusInfo({"status": value,
                                                    "status_string": ["edited"]})
        return edit

    def other_signature_algorithm(resp: object, info: cms.ContentInfo) -> None:
        name = signer(info)["signature_algorithm"]["algorithm"].native
        swap = {"rsassa_pkcs1v15": "sha512_rsa", "sha256_ecdsa": "sha384_ecdsa",
                "sha256_rsa": "sha384_rsa", "rsassa_pss": "sha256_rsa"}.get(name, "sha256_rsa")
        signer(info)["signature_algorithm"] = {"algorithm": swap}

    def named_signature_algorithm(resp: object, info: cms.ContentInfo) -> None:
        name = signer(info)["signature_algorithm"]["algorithm"].native
        digest = signer(info)["digest_algorithm"]["algorithm"].native
        if name == "rsassa_pkcs1v15":
            signer(info)["signature_algorithm"] = {"algorithm": f"{digest}_rsa"}

    def without_certificates(resp: object, info: cms.ContentInfo) -> None:
        info["content"]["certificates"] = None

    def reversed_certificates(resp: object, info: cms.ContentInfo) -> None:
        certs = info["content"]["certificates"]
        if certs:
            info["content"]["certificates"] = cms.CertificateSet(list(certs)[::-1])

    def unsigned_attribute(resp: object, info: cms.ContentInfo) -> None:
        signer(info)["unsigned_attrs"] = cms.CMSAttributes([cms.CMSAttribute({
            "type": "1.3.6.1.4.1.99999.5.5", "values": [core.OctetString(b"x")]})])

    def sha1_digest_algorithms(resp: object, info: cms.ContentInfo) -> None:
        info["content"]["digest_algorithms"] = cms.DigestAlgorithms([{"algorithm": "sha1"}])

    edits = {
        "status-granted-with-mods": set_status("granted_with_mods"),
        "status-rejection": set_status("rejection"),
        "status-waiting": set_status("waiting"),
        "other-signature-algorithm": other_signature_algorithm,
        "named-signature-algorithm": named_signature_algorithm,
        "without-certificates": without_certificates,
        "reversed-certificates": reversed_certificates,
        "unsigned-attribute": unsigned_attribute,
        "sha1-digest-algorithms": sha1_digest_algorithms,
    }
    return [_edited(case, label, edit) for label, edit in edits.items()
            if not (case.bare and label.startswith("status-"))]


def openssl_accepts(case: Case, workdir: Path) -> tuple[bool, str]:
    """`openssl ts -verify` at genTime, with the case's roots and helper certificates
    (`openssl cms -verify` for RSASSA-PSS signers, see the module docstring)."""
    folder = Path(tempfile.mkdtemp(dir=workdir))
    (folder / "token").write_bytes(case.token)
    (folder / "roots.pem").write_bytes(_pem(case.roots) if case.roots
                                       else UNRELATED_ROOT.read_bytes())
    attime = ["-attime", str(int(case.gen_time.timestamp()))]
    if case.signature == "rsassa_pss":
        try:
            (folder / "cms").write_bytes(_split(case.token)[1].dump())
        except ValueError as exc:
            return False, f"no token to give openssl cms ({exc})"
        cmd = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in",
               str(folder / "cms"), "-CAfile", str(folder / "roots.pem"), "-purpose",
               "timestampsign", "-out", os.devnull, *attime]
    else:
        cmd = ["openssl", "ts", "-verify", "-in", str(folder / "token"), "-data",
               str(case.document), "-CAfile", str(folder / "roots.pem"), *attime]
        if case.bare:
            cmd.append("-token_in")
    if case.extra and case.signature == "rsassa_pss":
        (folder / "extra.pem").write_bytes(_pem(case.extra))
        cmd += ["-certfile", str(folder / "extra.pem")]
    elif case.extra:
        (folder / "extra.pem").write_bytes(_pem(case.extra))
        cmd += ["-untrusted", str(folder / "extra.pem")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    ok = proc.returncode == 0 and ("Verification: OK" in proc.stdout
                                   or "Verification successful" in proc.stderr)
    return ok, proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.stdout


def ours(case: Case, verifiers: dict[tuple[object, ...], Verifier]) -> tuple[bool, str, str]:
    """Our timestamp verdict: PASSED when every timestamp check but revocation passed.
    Returns it with the first check that did not pass and its sub-indication."""
    key = (case.roots, case.legacy)
    if key not in verifiers:
        verifiers[key] = Verifier(Policy(tsa_roots=case.roots, allow_legacy_sha1=case.legacy),
                                  path_cache=PathCache())
    bundle = {"type": "provelio-proof", "version": 1,
              "certificate": {"status": "created", "testMode": False,
                              "sha256Hash": _sha256(case.document)},
              "timestamp": {"type": "rfc3161", "token": base64.b64encode(case.token).decode()}}
    if case.extra:
        bundle["timestamp"]["extraCerts"] = [base64.b64encode(c).decode() for c in case.extra]
    report = verifiers[key].verify(case.document, json.dumps(bundle).encode())
    for check_id in CHECKS:
        result = report.check(check_id)
        if result.indication.value != "PASSED":
            sub = result.sub_indication.value if result.sub_indication else ""
            return False, check_id, sub
    return True, "", ""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def documented() -> tuple[set[str], set[tuple[str, str]]]:
    """The stricter-than-OpenSSL scenarios and mutation classes docs/timestamp.md lists."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Where we are stricter than", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"^\| `((?:tsa|real)-[a-z0-9-]+)` \|", section, re.M))
    classes = set(re.findall(r"^\| `(timestamp\.[a-z-]+)` / `([A-Z_]+)` \|", section, re.M))
    return names, classes


def test_openssl_failures_are_never_passed_and_stricter_cases_are_documented(tmp_path):
    rng = random.Random(SEED)
    base = corpus()
    verifiers: dict[tuple[object, ...], Verifier] = {}
    verdicts = {c.name: ours(c, verifiers) for c in base}
    accepted = [c for c in base if verdicts[c.name][0]]
    mutations = [m for c in accepted for m in (*mutate(c, rng, MUTATIONS_PER_TOKEN),
                                                *structured(c))]
    cases = base + mutations
    verdicts.update({m.name: ours(m, verifiers) for m in mutations})
    with ThreadPoolExecutor(max_workers=2) as pool:
        oracle = dict(zip([c.name for c in cases],
                          pool.map(lambda c: openssl_accepts(c, tmp_path), cases),
                          strict=True))
    names, classes = documented()
    missed, undocumented = [], []
    for case in cases:
        passed, check_id, sub = verdicts[case.name]
        openssl_ok, why = oracle[case.name]
        if not openssl_ok and passed:
            missed.append(f"{case.name}: OpenSSL refuses ({why}) but we PASSED")
        if openssl_ok and not passed:
            known = (check_id, sub) in classes if case.mutated else case.name in names
            if not known:
                undocumented.append(f"{case.name}: {check_id} {sub}")
    assert not missed, "\n".join(missed)
    assert not undocumented, ("stricter than OpenSSL but not in docs/timestamp.md:\n"
                              + "\n".join(undocumented))
    # The test must not be vacuous: many mutations, many refused by OpenSSL.
    assert len(mutations) >= 250, len(mutations)
    refused = sum(1 for m in mutations if not oracle[m.name][0])
    assert refused >= len(mutations) // 2, refused
    # Every documented scenario exists and is stricter as documented.
    observed = {c.name for c in base if oracle[c.name][0] and not verdicts[c.name][0]}
    assert names <= {s["name"] for s in manifest()}, names - {s["name"] for s in manifest()}
    assert observed == names, (observed ^ names)


def test_openssl_accepts_what_we_accept_in_the_fixture_positives(tmp_path):
    """The fixture positives verify with OpenSSL too (Ed25519 aside): the corpus is sound."""
    checked = []
    for case in corpus():
        if case.name.startswith(("tsa-ok-", "real-identrust", "real-sigstage-sha")):
            ok, why = openssl_accepts(case, tmp_path)
            assert ok, (case.name, why)
            checked.append(case.name)
    assert "tsa-ok-rsassa-pss" in checked and len(checked) >= 18, checked

