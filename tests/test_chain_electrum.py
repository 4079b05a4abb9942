"""The Electrum-protocol chain source (issue 9) against a real line-delimited JSON-RPC
server on 127.0.0.1 (TCP and TLS), fed by the generated regtest chain (anchor at
height 3 of 10), a longer generated chain and real mainnet headers."""

from __future__ import annotations

import json
import pickle
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gen.chain import build_chain
from gen.chain_scenarios import reorg_chain
from gen.world import CHAIN_T0, world
from helpers.chainservers import ChainData, Knobs
from helpers.common import REPO, SCENARIOS
from helpers.electrumserver import ElectrumKnobs, ElectrumServer, OffsetData, free_port
from provelio_verify import Digest, Indication, Policy, SubIndication, verify
from provelio_verify.chain import ElectrumSource, HeadersFileSource, from_options
from provelio_verify.chain.sync import sync_headers
from provelio_verify.core.anchor.bitcoin import NETWORKS, BlockHeader, Network, dsha256
from provelio_verify.core.anchor.transaction import check_inclusion
from provelio_verify.errors import HeadersSyncError, SourceInvalid, SourceUnavailable
from provelio_verify.net import network_budget
from provelio_verify.net.electrum import parse_address

TXID = "5aaf2d54b40c16d261c22cd606ffc9821f857eb1fa68f95c60284a40c4bb062f"
REAL = REPO / "tests" / "data" / "bitcoin" / "headers" / "mainnet_headers_150001_340000.bin"
REAL_FIRST = 150_001
ALL_PASSED = {c: "PASSED" for c in ("anchor.merkle-path", "anchor.transaction",
                                    "anchor.op-return", "anchor.inclusion",
                                    "anchor.proof-of-work", "anchor.chain")}


def bundle(name: str = "ok-confirmed-regtest") -> bytes:
    return (SCENARIOS / name / "proof.json").read_bytes()


def run(sources: list[Any], proof: bytes | None = None, min_conf: int = 6):
    policy = Policy(allow_test_mode=True, min_confirmations=min_conf)
    return verify(Digest(world().digest.hex()), proof or bundle(), policy=policy,
                  sources=sources)


def main_chain() -> ChainData:
    return ChainData.of(world().anchoring.chain)


def source(server: ElectrumServer, **kw: Any) -> ElectrumSource:
    if server.cert is not None:
        kw.setdefault("cafile", str(server.cert))
    kw.setdefault("timeout", 2.0)
    return ElectrumSource(server.address, **kw)


def anchor_indications(report) -> dict[str, str]:
    return {c.id: c.indication.value for c in report.checks if c.id.startswith("anchor.")}


def chain_check(report) -> tuple[Indication, SubIndication | None, str]:
    check = report.check("anchor.chain")
    return check.indication, check.sub_indication, check.message


def methods(server: ElectrumServer) -> set[str]:
    return {r.split()[0] for r in server.requests}


# --------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(("address", "expected"), [
    ("electrum.example:50001", ("electrum.example", 50001, False)),
    ("ssl://electrum.example:50002", ("electrum.example", 50002, True)),
    ("ssl://[::1]:50002", ("::1", 50002, True)),
])
def test_addresses_name_host_port_and_transport(address, expected):
    assert parse_address(address) == expected


@pytest.mark.parametrize("address", ["electrum.example", "tcp://h:50001", "h:0", "h:70000",
                                     "ssl://h:50002/path", "http://h:50001", ":50001"])
def test_other_addresses_are_refused(address):
    with pytest.raises(ValueError, match="HOST:PORT"):
        ElectrumSource(address)


def test_a_certificate_for_plain_tcp_is_refused(tmp_path):
    with pytest.raises(ValueError, match="needs ssl://"):
        ElectrumSource("127.0.0.1:50001", cafile=str(tmp_path / "c.pem"))


def test_plain_tcp_says_it_is_unauthenticated():
    tcp = ElectrumSource("127.0.0.1:50001")
    assert "unauthenticated" in tcp.label and "unauthenticated" in tcp.describe()["transport"]
    tls = ElectrumSource("ssl://127.0.0.1:50002")
    assert "unauthenticated" not in tls.label
    assert tls.describe()["transport"] == "tls, certificate checked against the system's roots"


