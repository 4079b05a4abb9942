#!/usr/bin/env python3
"""Timestamp tokens verified per second, against `openssl ts -verify`, same tokens, same run.

    python benchmarks/timestamp.py                    # 2,000 tokens from 4 TSAs, 100 for openssl
    python benchmarks/timestamp.py --tokens 300 --sample 30   # quicker

The tokens are made first by a real TSA (`openssl ts -reply`, under faketime, one
genTime per token) from four TSAs of the test PKI: RSA-2048 under the root, RSA-3072
under an intermediate, ECDSA P-256 and ECDSA P-384 under the root. Each token is
wrapped in a proof bundle (bytes in memory).

Ours, each the best of --repeat runs over all tokens (bundles already parsed from
JSON; OpenSSL too gets the token as DER):

- the floor (issue 11): read the token (its certificates parsed once per run, as a
  batch does), verify its CMS signature, and SHA-256 the document: the work no
  verifier can skip. ``Verifier.verify`` per item is reported against it;

- signature + path at genTime (the figure the target is about): read the token, find
  its signer by sid, verify the CMS signature, content-type and message-digest, and
  validate the path at genTime ± accuracy, the path results coming from a PathCache
  (keyed by certificates and validity window);
- full `Verifier.verify` with a known digest: all sixteen checks (imprint, ESS, TSA
  profile, revocation status, the anchor checks) and the report. Every verdict must
  be PASSED;
- the same, each report rendered to its JSON line (what ``--jsonl`` writes);
- as a user runs it: one ``provelio-verify --batch MANIFEST --jsonl OUT`` command over
  every token (digest-only manifest rows, proofs on disk, ``--jobs`` workers), wall time
  and CPU of the whole command, start-up included (best of --repeat).

Baseline: `openssl ts -verify -attime <genTime>` run once per token on a sample, as a
batch audit that shells out would (best of --repeat runs of the sample, like ours);
every run must say "Verification: OK".

Both sides are timed in CPU seconds (ours: this process; openssl: its child processes,
from getrusage) and in wall seconds; on a shared machine CPU time is the steadier
figure. Targets: signature + path at genTime >= 20x the openssl loop; the ``--batch
--jsonl`` command >= 20x the openssl loop; ``Verifier.verify`` <= 3x the floor.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

from gen.tsa import make_request, openssl_reply  # noqa: E402
from gen.tsa_world import tsa_world  # noqa: E402
from gen.world import GEN_TIME, world  # noqa: E402
from provelio_verify import Bundle, Digest, Indication, Policy, Verifier, parse_bundle  # noqa: E402
from provelio_verify.core.timestamp.certpath import VALID, Interval  # noqa: E402
from provelio_verify.core.timestamp.cms import check_signature, find_signer  # noqa: E402
from provelio_verify.core.timestamp.token import parse_token  # noqa: E402
from provelio_verify.verifier.pathcache import PathCache  # noqa: E402

TSAS = (("rsa2048", ()), ("rsa3072", ("tsa_ca",)), ("ec-p256", ()), ("ec-p384", ()))


def make_tokens(count: int) -> list[tuple[str, bytes, int]]:
    """(TSA name, TimeStampResp, genTime as Unix time) for ``count`` tokens."""
    tw = tsa_world()
    digest = world().digest

    def one(index: int) -> tuple[str, bytes, int]:
        name, chain_names = TSAS[index % len(TSAS)]
        at = GEN_TIME + timedelta(minutes=index)
        chain = tuple(getattr(tw, c) for c in chain_names)
        reply = openssl_reply(make_request(digest, nonce=index + 1), tw.tsas[name], at=at,
                              chain=chain, serial=index + 1)
        return name, reply, int(at.timestamp())

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, range(count)))


def bundle(reply: bytes) -> bytes:
    return json.dumps({
        "type": "provelio-proof", "version": 1,
        "certificate": {"status": "created", "testMode": False,
                        "sha256Hash": world().digest.hex()},
        "timestamp": {"type": "rfc3161", "token": base64.b64encode(reply).decode()},
    }).encode()


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds
    cpu: float  # seconds of CPU: this process's, or its children's for openssl

    def __lt__(self, other: Timing) -> bool:
        return self.cpu < other.cpu


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> Timing:
    return Timing(time.perf_counter() - start[0], time.process_time() - start[1])


def floor(bundles: list[Bundle], cache: PathCache) -> Timing:
    """The floor: read each token (certificates parsed once per run), verify its CMS
    signature, and SHA-256 the document: what no verification of these items can skip."""
    roots, _ = cache.roots((tsa_world().root.der,))
    document = world().document
    start = _clock()
    for parsed in bundles:
        hashlib.sha256(document).digest()
        token = parse_token(parsed.timestamp.token, cache.certificate, known=cache.known)
        check_signature(token, find_signer(token, [*token.certificates, *roots]),
                        allow_legacy_sha1=False)
    return _since(start)


def signature_and_path(bundles: list[Bundle], cache: PathCache) -> Timing:
    """Time to read every token, find its signer, verify its CMS signature and
    attributes, and validate its path at genTime ± accuracy (from the cache)."""
    roots, validator = cache.roots((tsa_world().root.der,))
    start = _clock()
    for parsed in bundles:
        token = parse_token(parsed.timestamp.token, cache.certificate, known=cache.known)
        signer = find_signer(token, [*token.certificates, *roots])
        check_signature(token, signer, allow_legacy_sha1=False)
        outcome = cache.evaluate(signer, token.certificates, roots, validator,
                                 Interval(token.gen_time, token.earliest, token.latest))
        if outcome.status != VALID:
            raise SystemExit(f"path not valid: {outcome.message}")
    return _since(start)


def ours(bundles: list[Bundle], verifier: Verifier, *, render: bool = False) -> Timing:
    """Time to verify every bundle with one Verifier (its caches as they are), and with
    ``render`` to write each report as its JSON line."""
    subject = Digest(world().digest.hex())
    start = _clock()
    for parsed in bundles:
        report = verifier.verify(subject, parsed)
        if report.indication is not Indication.PASSED:
            raise SystemExit(f"not PASSED: {report.deciding_check()}")
        if render:
            json.dumps(report.to_dict(), ensure_ascii=False)
    return _since(start)


def batch_command(tokens: list[tuple[str, bytes, int]], workdir: Path, jobs: int) -> Timing:
    """One ``provelio-verify --batch MANIFEST --jsonl OUT`` over every token, as a user
    runs it (a digest-only manifest; the proofs as files)."""
    (workdir / "roots.pem").write_bytes(tsa_world().root.pem)
    rows = []
    for index, (_, reply, _) in enumerate(tokens):
        (workdir / f"{index}.proof.json").write_bytes(bundle(reply))
        rows.append(json.dumps({"digest": world().digest.hex(),
                                "proof": f"{index}.proof.json"}))
    (workdir / "manifest.jsonl").write_text("\n".join(rows) + "\n")
    out = workdir / "out.jsonl"
    wall = time.perf_counter()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-m", "provelio_verify", "--batch",
                           str(workdir / "manifest.jsonl"), "--jsonl", str(out),
                           "--jobs", str(jobs), "--tsa-roots", str(workdir / "roots.pem"),
                           "--json"], capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = time.perf_counter() - wall
    summary = json.loads(proc.stdout)["summary"]
    if summary["byIndication"]["PASSED"] != len(tokens):
        raise SystemExit(f"the batch did not pass every token: {summary}")
    if sum(1 for _ in out.open()) != len(tokens):
        raise SystemExit("the batch did not write one JSON line per token")
    cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    return Timing(elapsed, cpu)


def openssl(sample: list[tuple[str, bytes, int]], workdir: Path) -> Timing:
    (workdir / "roots.pem").write_bytes(tsa_world().root.pem)
    (workdir / "doc").write_bytes(world().document)
    paths = []
    for index, (_, reply, _) in enumerate(sample):
        paths.append(workdir / f"{index}.tsr")
        paths[-1].write_bytes(reply)
    wall = time.perf_counter()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    for path, (_, _, gen_time) in zip(paths, sample, strict=True):
        proc = subprocess.run(["openssl", "ts", "-verify", "-in", str(path), "-data",
                               str(workdir / "doc"), "-CAfile", str(workdir / "roots.pem"),
                               "-untrusted", str(workdir / "chain.pem"),
                               "-attime", str(gen_time)],
                              capture_output=True, text=True)
        if "Verification: OK" not in proc.stdout:
            raise SystemExit(f"openssl refused {path}: {proc.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    return Timing(time.perf_counter() - wall, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=100,
                        help="tokens verified by the openssl per-process loop")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each measurement; the best is kept, on both sides")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="workers of the --batch command (default: the cores)")
    args = parser.parse_args()
    started = time.perf_counter()
    tokens = make_tokens(args.tokens)
    print(f"made {len(tokens)} tokens from {len(TSAS)} TSAs with openssl ts -reply in "
          f"{time.perf_counter() - started:.1f} s")
    bundles = [parse_bundle(bundle(reply)) for _, reply, _ in tokens]
    cache = PathCache()
    base = min(floor(bundles, PathCache()) for _ in range(args.repeat))
    core = min(signature_and_path(bundles, cache) for _ in range(args.repeat))
    verifier = Verifier(Policy(tsa_roots=(tsa_world().root.der,)))
    full = min(ours(bundles, verifier) for _ in range(args.repeat))
    rendered = min(ours(bundles, verifier, render=True) for _ in range(args.repeat))
    step = max(1, len(tokens) // args.sample)
    sample = tokens[::step][:args.sample]
    with tempfile.TemporaryDirectory(prefix="provelio-bench-") as tmp:
        work = Path(tmp)
        (work / "chain.pem").write_bytes(tsa_world().tsa_ca.pem)
        baseline = min(openssl(sample, work) for _ in range(args.repeat))
        (work / "batch").mkdir()
        command = min(batch_command(tokens, work / "batch", args.jobs)
                      for _ in range(args.repeat))
    n, m = len(bundles), len(sample)
    print(f"path cache: {cache.misses} validations, {cache.hits} reuses over "
          f"{args.repeat} runs of {n} tokens")
    print(f"{'':52}{'CPU tokens/s':>14}{'wall tokens/s':>15}{'µs/token':>10}")
    rows = [("floor: token parse + signature + digest", n, base),
            ("signature + path at genTime", n, core),
            ("full Verifier.verify: 16 checks + report", n, full),
            ("Verifier.verify + its JSON line", n, rendered),
            (f"--batch --jsonl command, --jobs {args.jobs}", n, command),
            ("openssl ts -verify, one process per token", m, baseline)]
    for label, count, timing in rows:
        print(f"{label:52}{count / timing.cpu:>14,.0f}{count / timing.wall:>15,.0f}"
              f"{1e6 * timing.cpu / count:>10,.0f}")
    for label, count, timing in rows[1:5]:
        cpu_ratio = (count / timing.cpu) / (m / baseline.cpu)
        wall_ratio = (count / timing.wall) / (m / baseline.wall)
        print(f"ratio, {label.split(' (')[0].split(':')[0]} / openssl: "
              f"{cpu_ratio:.1f}x CPU, {wall_ratio:.1f}x wall")
    for label, timing in (("Verifier.verify", full), ("Verifier.verify + JSON line", rendered)):
        print(f"ratio, {label} / floor: {timing.cpu / base.cpu:.1f}x CPU per item "
              f"(target <= 3x: {'met' if timing.cpu / base.cpu <= 3 else 'NOT met'})")
    best = (n / core.cpu) / (m / baseline.cpu)
    print(f"target: signature + path >= 20x the openssl loop: "
          f"{'met' if best >= 20 else 'NOT met'} ({best:.1f}x, CPU time)")
    user = (n / command.wall) / (m / baseline.wall)
    print(f"target: --batch --jsonl command >= 20x the openssl loop (wall, as a user "
          f"waits): {'met' if user >= 20 else 'NOT met'} ({user:.1f}x)")


if __name__ == "__main__":
    main()
