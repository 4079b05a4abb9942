#!/usr/bin/env python3
"""Timestamp tokens verified per second, against `openssl ts -verify`, same tokens, same run.

    python benchmarks/timestamp.py                    # 2,000 tokens from 3 TSAs, 100 for openssl
    python benchmarks/timestamp.py --tokens 300 --sample 30   # quicker

The tokens are made first by a real TSA (`openssl ts -reply`, under faketime, one
genTime per token) from three TSAs of the test PKI: RSA-2048 under the root, RSA-3072
under an intermediate, ECDSA P-256 under the root. Each token is wrapped in a proof
bundle (bytes in memory).

Ours, two figures, each the best of --repeat runs over all tokens (bundles already
parsed from JSON; OpenSSL too gets the token as DER):

- signature + path at genTime (the figure the target is about): read the token, find
  its signer by sid, verify the CMS signature, content-type and message-digest, and
  validate the path at genTime ± accuracy, the path results coming from a PathCache
  (keyed by certificates and validity window);
- full `Verifier.verify` with a known digest: all sixteen checks (imprint, ESS, TSA
  profile, revocation status, the anchor checks) and the report. Every verdict must
  be PASSED.

Baseline: `openssl ts -verify -attime <genTime>` run once per token on a sample, as a
batch audit that shells out would (best of --repeat runs of the sample, like ours);
every run must say "Verification: OK".

Both sides are timed in CPU seconds (ours: this process; openssl: its child processes,
from getrusage) and in wall seconds; on a shared machine CPU time is the steadier
figure. Target: signature + path at genTime >= 20x the openssl loop.
"""

from __future__ import annotations

import argparse
import base64
import json
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

TSAS = (("rsa2048", ()), ("rsa3072", ("tsa_ca",)), ("ec-p256", ()))


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


def signature_and_path(bundles: list[Bundle], cache: PathCache) -> Timing:
    """Time to read every token, find its signer, verify its CMS signature and
    attributes, and validate its path at genTime ± accuracy (from the cache)."""
    roots, validator = cache.roots((tsa_world().root.der,))
    start = _clock()
    for parsed in bundles:
        token = parse_token(parsed.timestamp.token, cache.certificate)
        signer = find_signer(token, [*token.certificates, *roots])
        check_signature(token, signer, allow_legacy_sha1=False)
        outcome = cache.evaluate(signer, token.certificates, roots, validator,
                                 Interval(token.gen_time, token.earliest, token.latest))
        if outcome.status != VALID:
            raise SystemExit(f"path not valid: {outcome.message}")
    return _since(start)


def ours(bundles: list[Bundle], verifier: Verifier) -> Timing:
    """Time to verify every bundle with one Verifier (its caches as they are)."""
    subject = Digest(world().digest.hex())
    start = _clock()
    for parsed in bundles:
        report = verifier.verify(subject, parsed)
        if report.indication is not Indication.PASSED:
            raise SystemExit(f"not PASSED: {report.deciding_check()}")
    return _since(start)


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
    args = parser.parse_args()
    started = time.perf_counter()
    tokens = make_tokens(args.tokens)
    print(f"made {len(tokens)} tokens from {len(TSAS)} TSAs with openssl ts -reply in "
          f"{time.perf_counter() - started:.1f} s")
    bundles = [parse_bundle(bundle(reply)) for _, reply, _ in tokens]
    cache = PathCache()
    core = min(signature_and_path(bundles, cache) for _ in range(args.repeat))
    verifier = Verifier(Policy(tsa_roots=(tsa_world().root.der,)))
    full = min(ours(bundles, verifier) for _ in range(args.repeat))
    step = max(1, len(tokens) // args.sample)
    sample = tokens[::step][:args.sample]
    with tempfile.TemporaryDirectory(prefix="provelio-bench-") as tmp:
        work = Path(tmp)
        (work / "chain.pem").write_bytes(tsa_world().tsa_ca.pem)
        baseline = min(openssl(sample, work) for _ in range(args.repeat))
    n, m = len(bundles), len(sample)
    print(f"path cache: {cache.misses} validations, {cache.hits} reuses over "
          f"{args.repeat} runs of {n} tokens")
    print(f"{'':46}{'CPU tokens/s':>14}{'wall tokens/s':>15}")
    rows = [("signature + path at genTime", n, core),
            ("full Verifier.verify: 16 checks + report", n, full),
            ("openssl ts -verify, one process per token", m, baseline)]
    for label, count, timing in rows:
        print(f"{label:46}{count / timing.cpu:>14,.0f}{count / timing.wall:>15,.0f}")
    for label, count, timing in rows[:2]:
        cpu_ratio = (count / timing.cpu) / (m / baseline.cpu)
        wall_ratio = (count / timing.wall) / (m / baseline.wall)
        print(f"ratio, {label.split(' (')[0].split(':')[0]} / openssl: "
              f"{cpu_ratio:.1f}x CPU, {wall_ratio:.1f}x wall")
    best = (n / core.cpu) / (m / baseline.cpu)
    print(f"target: signature + path >= 20x the openssl loop: "
          f"{'met' if best >= 20 else 'NOT met'} ({best:.1f}x, CPU time)")


if __name__ == "__main__":
    main()