def test_from_options_puts_electrum_after_the_explorers(tmp_path):
    cert = str(tmp_path / "pinned.pem")
    sources = from_options(esplora=["http://127.0.0.1:1/api"],
                           electrum=["127.0.0.1:50001", "ssl://127.0.0.1:50002"],
                           electrum_cafile=cert)
    assert [s.kind for s in sources] == ["esplora", "electrum", "electrum"]
    assert sources[2].describe()["transport"] == f"tls, certificate pinned by {cert}"
    assert "transport" in sources[1].describe() and "unauth" in sources[1].label


# --------------------------------------------------------------------------- questions


def test_every_question_is_answered_and_checked():
    chain = world().anchoring.chain
    block = world().anchoring.block
    block_hash = block.GetHash()[::-1].hex()
    with ElectrumServer(main_chain()) as server:
        s = source(server)
        assert s.genesis_hash() == NETWORKS[Network.REGTEST].genesis_hash
        assert s.tip_height() == 10
        assert s.block_hash(3) == block_hash
        assert s.block_hash(11) is None  # beyond the tip
        header = s.header(block_hash)  # its height was learned from blockHash(3)
        assert dsha256(header)[::-1].hex() == block_hash
        status = s.block_status(block_hash)
        assert status is not None and (status.in_best_chain, status.height) == (True, 3)
        raw = s.transaction(TXID, block_hash)
        assert dsha256(raw)[::-1].hex() == TXID
        proof = s.merkle_proof(TXID, block_hash, 3)
        # The branch is display order, as the verifier folds the other sources' ones.
        facts = check_inclusion(BlockHeader.parse(header), bytes.fromhex(block_hash),
                                bytes.fromhex(TXID), proof.tx_index, proof.branch)
        assert facts["txIndex"] == proof.tx_index == world().anchoring.tx_index
        assert s.describe()["server"] == "TestElectrum 1.0"
    assert len(chain.blocks) == 11
    assert server.connections == 1  # one connection, reused
    assert server.requests[0] == 'server.version ["provelio-verify 0.1.0", "1.4"]'
    assert not any("cp_height" in r or r.endswith(", 0]") for r in server.requests
                   if r.startswith("blockchain.block.header "))


def test_a_header_by_hash_of_a_block_at_no_learned_height_says_what_electrum_cannot():
    block_hash = world().anchoring.block.GetHash()[::-1].hex()
    with ElectrumServer(main_chain()) as server:
        s = source(server)
        with pytest.raises(SourceUnavailable, match="serves headers by height only"):
            s.header(block_hash)
        assert s.block_status(block_hash) is None  # no lookup by hash: not known
        s.tip_height()  # the tip's header teaches its height
        tip_hash = main_chain().hash_at(10)
        assert tip_hash is not None and s.block_status(tip_hash).height == 10


def test_a_full_verification_passes_with_only_an_electrum_source():
    with ElectrumServer(main_chain()) as server:
        report = run([source(server)])
    assert anchor_indications(report) == ALL_PASSED
    check = report.check("anchor.chain")
    assert check.details["confirmations"] == 8
    assert check.details["sources"][0]["verifiedHeaders"] == 6
    # Header and branch in the bundle: nothing names the transaction.
    assert methods(server) == {"server.version", "blockchain.block.header",
                               "blockchain.headers.subscribe"}
    assert not any(TXID in r for r in server.requests)


def test_electrum_supplies_the_transaction_and_the_branch():
    with ElectrumServer(main_chain()) as server:
        s = source(server)
        no_hex = run([s], proof=bundle("anchor-without-tx-hex-offline"))
    assert anchor_indications(no_hex) == ALL_PASSED
    assert f"supplied by {s.label}" in no_hex.check("anchor.transaction").message


def test_without_the_header_group_electrum_alone_supplies_header_and_branch():
    # The verifier asks the claimed height before the header: an Electrum server,
    # which finds headers by height only, can then supply both.
    with ElectrumServer(main_chain()) as server:
        report = run([source(server)], proof=bundle("anchor-without-header-offline"))
    assert anchor_indications(report) == ALL_PASSED
    assert report.check("anchor.inclusion").details["suppliedBy"].startswith("electrum ")
    assert any(r.startswith("blockchain.transaction.get_merkle") for r in server.requests)


