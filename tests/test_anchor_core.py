"""The pure Bitcoin core: targets, transactions, OP_RETURN, inclusion, partial Merkle
trees and header runs, each rule with a case that breaks it."""

from __future__ import annotations

import struct

import pytest
from bitcoin.core import (
    CMutableTransaction,
    CMutableTxIn,
    CMutableTxOut,
    COutPoint,
    CScript,
    CTransaction,
)

from gen.chain import merkle_branch, merkle_root
from gen.chain_scenarios import segwit_anchor_tx
from gen.world import world
from helpers.chainservers import merkle_block
from helpers.headerchain import EASY_BITS, HARDER_BITS, build, easy
from provelio_verify.bundle import Network
from provelio_verify.core.anchor.bitcoin import (
    NETWORKS,
    TARGET_TIMESPAN,
    BlockHeader,
    InvalidBits,
    ProofOfWorkError,
    decode_compact,
    dsha256,
    encode_compact,
    header_target,
    network_of_genesis,
    retarget_bits,
    work_of,
)
from provelio_verify.core.anchor.headers import HeaderRunError, validate_run
from provelio_verify.core.anchor.merkleblock import MerkleBlockError, parse_merkle_block
from provelio_verify.core.anchor.pow import check_header_work, target_in_force
from provelio_verify.core.anchor.transaction import (
    check_inclusion,
    check_op_return,
    check_txid,
    parse_transaction,
)
from provelio_verify.inputs.checkpoints import mainnet_checkpoints
from provelio_verify.outcome import CheckFailure
from provelio_verify.report import SubIndication

MAINNET = NETWORKS[Network.MAINNET]
CHECKPOINTS = mainnet_checkpoints()


def failure(fn, *args):
    with pytest.raises(CheckFailure) as caught:
        fn(*args)
    return caught.value


# --------------------------------------------------------------------------- networks


@pytest.mark.parametrize("network", list(Network))
def test_each_genesis_header_hashes_to_its_published_hash(network):
    params = NETWORKS[network]
    assert dsha256(params.genesis_header)[::-1].hex() == params.genesis_hash
    assert network_of_genesis(params.genesis_hash) is params
    header = BlockHeader.parse(params.genesis_header)
    assert header_target(header, params) <= params.pow_limit


def test_network_limits_and_flags():
    assert MAINNET.pow_limit_bits == 0x1D00FFFF
    assert NETWORKS[Network.SIGNET].pow_limit_bits == 0x1E0377AE
    assert NETWORKS[Network.REGTEST].pow_limit_bits == 0x207FFFFF
    assert [MAINNET.min_version(h) for h in (227930, 227931, 363725, 388381)] == \
        [-(2**31), 2, 3, 4]
    assert NETWORKS[Network.REGTEST].cli("getblockcount") == "bitcoin-cli -regtest getblockcount"
    assert MAINNET.explorer_url("ab") == "https://mempool.space/block/ab"
    assert NETWORKS[Network.REGTEST].explorer_url("ab") is None


# --------------------------------------------------------------------------- targets


@pytest.mark.parametrize("bits,target", [
    (0x1D00FFFF, 0xFFFF << 208), (0x207FFFFF, 0x7FFFFF << 232), (0x01123456, 0x12),
    (0x02123456, 0x1234), (0x03123456, 0x123456), (0x04123456, 0x12345600),
    (0x05009234, 0x92340000), (0x180130E0, 0x0130E0 << 168),
])
def test_decode_compact(bits, target):
    assert decode_compact(bits) == target


@pytest.mark.parametrize("bits,problem", [
    (0x04923456, "negative"), (0x01FEDCBA, "negative"), (0xFF123456, "overflows"),
    (0x22010000, "overflows"), (0x00000000, "zero"), (0x01003456, "zero"),
    (0x03000000, "zero"), (0x01803456, "zero"),  # the sign bit of a zero word is no sign
])
def test_decode_compact_refuses_invalid_encodings(bits, problem):
    with pytest.raises(InvalidBits, match=problem):
        decode_compact(bits)


@pytest.mark.parametrize("target,bits", [
    (0x12, 0x01120000), (0x80, 0x02008000), (0x1234, 0x02123400), (0x123456, 0x03123456),
    (0x12345600, 0x04123456), (0x92340000, 0x05009234), (0xFFFF << 208, 0x1D00FFFF),
    (0x123456789, 0x05012345),  # rounds down
])
def test_encode_compact(target, bits):
    assert encode_compact(target) == bits


