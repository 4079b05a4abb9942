#!/usr/bin/env python3
"""``--sync-headers`` speed from each chain source, as a ratio against bare validation.

    python benchmarks/sync.py                      # 100,000 real mainnet headers
    python benchmarks/sync.py --headers 20000 --repeat 1 --sources rest,rpc,electrum
    python benchmarks/sync.py --servers live       # the test servers compute each answer

The headers are real mainnet headers (tests/data/bitcoin/headers, the 190,000-header
run of heights 150,001-340,000), from the first shipped checkpoint inside that run
(height 151,199), since a new mainnet headers file must begin at a checkpoint.

Timed in the same run, each ``--repeat`` times, interleaved, the best time of each
kept:

- validation: the validation a headers file gets
  (:func:`~provelio_verify.core.anchor.headers.validate_run`: links, proof of work,
  every retarget, median time, versions, checkpoints) over those headers, in memory;
- a sync of the same headers into a new file (:func:`~provelio_verify.chain.sync.sync_headers`,
  what ``provelio-verify --sync-headers PATH`` runs) from a loopback server on
  127.0.0.1 of each source: Bitcoin Core with ``-rest`` (``--bitcoin-node``, REST
  headers, 2,000 a request), Bitcoin Core without it (JSON-RPC batches, after one 404),
  Esplora (``--esplora``, ``/blocks/:height`` pages) and Electrum (``--electrum``,
  plain TCP). The servers (tests/helpers) are Python and run in this process, so a
  sync's time includes them answering. With ``--servers precomputed`` (the default)
  the servers answer each request from bytes kept from an untimed first sync, as a
  node answers from memory, so the figure is the client's (and the loopback
  exchange's) rather than the Python test server's building of each answer.
  ``--servers live`` times them building.

Exit status 1 when a source's headers per second are under ``--min-ratio`` of the
validation's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from bitcoin.core import CBlock, b2lx  # noqa: E402

from helpers.chainservers import BitcoinRpcServer, ChainData, EsploraServer  # noqa: E402
from helpers.electrumserver import ElectrumServer, OffsetData  # noqa: E402
from provelio_verify.chain import BitcoinCoreSource, ElectrumSource, EsploraSource  # noqa: E402
from provelio_verify.chain.base import ChainSource  # noqa: E402
from provelio_verify.chain.sync import sync_headers  # noqa: E402
from provelio_verify.core.anchor.bitcoin import HEADER_SIZE, NETWORKS, Network  # noqa: E402
from provelio_verify.core.anchor.headers import validate_run  # noqa: E402
from provelio_verify.inputs.checkpoints import mainnet_checkpoints  # noqa: E402

RUN = REPO / "tests" / "data" / "bitcoin" / "headers" / "mainnet_headers_150001_340000.bin"
RUN_FIRST = 150_001
#: The issue's target: a sync keeps at least half the speed of bare validation.
MIN_RATIO = 0.5
SOURCES = ("rest", "rpc", "esplora", "electrum")
NAMES = {"rest": "Bitcoin Core REST (-rest)", "rpc": "Bitcoin Core JSON-RPC (no -rest)",
         "esplora": "Esplora", "electrum": "Electrum (TCP)"}
SERVERS = ("precomputed", "live")


class _FromHeight(list[CBlock]):
    """A node's blocks indexed by height from ``offset`` (below it: nothing), so that
    the servers' ``best[height]`` finds the block at that height."""

    def __init__(self, blocks: list[CBlock], offset: int) -> None:
        super().__init__(blocks)
        self.offset = offset

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, int) and index >= 0:
            if index < self.offset:
                raise IndexError(f"no block at height {index}: this node starts at "
                                 f"{self.offset}")
            return super().__getitem__(index - self.offset)
        return super().__getitem__(index)

    def __len__(self) -> int:
        return self.offset + super().__len__()


@dataclass
class RealNode(ChainData):
    """Real mainnet headers from a height (and the genesis hash at height 0): a node
    that has those headers and no blocks. Its index is built before any timing."""

    by_hash: dict[str, tuple[CBlock, int, bool]] | None = None

    @classmethod
    def of_headers(cls, data: bytes, first: int) -> RealNode:
        blocks = [CBlock.deserialize(data[i:i + HEADER_SIZE] + b"\x00")
                  for i in range(0, len(data), HEADER_SIZE)]
        node = cls(_FromHeight(blocks, first), genesis=NETWORKS[Network.MAINNET].genesis_hash)
        node.by_hash = {b2lx(b.GetHash()): (b, first + i, True) for i, b in enumerate(blocks)}
        return node

    def hash_at(self, height: int) -> str | None:
        if height == 0 and self.genesis is not None:
            return self.genesis
        try:
            return b2lx(self.best[height].GetHash())
        except IndexError:
            return None

    def find_block(self, block_hash: str) -> tuple[CBlock, int, bool] | None:
        assert self.by_hash is not None
        return self.by_hash.get(block_hash)