def test_a_wrong_claimed_height_gets_no_header_from_electrum():
    # The height is only where to look: the header found there is hashed against the
    # bundle's block hash, and one that does not match is not believed.
    proof = json.loads(bundle("anchor-without-header-offline"))
    proof["anchor"]["block"]["height"] -= 1
    with ElectrumServer(main_chain()) as server:
        report = run([source(server)], proof=json.dumps(proof).encode())
    inclusion = report.check("anchor.inclusion")
    assert (inclusion.indication, inclusion.sub_indication) == (Indication.INDETERMINATE,
                                                                SubIndication.TRY_LATER)
    assert "serves headers by height only" in inclusion.message
    assert report.indication is not Indication.PASSED


# --------------------------------------------------------------------------- the chain


def test_a_reorg_puts_another_block_at_the_height_and_fails():
    data = ChainData.of(world().anchoring.chain, stale=reorg_chain(), fork_at=3)
    with ElectrumServer(data) as server:
        report = run([source(server)], proof=bundle("anchor-reorged"))
    # Electrum has no lookup by hash: the bundle's block is one it does not know.
    assert "does not know the bundle's block" in chain_check(report)[2]
    assert chain_check(report)[:2] == (Indication.FAILED, SubIndication.NOT_IN_BEST_CHAIN)
    assert report.indication is Indication.FAILED


def test_too_few_confirmations_are_counted():
    with ElectrumServer(main_chain()) as server:
        report = run([source(server)], min_conf=9)
    indication, sub, message = chain_check(report)
    assert sub is SubIndication.INSUFFICIENT_CONFIRMATIONS and "8 confirmation(s)" in message


# --------------------------------------------------------------------------- misbehaviour


def test_a_header_that_does_not_hash_to_the_asked_hash_makes_the_source_invalid():
    eknobs = ElectrumKnobs(changes_its_mind=True)
    with ElectrumServer(main_chain(), eknobs=eknobs) as server:
        s = source(server)
        at = s.block_hash(4)  # hashed here from the header it gives at height 4
        with pytest.raises(SourceInvalid, match="not to the block asked for"):
            s.header(str(at))  # asked at height 4 again, it gives block 3's header
    with ElectrumServer(main_chain(), eknobs=eknobs) as server:
        report = run([source(server)])
    indication, sub, message = chain_check(report)
    assert (indication, sub) == (Indication.INDETERMINATE, SubIndication.TRY_LATER)
    assert report.check("anchor.chain").details["sources"][0]["state"] == "invalid"
    assert "hashes to" in message and "not to the block asked for" in message
    assert report.indication is not Indication.PASSED


def test_a_consistent_lie_about_heights_is_what_a_second_source_settles():
    """A server that shifts its whole chain by one (block 2's header at height 3, and so
    on up) says another block is at the anchor's height, with linked headers of real
    work: alone it FAILS the bundle, as any source putting another block there does
    (contract section 4); beside an honest source the two disagree."""
    with ElectrumServer(main_chain(), Knobs(wrong_header=True)) as liar, \
            ElectrumServer(main_chain()) as honest:
        alone = run([source(liar)])
        both = run([source(liar), source(honest)])
    assert chain_check(alone)[:2] == (Indication.FAILED, SubIndication.NOT_IN_BEST_CHAIN)
    assert chain_check(both)[:2] == (Indication.INDETERMINATE,
                                     SubIndication.SOURCES_DISAGREE)


def test_a_lying_tip_cannot_show_the_headers():
    with ElectrumServer(main_chain(), Knobs(tip=1000)) as server:
        report = run([source(server)], min_conf=9)
    indication, sub, message = chain_check(report)
    assert (indication, sub) == (Indication.INDETERMINATE, SubIndication.TRY_LATER)
    # Asked for height 11, below the tip it claims, it can only refuse.
    assert "blockchain.block.header 11" in message and "tip is at height 1000" in message


def test_an_oversized_line_is_invalid_not_memory():
    with ElectrumServer(main_chain(), Knobs(huge=5_000_000)) as server:
        s = source(server)
        with pytest.raises(SourceInvalid, match="over the limit of 65536 bytes"):
            s.tip_height()
        report = run([source(server)])
    assert chain_check(report)[:2] == (Indication.INDETERMINATE, SubIndication.TRY_LATER)


@pytest.mark.parametrize("garbage", [b"this is not json", b'{"id": 1, "result": [[[',
                                     b'{"jsonrpc": "2.0", "id": 2, "result": 1' + b"0" * 50
                                     + b"}"])
