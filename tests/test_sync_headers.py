"""``--sync-headers PATH`` (issue 9): a local headers file built from one chain source,
validated as ``--headers`` validates, atomic, resumable, and following a reorg only to
a branch with more work. Against real JSON-RPC and Esplora servers on 127.0.0.1 fed by
generated regtest chains, and by real mainnet headers (tests/data/bitcoin/headers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import pytest
from bitcoin.core import CBlock, b2lx

from gen.chain import Chain, build_chain, coinbase, mine
from gen.chain_scenarios import unsolved_block
from gen.world import CHAIN_T0, world
from helpers.chainservers import BitcoinRpcServer, ChainData, EsploraServer
from helpers.common import REPO, SCENARIOS
from provelio_verify import Digest, Policy, verify
from provelio_verify.chain import BitcoinCoreSource, EsploraSource, HeadersFileSource
from provelio_verify.chain.sync import SyncResult, sync_headers
from provelio_verify.core.anchor.bitcoin import HEADER_SIZE, NETWORKS, Network
from provelio_verify.errors import HeadersSyncError, InputError
from provelio_verify.inputs.checkpoints import mainnet_checkpoints
from provelio_verify.net import HttpClient, HttpPolicy

REAL = REPO / "tests" / "data" / "bitcoin" / "headers" / "mainnet_headers_150001_340000.bin"
REAL_FIRST = 150_001


def client() -> HttpClient:
    return HttpClient(HttpPolicy(connect_timeout=2.0, read_timeout=5.0, retries=0,
                                 backoff=0.01, deadline=30.0))


def rpc_source(server: BitcoinRpcServer) -> BitcoinCoreSource:
    return BitcoinCoreSource(server.url_with_credentials(), client=client())


def chain_of(length: int, *, tag: bytes = b"sync", base: Chain | None = None,
             fork_at: int | None = None) -> Chain:
    return build_chain(length, start_time=CHAIN_T0, placements={}, fillers=0, tag=tag,
                       base=base, fork_at=fork_at)


@pytest.fixture(scope="module")
def long_chain() -> Chain:
    return chain_of(40)


def served(chain: Chain, upto: int | None = None) -> ChainData:
    blocks = chain.blocks if upto is None else chain.blocks[:upto + 1]
    return ChainData(list(blocks))


# --------------------------------------------------------------------------- building


@pytest.mark.parametrize("kind", ["bitcoin-core", "esplora"])
def test_a_new_file_holds_the_source_chain_and_verifies_offline(tmp_path, kind):
    """The world's anchored regtest chain, synced, then used offline: every anchor
    check PASSES from the file alone."""
    chain = world().anchoring.chain
    server_class = BitcoinRpcServer if kind == "bitcoin-core" else EsploraServer
    with server_class(ChainData.of(chain)) as server:
        source = rpc_source(server) if kind == "bitcoin-core" \
            else EsploraSource(server.url, client())
        result = sync_headers(tmp_path / "h.bin", source)
    assert (tmp_path / "h.bin").read_bytes() == chain.headers_file()
    assert (result.first_height, result.tip_height, result.added) == (0, 10, 11)
    assert result.complete and result.previous_tip is None and result.network == "regtest"
    assert result.tip_hash == b2lx(chain.blocks[-1].GetHash())
    report = verify(Digest(world().digest.hex()),
                    (SCENARIOS / "ok-confirmed-regtest" / "proof.json").read_bytes(),
                    policy=Policy(allow_test_mode=True),
                    sources=[HeadersFileSource(tmp_path / "h.bin")])
    checks = {c.id: c.indication.value for c in report.checks if c.id.startswith("anchor.")}
    assert set(checks.values()) == {"PASSED"}, checks


def test_an_existing_file_is_extended_from_its_tip_and_a_second_run_adds_nothing(
        tmp_path, long_chain):
    path = tmp_path / "h.bin"
    with BitcoinRpcServer(served(long_chain, 25)) as server:
        first = sync_headers(path, rpc_source(server))
    assert first.tip_height == 25
    with BitcoinRpcServer(served(long_chain)) as server:
        second = sync_headers(path, rpc_source(server))
        asked = list(server.requests)
        third = sync_headers(path, rpc_source(server))
    assert (second.previous_tip, second.added, second.tip_height) == (25, 15, 40)
    assert path.read_bytes() == long_chain.headers_file()
    # It asked for the new headers only: no getblockheader batch below height 26.
    assert not any("getblockheader" in r and b2lx(long_chain.blocks[25].GetHash()) in r
                   for r in asked)
    assert third.added == 0 and third.complete and path.read_bytes() == long_chain.headers_file()


def test_headers_come_in_json_rpc_batches(tmp_path, long_chain, monkeypatch):
    """Two requests per chunk (a getblockhash batch, a getblockheader batch), not two per
    header."""
    monkeypatch.setattr(BitcoinCoreSource, "HEADER_RUN_MAX", 8)
    with BitcoinRpcServer(served(long_chain), rest=False) as server:
        sync_headers(tmp_path / "h.bin", rpc_source(server))
        batches = [r for r in server.requests if r.startswith("batch ")]
    # 40 headers after genesis in chunks of 8: five chunks, two batches each.
    assert len(batches) == 10, server.requests
    assert (tmp_path / "h.bin").read_bytes() == long_chain.headers_file()


# --------------------------------------------------------------------------- REST


def test_rest_gives_the_file_the_batches_give_in_one_request(tmp_path, long_chain):
    """A node with -rest: the 40 headers after the genesis in one REST answer (and one
    getblockhash for its first block), no batch; the file is byte for byte the one
    the JSON-RPC batches build from a node without it."""
    with BitcoinRpcServer(served(long_chain), rest=True) as server:
        by_rest = sync_headers(tmp_path / "rest.bin", rpc_source(server))
        asked = list(server.requests)
    with BitcoinRpcServer(served(long_chain), rest=False) as server:
        by_rpc = sync_headers(tmp_path / "rpc.bin", rpc_source(server))
    assert (tmp_path / "rest.bin").read_bytes() == (tmp_path / "rpc.bin").read_bytes() \
        == long_chain.headers_file()
    assert by_rest.tip_height == by_rpc.tip_height == 40 and by_rest.complete
    rest = [r for r in asked if r.startswith("GET /rest/")]
    first = b2lx(long_chain.blocks[1].GetHash())
    assert rest == [f"GET /rest/headers/{first}.bin?count=40"], asked
    assert not any(r.startswith("batch ") for r in asked)
    assert by_rest.note == "" and "/rest/headers" not in by_rest.describe()


def test_a_node_without_rest_is_asked_once_then_in_batches(tmp_path, long_chain,
                                                           monkeypatch):
    """-rest off (Core's default): one 404, then JSON-RPC batches for the rest of the
    run, and the result says so without calling it a failure."""
    monkeypatch.setattr(BitcoinCoreSource, "HEADER_RUN_MAX", 8)
    with BitcoinRpcServer(served(long_chain), rest=False) as server:
        source = rpc_source(server)
        result = sync_headers(tmp_path / "h.bin", source)
        rest = server.rest_requests
        batches = [r for r in server.requests if r.startswith("batch ")]
    assert (tmp_path / "h.bin").read_bytes() == long_chain.headers_file() and result.complete
    assert len(rest) == 1 and len(batches) == 10, server.requests
    assert source.could_not_use == {
        "/rest/headers": "HTTP 404; headers asked in JSON-RPC batches"}
    assert result.note == ("the source did not serve /rest/headers (HTTP 404; headers "
                           "asked in JSON-RPC batches)")
    assert result.to_json()["note"] == result.note and result.note in result.describe()
    assert "fail" not in result.note and "error" not in result.note


def test_a_node_before_core_24_is_asked_in_the_older_path_form(tmp_path, long_chain,
                                                               monkeypatch):
    """Core before 24.0 answers /rest/headers/<hash>.bin?count= with 400: the source
    asks /rest/headers/<count>/<hash>.bin from then on, and uses no batch."""
    monkeypatch.setattr(BitcoinCoreSource, "HEADER_RUN_MAX", 16)
    with BitcoinRpcServer(served(long_chain), rest=True, rest_forms=("path",)) as server:
        source = rpc_source(server)
        result = sync_headers(tmp_path / "h.bin", source)
        rest = server.rest_requests
        asked = list(server.requests)
    assert (tmp_path / "h.bin").read_bytes() == long_chain.headers_file() and result.complete
    assert "?count=16" in rest[0] and all("?" not in r for r in rest[1:])
    assert [r.split("/")[3] for r in rest[1:]] == ["16", "16", "8"]
    assert not any(r.startswith("batch ") for r in asked) and source.could_not_use == {}


@pytest.mark.parametrize("lie, said", [
    ("wrong-start", "the first header hashes to"),
    ("unlinked", "does not link to the one before it"),
    ("truncated", "not 10 or fewer whole 80-byte headers"),
    ("overlong", "asked for 10 headers, it sent 880 bytes"),
])
def test_a_rest_answer_that_is_not_the_headers_asked_is_refused(tmp_path, long_chain,
                                                                lie, said):
    """A 200 answer is the node's word: not whole headers, more than asked, not from
    the block asked, or not linked, and the run stops as for a batch header that does
    not hash to its hash (SourceInvalid, exit 3); none of it reaches the file."""
    path = tmp_path / "h.bin"
    path.write_bytes(long_chain.headers_file(0, 30))
    with BitcoinRpcServer(served(long_chain), rest=True, rest_lie=lie) as server, \
            pytest.raises(HeadersSyncError) as caught:
        sync_headers(path, rpc_source(server))
    assert said in caught.value.reason and "/rest/headers" in caught.value.reason
    assert path.read_bytes() == long_chain.headers_file(0, 30)
    assert caught.value.result is not None and caught.value.result.added == 0
    assert not any(r.startswith("batch ") for r in server.requests)


def test_a_rest_answer_over_the_bound_is_cut_off_and_batches_answer(tmp_path, long_chain):
    """An answer longer than 2,000 headers and the slack is not read to its end: REST
    is off for the run, the batches give the headers, the result notes it."""
    with BitcoinRpcServer(served(long_chain), rest=True, rest_lie="huge") as server:
        result = sync_headers(tmp_path / "h.bin", rpc_source(server))
        rest = server.rest_requests
    assert (tmp_path / "h.bin").read_bytes() == long_chain.headers_file() and result.complete
    assert len(rest) == 1 and "over the limit" in result.note


def test_a_block_leaving_the_best_chain_between_hash_and_rest_is_asked_in_batches(
        tmp_path, long_chain, monkeypatch):
    """Core answers REST headers from a block no longer in its best chain with nothing:
    that run comes from the batches, and REST stays on for the next."""
    monkeypatch.setattr(BitcoinCoreSource, "HEADER_RUN_MAX", 20)
    with BitcoinRpcServer(served(long_chain), rest=True) as server:
        real = server.rest_headers
        calls: list[str] = []

        def once_empty(block_hash: str, count: int) -> bytes:
            calls.append(block_hash)
            return b"" if len(calls) == 1 else real(block_hash, count)

        server.rest_headers = once_empty  # type: ignore[method-assign]
        source = rpc_source(server)
        result = sync_headers(tmp_path / "h.bin", source)
        batches = [r for r in server.requests if r.startswith("batch ")]
    assert (tmp_path / "h.bin").read_bytes() == long_chain.headers_file() and result.complete
    assert len(calls) == 2 and len(batches) == 2 and source.could_not_use == {}


def test_real_mainnet_headers_come_in_bulk_over_rest(tmp_path):
    """100,000 real mainnet headers (151,199-251,198): 50 REST answers of at most
    2,000, each hashed and linked by the source, then validated by the sync, as the
    batches' are; the file is the real run."""
    node = real_node(151_000, 251_198)
    with BitcoinRpcServer(node, rest=True) as server:
        result = sync_headers(tmp_path / "h.bin", rpc_source(server), start_height=152_000)
        rest = server.rest_requests
        asked = list(server.requests)
    real = REAL.read_bytes()[(151_199 - REAL_FIRST) * 80:(251_199 - REAL_FIRST) * 80]
    assert (tmp_path / "h.bin").read_bytes() == real and result.added == 100_000
    assert len(rest) == 50 and not any(r.startswith("batch ") for r in asked)
    assert len(asked) < 120, len(asked)


def test_the_source_behind_the_file_is_not_a_failure(tmp_path, long_chain):
    path = tmp_path / "h.bin"
    path.write_bytes(long_chain.headers_file())
    with BitcoinRpcServer(served(long_chain, 30)) as server:
        result = sync_headers(path, rpc_source(server))
    assert result.added == 0 and result.tip_height == 40 and result.source_tip == 30
    assert path.read_bytes() == long_chain.headers_file()


# --------------------------------------------------------------------------- reorgs


@pytest.mark.parametrize("rest", [False, True])
def test_a_branch_with_more_work_replaces_the_file_above_the_fork(tmp_path, long_chain,
                                                                  rest):
    path = tmp_path / "h.bin"
    path.write_bytes(long_chain.headers_file(0, 30))
    heavier = chain_of(33, tag=b"fork", base=long_chain, fork_at=21)
    with BitcoinRpcServer(served(heavier), rest=rest) as server:
        result = sync_headers(path, rpc_source(server))
    assert path.read_bytes() == heavier.headers_file()
    assert result.rolled_back == 10 and result.added == 13 and result.tip_height == 33


def test_a_branch_with_less_work_is_refused_and_the_file_kept(tmp_path, long_chain):
    path = tmp_path / "h.bin"
    path.write_bytes(long_chain.headers_file(0, 30))
    lighter = chain_of(28, tag=b"fork", base=long_chain, fork_at=21)
    with BitcoinRpcServer(served(lighter)) as server, \
            pytest.raises(HeadersSyncError) as caught:
        sync_headers(path, rpc_source(server))
    assert "forks from the file's at height 20" in caught.value.reason
    assert "not more" in caught.value.reason
    assert path.read_bytes() == long_chain.headers_file(0, 30)
    assert caught.value.result is not None and caught.value.result.tip_height == 30


def test_an_equal_work_branch_is_refused_too(tmp_path, long_chain):
    """A tie keeps what the file has, as a node keeps the branch it saw first."""
    path = tmp_path / "h.bin"
    path.write_bytes(long_chain.headers_file(0, 30))
    same = chain_of(30, tag=b"fork", base=long_chain, fork_at=21)
    with BitcoinRpcServer(served(same)) as server, pytest.raises(HeadersSyncError):
        sync_headers(path, rpc_source(server))
    assert path.read_bytes() == long_chain.headers_file(0, 30)


# --------------------------------------------------------------------------- a lying source


def _with_unsolved_block(chain: Chain, at: int) -> Chain:
    """``chain`` up to ``at - 1``, then a block that misses its target, then valid
    blocks on it: hashes link, but the run breaks the proof-of-work rule at ``at``."""
    blocks: list[CBlock] = list(chain.blocks[:at])
    blocks.append(unsolved_block(blocks[-1].GetHash(), [coinbase(at, b"bad")],
                                 CHAIN_T0 + 600 * at))
    for height in range(at + 1, at + 6):
        blocks.append(mine(blocks[-1].GetHash(), [coinbase(height, b"bad")],
                           CHAIN_T0 + 600 * height))
    return Chain(blocks)


@pytest.mark.parametrize("rest", [False, True])
def test_headers_that_do_not_validate_are_not_written(tmp_path, long_chain, rest):
    """Validated as it goes: the file keeps the headers before the one that breaks a
    rule, and the run stops with exit 3's error (REST headers are validated as the
    batches' are)."""
    liar = _with_unsolved_block(long_chain, 17)
    path = tmp_path / "h.bin"
    with BitcoinRpcServer(served(liar), rest=rest) as server, \
            pytest.raises(HeadersSyncError) as caught:
        sync_headers(path, rpc_source(server))
    assert "do not validate" in caught.value.reason and "height 17" in caught.value.reason
    assert path.read_bytes() == long_chain.headers_file(0, 16)
    HeadersFileSource(path).run()


def test_a_file_that_does_not_validate_is_never_touched(tmp_path, long_chain):
    path = tmp_path / "h.bin"
    broken = bytearray(long_chain.headers_file(0, 20))
    broken[HEADER_SIZE * 7 + 5] ^= 1
    path.write_bytes(bytes(broken))
    with BitcoinRpcServer(served(long_chain)) as server, pytest.raises(InputError) as caught:
        sync_headers(path, rpc_source(server))
    assert "not a headers file that validates" in str(caught.value)
    assert path.read_bytes() == bytes(broken)


def test_a_file_of_another_network_is_refused(tmp_path, long_chain):
    path = tmp_path / "h.bin"
    path.write_bytes(REAL.read_bytes()[(151_199 - REAL_FIRST) * 80:(151_210 - REAL_FIRST) * 80])
    with BitcoinRpcServer(served(long_chain)) as server, pytest.raises(InputError) as caught:
        sync_headers(path, rpc_source(server))
    assert "holds mainnet headers" in str(caught.value) and "regtest" in str(caught.value)


# --------------------------------------------------------------------------- stops


def test_an_interrupted_sync_keeps_what_it_validated_and_resumes(tmp_path, long_chain,
                                                                 monkeypatch):
    monkeypatch.setattr(BitcoinCoreSource, "HEADER_RUN_MAX", 5)
    path = tmp_path / "h.bin"
    calls = []

    def stop_at_third(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with BitcoinRpcServer(served(long_chain)) as server:
        with pytest.raises(KeyboardInterrupt):
            sync_headers(path, rpc_source(server), progress=stop_at_third, commit_every=5)
        kept = path.read_bytes()
        assert len(kept) == HEADER_SIZE * 11  # genesis and two chunks of five
        HeadersFileSource(path).run()
        resumed = sync_headers(path, rpc_source(server))
    assert resumed.previous_tip == 10 and resumed.added == 30
    assert path.read_bytes() == long_chain.headers_file()


def test_a_failed_write_leaves_the_file_and_no_partial_file(tmp_path, long_chain,
                                                            monkeypatch):
    path = tmp_path / "h.bin"
    path.write_bytes(long_chain.headers_file(0, 20))

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with BitcoinRpcServer(served(long_chain)) as server, pytest.raises(InputError) as caught:
        sync_headers(path, rpc_source(server))
    assert "No space left on device" in str(caught.value)
    assert path.read_bytes() == long_chain.headers_file(0, 20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.bin"]


_KILLED_CHILD = """
import sys
from helpers.chainservers import BitcoinRpcServer, ChainData
from provelio_verify.chain import BitcoinCoreSource
from provelio_verify.chain.sync import sync_headers
from gen.chain import build_chain
from gen.world import CHAIN_T0
chain = build_chain(60, start_time=CHAIN_T0, placements={}, fillers=0, tag=b"sync")
BitcoinCoreSource.HEADER_RUN_MAX = 1
with BitcoinRpcServer(ChainData(list(chain.blocks))) as server:
    print("go", flush=True)
    sync_headers(sys.argv[1], BitcoinCoreSource(server.url_with_credentials()),
                 commit_every=1)
"""


def test_a_killed_sync_leaves_a_file_that_validates(tmp_path):
    """SIGKILL at an arbitrary moment (no handler runs): the file is the old one or a
    new one, never a torn one; what remains validates."""
    path = tmp_path / "h.bin"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO / "tests"), str(REPO / "tests" / "fixtures")])}
    for delay in (0.3, 0.6):
        child = subprocess.Popen([sys.executable, "-c", _KILLED_CHILD, str(path)], env=env,
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "go"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        if path.exists():
            run = HeadersFileSource(path).run()
            assert run.first_height == 0
    assert path.exists(), "the child wrote nothing before it was killed"


# --------------------------------------------------------------------------- mainnet


@dataclass
class OffsetChainData(ChainData):
    """Real mainnet headers from ``offset``: a node that has them (and no blocks)."""

    offset: int = 0

    @property
    def tip(self) -> int:
        return self.offset + len(self.best) - 1

    def hash_at(self, height: int) -> str | None:
        if height == 0 and self.genesis is not None:
            return self.genesis
        at = height - self.offset
        return b2lx(self.best[at].GetHash()) if 0 <= at < len(self.best) else None

    def find_block(self, block_hash: str) -> tuple[CBlock, int, bool] | None:
        if not hasattr(self, "_by_hash"):
            self._by_hash = {b2lx(b.GetHash()): i for i, b in enumerate(self.best)}
        at = self._by_hash.get(block_hash)
        return None if at is None else (self.best[at], self.offset + at, True)


def real_node(first: int, last: int) -> OffsetChainData:
    data = REAL.read_bytes()[(first - REAL_FIRST) * 80:(last + 1 - REAL_FIRST) * 80]
    blocks = [CBlock.deserialize(data[i:i + 80] + b"\x00") for i in range(0, len(data), 80)]
    return OffsetChainData(blocks, genesis=NETWORKS[Network.MAINNET].genesis_hash, offset=first)


@pytest.fixture(scope="module")
def mainnet_node() -> OffsetChainData:
    return real_node(151_000, 160_000)


def test_real_mainnet_headers_from_a_checkpoint(tmp_path, mainnet_node):
    """--sync-from 152,000 starts at the checkpoint below it (151,199) and takes the real
    headers to the node's tip, passing the checkpoints at 153,215, 155,231 and 157,247."""
    with BitcoinRpcServer(mainnet_node) as server:
        result = sync_headers(tmp_path / "h.bin", rpc_source(server), start_height=152_000)
    real = REAL.read_bytes()[(151_199 - REAL_FIRST) * 80:(160_001 - REAL_FIRST) * 80]
    assert (tmp_path / "h.bin").read_bytes() == real
    assert (result.first_height, result.tip_height, result.network) == (151_199, 160_000,
                                                                          "mainnet")
    run = HeadersFileSource(tmp_path / "h.bin").run()
    assert run.checkpoints_matched == 5  # 151,199 153,215 155,231 157,247 159,263


def test_a_new_mainnet_file_needs_a_source_holding_the_last_checkpoint(tmp_path,
                                                                      mainnet_node):
    """By default a file starts at the last shipped checkpoint: a source that does not
    have it stops the run, and nothing is written."""
    last = mainnet_checkpoints().last_height
    with BitcoinRpcServer(mainnet_node) as server, pytest.raises(HeadersSyncError) as caught:
        sync_headers(tmp_path / "h.bin", rpc_source(server))
    assert mainnet_checkpoints().hash_at(last) in caught.value.reason
    assert caught.value.result is None and not (tmp_path / "h.bin").exists()


def test_sync_from_below_the_first_checkpoint_is_refused(tmp_path, mainnet_node):
    with BitcoinRpcServer(mainnet_node) as server, pytest.raises(InputError):
        sync_headers(tmp_path / "h.bin", rpc_source(server), start_height=100)


# --------------------------------------------------------------------------- the command


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "provelio_verify", *args],
                          capture_output=True, text=True, timeout=120)


