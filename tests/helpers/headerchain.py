"""Header runs mined for real, under networks whose proof-of-work limit is regtest's
(about two attempts per header), so that the rules of every network can be exercised
with headers that meet their targets.

A computed retarget cannot be mined this way: at so easy a limit the rule's 256-bit
product wraps, in Bitcoin Core as here (that is why regtest never retargets). The
retarget rule is exercised by the 93 real retargets of tests/data/bitcoin and by unit
tests of ``retarget_bits``; runs here cross period boundaries with ``no_retargeting``.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable

from provelio_verify.bundle import Network
from provelio_verify.core.anchor.bitcoin import (
    NETWORKS,
    NetworkParams,
    decode_compact,
    dsha256,
    encode_compact,
    retarget_bits,
)

EASY_LIMIT = (1 << 255) - 1  # regtest's
EASY_BITS = encode_compact(EASY_LIMIT)
#: A target below the limit (about eight attempts): a "real" difficulty that
#: minimum-difficulty blocks may step down from.
HARDER_BITS = encode_compact(1 << 253)
T0 = 1_700_000_000


def mine(prev: bytes, time: int, bits: int, version: int = 0x20000000,
         root: bytes = b"\x11" * 32) -> bytes:
    """A header meeting the target of ``bits``."""
    target = decode_compact(bits)
    nonce = 0
    while True:
        raw = struct.pack("<i32s32sIII", version, prev, root, time, bits, nonce)
        if int.from_bytes(dsha256(raw), "little") <= target:
            return raw
        nonce += 1


def easy(network: Network, genesis_bits: int = EASY_BITS, **changes: object) -> NetworkParams:
    """``network``'s rules with regtest's limit and a genesis mined at ``genesis_bits``."""
    genesis = mine(b"\x00" * 32, T0, genesis_bits, version=1)
    return dataclasses.replace(NETWORKS[network], pow_limit=EASY_LIMIT, genesis_header=genesis,
                               genesis_hash=dsha256(genesis)[::-1].hex(), **changes)


def build(params: NetworkParams, count: int, *,
          spacing: Callable[[int], int] = lambda h: 600,
          bits_at: Callable[[int, int], int] | None = None,
          version_at: Callable[[int], int] = lambda h: 0x20000000) -> bytes:
    """``count`` headers from genesis, each ``spacing(h)`` seconds after its parent, with
    the nBits the rules demand unless ``bits_at(height, demanded)`` says otherwise."""
    headers = [params.genesis_header]
    times = [T0]
    bits = [struct.unpack_from("<I", params.genesis_header, 72)[0]]
    last_real = bits[0]
    for h in range(1, count):
        t = times[-1] + spacing(h)
        if h % 2016 == 0:
            demanded = retarget_bits(params, last_bits=bits[-1], first_bits=bits[h - 2016],
                                     first_time=times[h - 2016], last_time=times[-1])
        elif params.allow_min_difficulty and t > times[-1] + 1200:
            demanded = params.pow_limit_bits
        elif params.allow_min_difficulty:
            demanded = last_real
        else:
            demanded = bits[-1]
        b = bits_at(h, demanded) if bits_at else demanded
        headers.append(mine(dsha256(headers[-1]), t, b, version=version_at(h)))
        times.append(t)
        bits.append(b)
        if h % 2016 == 0 or b != params.pow_limit_bits:
            last_real = b
    return b"".join(headers)