def test_garbage_is_invalid(garbage):
    with ElectrumServer(main_chain(), eknobs=ElectrumKnobs(garbage=garbage)) as server:
        with pytest.raises(SourceInvalid, match="not JSON this verifier reads"):
            source(server).tip_height()
        report = run([source(server)])
    assert chain_check(report)[:2] == (Indication.INDETERMINATE, SubIndication.TRY_LATER)
    assert report.check("anchor.chain").details["sources"][0]["state"] == "invalid"


def test_an_answer_to_another_request_is_invalid():
    with ElectrumServer(main_chain(), eknobs=ElectrumKnobs(wrong_id=True)) as server, \
            pytest.raises(SourceInvalid, match="not a JSON-RPC response to request 2"):
        source(server).tip_height()


def test_notifications_between_answers_are_skipped():
    with ElectrumServer(main_chain(), eknobs=ElectrumKnobs(notify=True)) as server:
        report = run([source(server)])
    assert anchor_indications(report) == ALL_PASSED


def test_error_replies_are_unavailable_with_the_servers_words():
    knobs = ElectrumKnobs(errors={"blockchain.headers.subscribe"})
    with ElectrumServer(main_chain(), eknobs=knobs) as server:
        with pytest.raises(SourceUnavailable, match="daemon error in blockchain.headers"):
            source(server).tip_height()
        report = run([source(server)])
    indication, sub, message = chain_check(report)
    assert (indication, sub) == (Indication.INDETERMINATE, SubIndication.TRY_LATER)
    assert report.check("anchor.chain").details["sources"][0]["state"] == "unreachable"


def test_an_error_at_a_height_below_the_tip_is_not_a_missing_block():
    knobs = ElectrumKnobs(errors={"blockchain.block.header"})
    with ElectrumServer(main_chain(), eknobs=knobs) as server, \
            pytest.raises(SourceUnavailable, match="though its tip is at height 10"):
        source(server).block_hash(3)


def test_a_server_without_server_version_is_refused():
    with ElectrumServer(main_chain(), eknobs=ElectrumKnobs(no_version=True)) as server:
        with pytest.raises(SourceUnavailable, match="server.version .* answered error"):
            source(server).genesis_hash()
        report = run([source(server)])
    assert chain_check(report)[:2] == (Indication.INDETERMINATE, SubIndication.TRY_LATER)
    assert methods(server) == {"server.version"}  # nothing asked of a server so refused


def test_a_server_negotiating_another_protocol_is_refused():
    with ElectrumServer(main_chain(), eknobs=ElectrumKnobs(protocol="1.2")) as server, \
            pytest.raises(SourceUnavailable, match="negotiated protocol '1.2', not the 1.4"):
        source(server).genesis_hash()


def test_a_slow_server_times_out():
    with ElectrumServer(main_chain(), Knobs(delay=1.0)) as server:
        with pytest.raises(SourceUnavailable, match="timed out after 0.3 s"):
            source(server, timeout=0.3).genesis_hash()
        report = run([source(server, timeout=0.3)])
    indication, sub, message = chain_check(report)
    assert sub is SubIndication.TRY_LATER and "timed out" in message


def test_nothing_listening_is_unavailable():
    s = ElectrumSource(f"127.0.0.1:{free_port()}", timeout=1.0)
    with pytest.raises(SourceUnavailable, match="cannot connect"):
        s.tip_height()
    assert chain_check(run([s]))[:2] == (Indication.INDETERMINATE, SubIndication.TRY_LATER)


def test_a_server_on_another_network_counts_as_unreachable():
    mainnet = NETWORKS[Network.MAINNET].genesis_header
    data = OffsetData(b"", 1, mainnet)
    with ElectrumServer(data) as server:
        report = run([source(server)])
    assert report.check("anchor.chain").details["sources"][0]["state"] == "wrong-network"


def test_a_proof_placing_the_transaction_at_another_height_is_not_used(tmp_path):
    headers = tmp_path / "headers.bin"
    headers.write_bytes(world().anchoring.chain.headers_file())
    knobs = ElectrumKnobs(merkle_height=4)
    with ElectrumServer(main_chain(), eknobs=knobs) as server:
        report = run([HeadersFileSource(headers), source(server)],
                     proof=bundle("anchor-without-header-offline"))
    inclusion = report.check("anchor.inclusion")
    assert inclusion.sub_indication is SubIndication.TRY_LATER
    assert "at height 4, not at height 3" in inclusion.message