class _Kept:
    """A loopback HTTP server's answers kept by request (method, path, body): a chain
    that does not change answers a request the same way each time. The first of each
    is built by the test server; later ones are sent from the bytes kept."""

    def __init__(self) -> None:
        self.kept: dict[tuple[str, str, bytes], tuple[int, bytes, str]] = {}

    def answer_kept(self, build: Callable[[], tuple[int, bytes, str]], method: str,
                    path: str, body: bytes) -> tuple[int, bytes, str]:
        key = (method, path, body)
        found = self.kept.get(key)
        if found is None:
            found = self.kept[key] = build()
        return found


class KeptRpcServer(BitcoinRpcServer):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._memo = _Kept()

    def _describe(self, handler: Any, body: bytes) -> str:
        return f"{handler.command} {handler.path}"  # not the JSON parse of each batch

    def answer(self, handler: Any, method: str, body: bytes) -> tuple[int, bytes, str]:
        return self._memo.answer_kept(lambda: super(KeptRpcServer, self).answer(
            handler, method, body), method, handler.path, body)


class KeptEsploraServer(EsploraServer):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._memo = _Kept()

    def answer(self, handler: Any, method: str, body: bytes) -> tuple[int, bytes, str]:
        return self._memo.answer_kept(lambda: super(KeptEsploraServer, self).answer(
            handler, method, body), method, handler.path, body)


