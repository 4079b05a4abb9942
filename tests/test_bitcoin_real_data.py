"""Real mainnet (and testnet) data, copied into tests/data/bitcoin/ (PROVENANCE.md):
the pure checks must accept what Bitcoin accepted and refuse what it did not."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bitcoin.core import CBlock

from gen.chain import merkle_branch, merkle_root
from helpers.common import REPO
from provelio_verify.bundle import Network
from provelio_verify.chain import HeadersFileSource, SourceInvalid
from provelio_verify.core.anchor.bitcoin import NETWORKS, BlockHeader, dsha256
from provelio_verify.core.anchor.headers import HeaderRunError, validate_run
from provelio_verify.core.anchor.pow import check_header_work, target_in_force
from provelio_verify.core.anchor.transaction import (
    check_inclusion,
    check_op_return,
    parse_transaction,
)
from provelio_verify.errors import SourceUnproven
from provelio_verify.inputs.checkpoints import mainnet_checkpoints
from provelio_verify.outcome import CheckFailure
from provelio_verify.report import SubIndication

DATA = Path(__file__).resolve().parent / "data" / "bitcoin"
MAINNET = NETWORKS[Network.MAINNET]
CHECKPOINTS = mainnet_checkpoints()


def blk_frames(raw: bytes) -> list[bytes]:
    """Blocks from Bitcoin Core's blk*.dat framing: magic, length, block."""
    out, at = [], 0
    while at < len(raw):
        magic, length = struct.unpack_from("<II", raw, at)
        assert magic == 0xD9B4BEF9  # mainnet
        out.append(raw[at + 8:at + 8 + length])
        at += 8 + length
    return out


SINGLE_BLOCKS = [(1, "bcoin_block1.raw"), (169482, "bitcoinj_block169482.dat"),
                 (300025, "bcoin_block300025.raw"), (413567, "bitcoincore_block413567.raw"),
                 (481815, "bitcoinj_block481815.dat")]


def full_blocks() -> list[tuple[int, bytes]]:
    """Every full block in the data: five single ones and blocks 1-255."""
    blocks = [(h, (DATA / "blocks" / name).read_bytes()) for h, name in SINGLE_BLOCKS]
    frames = blk_frames((DATA / "blocks" / "btcd_blocks1-256.dat").read_bytes())
    return blocks + [(h, raw) for h, raw in enumerate(frames, start=1)]


def transactions(raw_block: bytes) -> list[bytes]:
    """Each transaction's own bytes, as split by python-bitcoinlib."""
    return [tx.serialize() for tx in CBlock.deserialize(raw_block).vtx]


def branch_display(txids: list[bytes], index: int) -> list[bytes]:
    """The branch of ``txids[index]`` in display order, as a bundle writes it."""
    return [h[::-1] for h in merkle_branch(txids, index)]


def test_every_real_block_hashes_to_its_root_and_carries_its_work():
    blocks = full_blocks()
    assert len(blocks) == 5 + 255
    for height, raw in blocks:
        header = BlockHeader.parse(raw[:80])
        txids = [parse_transaction(tx).txid for tx in transactions(raw)]
        assert merkle_root(txids) == header.merkle_root, height
        facts = check_header_work(header, height, MAINNET, CHECKPOINTS)
        assert facts.rule.exact and facts.target == facts.rule.low, height


def test_btcd_blocks_link_from_genesis_and_serve_as_a_headers_file(tmp_path):
    frames = blk_frames((DATA / "blocks" / "btcd_blocks1-256.dat").read_bytes())
    headers = MAINNET.genesis_header + b"".join(f[:80] for f in frames)
    path = tmp_path / "headers.bin"
    path.write_bytes(headers)
    source = HeadersFileSource(path)
    assert source.summary() == {"network": "mainnet", "firstHeight": 0, "tipHeight": 255,
                                "retargets": 0, "checkpointsMatched": 0,
                                "provenTipHeight": None}
    assert source.genesis_hash() == MAINNET.genesis_hash
    assert source.run().hash_at(1)[::-1].hex() == dsha256(frames[0][:80])[::-1].hex() == \
        "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"
    # Real headers, every one linked and meeting its target, yet they end before the
    # first checkpoint (height 2015): difficulty-1 headers anyone could make, so the
    # file does not speak for their heights (issue 8, item 1).
    for ask in (lambda: source.block_hash(1), source.tip_height,
                lambda: source.block_status(dsha256(frames[0][:80])[::-1].hex())):
        with pytest.raises(SourceUnproven, match="shipped checkpoint at height 2015"):
            ask()