def test_a_branch_that_does_not_fold_is_the_sources_fault(tmp_path):
    headers = tmp_path / "headers.bin"
    headers.write_bytes(world().anchoring.chain.headers_file())
    with ElectrumServer(main_chain(), Knobs(wrong_position=True)) as server:
        report = run([HeadersFileSource(headers), source(server)],
                     proof=bundle("anchor-without-header-offline"))
    inclusion = report.check("anchor.inclusion")
    assert (inclusion.indication, inclusion.sub_indication) == (Indication.INDETERMINATE,
                                                                SubIndication.TRY_LATER)
    assert report.indication is not Indication.FAILED


def test_another_transaction_is_refused():
    with ElectrumServer(main_chain(), Knobs(wrong_tx=True)) as server:
        report = run([source(server)], proof=bundle("anchor-without-tx-hex-offline"))
    tx = report.check("anchor.transaction")
    assert tx.sub_indication is SubIndication.TRY_LATER and f"not to {TXID}" in tx.message


# --------------------------------------------------------------------------- TLS


def test_tls_with_the_pinned_certificate_passes(tmp_path):
    with ElectrumServer(main_chain(), tls_dir=tmp_path) as server:
        s = source(server)
        report = run([s])
    assert anchor_indications(report) == ALL_PASSED
    assert s.label == f"electrum ssl://127.0.0.1:{server.port}"
    assert s.describe()["transport"].startswith("tls, certificate pinned by")


def test_tls_with_an_unknown_certificate_is_refused(tmp_path):
    from helpers.electrumserver import make_certificate

    other, _ = make_certificate(tmp_path / "other", "other")
    with ElectrumServer(main_chain(), tls_dir=tmp_path) as server:
        system = ElectrumSource(server.address, timeout=2.0)
        with pytest.raises(SourceUnavailable, match="TLS certificate refused .*system's roots"):
            system.tip_height()
        wrong_pin = ElectrumSource(server.address, cafile=str(other), timeout=2.0)
        with pytest.raises(SourceUnavailable, match="TLS certificate refused"):
            wrong_pin.tip_height()
        report = run([ElectrumSource(server.address, timeout=2.0)])
    assert chain_check(report)[:2] == (Indication.INDETERMINATE, SubIndication.TRY_LATER)
    assert server.requests == []  # nothing was asked over a connection not trusted


def test_tls_to_a_plain_server_fails_cleanly():
    with ElectrumServer(main_chain()) as server:
        s = ElectrumSource(f"ssl://127.0.0.1:{server.port}", timeout=1.0)
        with pytest.raises(SourceUnavailable, match="TLS|closed|timed out"):
            s.tip_height()


# --------------------------------------------------------------------------- header runs


@pytest.fixture(scope="module")
def long_chain():
    return build_chain(40, start_time=CHAIN_T0, placements={}, fillers=0, tag=b"electrum")


def test_header_run_comes_in_chunks_of_the_servers_max(long_chain):
    with ElectrumServer(ChainData(list(long_chain.blocks)),
                        eknobs=ElectrumKnobs(chunk_max=16)) as server:
        s = source(server)
        run_bytes = s.header_run(0, 2016)
        assert s.header_run(38, 10) == long_chain.headers_file()[38 * 80:]
    assert run_bytes == long_chain.headers_file()
    asked = [r for r in server.requests if r.startswith("blockchain.block.headers")]
    assert asked[:3] == ["blockchain.block.headers [0, 2016]",
                         "blockchain.block.headers [16, 2000]",
                         "blockchain.block.headers [32, 1984]"]
    assert s.answers() == []  # runs are neither cached nor recorded


def test_a_sync_from_electrum_validates_and_verifies_offline(tmp_path, long_chain):
    path = tmp_path / "h.bin"
    with ElectrumServer(ChainData(list(long_chain.blocks))) as server:
        result = sync_headers(path, source(server))
    assert path.read_bytes() == long_chain.headers_file()
    assert result.tip_height == 40


def test_a_lying_chunk_is_not_written(tmp_path, long_chain):
    path = tmp_path / "h.bin"
    knobs = ElectrumKnobs(lying_chunk_at=20)
    with ElectrumServer(ChainData(list(long_chain.blocks)), eknobs=knobs) as server, \
            pytest.raises(HeadersSyncError, match="do not validate"):
        sync_headers(path, source(server))
    assert not path.exists() or len(path.read_bytes()) <= 20 * 80