def test_every_checkpoint_target_round_trips():
    for bits in CHECKPOINTS.next_bits:
        assert encode_compact(decode_compact(bits)) == bits


def test_work_is_two_to_the_256_over_target_plus_one():
    assert work_of(0xFFFF << 208) == 0x100010001  # difficulty 1, as Bitcoin Core counts it
    assert work_of((1 << 256) - 1) == 1


def test_header_target_rules():
    header = BlockHeader.parse(MAINNET.genesis_header)
    assert header_target(header, MAINNET) == 0xFFFF << 208
    regtest = BlockHeader.parse(NETWORKS[Network.REGTEST].genesis_header)
    with pytest.raises(ProofOfWorkError, match="above the mainnet proof-of-work limit"):
        header_target(regtest, MAINNET)
    tampered = bytearray(MAINNET.genesis_header)
    tampered[76] ^= 1  # nonce
    with pytest.raises(ProofOfWorkError, match="hash is above its target"):
        header_target(BlockHeader.parse(bytes(tampered)), MAINNET)
    negative = bytearray(MAINNET.genesis_header)
    negative[72:76] = struct.pack("<I", 0x1D80FFFF)
    with pytest.raises(ProofOfWorkError, match="negative"):
        header_target(BlockHeader.parse(bytes(negative)), MAINNET)
    with pytest.raises(ValueError, match="80 bytes"):
        BlockHeader.parse(b"\x00" * 79)


