#!/usr/bin/env python3
"""Batch audit speed, as ratios against baselines measured in the same run.

    python benchmarks/batch.py                       # both figures
    python benchmarks/batch.py --skip-hashing        # only the certificates figure

1. Certificates: --items small generated certificates (test mode, confirmed on a
   generated regtest chain, a real token per distinct document from `openssl ts
   -reply`) verified offline with a headers file, by the batch engine with --jobs
   workers, against a sequential loop of `provelio_verify.verify()` calls over the same
   items. Targets: batch >= 1.6x the loop, and >= 1,000 items/s.
2. Hashing: --hash-files files of --hash-mib MiB verified by `provelio-verify --batch
   --jobs 2` (aggregate MiB/s) against one `openssl dgst -sha256` process on one of the
   files, warm page cache. Target: ratio >= 1.6.

The generated archive is kept under benchmarks/_work/ and reused by later runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

import provelio_verify as pv  # noqa: E402
from gen import bundles as B  # noqa: E402
from gen import chain as chainmod  # noqa: E402
from gen.common import dump_json  # noqa: E402
from gen.tsa import make_request, openssl_reply, token_of  # noqa: E402
from gen.world import CHAIN_T0, GEN_TIME, world  # noqa: E402
from provelio_verify.batch import discover, run_batch  # noqa: E402
from provelio_verify.chain import HeadersFileSource  # noqa: E402

MIB = 1024 * 1024
WORK = HERE / "_work"


def build_archive(items: int, distinct: int) -> Path:
    """``items`` certificates over ``distinct`` documents, each with its own token and
    Merkle path in one anchored batch; reused when already built."""
    target = WORK / f"batch-{distinct}-{items}"
    if (target / "done").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    (target / "archive").mkdir(parents=True)
    w = world()
    docs = [b"benchmark certificate %06d\n" % i + b"." * 1000 + b"\n" for i in range(distinct)]
    digests = [hashlib.sha256(d).digest() for d in docs]

    def token(i: int) -> bytes:
        return token_of(openssl_reply(make_request(digests[i], nonce=i + 1), w.tsa,
                                      at=GEN_TIME, serial=0x1000 + i))

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        tokens = list(pool.map(token, range(distinct)))
    paths = [B.merkle_tree_path(digests, i) for i in range(distinct)]
    root = paths[0][0]
    tx = chainmod.anchor_tx(root)
    chain = chainmod.build_chain(10, start_time=CHAIN_T0, placements={3: [tx]})
    block = chain.blocks[3]
    txids = [t.GetTxid() for t in block.vtx]
    index = txids.index(tx.GetTxid())
    branch = [h[::-1].hex() for h in chainmod.merkle_branch(txids, index)]
    proofs = []
    for i in range(distinct):
        anchor = B.anchor(network="regtest", merkle_root=root, path=paths[i][1],
                          txid_display=tx.GetTxid()[::-1].hex(), tx_hex=tx.serialize().hex(),
                          block_hash_display=block.GetHash()[::-1].hex(), height=3,
                          header=chain.header(3), tx_index=index, branch_display=branch)
        proofs.append(dump_json(B.bundle(sha256_hash=digests[i], token=tokens[i],
                                         status="confirmed", test_mode=True,
                                         file_size=len(docs[i]), anchor=anchor)))
    for n in range(items):
        name = target / "archive" / f"{n:06d}.txt"
        name.write_bytes(docs[n % distinct])
        Path(f"{name}.proof.json").write_bytes(proofs[n % distinct])
    (target / "roots.pem").write_bytes(w.root.pem)
    (target / "headers.bin").write_bytes(chain.headers_file())
    (target / "done").write_text("ok\n")
    return target


def certificates(args: argparse.Namespace) -> None:
    target = build_archive(args.items, args.distinct)
    roots = pv.load_certificates(target / "roots.pem")
    policy = pv.Policy(tsa_roots=roots, allow_test_mode=True)
    items, _ = discover(target / "archive")

    # Baseline: what an integrator writes first, one verify() call per certificate.
    sources = [HeadersFileSource(target / "headers.bin")]
    start = time.perf_counter()
    loop_passed = 0
    for item in items:
        report = pv.verify(item.file, item.proof, policy=policy, sources=sources)
        loop_passed += report.indication is pv.Indication.PASSED
    t_loop = time.perf_counter() - start

    # For scale: one shared Verifier (its caches), one process, no parallelism.
    verifier = pv.Verifier(policy, [HeadersFileSource(target / "headers.bin")])
    start = time.perf_counter()
    run_batch(items, verifier, jobs=1, full_reports=False)
    t_one = time.perf_counter() - start

    verifier = pv.Verifier(policy, [HeadersFileSource(target / "headers.bin")])
    start = time.perf_counter()
    summary = run_batch(items, verifier, jobs=args.jobs, full_reports=False)
    t_batch = time.perf_counter() - start

    # The same batch rendering every report, as --jsonl or --html do.
    verifier = pv.Verifier(policy, [HeadersFileSource(target / "headers.bin")])
    start = time.perf_counter()
    full = run_batch(items, verifier, jobs=args.jobs, full_reports=True)
    t_full = time.perf_counter() - start
    if full.by_indication["PASSED"] != len(items):
        raise SystemExit(f"expected every item to pass with full reports: {full.by_indication}")

    # As --jsonl: every report rendered as its JSON line in the workers, --jobs 1 and N.
    rates = {}
    for jobs in (1, args.jobs):
        verifier = pv.Verifier(policy, [HeadersFileSource(target / "headers.bin")])
        start = time.perf_counter()
        lines = run_batch(items, verifier, jobs=jobs, full_reports=False, lines=True)
        rates[jobs] = len(items) / (time.perf_counter() - start)
        if lines.by_indication["PASSED"] != len(items):
            raise SystemExit(f"expected every item to pass with lines: {lines.by_indication}")

    passed = summary.by_indication["PASSED"]
    if passed != len(items) or loop_passed != len(items):
        raise SystemExit(f"expected every item to pass: loop {loop_passed}, batch {passed} "
                         f"of {len(items)}")
    rate_loop, rate_batch = len(items) / t_loop, len(items) / t_batch
    ratio = rate_batch / rate_loop
    print(f"certificates: {len(items)} ({args.distinct} distinct tokens), offline, "
          f"headers file, {os.cpu_count()} cores")
    print(f"sequential verify() loop : {rate_loop:8.0f} items/s")
    print(f"batch, --jobs 1          : {len(items) / t_one:8.0f} items/s (shared caches)")
    print(f"batch, --jobs {args.jobs:<11}: {rate_batch:8.0f} items/s")
    print(f"  ... rendering every report: {len(items) / t_full:8.0f} items/s "
          "(what --jsonl/--html add)")
    print(f"JSON lines (--jsonl), --jobs 1: {rates[1]:8.0f} items/s; --jobs {args.jobs}: "
          f"{rates[args.jobs]:8.0f} items/s; ratio {rates[args.jobs] / rates[1]:.2f} "
          f"(target >= 1.8 on 2 cores)")
    print(f"ratio batch/loop         : {ratio:.2f}  (target >= 1.6: "
          f"{'met' if ratio >= 1.6 else 'NOT met'}); batch >= 1,000 items/s: "
          f"{'met' if rate_batch >= 1000 else 'NOT met'}")


def hashing(args: argparse.Namespace) -> None:
    folder = WORK / f"hash-{args.hash_files}x{args.hash_mib}"
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(MIB)
    proof = json.dumps({
        "type": "provelio-proof", "version": 1,
        "certificate": {"sha256Hash": "00" * 32, "status": "created", "testMode": False},
        "timestamp": {"type": "rfc3161", "token": ""},
    })
    for i in range(args.hash_files):
        path = folder / f"{i}.bin"
        if not path.exists() or path.stat().st_size != args.hash_mib * MIB:
            with open(path, "wb") as out:
                for j in range(args.hash_mib):
                    out.write(j.to_bytes(8, "little") + i.to_bytes(8, "little") + block[16:])
        (folder / f"{i}.bin.proof.json").write_text(proof)
    # The CLI starts as an installed tool does: pip compiles bytecode at install time,
    # whereas an editable checkout under PYTHONDONTWRITEBYTECODE=1 would recompile every
    # module at every start and charge that to the batch.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(pv.__file__).parent)],
                   check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
    for path in folder.glob("*.bin"):  # warm the page cache
        with open(path, "rb") as stream:
            while stream.read(8 * MIB):
                pass
    best_openssl = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(["openssl", "dgst", "-sha256", str(folder / "0.bin")], check=True,
                       capture_output=True)
        best_openssl = min(best_openssl, time.perf_counter() - start)
    best_batch = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "provelio_verify", "--batch", str(folder),
                               "--jobs", "2", "--json"], capture_output=True, text=True)
        best_batch = min(best_batch, time.perf_counter() - start)
        summary = json.loads(proc.stdout)["summary"]
        if summary["bytes"] != args.hash_files * args.hash_mib * MIB:
            raise SystemExit(f"the batch did not hash every byte: {summary}")
    one = args.hash_mib / best_openssl
    aggregate = args.hash_files * args.hash_mib / best_batch
    ratio = aggregate / one
    print(f"hashing: {args.hash_files} files of {args.hash_mib} MiB, warm cache, best of 3")
    print(f"openssl dgst -sha256, one file     : {one:8.1f} MiB/s")
    print(f"provelio-verify --batch --jobs 2   : {aggregate:8.1f} MiB/s aggregate")
    print(f"ratio                              : {ratio:.2f}  (target >= 1.6: "
          f"{'met' if ratio >= 1.6 else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--distinct", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--hash-files", type=int, default=8)
    parser.add_argument("--hash-mib", type=int, default=512)
    parser.add_argument("--skip-hashing", action="store_true")
    parser.add_argument("--skip-certificates", action="store_true")
    args = parser.parse_args()
    if not args.skip_certificates:
        certificates(args)
    if not args.skip_hashing:
        hashing(args)


if __name__ == "__main__":
    main()