def test_a_chunk_whose_hex_and_count_disagree_is_invalid(long_chain):
    class Short(ElectrumServer):
        def rpc_blockchain_block_headers(self, start: int, count: int, cp: int = 0):
            answer = super().rpc_blockchain_block_headers(start, count)
            return {**answer, "count": answer["count"] + 1}

    with Short(ChainData(list(long_chain.blocks))) as server, \
            pytest.raises(SourceInvalid, match="not the 42 headers"):
        source(server).header_run(0, 2016)


def test_real_mainnet_headers_from_a_checkpoint(tmp_path):
    """Real headers 151,000-160,000 served by height; a sync from 152,000 starts at the
    checkpoint at 151,199 and passes four more."""
    real = REAL.read_bytes()
    data = OffsetData(real[(151_000 - REAL_FIRST) * 80:(160_001 - REAL_FIRST) * 80],
                      151_000, NETWORKS[Network.MAINNET].genesis_header)
    with ElectrumServer(data) as server:
        s = source(server)
        assert s.genesis_hash() == NETWORKS[Network.MAINNET].genesis_hash
        assert s.tip_height() == 160_000
        at = s.block_hash(153_215)
        assert at == dsha256(real[(153_215 - REAL_FIRST) * 80:][:80])[::-1].hex()
        result = sync_headers(tmp_path / "h.bin", s, start_height=152_000)
    assert (tmp_path / "h.bin").read_bytes() == \
        real[(151_199 - REAL_FIRST) * 80:(160_001 - REAL_FIRST) * 80]
    assert (result.first_height, result.tip_height) == (151_199, 160_000)
    assert HeadersFileSource(tmp_path / "h.bin").run().checkpoints_matched == 5


# --------------------------------------------------------------------------- sharing


def test_threads_share_one_source_and_a_pickled_copy_reconnects():
    with ElectrumServer(main_chain()) as server:
        s = source(server)
        with ThreadPoolExecutor(max_workers=4) as pool:
            reports = list(pool.map(lambda _: run([s]), range(6)))
        s.close()
        copy = pickle.loads(pickle.dumps(s))
        fresh = ElectrumSource(server.address, timeout=2.0)
        again = run([pickle.loads(pickle.dumps(fresh))])
        assert copy.tip_height() == 10  # the cache came along: nothing asked again
    assert all(anchor_indications(r) == ALL_PASSED for r in reports)
    assert anchor_indications(again) == ALL_PASSED
    assert server.connections == 2  # the shared source's one, and the copy's


def test_concurrent_calls_never_interleave():
    with ElectrumServer(main_chain()) as server:
        s = source(server)
        barrier = threading.Barrier(8)

        def ask(height: int) -> str | None:
            barrier.wait()
            return s.fresh_block_hash(height)

        with ThreadPoolExecutor(max_workers=8) as pool:
            got = list(pool.map(ask, range(8)))
    assert got == [main_chain().hash_at(h) for h in range(8)]
    assert server.connections == 1


def test_a_connection_closed_by_the_server_is_reopened():
    with ElectrumServer(main_chain()) as server:
        s = source(server)
        assert s.fresh_tip_height() == 10
        s._client._sock.shutdown(socket.SHUT_RDWR)  # the server's side sees it closed
        with pytest.raises(SourceUnavailable):
            s.fresh_tip_height()
        assert s.fresh_tip_height() == 10
    assert server.connections == 2


# --------------------------------------------------------------------------- time


def test_a_server_dripping_its_answer_is_cut_off_at_the_deadline():
    class Dripping(ElectrumServer):
        """Answers server.version at once, then every answer a byte each 0.1 s: each
        read arrives within any per-read timeout; only a deadline ends it."""

        def _serve(self, handler) -> None:
            write, written = handler.wfile.write, []

            def slow(data: bytes) -> int:
                written.append(data)
                if len(written) == 1:
                    return write(data)
                for i in range(len(data)):
                    write(data[i:i + 1])
                    handler.wfile.flush()
                    time.sleep(0.1)
                return len(data)

            handler.wfile.write = slow
            super()._serve(handler)

    with Dripping(main_chain()) as server:
        started = time.monotonic()
        with pytest.raises(SourceUnavailable, match="timed out after 0.5 s"):
            source(server, timeout=0.5).tip_height()
        assert time.monotonic() - started < 2.0


def test_no_request_once_the_verifications_network_budget_is_spent():
    with ElectrumServer(main_chain()) as server:
        s = source(server)
        with network_budget(-1.0), pytest.raises(SourceUnavailable, match="budget is spent"):
            s.tip_height()
    assert server.requests == []