def test_real_op_return_transactions_in_block_481815_fold_to_the_root():
    raw = (DATA / "blocks" / "bitcoinj_block481815.dat").read_bytes()
    header = BlockHeader.parse(raw[:80])
    txs = [parse_transaction(tx) for tx in transactions(raw)]
    txids = [t.txid for t in txs]
    root = merkle_root(txids)
    found = []
    for index, tx in enumerate(txs):
        for out, script in enumerate(tx.output_scripts):
            if len(script) == 34 and script[:2] == b"\x6a\x20":
                facts = check_inclusion(header, header.hash[::-1], tx.txid[::-1], index,
                                        branch_display(txids, index))
                assert facts["merkleRoot"] == root[::-1].hex()
                assert check_op_return(tx, script[2:], None) == out
                found.append((tx.txid[::-1].hex(), index, out))
    assert found == [
        ("3483cf9f2e13fa4c9f78c19e26ae2548170fe4a5134928941f4114eb5655d23c", 468, 0),
        ("d99bb960455120283b39b23546a04470dfae5e2fa69ec0a82aece5e9790d58ca", 1307, 1),
        ("ff177070d57d7e03fb2cc89cfb767c129082c7d02cca7ecb02b4b5b378bcb5b1", 1391, 1)]


@pytest.mark.parametrize("name,first,retargets,matched", [
    ("mainnet_headers_80001_100000.bin", 80001, 9, 10),
    ("mainnet_headers_150001_340000.bin", 150001, 93, 94),
])
def test_real_header_runs_validate_end_to_end(name, first, retargets, matched):
    data = (DATA / "headers" / name).read_bytes()
    started = time.perf_counter()
    run = validate_run(data, first, MAINNET, CHECKPOINTS)
    seconds = time.perf_counter() - started
    assert run.count == len(data) // 80 and run.tip_height == first + run.count - 1
    # Every period boundary: recomputed from the run's own timestamps where the run
    # holds the period before it, else taken from the checkpoints; every checkpointed
    # height in the run holds its checkpoint.
    assert (run.retargets, run.checkpoints_matched) == (retargets, matched)
    assert run.hash_at(first + 500) == dsha256(data[500 * 80:501 * 80])
    assert seconds < 30, f"validating {run.count} headers took {seconds:.1f} s"


def test_the_real_run_from_a_checkpoint_is_a_headers_file_source(tmp_path):
    data = (DATA / "headers" / "mainnet_headers_150001_340000.bin").read_bytes()
    start = 151199  # 2016 * 74 + 2015, the last block of period 74
    assert CHECKPOINTS.hash_at(start) is not None
    path = tmp_path / "headers.bin"
    path.write_bytes(data[(start - 150001) * 80:])
    source = HeadersFileSource(path)
    assert source.summary()["firstHeight"] == start
    # Depth counts to the highest checkpoint the file holds (2016 * 167 + 2015): the
    # 1,313 headers above it are not vouched for by any checkpoint.
    assert source.summary()["tipHeight"] == 340000
    assert source.tip_height() == 338687 == CHECKPOINTS.height_of_checkpoint(167)
    with pytest.raises(SourceUnproven, match="at height 339000 only when its run also "
                                             "passes through the shipped checkpoint at "
                                             "height 340703"):
        source.block_hash(339000)
    assert source.genesis_hash() == MAINNET.genesis_hash
    at = source.block_hash(300025)
    assert at == "0000000000000000821c4e0acc40f88bedbce3b73ba2358b5ade58a9022cc78c"
    assert source.header(at) == (DATA / "blocks" / "bcoin_block300025.raw").read_bytes()[:80]
    assert source.block_status(at).height == 300025


def test_a_real_run_not_at_a_checkpoint_is_refused_as_a_source(tmp_path):
    path = tmp_path / "headers.bin"
    path.write_bytes((DATA / "headers" / "mainnet_headers_80001_100000.bin").read_bytes())
    with pytest.raises(SourceInvalid, match="neither a genesis block nor a shipped mainnet"):
        HeadersFileSource(path).tip_height()


@pytest.mark.parametrize("offset,what", [(0, "version"), (10, "previous hash"),
                                         (40, "Merkle root"), (68, "time"), (72, "nBits"),
                                         (79, "nonce")])
def test_a_header_with_one_flipped_bit_fails_proof_of_work(offset, what):
    raw = bytearray((DATA / "blocks" / "bitcoinj_block481815.dat").read_bytes()[:80])
    check_header_work(BlockHeader.parse(bytes(raw)), 481815, MAINNET, CHECKPOINTS)
    raw[offset] ^= 0x01
    with pytest.raises(CheckFailure) as caught:
        check_header_work(BlockHeader.parse(bytes(raw)), 481815, MAINNET, CHECKPOINTS)
    assert caught.value.sub_indication is SubIndication.PROOF_OF_WORK_FAILURE


