"""Issue 8, item 1: a headers file cannot invent mainnet history.

Headers below a checkpoint are cheap to make (every period before height 32,256 has
difficulty 1), so a headers file speaks for a mainnet height only when its run also
passes through the first shipped checkpoint at or above that height (the last
checkpoint, for heights above every checkpoint). These tests hold the rule with real
mainnet headers, with mined runs under custom checkpoints, and against header times
from the future; the CLI scenario ``headers-file-invented-history`` holds it end to end
with real difficulty-1 headers mined on the real genesis.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.headerchain import build, easy
from provelio_verify.bundle import Network
from provelio_verify.chain import HeadersFileSource
from provelio_verify.core.anchor.bitcoin import (
    MAX_FUTURE_BLOCK_TIME,
    NETWORKS,
    RETARGET_INTERVAL,
    dsha256,
)
from provelio_verify.core.anchor.checkpoints import Checkpoints
from provelio_verify.core.anchor.headers import HeaderRunError, validate_run
from provelio_verify.errors import SourceError, SourceInvalid, SourceUnproven
from provelio_verify.inputs.checkpoints import mainnet_checkpoints

DATA = Path(__file__).resolve().parent / "data" / "bitcoin"
CHECKPOINTS = mainnet_checkpoints()
MAINNET = NETWORKS[Network.MAINNET]


@given(st.integers(min_value=0, max_value=CHECKPOINTS.last_height + 10 * RETARGET_INTERVAL))
def test_the_vouching_checkpoint_is_the_first_at_or_above_the_height(height):
    vouching = CHECKPOINTS.vouching_height(height)
    assert vouching is not None and CHECKPOINTS.hash_at(vouching) is not None
    if height <= CHECKPOINTS.last_height:
        assert vouching >= height and vouching - RETARGET_INTERVAL < height
    else:
        assert vouching == CHECKPOINTS.last_height


def _real_run_from(start: int) -> bytes:
    """Real mainnet headers from the checkpointed block ``start`` to height 100,000."""
    data = (DATA / "headers" / "mainnet_headers_80001_100000.bin").read_bytes()
    return data[(start - 80001) * 80:]


def test_a_real_run_speaks_only_up_to_its_highest_checkpoint(tmp_path):
    start = 80639  # 2016 * 40 + 2015
    assert CHECKPOINTS.hash_at(start) is not None
    path = tmp_path / "headers.bin"
    path.write_bytes(_real_run_from(start))
    source = HeadersFileSource(path)
    run = source.run()
    assert run.tip_height == 100000
    assert run.proven_tip(CHECKPOINTS) == 98783 == CHECKPOINTS.height_of_checkpoint(48)
    # Below the checkpoint at 98,783 (and reaching it): established.
    assert source.block_hash(98000) == run.hash_at(98000)[::-1].hex()
    assert source.block_hash(98783) == CHECKPOINTS.hash_at(98783)
    assert source.tip_height() == 98783
    # Above it, the next checkpoint (100,799) is past the file's end: unproven, and the
    # message names the checkpoint to reach and how to check it by hand.
    with pytest.raises(SourceUnproven) as caught:
        source.block_hash(99900)
    assert "checkpoint at height 100799" in caught.value.reason
    assert f"getblockhash 100799` must print {CHECKPOINTS.hash_at(100799)}" \
        in caught.value.reason
    with pytest.raises(SourceUnproven):
        source.block_status(run.hash_at(99900)[::-1].hex())
    # The header itself is still served: it is checked by its own hash and work.
    assert source.header(run.hash_at(99900)[::-1].hex()) == run.header_at(99900)


def _mined_checkpoints(params, headers: bytes, count: int) -> Checkpoints:
    """Checkpoints naming the last block of each of the first ``count`` periods."""
    hashes = tuple(dsha256(headers[80 * h:80 * h + 80])[::-1].hex()
                   for h in (RETARGET_INTERVAL * i + RETARGET_INTERVAL - 1
                             for i in range(count)))
    bits = struct.unpack_from("<I", params.genesis_header, 72)[0]
    return Checkpoints(Network.MAINNET, hashes, (bits,) * count)


@pytest.fixture(scope="module")
def mined():
    params = easy(Network.MAINNET, no_retargeting=True)
    headers = build(params, 2 * RETARGET_INTERVAL + 300)
    return params, headers, _mined_checkpoints(params, headers, 2)


def test_above_the_last_checkpoint_the_run_must_pass_through_it(mined):
    params, headers, cps = mined
    last = cps.last_height  # 4031
    whole = validate_run(headers, 0, params, cps)
    assert whole.proven_tip(cps) == whole.tip_height == last + 300
    # The same run cut before the last checkpoint holds only the first one.
    cut = validate_run(headers[:80 * last], 0, params, cps)
    assert cut.proven_tip(cps) == RETARGET_INTERVAL - 1
    # A run that starts past the first checkpoint and ends before the second: nothing.
    partial = validate_run(headers[:80 * (RETARGET_INTERVAL + 10)], 0, params, cps)
    assert partial.proven_tip(cps) == RETARGET_INTERVAL - 1
    short = validate_run(headers[:80 * 100], 0, params, cps)
    assert short.proven_tip(cps) is None


def test_test_networks_have_no_checkpoints_and_speak_from_genesis(mined):
    params = easy(Network.REGTEST)
    headers = build(params, 50)
    run = validate_run(headers, 0, params, None)
    assert run.proven_tip(None) == run.proven_tip(CHECKPOINTS) == 49


def test_a_header_from_the_future_is_refused(tmp_path):
    """A node refuses headers more than two hours past its clock; so does a file."""
    params = easy(Network.REGTEST)
    headers = build(params, 20)
    times = [struct.unpack_from("<I", headers, 80 * h + 68)[0] for h in range(20)]
    clock = times[-1] - MAX_FUTURE_BLOCK_TIME  # the tip exactly two hours ahead: fine
    validate_run(headers, 0, params, None, latest_time=clock + MAX_FUTURE_BLOCK_TIME)
    with pytest.raises(HeaderRunError, match="from the future") as caught:
        validate_run(headers, 0, params, None, latest_time=clock - 1 + MAX_FUTURE_BLOCK_TIME)
    assert caught.value.height == 19


def test_a_real_headers_file_with_its_tip_in_the_future_is_invalid(tmp_path):
    """The shipped regtest example chain, its last header re-mined far ahead."""
    from gen import chain as chainmod  # the fixture generator's miner

    example = Path(__file__).resolve().parents[1] / "examples" / "ok-confirmed-regtest"
    data = (example / "headers.bin").read_bytes()
    future = int(time.time()) + 30 * 24 * 3600
    last = data[-80:]
    block = chainmod.mine(dsha256(data[-160:-80]), [chainmod.coinbase(len(data) // 80 - 1)],
                          future, version=struct.unpack_from("<i", last, 0)[0])
    path = tmp_path / "headers.bin"
    path.write_bytes(data[:-80] + block.get_header().serialize())
    with pytest.raises(SourceInvalid, match="from the future"):
        HeadersFileSource(path).tip_height()


@given(st.data())
def test_a_mutated_headers_file_never_escapes_as_an_exception(tmp_path_factory, data):
    """Bit flips, truncation and extension of a valid file: the source either refuses
    the file (a SourceError) or, when it still validates, answers for headers that
    link and whose heights the rule allows."""
    example = Path(__file__).resolve().parents[1] / "examples" / "ok-confirmed-regtest"
    raw = bytearray((example / "headers.bin").read_bytes())
    action = data.draw(st.sampled_from(["flip", "truncate", "extend", "duplicate"]))
    if action == "flip":
        at = data.draw(st.integers(0, len(raw) * 8 - 1))
        raw[at // 8] ^= 1 << (at % 8)
    elif action == "truncate":
        del raw[data.draw(st.integers(0, len(raw) - 1)):]
    elif action == "extend":
        raw += data.draw(st.binary(min_size=1, max_size=200))
    else:
        raw += raw[-80:]
    path = tmp_path_factory.mktemp("mutated") / "headers.bin"
    path.write_bytes(bytes(raw))
    source = HeadersFileSource(path)
    try:
        tip = source.tip_height()
        hashes = [source.block_hash(h) for h in range(tip + 1)]
    except SourceError:
        return
    for h in range(1, tip + 1):
        assert raw[80 * h + 4:80 * h + 36][::-1].hex() == hashes[h - 1]


def test_the_invented_history_is_valid_and_only_the_rule_refuses_it(tmp_path):
    """The scenario's headers file: the real genesis and two headers mined at
    difficulty 1 (the fixture generator re-checks their work). It validates as a node
    validates headers; without checkpoints it would answer for its blocks (the attack
    that made a live bundle PASS); with the shipped ones it speaks for nothing."""
    from helpers.common import SCENARIOS

    path = SCENARIOS / "headers-file-invented-history" / "headers.bin"
    data = path.read_bytes()
    assert data[:80] == MAINNET.genesis_header and len(data) == 3 * 80
    run = validate_run(data, 0, MAINNET, CHECKPOINTS)
    assert run.tip_height == 2 and run.proven_tip(CHECKPOINTS) is None
    naive = HeadersFileSource(path, checkpoints=Checkpoints(Network.MAINNET, (), ()))
    assert naive.block_hash(1) == run.hash_at(1)[::-1].hex() and naive.tip_height() == 2
    with pytest.raises(SourceUnproven, match="checkpoint at height 2015"):
        HeadersFileSource(path).block_hash(1)
