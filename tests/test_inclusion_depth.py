"""Issue 8, item 14: a Merkle branch is exactly as long as the block's tree is deep.

Bitcoin's tree duplicates the last node of an odd level, so every leaf of a block of n
transactions is ceil(log2 n) levels deep (0 for n = 1). Where a chain source gives n
(Bitcoin Core's ``nTx``, Esplora's ``tx_count``), a shorter branch (an inner node
posing as a txid) and a longer one (a 64-byte transaction read as two hashes) are both
refused: CVE-2017-12842 in either direction. Tested on real mainnet blocks, on
synthetic trees, and against the loopback servers of tests/chainservers.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from bitcoin.core import CBlock
from hypothesis import given
from hypothesis import strategies as st
from test_bitcoin_real_data import full_blocks

from gen.chain import dsha, merkle_branch, merkle_root
from gen.world import world
from helpers.chainservers import BitcoinRpcServer, ChainData, EsploraServer, Knobs
from helpers.common import SCENARIOS
from provelio_verify import Digest, Indication, Policy, SubIndication, verify
from provelio_verify.chain import BitcoinCoreSource, EsploraSource
from provelio_verify.core.anchor.bitcoin import BlockHeader
from provelio_verify.core.anchor.transaction import check_inclusion, check_tree_shape, tree_depth
from provelio_verify.net import HttpClient, HttpPolicy
from provelio_verify.outcome import CheckFailure

KINDS = ("esplora", "bitcoin-core")
#: The regtest scenario's anchor block: 7 transactions, the anchor at position 6 (the
#: last, paired with its own copy at level 0), a branch of 3.
SCENARIO = "ok-confirmed-regtest"
BLOCK_TXS, TX_INDEX, DEPTH = 7, 6, 3


def _levels(txids: list[bytes]) -> list[list[bytes]]:
    """Every level of Bitcoin's tree, leaves first (odd levels padded with a copy)."""
    levels = [list(txids)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        if len(level) % 2:
            level.append(level[-1])
        levels.append([dsha(level[i] + level[i + 1]) for i in range(0, len(level), 2)])
    return levels


def _branch(levels: list[list[bytes]], index: int) -> list[bytes]:
    return [levels[k][(index >> k) ^ 1] for k in range(len(levels) - 1)]


# The rule itself ------------------------------------------------------------------------

def test_tree_depth_of_small_blocks():
    assert [tree_depth(n) for n in (1, 2, 3, 4, 5, 7, 8, 9, 16, 17)] == \
        [0, 1, 2, 2, 3, 3, 3, 4, 4, 5]
    with pytest.raises(ValueError, match="at least one transaction, not 0"):
        tree_depth(0)


def test_every_position_of_every_real_mainnet_block_obeys_the_depth_rule():
    """All 260 real blocks in tests/data/bitcoin, every transaction in each: the branch
    that folds to the real header's root has exactly tree_depth(n) levels, and the
    shape check (with the real count) accepts it."""
    positions = 0
    for height, raw in full_blocks():
        header = BlockHeader.parse(raw[:80])
        txids = [tx.GetTxid() for tx in CBlock.deserialize(raw).vtx]
        levels = _levels(txids)
        assert levels[-1][0] == header.merkle_root, height
        for index, txid in enumerate(txids):
            branch = _branch(levels, index)
            assert len(branch) == tree_depth(len(txids)), (height, index)
            check_inclusion(header, header.hash[::-1], txid[::-1], index,
                            [h[::-1] for h in branch])  # it is the real branch: it folds
            check_tree_shape(index, len(branch), len(txids))
            positions += 1
        # The project's own branch builder agrees, at the ends and the middle.
        for index in {0, len(txids) // 2, len(txids) - 1}:
            assert merkle_branch(txids, index) == _branch(levels, index)
    assert positions > 2000


@given(st.integers(min_value=1, max_value=600), st.data())
def test_the_depth_rule_on_any_tree(count, data):
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    txids = [dsha(i.to_bytes(4, "little")) for i in range(count)]
    branch = merkle_branch(txids, index)
    assert len(branch) == tree_depth(count)
    check_tree_shape(index, len(branch), count)
    # Any count whose tree has another depth refuses this branch.
    other = data.draw(st.integers(min_value=1, max_value=4096).filter(
        lambda n: tree_depth(n) != tree_depth(count)))
    with pytest.raises(CheckFailure, match="levels, but the Merkle tree of a block of|"
                                           "is past the last transaction"):
        check_tree_shape(index, len(branch), other)


def test_an_inner_node_posing_as_a_txid_is_refused_with_the_count():
    """Real block 481815: the node above two leaves, with the rest of the branch, folds
    to the real root: the fold alone cannot tell; the count can."""
    raw = dict(full_blocks())[481815]
    header = BlockHeader.parse(raw[:80])
    txids = [tx.GetTxid() for tx in CBlock.deserialize(raw).vtx]
    levels = _levels(txids)
    inner, index = levels[1][3], 3  # the parent of leaves 6 and 7
    branch = [h[::-1] for h in _branch(levels, 6)[1:]]
    check_inclusion(header, header.hash[::-1], inner[::-1], index, branch)  # folds
    with pytest.raises(CheckFailure) as caught:
        check_tree_shape(index, len(branch), len(txids))
    assert f"Merkle branch has {len(branch)} levels, but the Merkle tree of a block of " \
        f"{len(txids)} transactions is {len(branch) + 1} deep" in caught.value.message
    assert "an inner node of the tree" in caught.value.message
    assert caught.value.sub_indication is SubIndication.FORMAT_FAILURE


def test_a_64_byte_transaction_read_as_two_hashes_is_refused_with_the_count():
    """A block whose leaf 2 is the txid of 64 bytes x ‖ y: x, with y prepended to the
    branch, folds to the root one level below the leaves."""
    x, y = b"\x01" * 32, b"\x02" * 32
    txids = [dsha(b"coinbase"), dsha(b"a"), dsha(x + y), dsha(b"c"), dsha(b"d")]
    root = merkle_root(txids)
    header = BlockHeader.parse(b"\x01\x00\x00\x00" + b"\x00" * 32 + root
                               + b"\x00" * 12)
    forged = [y[::-1]] + [h[::-1] for h in merkle_branch(txids, 2)]
    check_inclusion(header, header.hash[::-1], x[::-1], 4, forged)  # folds
    with pytest.raises(CheckFailure, match="something below its leaves"):
        check_tree_shape(4, len(forged), len(txids))


def test_an_index_past_the_last_transaction_is_refused():
    with pytest.raises(CheckFailure, match="txIndex 6 is past the last transaction of a "
                                           "block of 5"):
        check_tree_shape(6, 3, 5)


# Against the real protocols ---------------------------------------------------------------

def _client() -> HttpClient:
    return HttpClient(HttpPolicy(connect_timeout=1.0, read_timeout=2.0, retries=0,
                                 backoff=0.01, max_retry_after=1.0, deadline=10.0))


def _source(kind: str, server: Any) -> Any:
    if kind == "esplora":
        return EsploraSource(server.url, _client())
    return BitcoinCoreSource(server.url_with_credentials(), client=_client())


def _server(kind: str, knobs: Knobs | None = None) -> Any:
    data = ChainData.of(world().anchoring.chain)
    return (EsploraServer if kind == "esplora" else BitcoinRpcServer)(data, knobs)


def _proof(*, branch: bool = True) -> bytes:
    document = json.loads((SCENARIOS / SCENARIO / "proof.json").read_bytes())
    if not branch:
        for key in ("header", "txIndex", "merkleBranch"):
            del document["anchor"]["block"][key]
    return json.dumps(document).encode()


def _verify(sources: list[Any], proof: bytes | None = None):
    return verify(Digest(world().digest.hex()), proof or _proof(),
                  policy=Policy(allow_test_mode=True, min_confirmations=1), sources=sources)


def _inclusion(report):
    check = report.check("anchor.inclusion")
    return check.indication, check.sub_indication, check.message, check.details


def test_the_scenario_block_is_what_these_tests_assume():
    document = json.loads((SCENARIOS / SCENARIO / "proof.json").read_bytes())
    block = document["anchor"]["block"]
    assert (block["txIndex"], len(block["merkleBranch"])) == (TX_INDEX, DEPTH)
    assert len(world().anchoring.chain.blocks[block["height"]].vtx) == BLOCK_TXS


@pytest.mark.parametrize("kind", KINDS)
def test_the_true_count_is_asked_and_fits(kind):
    with _server(kind) as server:
        report = _verify([_source(kind, server)])
    indication, _, message, details = _inclusion(report)
    assert indication is Indication.PASSED, message
    assert all(c.indication is Indication.PASSED for c in report.checks
               if c.id.startswith("anchor."))
    assert (details["txCount"], details["treeDepth"]) == (BLOCK_TXS, DEPTH)
    assert f"transaction count ({BLOCK_TXS} by {kind}" in message
    assert f"makes its tree {DEPTH} levels deep, as long as the branch" in message


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("claimed", "said"), [
    (4, "proves something below its leaves"),  # depth 2: the branch is one too long
    (16, "proves an inner node of the tree"),  # depth 4: the branch is one too short
    (5, "txIndex 6 is past the last transaction of a block of 5"),  # depth 3, too few
])
def test_a_count_that_contradicts_the_branch_fails_inclusion_alone(kind, claimed, said):
    with _server(kind, Knobs(tx_count=claimed)) as server:
        report = _verify([_source(kind, server)])
    indication, sub, message, details = _inclusion(report)
    assert (indication, sub) == (Indication.FAILED, SubIndication.FORMAT_FAILURE), message
    assert said in message and f"(the count given by {kind}" in message
    assert details["txCount"] == claimed and details["branchLength"] == DEPTH
    others = {c.id: c.indication for c in report.checks if c.id != "anchor.inclusion"}
    assert Indication.FAILED not in others.values(), others


@pytest.mark.parametrize("kind", KINDS)
def test_sources_that_disagree_on_the_count_are_indeterminate(kind):
    with _server(kind) as honest, _server(kind, Knobs(tx_count=16)) as liar:
        report = _verify([_source(kind, honest), _source(kind, liar)])
    indication, sub, message, details = _inclusion(report)
    assert (indication, sub) == (Indication.INDETERMINATE, SubIndication.SOURCES_DISAGREE)
    assert "the branch fits the count of" in message and "shows nTx" in message
    assert len(details["txCounts"]) == 2 and sorted(details["txCounts"].values()) == [7, 16]


def test_offline_the_count_is_not_known_and_inclusion_stands_as_before():
    report = _verify([])
    indication, _, message, details = _inclusion(report)
    assert indication is Indication.PASSED
    assert "the block's transaction count was not known (no chain source was chosen to " \
        "say it), so the branch's length was not checked against the tree's depth" in message
    assert details["txCount"] is None


@pytest.mark.parametrize("kind", KINDS)
def test_a_supplied_branch_its_own_source_refutes_is_that_sources_fault(kind):
    with _server(kind, Knobs(tx_count=4)) as server:
        report = _verify([_source(kind, server)], _proof(branch=False))
    indication, sub, message, _ = _inclusion(report)
    assert (indication, sub) == (Indication.INDETERMINATE, SubIndication.TRY_LATER), message
    assert "supplied a branch that its own count refutes" in message
    with _server(kind) as server:
        ok = _verify([_source(kind, server)], _proof(branch=False))
    assert _inclusion(ok)[0] is Indication.PASSED
    assert "header and branch supplied by" in _inclusion(ok)[2]
