"""Issue 9: the Esplora source works with the endpoints every Esplora-compatible server
has (Blockstream's esplora, mempool.space, a self-hosted mempool in bitcoind mode),
falls back where one is missing, says which it could not use, and believes a fallback
answer no more than the original.

Against the loopback EsploraServer of tests/helpers/chainservers.py in its two
flavours ("esplora": every route; "mempool": no /block/:hash/status, no merkle-proof,
no merkleblock-proof, 500 above the tip, 15-block /blocks pages), fed by the
generated regtest chain (anchor at height 3 of 10).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from gen.chain import build_chain
from gen.chain_scenarios import reorg_chain
from gen.world import world
from helpers.chainservers import ChainData, EsploraServer, Knobs
from helpers.common import SCENARIOS
from provelio_verify import (
    Digest,
    Indication,
    Policy,
    SubIndication,
    load_certificates,
    verify,
)
from provelio_verify.chain import EsploraSource
from provelio_verify.chain.esplora import header_from_fields, merkle_branch
from provelio_verify.core.anchor.bitcoin import dsha256
from provelio_verify.errors import SourceInvalid
from provelio_verify.net import HttpClient, HttpPolicy

SCENARIO = "ok-confirmed-regtest"
TXID = "5aaf2d54b40c16d261c22cd606ffc9821f857eb1fa68f95c60284a40c4bb062f"
FLAVOURS = ("esplora", "mempool")
BLOCK_TXS = 7  # the anchor block's transactions (tests/test_inclusion_depth.py)


def client() -> HttpClient:
    return HttpClient(HttpPolicy(connect_timeout=1.0, read_timeout=1.0, retries=2,
                                 backoff=0.01, max_retry_after=5.0, deadline=10.0))


def data() -> ChainData:
    return ChainData.of(world().anchoring.chain)


def proof(*, branch: bool = True, name: str = SCENARIO) -> bytes:
    document = json.loads((SCENARIOS / name / "proof.json").read_bytes())
    if not branch:
        for key in ("header", "txIndex", "merkleBranch"):
            del document["anchor"]["block"][key]
    return json.dumps(document).encode()


def run(sources: list[Any], bundle: bytes | None = None, min_conf: int = 6):
    roots = load_certificates(SCENARIOS / SCENARIO / "roots.pem")
    return verify(Digest(world().digest.hex()), bundle or proof(),
                  policy=Policy(allow_test_mode=True, min_confirmations=min_conf,
                                tsa_roots=tuple(roots)),
                  sources=sources)


def anchor(report) -> dict[str, tuple[str, str | None]]:
    return {c.id: (c.indication.value, c.sub_indication.value if c.sub_indication else None)
            for c in report.checks if c.id.startswith("anchor.")}


PASSED = {c: ("PASSED", None) for c in ("anchor.merkle-path", "anchor.transaction",
                                        "anchor.op-return", "anchor.inclusion",
                                        "anchor.proof-of-work", "anchor.chain")}


# --------------------------------------------------------------------------- verification


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_full_verification_passes_and_never_asks_block_status(flavour):
    with EsploraServer(data(), flavour=flavour) as server:
        report = run([EsploraSource(server.url, client())])
    assert anchor(report) == PASSED
    assert report.indication is Indication.PASSED
    # The block's transaction count came from /block/:hash, its status from the
    # block at its height: /block/:hash/status is never asked.
    assert report.check("anchor.inclusion").details["txCount"] == BLOCK_TXS
    assert not any(p.endswith("/status") for p in server.requests), server.requests
    assert not any("/tx/" in p for p in server.requests)  # the branch is the bundle's
    assert report.check("anchor.chain").details["confirmations"] == 8


@pytest.mark.parametrize(("flavour", "status"), [("mempool", 404), ("mempool", 500),
                                                  ("esplora", None)])
def test_a_bundle_without_its_branch_passes_with_the_branch_the_server_can_give(flavour,
                                                                               status):
    with EsploraServer(data(), flavour=flavour, merkle_proof_status=status or 404) as server:
        source = EsploraSource(server.url, client())
        report = run([source], proof(branch=False))
    assert anchor(report) == PASSED, report.check("anchor.inclusion").message
    inclusion = report.check("anchor.inclusion")
    assert (inclusion.details["txIndex"], inclusion.details["branchLength"]) == (6, 3)
    entry = inclusion.details["sources"][-1]
    if flavour == "esplora":
        assert "couldNotUse" not in entry and source.could_not_use == {}
        assert any(p.endswith("/merkle-proof") for p in server.requests)
        assert not any(p.endswith("/txids") for p in server.requests)
        return
    # The note: which endpoints it could not use, and what they answered.
    assert entry["couldNotUse"] == (f"/tx/:txid/merkle-proof (HTTP {status}); "
                                    "/tx/:txid/merkleblock-proof (HTTP 404)")
    assert source.could_not_use == {"/tx/:txid/merkle-proof": f"HTTP {status}",
                                    "/tx/:txid/merkleblock-proof": "HTTP 404"}
    assert [p.rsplit("/", 1)[1] for p in server.requests if "proof" in p or "txids" in p] \
        == ["merkle-proof", "merkleblock-proof", "txids"]
    # A 500 that means "not supported" is not retried.
    assert sum(p.endswith("/merkle-proof") for p in server.requests) == 1


def test_a_server_with_merkleblock_proof_only_is_used_for_it():
    class NoElectrumProof(EsploraServer):
        def answer(self, handler, method, body):
            if handler.path.endswith("/merkle-proof"):
                return 501, b"Not Implemented", "text/plain"
            return super().answer(handler, method, body)

    with NoElectrumProof(data()) as server:
        source = EsploraSource(server.url, client())
        report = run([source], proof(branch=False))
    assert anchor(report) == PASSED
    assert source.could_not_use == {"/tx/:txid/merkle-proof": "HTTP 501"}
    assert not any(p.endswith("/txids") for p in server.requests)


def test_an_endpoint_found_missing_is_not_asked_again():
    with EsploraServer(data(), flavour="mempool") as server:
        source = EsploraSource(server.url, client())
        run([source], proof(branch=False))
        first = len([p for p in server.requests if p.endswith("/merkle-proof")])
        source._cache.clear()  # a new question about the same transaction
        report = run([source], proof(branch=False))
    assert anchor(report) == PASSED
    assert first == 1
    assert len([p for p in server.requests if p.endswith("/merkle-proof")]) == 1
    assert len([p for p in server.requests if p.endswith("/txids")]) == 2


#: The same lie told by each flavour's own way of giving a branch: the tree of the
#: block's txids with two of them swapped, as esplora's merkle-proof (its branch) and
#: as mempool's /block/:hash/txids (the list).
LIE = Knobs(wrong_txids=True)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_lying_branch_is_the_sources_fault_whichever_endpoint_told_it(flavour):
    with EsploraServer(data(), LIE, flavour=flavour) as server:
        report = run([EsploraSource(server.url, client())], proof(branch=False))
    inclusion = report.check("anchor.inclusion")
    assert (inclusion.indication, inclusion.sub_indication) == \
        (Indication.INDETERMINATE, SubIndication.TRY_LATER), inclusion.message
    assert "no chain source supplied a Merkle branch for" in inclusion.message
    assert "with the Merkle branch at txIndex 6 folds to" in inclusion.message
    assert "not to the header's Merkle root" in inclusion.message
    others = {k: v for k, v in anchor(report).items() if k != "anchor.inclusion"}
    assert all(v == ("PASSED", None) for v in others.values()), others
    asked = [p.rsplit("/", 1)[1] for p in server.requests if "proof" in p or "txids" in p]
    assert asked == (["merkle-proof"] if flavour == "esplora" else
                     ["merkle-proof", "merkleblock-proof", "txids"])


def test_the_mempool_lie_and_the_esplora_lie_end_the_same_way():
    verdicts = []
    for flavour in FLAVOURS:
        with EsploraServer(data(), Knobs(wrong_txids=True), flavour=flavour) as server:
            report = run([EsploraSource(server.url, client())], proof(branch=False))
        message = report.check("anchor.inclusion").message.replace(str(server.port), "PORT")
        verdicts.append((anchor(report), report.indication, report.sub_indication, message))
    assert verdicts[0] == verdicts[1]


def test_txids_that_repeat_one_are_refused():
    class Repeating(EsploraServer):
        def txids_of(self, block):
            txids = super().txids_of(block)
            return txids + txids[-1:]  # CVE-2012-2459's padding, made explicit

    with Repeating(data(), flavour="mempool") as server:
        report = run([EsploraSource(server.url, client())], proof(branch=False))
    inclusion = report.check("anchor.inclusion")
    assert inclusion.sub_indication is SubIndication.TRY_LATER
    assert "/txids lists a txid twice" in inclusion.message


def test_a_transaction_no_endpoint_knows_names_every_endpoint_tried():
    with EsploraServer(data(), flavour="mempool") as server:
        source = EsploraSource(server.url, client())
        with pytest.raises(Exception) as caught:
            source.merkle_proof("ab" * 32, world().anchoring.chain.blocks[3].GetHash()[::-1]
                                .hex(), 3)
    message = str(caught.value)
    assert "/tx/:txid/merkle-proof answered HTTP 404" in message
    assert "/block/:hash/txids answered a list of 7 txids without" in message
    assert source.could_not_use == {}  # nothing was shown to be missing


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_reorged_block_fails_the_same_way_without_the_status_endpoint(flavour):
    """The bundle's block was left by a reorg: the server still knows it (at height 3)
    but its height 3 holds another block. Esplora's /block/:hash/status said so; the
    fallback (/block/:hash's height, then /block-height/3) says the same."""
    chain = ChainData.of(world().anchoring.chain, stale=reorg_chain(), fork_at=3)
    with EsploraServer(chain, flavour=flavour) as server:
        report = run([EsploraSource(server.url, client())], proof(name="anchor-reorged"))
    check = report.check("anchor.chain")
    assert (check.indication, check.sub_indication) == (Indication.FAILED,
                                                        SubIndication.NOT_IN_BEST_CHAIN)
    assert "says the bundle's block is not in its best chain" in check.message
    assert [c.id for c in report.checks if c.indication is Indication.FAILED] == \
        ["anchor.chain"]


class LyingHeight(EsploraServer):
    """Puts block 4 at height 3 (the anchor's): a real header, at the wrong height."""

    def answer(self, handler, method, body):
        if handler.path == "/api/block-height/3":
            return 200, self.data.hash_at(4).encode(), "text/plain"
        return super().answer(handler, method, body)


def test_a_lying_hash_at_the_height_ends_the_same_way_in_both_flavours():
    """The status of the bundle's block is derived from the same (cached) answer the
    survey judged, so the fallback cannot contradict it: both flavours say the
    bundle's block is not in the best chain, and fail the chain check alone."""
    verdicts = []
    for flavour in FLAVOURS:
        with LyingHeight(data(), flavour=flavour) as server:
            report = run([EsploraSource(server.url, client())])
            asked = list(server.requests)
        check = report.check("anchor.chain")
        assert (check.indication, check.sub_indication) == \
            (Indication.FAILED, SubIndication.NOT_IN_BEST_CHAIN), check.message
        assert "says the bundle's block is not in its best chain" in check.message
        assert asked.count("/api/block-height/3") == 1  # asked once, then from the cache
        verdicts.append((anchor(report), check.message.replace(str(server.port), "PORT")))
    assert verdicts[0] == verdicts[1]


def test_a_block_described_as_another_is_refused():
    class OtherId(EsploraServer):
        def answer(self, handler, method, body):
            status, payload, kind = super().answer(handler, method, body)
            if handler.path.count("/") == 3 and handler.path.startswith("/api/block/"):
                info = json.loads(payload)
                info["id"] = "00" * 32
                payload = json.dumps(info).encode()
            return status, payload, kind

    with OtherId(data(), flavour="mempool") as server:
        source = EsploraSource(server.url, client())
        block = world().anchoring.chain.blocks[3].GetHash()[::-1].hex()
        with pytest.raises(SourceInvalid, match="describes block '0000"):
            source.block_status(block)


def test_a_mempool_server_shorter_than_the_height_is_short_not_unreachable():
    """mempool answers 500 for a height above its tip; with the tip below the height
    that is "my chain ends there", as esplora's 404 is."""
    short = ChainData(list(world().anchoring.chain.blocks[:3]))  # tip at height 2
    with EsploraServer(short, flavour="mempool") as server:
        report = run([EsploraSource(server.url, client())])
    check = report.check("anchor.chain")
    assert check.sub_indication is SubIndication.TRY_LATER
    source = check.details["sources"][0]
    assert source["state"] == "short", source
    assert "its best chain ends at height 2, below 3" in check.message


def test_a_500_at_a_height_below_the_tip_is_not_read_as_short():
    class Broken(EsploraServer):
        def answer(self, handler, method, body):
            if handler.path == "/api/block-height/3":
                return 500, b"Internal error", "text/plain"
            return super().answer(handler, method, body)

    with Broken(data(), flavour="mempool") as server:
        report = run([EsploraSource(server.url, client())])
    source = report.check("anchor.chain").details["sources"][0]
    assert source["state"] == "unreachable" and "HTTP 500" in source["reason"]


# --------------------------------------------------------------------------- header runs


def long_chain() -> ChainData:
    return ChainData.of(build_chain(2100, start_time=1_700_000_000, placements={},
                                    fillers=0))


@pytest.fixture(scope="module")
def chain2100() -> ChainData:
    return long_chain()


def raw_headers(chain: ChainData, start: int, end: int) -> bytes:
    return b"".join(chain.best[h].get_header().serialize() for h in range(start, end))


@pytest.mark.parametrize(("flavour", "requests"), [
    # 1 tip + ceil(2016 / 10) pages of esplora's 10 blocks.
    ("esplora", 1 + math.ceil(2016 / 10)),
    # 1 tip + a first page of 10 (the page size is learnt from it) + pages of 15.
    ("mempool", 1 + 1 + math.ceil((2016 - 10) / 15)),
])
def test_header_run_returns_the_chains_bytes_in_few_requests(chain2100, flavour, requests):
    with EsploraServer(chain2100, flavour=flavour) as server:
        source = EsploraSource(server.url, client())
        got = source.header_run(5, 5000)  # at most HEADER_RUN_MAX
        asked = list(server.requests)
    assert got == raw_headers(chain2100, 5, 5 + 2016)
    assert len(asked) == requests, asked
    assert asked[0] == "/api/blocks/tip/height"
    assert all(p.startswith("/api/blocks/") for p in asked)
    assert source.answers() == []  # not cached, not recorded
    # Against the default (a hash and a header per height): 4,032 requests.
    assert len(asked) * 19 < 2 * 2016


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_header_run_ends_where_the_chain_ends(chain2100, flavour):
    with EsploraServer(chain2100, flavour=flavour) as server:
        source = EsploraSource(server.url, client())
        assert source.header_run(2090, 100) == raw_headers(chain2100, 2090, 2101)
        assert source.header_run(2100, 1) == raw_headers(chain2100, 2100, 2101)
        assert source.header_run(2101, 10) == b""
        assert source.header_run(0, 3) == raw_headers(chain2100, 0, 3)  # genesis: no prev


def test_header_run_falls_back_to_a_hash_and_a_header_per_height_and_says_so():
    with EsploraServer(data(), blocks_pages=False) as server:
        source = EsploraSource(server.url, client())
        got = source.header_run(2, 6)
        asked = list(server.requests)
    assert got == raw_headers(data(), 2, 8)
    assert asked[:2] == ["/api/blocks/tip/height", "/api/blocks/7"]
    assert len(asked) == 2 + 2 * 6
    assert source.could_not_use == {"/blocks/:start_height": "HTTP 404"}
    assert source.describe()["couldNotUse"] == "/blocks/:start_height (HTTP 404)"


def test_header_run_refuses_fields_that_do_not_hash_to_the_id():
    with EsploraServer(data(), Knobs(wrong_fields=True)) as server:
        source = EsploraSource(server.url, client())
        with pytest.raises(SourceInvalid, match="its fields make a header hashing to"):
            source.header_run(0, 5)


def test_header_run_refuses_a_page_at_the_wrong_heights():
    class Shifted(EsploraServer):
        def _blocks(self, path, top):
            return super()._blocks(path, top - 1)

    with Shifted(data()) as server:
        source = EsploraSource(server.url, client())
        with pytest.raises(SourceInvalid, match="entry 0 is at height 8, not at 9"):
            source.header_run(0, 10)


# --------------------------------------------------------------------------- pure parts


def test_a_block_object_rebuilds_its_header():
    block = world().anchoring.chain.blocks[3]
    header = block.get_header()
    entry = {"id": header.GetHash()[::-1].hex(), "version": header.nVersion,
             "previousblockhash": header.hashPrevBlock[::-1].hex(),
             "merkle_root": header.hashMerkleRoot[::-1].hex(), "timestamp": header.nTime,
             "bits": header.nBits, "nonce": header.nNonce}
    assert header_from_fields(entry, "entry") == header.serialize()
    for name, value in (("nonce", -1), ("bits", 2 ** 32), ("version", True),
                        ("merkle_root", "zz" * 32), ("previousblockhash", None)):
        with pytest.raises(SourceInvalid):
            header_from_fields({**entry, name: value}, "entry")


def test_the_branch_from_txids_folds_to_the_root_at_every_position():
    for count in (1, 2, 3, 7, 16, 17):
        leaves = [dsha256(i.to_bytes(4, "little")) for i in range(count)]
        level = list(leaves)
        while len(level) > 1:
            if len(level) % 2:
                level.append(level[-1])
            level = [dsha256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        for index in range(count):
            node = leaves[index]
            for k, sibling in enumerate(merkle_branch(leaves, index)):
                node = dsha256(sibling + node) if (index >> k) & 1 else \
                    dsha256(node + sibling)
            assert node == level[0], (count, index)


def test_anchor_chain_names_the_endpoints_a_server_lacked():
    """The survey's view of a source carries what the source says of itself: on a
    mempool server, anchor.chain's entry names the endpoints it could not use."""
    with EsploraServer(data(), flavour="mempool", merkle_proof_status=404) as server:
        source = EsploraSource(server.url, client())
        report = run([source], proof(branch=False))
    chain_check = report.check("anchor.chain")
    entries = [e for e in chain_check.details["sources"] if e.get("kind") == "esplora"]
    assert entries and "/tx/:txid/merkle-proof (HTTP 404)" in entries[0]["couldNotUse"]