def test_the_sync_progress_is_the_batch_progress_line_on_a_terminal_only(tmp_path,
                                                                         long_chain):
    """Issue 10, item 7: one progress implementation, drawn only where it can erase a
    line (not under TERM=dumb, not to a file)."""
    from helpers.common import run_on_terminal

    with BitcoinRpcServer(served(long_chain)) as server:
        drawn = run_on_terminal(["--sync-headers", str(tmp_path / "a.bin"), "--bitcoin-node",
                                 server.url_with_credentials()], tmp_path, stream="stderr",
                                env={**os.environ, "TERM": "xterm", "NO_COLOR": "1"})
        dumb = run_on_terminal(["--sync-headers", str(tmp_path / "b.bin"), "--bitcoin-node",
                                server.url_with_credentials()], tmp_path, stream="stderr",
                               env={**os.environ, "TERM": "dumb", "NO_COLOR": "1"})
        to_file = cli("--sync-headers", str(tmp_path / "c.bin"), "--bitcoin-node",
                      server.url_with_credentials())
    assert "\r\x1b[Kheaders  100.0%  40/40" in drawn, drawn
    assert "\x1b[K" not in dumb and "headers  " not in dumb
    assert to_file.returncode == 0 and "\x1b" not in to_file.stderr


def test_the_command_writes_the_file_and_says_what_it_wrote(tmp_path, long_chain):
    path = tmp_path / "h.bin"
    with BitcoinRpcServer(served(long_chain)) as server:
        proc = cli("--sync-headers", str(path), "--bitcoin-node", server.url_with_credentials())
        as_json = cli("--sync-headers", str(path), "--bitcoin-node",
                      server.url_with_credentials(), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "heights 0–40" in proc.stdout and b2lx(long_chain.blocks[-1].GetHash()) in proc.stdout
    assert f"--headers {path}" in proc.stdout and "chain work" in proc.stdout
    assert server.password not in proc.stdout + proc.stderr
    written = json.loads(as_json.stdout)["written"]
    assert as_json.returncode == 0 and written["added"] == 0 and written["tipHeight"] == 40
    assert path.read_bytes() == long_chain.headers_file()


def test_the_command_exits_3_when_it_stops_short(tmp_path, long_chain):
    path = tmp_path / "h.bin"
    path.write_bytes(long_chain.headers_file(0, 30))
    lighter = chain_of(28, tag=b"fork", base=long_chain, fork_at=21)
    with BitcoinRpcServer(served(lighter)) as server:
        proc = cli("--sync-headers", str(path), "--bitcoin-node", server.url_with_credentials())
    assert proc.returncode == 3
    assert "sync stopped" in proc.stderr and "heights 0–30" in proc.stdout


def test_an_unreachable_source_exits_3(tmp_path):
    proc = cli("--sync-headers", str(tmp_path / "h.bin"), "--esplora", "http://127.0.0.1:9")
    assert proc.returncode == 3 and "sync stopped" in proc.stderr
    assert not (tmp_path / "h.bin").exists()


@pytest.mark.parametrize("args, said", [
    ([], "exactly one chain source"),
    (["--esplora", "http://127.0.0.1:9", "--esplora", "http://127.0.0.1:8"],
     "exactly one chain source"),
    (["--esplora", "http://127.0.0.1:9", "doc.pdf", "proof.json"], "FILE PROOF"),
    (["--esplora", "http://127.0.0.1:9", "--headers", "x.bin"], "--headers"),
    (["--esplora", "http://127.0.0.1:9", "--tsa-roots", "r.pem"], "--tsa-roots"),
    (["--rpc-cookie", "c", "--esplora", "http://127.0.0.1:9"], "--rpc-cookie"),
])
def test_usage_errors(tmp_path, args, said):
    proc = cli("--sync-headers", str(tmp_path / "h.bin"), *args)
    assert proc.returncode == 2 and said in proc.stderr, proc.stderr
    assert not (tmp_path / "h.bin").exists()


def test_sync_from_alone_is_a_usage_error():
    proc = cli("--sync-from", "5", "--digest", "00" * 32, "proof.json")
    assert proc.returncode == 2 and "only with --sync-headers" in proc.stderr


def test_a_path_that_is_not_a_headers_file_is_a_usage_error_and_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    proc = cli("--sync-headers", str(path), "--esplora", "http://127.0.0.1:9")
    assert proc.returncode == 2 and "not a headers file that validates" in proc.stderr
    assert path.read_text() == "my notes\n"


def test_result_json_is_plain_data():
    result = SyncResult("h.bin", "src", "regtest", 0, 1, "ab" * 32, None, 2, 0, 1, True, 4)
    data: dict[str, Any] = result.to_json()
    assert json.loads(json.dumps(data)) == data and data["chainWork"] == "0x4"


def test_a_symlinked_path_updates_its_target(tmp_path, long_chain):
    real = tmp_path / "real.bin"
    real.write_bytes(long_chain.headers_file(0, 10))
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    with BitcoinRpcServer(served(long_chain)) as server:
        sync_headers(link, rpc_source(server))
    assert link.is_symlink() and real.read_bytes() == long_chain.headers_file()



# --------------------------------------------------------------------------- Electrum


def test_sync_from_an_electrum_server_over_tls(tmp_path, long_chain):
    """--sync-headers with --electrum ssl://… and a pinned self-signed certificate:
    headers come in blockchain.block.headers chunks, then verify offline."""
    from helpers.electrumserver import ElectrumServer

    path = tmp_path / "h.bin"
    with ElectrumServer(served(long_chain), tls_dir=tmp_path) as server:
        proc = cli("--sync-headers", str(path), "--electrum", server.address,
                   "--electrum-cafile", str(server.cert), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["written"]["tipHeight"] == 40
    assert path.read_bytes() == long_chain.headers_file()


def test_an_unpinned_self_signed_electrum_server_is_refused(tmp_path, long_chain):
    from helpers.electrumserver import ElectrumServer

    with ElectrumServer(served(long_chain), tls_dir=tmp_path) as server:
        proc = cli("--sync-headers", str(tmp_path / "h.bin"), "--electrum", server.address)
    assert proc.returncode == 3 and "certificate" in proc.stderr.lower()
    assert not (tmp_path / "h.bin").exists()


def test_electrum_cafile_needs_electrum(tmp_path):
    pem = tmp_path / "c.pem"
    pem.write_text("x")
    proc = cli("--digest", "00" * 32, str(SCENARIOS / "ok-created" / "proof.json"),
               "--electrum-cafile", str(pem))
    assert proc.returncode == 2 and "--electrum-cafile goes with --electrum" in proc.stderr