def test_a_flipped_bit_in_a_real_run_is_found():
    data = bytearray((DATA / "headers" / "mainnet_headers_80001_100000.bin").read_bytes())
    data[80 * 12345 + 50] ^= 0x10
    with pytest.raises(HeaderRunError) as caught:
        validate_run(bytes(data), 80001, MAINNET, CHECKPOINTS)
    assert caught.value.height == 80001 + 12345


def test_corrupted_block_413567_fails_inclusion_while_its_header_passes():
    corrupted = (DATA / "negative" / "negative_block413567_corrupted_by_fork.raw").read_bytes()
    genuine = (DATA / "blocks" / "bitcoincore_block413567.raw").read_bytes()
    header = BlockHeader.parse(corrupted[:80])
    assert corrupted[:80] == genuine[:80]
    facts = check_header_work(header, 413567, MAINNET, CHECKPOINTS)
    assert facts.rule.exact
    bad = [parse_transaction(tx).txid for tx in transactions(corrupted)]
    good = [parse_transaction(tx).txid for tx in transactions(genuine)]
    altered = [i for i, (a, b) in enumerate(zip(bad, good, strict=True)) if a != b]
    assert altered, "the corrupted block should differ from the genuine one"
    assert merkle_root(bad) != header.merkle_root
    index = altered[0]
    with pytest.raises(CheckFailure) as caught:
        check_inclusion(header, header.hash[::-1], bad[index][::-1], index,
                        branch_display(bad, index))
    assert caught.value.sub_indication is SubIndication.HASH_FAILURE
    assert "not to the header's Merkle root" in caught.value.message


@pytest.mark.parametrize("name,height", [("bcoin_block898352.raw", 898352),
                                         ("bcoin_block1087400.raw", 1087400)])
def test_testnet_blocks_are_refused_as_mainnet(name, height):
    raw = (DATA / "testnet" / name).read_bytes()
    header = BlockHeader.parse(raw[:80])
    coinbase_height = CBlock.deserialize(raw).vtx[0].vin[0].scriptSig
    assert int.from_bytes(bytes(coinbase_height)[1:4], "little") == height  # BIP 34
    # A valid testnet header (minimum-difficulty block) ...
    check_header_work(header, height, NETWORKS[Network.TESTNET], None)
    # ... is not a mainnet one: inside the checkpoints (898,352 since the 2026 list) its
    # target is not the one they give; far past them only bounds apply ...
    rule = target_in_force(MAINNET, height, CHECKPOINTS)
    assert rule.exact == (height == 898352)
    try:
        check_header_work(header, height, MAINNET, CHECKPOINTS)
    except CheckFailure as exc:
        assert exc.sub_indication is SubIndication.PROOF_OF_WORK_FAILURE
        assert height == 898352  # the checkpointed target refutes it
    else:
        assert height == 1087400  # far past them: only bounds, so not PASSED on its own
    # ... and at any checkpointed height since difficulty first rose, it fails.
    for claimed in (32256, 300025, 481815, 878976):
        with pytest.raises(CheckFailure):
            check_header_work(header, claimed, MAINNET, CHECKPOINTS)


def test_the_2015_fork_headers_carry_real_work_but_cannot_be_a_chain():
    data = (DATA / "negative" / "btcrelay_fork20150704_6headers.bin").read_bytes()
    for i in range(6):
        header = BlockHeader.parse(data[80 * i:80 * i + 80])
        facts = check_header_work(header, 363731 + i, MAINNET, CHECKPOINTS)
        assert facts.rule.exact  # real work at the target of period 180
    with pytest.raises(HeaderRunError, match="version 2, below 3 which BIP 66"):
        validate_run(data, 363731, MAINNET, CHECKPOINTS)


def test_shipped_checkpoints_are_what_the_two_lists_make():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "make_checkpoints.py"),
                           "--check"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(CHECKPOINTS) == 473 and CHECKPOINTS.last_height == 2016 * 473 - 1
    assert CHECKPOINTS.hash_at(2015) == \
        "00000000693067b0e6b440bc51450b9f3850561b07f6d3c021c54fbd6abb9763"
    assert CHECKPOINTS.height_of(CHECKPOINTS.block_hashes[100]) == 2016 * 100 + 2015


def test_data_files_are_the_ones_recorded_in_provenance():
    for line in (DATA / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name