def test_retarget_rule():
    old = 0x1B0404CB
    t = decode_compact(old)

    def rt(span, params=MAINNET, first=old):
        return retarget_bits(params, last_bits=old, first_bits=first, first_time=0,
                             last_time=span)

    assert rt(TARGET_TIMESPAN) == old
    assert rt(TARGET_TIMESPAN // 2) == encode_compact(t // 2)
    assert rt(1) == rt(TARGET_TIMESPAN // 4) == encode_compact(t // 4)  # clamped at 1/4
    assert rt(10**9) == rt(TARGET_TIMESPAN * 4) == encode_compact(t * 4)  # clamped at 4
    assert rt(TARGET_TIMESPAN * 4, first=0x1D00FFFF) == encode_compact(t * 4)
    limit = MAINNET.pow_limit_bits
    assert retarget_bits(MAINNET, last_bits=limit, first_bits=limit, first_time=0,
                         last_time=TARGET_TIMESPAN * 4) == limit  # capped at the limit
    testnet4 = NETWORKS[Network.TESTNET4]
    assert rt(TARGET_TIMESPAN, testnet4, first=0x1C00FFFF) == 0x1C00FFFF  # BIP 94: first
    assert rt(TARGET_TIMESPAN * 3, NETWORKS[Network.REGTEST]) == old  # never retargets


# --------------------------------------------------------------------------- target in force


def test_target_in_force_is_exact_while_checkpoints_reach():
    rule = target_in_force(MAINNET, 0, CHECKPOINTS)
    assert rule.exact and rule.low == 0xFFFF << 208
    rule = target_in_force(MAINNET, 481815, CHECKPOINTS)
    assert rule.exact and rule.low == decode_compact(0x180130E0)
    last = target_in_force(MAINNET, CHECKPOINTS.covered_until, CHECKPOINTS)
    assert last.exact and last.low == decode_compact(CHECKPOINTS.next_bits[-1])


def test_target_in_force_is_bounded_past_the_checkpoints():
    known = decode_compact(CHECKPOINTS.next_bits[-1])
    one = target_in_force(MAINNET, CHECKPOINTS.covered_until + 1, CHECKPOINTS)
    assert not one.exact
    assert one.high == known * 4
    assert one.low == decode_compact(encode_compact(known // 4))
    assert "past the shipped checkpoints" in one.basis
    far = target_in_force(MAINNET, 2**31 - 1, CHECKPOINTS)
    assert (far.low, far.high) == (1, MAINNET.pow_limit)


def test_target_in_force_elsewhere():
    regtest = target_in_force(NETWORKS[Network.REGTEST], 12345, None)
    assert regtest.exact and regtest.low == decode_compact(0x207FFFFF)
    for network in (Network.TESTNET, Network.TESTNET4, Network.SIGNET):
        rule = target_in_force(NETWORKS[network], 5000, None)
        assert (rule.low, rule.high) == (1, NETWORKS[network].pow_limit)
        assert "no checkpoints ship" in rule.basis


def test_check_header_work_names_the_target_in_force():
    header = BlockHeader.parse(MAINNET.genesis_header)
    facts = check_header_work(header, 0, MAINNET, CHECKPOINTS)
    assert facts.details()["work"] == str(0x100010001)
    exc = failure(check_header_work, header, 40000, MAINNET, CHECKPOINTS)
    assert exc.sub_indication is SubIndication.PROOF_OF_WORK_FAILURE
    assert "period 19" in exc.message and "1d00ffff" in exc.message


# --------------------------------------------------------------------------- transactions


def tx_bytes(outputs: list[bytes], script_sig: bytes = b"\x51") -> bytes:
    tx = CMutableTransaction([CMutableTxIn(COutPoint(b"\x11" * 32, 0), CScript(script_sig))],
                             [CMutableTxOut(1000, CScript(s)) for s in outputs])
    return CTransaction.from_tx(tx).serialize()


ROOT = bytes(range(32))
ANCHOR = b"\x6a\x20" + ROOT


def test_segwit_hex_is_accepted_and_its_witness_excluded_from_the_txid():
    tx = segwit_anchor_tx(ROOT)
    raw = tx.serialize()
    parsed = parse_transaction(raw)
    assert parsed.has_witness and len(parsed.stripped) < len(raw)
    assert parsed.txid == tx.GetTxid() == dsha256(parsed.stripped)
    assert check_txid(parsed, tx.GetTxid()[::-1])["witness"] is True
    assert parsed.txid != dsha256(raw)


def test_a_sixty_four_byte_transaction_is_refused():
    raw = tx_bytes([b"\x51\x51\x51\x51"], script_sig=b"")
    assert len(raw) == 64
    exc = failure(parse_transaction, raw)
    assert exc.sub_indication is SubIndication.FORMAT_FAILURE and "inner Merkle node" in exc.message
    assert len(tx_bytes([b"\x51\x51\x51"], script_sig=b"")) == 63
    parse_transaction(tx_bytes([b"\x51\x51\x51"], script_sig=b""))  # 63 bytes: fine


@pytest.mark.parametrize("mangle,problem", [
    (lambda raw: raw + b"\x00", "after the transaction"),
    (lambda raw: raw[:-1], "does not parse"),
    (lambda raw: raw[:4] + b"\xfd\x01\x00" + raw[5:], "canonical"),  # 1 input as 3 bytes
    (lambda raw: b"", "does not parse"),
])
def test_malformed_transactions_are_format_failures(mangle, problem):
    raw = tx_bytes([ANCHOR])
    exc = failure(parse_transaction, mangle(raw))
    assert exc.sub_indication is SubIndication.FORMAT_FAILURE and problem in exc.message


def test_a_witness_marker_with_empty_witnesses_is_not_canonical():
    raw = tx_bytes([ANCHOR])
    with_marker = raw[:4] + b"\x00\x01" + raw[4:-4] + b"\x00" + raw[-4:]
    exc = failure(parse_transaction, with_marker)
    assert "canonical" in exc.message


def test_txid_mismatch_names_both():
    parsed = parse_transaction(tx_bytes([ANCHOR]))
    exc = failure(check_txid, parsed, b"\xab" * 32)
    assert exc.sub_indication is SubIndication.HASH_FAILURE
    assert parsed.txid[::-1].hex() in exc.message and "ab" * 32 in exc.message


def test_op_return_rule():
    change = b"\x00\x14" + b"\x22" * 20
    one = parse_transaction(tx_bytes([change, ANCHOR]))
    assert check_op_return(one, ROOT, 1) == 1
    assert check_op_return(one, ROOT, None) == 1
    exc = failure(check_op_return, one, ROOT, 0)
    assert exc.sub_indication is SubIndication.HASH_FAILURE and "output 0" in exc.message
    exc = failure(check_op_return, one, ROOT, 2)
    assert exc.sub_indication is SubIndication.FORMAT_FAILURE and "past the last" in exc.message
    exc = failure(check_op_return, one, ROOT[::-1], None)  # the root is not reversed
    assert "no output" in exc.message
    two = parse_transaction(tx_bytes([ANCHOR, ANCHOR]))
    assert check_op_return(two, ROOT, 1) == 1
    exc = failure(check_op_return, two, ROOT, None)
    assert "2 outputs ([0, 1])" in exc.message
    for near_miss in (b"\x6a\x4c\x20" + ROOT, ANCHOR + b"\x00", b"\x6a\x21\x00" + ROOT,
                      b"\x6a" + ROOT):
        exc = failure(check_op_return, parse_transaction(tx_bytes([near_miss])), ROOT, 0)
        assert exc.sub_indication is SubIndication.HASH_FAILURE


# --------------------------------------------------------------------------- inclusion


def branch(txids: list[bytes], index: int) -> list[bytes]:
    """The branch of ``txids[index]`` in display order, as a bundle writes it."""
    return [h[::-1] for h in merkle_branch(txids, index)]


def header_with_root(root: bytes) -> BlockHeader:
    return BlockHeader.parse(struct.pack("<i32s32sIII", 1, b"\x00" * 32, root, 0, 0x207FFFFF, 0))


def test_inclusion_of_every_position_of_odd_sized_trees():
    for count in (1, 2, 3, 5, 7):
        txids = [dsha256(bytes([count, i])) for i in range(count)]
        header = header_with_root(merkle_root(txids))
        for index in range(count):
            facts = check_inclusion(header, header.hash[::-1], txids[index][::-1], index,
                                    branch(txids, index))
            assert facts["txIndex"] == index


def test_inclusion_refusals():
    txids = [dsha256(bytes([i])) for i in range(3)]
    header = header_with_root(merkle_root(txids))
    good = branch(txids, 1)
    exc = failure(check_inclusion, header, b"\x00" * 32, txids[1][::-1], 1, good)
    assert exc.sub_indication is SubIndication.HASH_FAILURE and "not to block.hash" in exc.message
    exc = failure(check_inclusion, header, header.hash[::-1], txids[1][::-1], 5, good)
    assert exc.sub_indication is SubIndication.FORMAT_FAILURE
    assert "more than the branch" in exc.message
    exc = failure(check_inclusion, header, header.hash[::-1], txids[1][::-1], 0, good)
    assert exc.sub_indication is SubIndication.HASH_FAILURE and "folds to" in exc.message
    exc = failure(check_inclusion, header, header.hash[::-1], txids[1][::-1], 1, good * 17)
    assert "over the limit of 32" in exc.message
    # Position 3 of a 3-transaction block is the padding copy of position 2.
    exc = failure(check_inclusion, header, header.hash[::-1], txids[2][::-1], 3,
                  branch(txids, 3))
    assert exc.sub_indication is SubIndication.FORMAT_FAILURE and "padding" in exc.message


# --------------------------------------------------------------------------- partial trees


def test_merkle_blocks_give_each_position_and_its_branch():
    block = world().anchoring.block
    header = BlockHeader.parse(block.get_header().serialize())
    for index, tx in enumerate(block.vtx):
        parsed = parse_merkle_block(merkle_block(block, [index]))
        assert parsed.root == header.merkle_root
        position, siblings = parsed.matches[tx.GetTxid()]
        assert position == index
        check_inclusion(header, header.hash[::-1], tx.GetTxid()[::-1], index,
                        [s[::-1] for s in siblings])
    both = parse_merkle_block(merkle_block(block, [1, 6]))
    assert sorted(p for p, _ in both.matches.values()) == [1, 6]


def test_malformed_merkle_blocks_are_refused():
    good = merkle_block(world().anchoring.block, [6])
    for bad, problem in ((good[:-1], "unused|truncated"), (good + b"\x00", "after its flags"),
                         (good[:80] + b"\x00\x00\x00\x00" + good[84:], "claims 0")):
        with pytest.raises(MerkleBlockError, match=problem):
            parse_merkle_block(bad)
    # Two leaves, both given as hashes under a matched parent, equal: CVE-2012-2459.
    same = b"\x33" * 32
    crafted = (world().anchoring.block.get_header().serialize() + (2).to_bytes(4, "little")
               + b"\x02" + same + same + b"\x01" + b"\x07")
    with pytest.raises(MerkleBlockError, match="copy of itself"):
        parse_merkle_block(crafted)


# --------------------------------------------------------------------------- header runs


def test_the_generated_regtest_chain_validates():
    chain = world().anchoring.chain
    run = validate_run(chain.headers_file(), 0, NETWORKS[Network.REGTEST])
    assert run.tip_height == 10 and run.count == 11
    block3 = chain.blocks[3].GetHash()
    assert run.hash_at(3) == block3 and run.height_of(block3) == 3
    assert run.header_at(3) == chain.header(3) and run.hash_at(11) is None
    assert run.height_of(b"\x00" * 32) is None


def header_run_error(data: bytes, params, first: int = 0, checkpoints=None) -> HeaderRunError:
    with pytest.raises(HeaderRunError) as caught:
        validate_run(data, first, params, checkpoints)
    return caught.value


def test_broken_links_and_missing_work_are_found():
    params = easy(Network.SIGNET)
    data = build(params, 20)
    validate_run(data, 0, params)
    swapped = data[:80 * 5] + data[80 * 6:80 * 7] + data[80 * 5:80 * 6] + data[80 * 7:]
    err = header_run_error(swapped, params)
    assert err.height == 5 and "previous-block hash" in err.problem
    lazy = bytearray(data)
    for nonce in range(1 << 16):  # a header at height 9 whose hash misses its target
        lazy[80 * 9 + 76:80 * 9 + 80] = struct.pack("<I", nonce)
        if int.from_bytes(dsha256(bytes(lazy[80 * 9:80 * 10])), "little") > \
                decode_compact(EASY_BITS):
            break
    err = header_run_error(bytes(lazy), params)
    assert err.height == 9 and "above its target" in err.problem


def test_nbits_must_stay_the_period_target():
    params = easy(Network.MAINNET, genesis_bits=HARDER_BITS)
    data = build(params, 12, bits_at=lambda h, want: EASY_BITS if h == 7 else want)
    err = header_run_error(data, params)
    assert err.height == 7 and f"but the target in force is nBits {HARDER_BITS:08x}" in err.problem


def test_a_block_not_later_than_the_median_time_is_refused():
    params = easy(Network.SIGNET)
    data = build(params, 20, spacing=lambda h: -3100 if h == 15 else 600)
    err = header_run_error(data, params)
    assert err.height == 15 and "median time" in err.problem
    validate_run(build(params, 20, spacing=lambda h: -2900 if h == 15 else 600), 0, params)


def test_buried_deployments_demand_versions():
    params = easy(Network.SIGNET)
    data = build(params, 8, version_at=lambda h: 3 if h == 4 else 0x20000000)
    err = header_run_error(data, params)
    assert err.height == 4 and "version 3, below 4 which BIP 65" in err.problem


def test_minimum_difficulty_blocks_follow_the_testnet_rule():
    params = easy(Network.TESTNET, genesis_bits=HARDER_BITS)
    # Block 5 comes 21 minutes after its parent and uses the limit; block 6 comes 10
    # minutes later and must return to the real target, not stay at the limit.
    slow = lambda h: 1260 if h == 5 else 600  # noqa: E731
    ok = build(params, 10, spacing=slow)
    assert struct.unpack_from("<I", ok, 80 * 5 + 72)[0] == params.pow_limit_bits
    assert struct.unpack_from("<I", ok, 80 * 6 + 72)[0] == HARDER_BITS
    validate_run(ok, 0, params)
    stuck = build(params, 10, spacing=slow,
                  bits_at=lambda h, want: params.pow_limit_bits if h == 6 else want)
    err = header_run_error(stuck, params)
    assert err.height == 6 and f"demand {HARDER_BITS:08x}" in err.problem
    early = build(params, 10, bits_at=lambda h, want: params.pow_limit_bits if h == 3 else want)
    assert header_run_error(early, params).height == 3


def test_testnet4_limits_the_time_warp_at_period_starts():
    params = easy(Network.TESTNET4, no_retargeting=True)
    warp = build(params, 2017, spacing=lambda h: -601 if h == 2016 else 600)
    err = header_run_error(warp, params)
    assert err.height == 2016 and "BIP 94" in err.problem
    validate_run(build(params, 2017, spacing=lambda h: -599 if h == 2016 else 600), 0, params)


def test_runs_must_start_where_their_first_target_is_known():
    params = easy(Network.SIGNET)
    data = build(params, 5)
    assert "not a whole number" in header_run_error(data[:-1], params).problem
    assert "genesis block" in header_run_error(data[80:], params).problem
    assert "must start at genesis" in header_run_error(data[80:], params, first=1).problem
    past = header_run_error(MAINNET.genesis_header, MAINNET, first=2016 * 500,
                            checkpoints=CHECKPOINTS)
    assert "starts past the shipped checkpoints" in past.problem


def test_a_run_through_a_checkpoint_must_hold_that_block():
    # The genesis header, claimed at height 2015, meets the period-0 target, but the
    # shipped checkpoint names another block at that height.
    err = header_run_error(MAINNET.genesis_header, MAINNET, first=2015, checkpoints=CHECKPOINTS)
    assert err.height == 2015
    assert f"but the shipped checkpoint at this height is {CHECKPOINTS.hash_at(2015)}" in \
        err.problem