class KeptElectrumServer(ElectrumServer):
    """The Electrum server answering each (method, params, id) from the line it sent the
    first time (a new connection numbers its calls from the start again)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._kept_lines: dict[tuple[str, str, Any], bytes] = {}

    def _answer(self, method: str, params: list[Any], call_id: Any) -> bytes:
        key = (method, json.dumps(params), call_id)
        found = self._kept_lines.get(key)
        if found is None:
            found = self._kept_lines[key] = super()._answer(method, params, call_id)
        return found


@contextlib.contextmanager
def servers(data: bytes, first: int, wanted: list[str],
            kept: bool) -> Iterator[dict[str, ChainSourceMaker]]:
    """Each wanted loopback server, running; for each, a maker of a new source of it.
    ``kept``: the HTTP servers answer from the bytes of their first answer."""
    node = RealNode.of_headers(data, first) if {"rest", "rpc", "esplora"} & set(wanted) \
        else None
    rpc_class = KeptRpcServer if kept else BitcoinRpcServer
    esplora_class = KeptEsploraServer if kept else EsploraServer
    with contextlib.ExitStack() as stack:
        makers: dict[str, ChainSourceMaker] = {}
        if "rest" in wanted:
            assert node is not None
            rest = stack.enter_context(rpc_class(node, rest=True))
            makers["rest"] = lambda: BitcoinCoreSource(rest.url_with_credentials())
        if "rpc" in wanted:
            assert node is not None
            rpc = stack.enter_context(rpc_class(node, rest=False))
            makers["rpc"] = lambda: BitcoinCoreSource(rpc.url_with_credentials())
        if "esplora" in wanted:
            assert node is not None
            esplora = stack.enter_context(esplora_class(node))
            makers["esplora"] = lambda: EsploraSource(esplora.url)
        if "electrum" in wanted:
            electrum_class = KeptElectrumServer if kept else ElectrumServer
            electrum = stack.enter_context(electrum_class(OffsetData(
                data, first, NETWORKS[Network.MAINNET].genesis_header)))
            makers["electrum"] = lambda: ElectrumSource(electrum.address)
        yield makers


ChainSourceMaker = Callable[[], ChainSource]


def timed_sync(make: ChainSourceMaker, folder: str, first: int,
               data: bytes) -> tuple[float, float]:
    """Seconds for one sync of the node's headers into a new file, and the CPU seconds
    of this (the client's) thread in it; the file checked."""
    path = os.path.join(folder, "headers.bin")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    source = make()
    started, cpu = time.perf_counter(), time.thread_time()
    result = sync_headers(path, source, start_height=first)
    took, cpu = time.perf_counter() - started, time.thread_time() - cpu
    with contextlib.suppress(Exception):
        source.close()  # type: ignore[attr-defined]
    count = len(data) // HEADER_SIZE
    if (result.first_height, result.tip_height, result.added) != (first, first + count - 1,
                                                                  count) \
            or Path(path).read_bytes() != data:
        raise SystemExit(f"{source.label}: the sync did not write the node's headers "
                         f"({result.describe()})")
    return took, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headers", type=int, default=100_000,
                        help="headers to validate and sync (default 100,000)")
    parser.add_argument("--sources", default=",".join(SOURCES),
                        help="comma-separated, of " + ", ".join(SOURCES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--min-ratio", type=float, default=MIN_RATIO)
    parser.add_argument("--servers", choices=SERVERS, default="precomputed",
                        help="precomputed (default): the HTTP servers answer from bytes "
                             "kept from an untimed first sync; live: they build each answer")
    args = parser.parse_args()
    wanted = [s.strip() for s in args.sources.split(",") if s.strip()]
    if not wanted or any(s not in SOURCES for s in wanted):
        parser.error(f"--sources: a comma-separated list of {', '.join(SOURCES)}")
    if args.repeat < 1:
        parser.error("--repeat: at least 1")

    whole = RUN.read_bytes()
    last_of_run = RUN_FIRST + len(whole) // HEADER_SIZE - 1
    cps = mainnet_checkpoints()
    first = next(cps.height_of_checkpoint(i) for i in range(len(cps))
                 if cps.height_of_checkpoint(i) >= RUN_FIRST)
    if not 2 <= args.headers <= last_of_run - first + 1:
        parser.error(f"--headers: 2 to {last_of_run - first + 1} (the run from the "
                     f"checkpoint at {first} to {last_of_run})")
    at = (first - RUN_FIRST) * HEADER_SIZE
    data = whole[at:at + args.headers * HEADER_SIZE]
    count = args.headers
    params = NETWORKS[Network.MAINNET]

    best_validate = float("inf")
    best: dict[str, tuple[float, float]] = dict.fromkeys(wanted, (float("inf"), 0.0))
    kept = args.servers == "precomputed"
    with servers(data, first, wanted, kept) as makers, \
            tempfile.TemporaryDirectory(prefix="sync-bench-") as folder:
        if kept:  # untimed: the servers keep each answer's bytes
            for name in wanted:
                if name != "electrum":
                    timed_sync(makers[name], folder, first, data)
        for _ in range(args.repeat):
            started = time.perf_counter()
            run = validate_run(data, first, params, cps)
            best_validate = min(best_validate, time.perf_counter() - started)
            for name in wanted:
                best[name] = min(best[name], timed_sync(makers[name], folder, first, data))
    assert run.count == count

    rate = count / best_validate
    print(f"headers: {count:,} real mainnet headers, heights {first:,}-{run.tip_height:,} "
          f"({run.retargets} retargets recomputed, {run.checkpoints_matched} checkpoints); "
          f"best of {args.repeat}")
    print(f"{'':24} {'headers/s':>10} {'seconds':>8} {'per 100,000':>11} {'ratio':>6}  "
          f"{'client CPU':>10}")
    print(f"{'validation (bare loop)':24} {rate:10,.0f} {best_validate:8.3f} "
          f"{100_000 / rate:10.2f}s {1:6.2f}")
    failed = []
    for name in wanted:
        took, cpu = best[name]
        sync_rate = count / took
        ratio = sync_rate / rate
        verdict = "met" if ratio >= args.min_ratio else "NOT met"
        if ratio < args.min_ratio:
            failed.append(name)
        print(f"{'sync ' + name:24} {sync_rate:10,.0f} {took:8.3f} {100_000 / sync_rate:10.2f}s "
              f"{ratio:6.2f}  {cpu:9.3f}s  {verdict} (>= {args.min_ratio}; {NAMES[name]})")
    print("client CPU: this thread's CPU time in the sync (the sync code, the source's "
          "client, the file); the rest of a sync's time is the loopback server answering")
    if kept:
        print("servers: precomputed (the servers send bytes kept from an untimed first "
              "sync: the figures are the client's and the loopback exchange's)")
    else:
        print("servers: live (the Python test servers build each answer, in this process)")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
