"""Bitcoin's consensus rules on block headers, as this verifier relies on them.

Consensus-critical: a change here changes verdicts. Pure: bytes in, values out.

Byte order: Bitcoin hashes are computed and compared in *internal* order (the bytes
``dsha256`` returns); they are shown, and written in bundles, in *display* order (the
same bytes reversed). Every name here says which one it holds.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


class Network(enum.StrEnum):
    """The Bitcoin network a bundle's anchor names (contract section 2)."""

    MAINNET = "mainnet"
    TESTNET = "testnet"
    TESTNET4 = "testnet4"
    SIGNET = "signet"
    REGTEST = "regtest"


#: A serialized block header: version, previous hash, Merkle root, time, nBits, nonce.
HEADER_SIZE: Final = 80
#: Blocks per difficulty period (Bitcoin Core ``DifficultyAdjustmentInterval``).
RETARGET_INTERVAL: Final = 2016
#: The time a period should take (``nPowTargetTimespan``), in seconds: two weeks.
TARGET_TIMESPAN: Final = 14 * 24 * 60 * 60
#: The time a block should take (``nPowTargetSpacing``), in seconds.
TARGET_SPACING: Final = 10 * 60
#: A block's time must exceed the median of this many predecessors (BIP 113's MTP).
MEDIAN_TIME_SPAN: Final = 11
#: BIP 94 (testnet4): a period's first block may be at most this much older than its parent.
MAX_TIMEWARP: Final = 600
#: A node refuses a header whose time is more than two hours past its own clock
#: (``MAX_FUTURE_BLOCK_TIME`` in Bitcoin Core's validation.cpp). A headers file is held
#: to the same, which also bounds how far claimed timespans can lower the difficulty
#: of headers beyond the last checkpoint.
MAX_FUTURE_BLOCK_TIME: Final = 2 * 60 * 60
#: Difficulty 1 is the target of nBits 0x1d00ffff on every network (``GetDifficulty``).
DIFFICULTY_1_TARGET: Final = 0xFFFF << 208

_HEADER = struct.Struct("<i32s32sIII")


def dsha256(data: bytes) -> bytes:
    """Bitcoin's hash: SHA-256 of SHA-256, in internal byte order."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def display(internal: bytes) -> str:
    """A hash in internal order as the hex that explorers and bundles show."""
    return internal[::-1].hex()


def short(display_hex: str) -> str:
    """A long hex value abbreviated for messages (``00000000…e26f``)."""
    return display_hex if len(display_hex) <= 16 else f"{display_hex[:8]}…{display_hex[-4:]}"


@dataclass(frozen=True)
class NetworkParams:
    """What this verifier needs of a network's consensus parameters (Bitcoin Core
    ``chainparams.cpp``).

    Attributes:
        genesis_header: the 80-byte header at height 0.
        genesis_hash: its hash, display order.
        pow_limit: the largest target any block may have (``powLimit``).
        allow_min_difficulty: a block more than 20 minutes after its parent may use
            the minimum difficulty (testnet3, testnet4, regtest).
        no_retargeting: the target never changes (regtest).
        enforce_bip94: testnet4's rules: retarget from the period's first block and
            limit the time warp at period boundaries.
        version_heights: (minimum version, height) pairs from the buried deployments
            BIP 34 (2), BIP 66 (3) and BIP 65 (4): from that height on, a header's
            version must be at least that.
        cli_flag: the ``bitcoin-cli`` option that selects the network.
        explorer: the URL of a public block explorer page, ``{hash}`` to fill in.
    """

    network: Network
    genesis_header: bytes
    genesis_hash: str
    pow_limit: int
    allow_min_difficulty: bool
    no_retargeting: bool
    enforce_bip94: bool
    version_heights: tuple[tuple[int, int], ...]
    cli_flag: str
    explorer: str | None

    @property
    def pow_limit_bits(self) -> int:
        return encode_compact(self.pow_limit)

    def min_version(self, height: int) -> int:
        """The lowest header version allowed at ``height`` (``bad-version`` below it)."""
        lowest = -(2**31)
        for version, since in self.version_heights:
            if height >= since:
                lowest = max(lowest, version)
        return lowest

    def explorer_url(self, block_hash: str) -> str | None:
        return self.explorer.format(hash=block_hash) if self.explorer else None

    def cli(self, command: str) -> str:
        flag = f" {self.cli_flag}" if self.cli_flag else ""
        return f"bitcoin-cli{flag} {command}"


_GENESIS_MERKLE = "3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a"
_MAIN_LIMIT = (1 << 224) - 1  # 0x00000000ffff…ff


def _genesis(merkle_internal_hex: str, time: int, bits: int, nonce: int) -> bytes:
    return _HEADER.pack(1, b"\x00" * 32, bytes.fromhex(merkle_internal_hex), time, bits, nonce)


#: The five networks of contract section 2. Genesis headers and limits are Bitcoin
#: Core's; tests hash every genesis header and compare it with its published hash.
NETWORKS: Final = MappingProxyType({
    Network.MAINNET: NetworkParams(
        Network.MAINNET,
        _genesis(_GENESIS_MERKLE, 1231006505, 0x1D00FFFF, 2083236893),
        "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
        _MAIN_LIMIT, False, False, False,
        ((2, 227931), (3, 363725), (4, 388381)), "", "https://mempool.space/block/{hash}"),
    Network.TESTNET: NetworkParams(
        Network.TESTNET,
        _genesis(_GENESIS_MERKLE, 1296688602, 0x1D00FFFF, 414098458),
        "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
        _MAIN_LIMIT, True, False, False,
        ((2, 21111), (3, 330776), (4, 581885)), "-testnet",
        "https://mempool.space/testnet/block/{hash}"),
    Network.TESTNET4: NetworkParams(
        Network.TESTNET4,
        _genesis("4e7b2b9128fe0291db0693af2ae418b767e657cd407e80cb1434221eaea7a07a",
                 1714777860, 0x1D00FFFF, 393743547),
        "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
        _MAIN_LIMIT, True, False, True,
        ((2, 1), (3, 1), (4, 1)), "-testnet4", "https://mempool.space/testnet4/block/{hash}"),
    Network.SIGNET: NetworkParams(
        Network.SIGNET,
        _genesis(_GENESIS_MERKLE, 1598918400, 0x1E0377AE, 52613770),
        "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
        0x00000377AE << 216, False, False, False,
        ((2, 1), (3, 1), (4, 1)), "-signet", "https://mempool.space/signet/block/{hash}"),
    Network.REGTEST: NetworkParams(
        Network.REGTEST,
        _genesis(_GENESIS_MERKLE, 1296688602, 0x207FFFFF, 2),
        "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
        (1 << 255) - 1, True, True, False,
        ((2, 1), (3, 1), (4, 1)), "-regtest", None),
})

_GENESIS_BY_HASH: Final = MappingProxyType({p.genesis_hash: p for p in NETWORKS.values()})


def network_of_genesis(genesis_display: str) -> NetworkParams | None:
    """The network whose genesis block has this hash, if any."""
    return _GENESIS_BY_HASH.get(genesis_display)


# --------------------------------------------------------------------------- targets


class InvalidBits(ValueError):
    """An nBits value that encodes no valid target (negative, overflowing or zero)."""


def decode_compact(bits: int) -> int:
    """The target encoded by ``bits`` (``arith_uint256::SetCompact``, then the checks
    of ``DeriveTarget``: not negative, no overflow, not zero).

    Raises:
        InvalidBits: the encoding is negative, overflows 256 bits, or gives zero.
    """
    size = bits >> 24
    word = bits & 0x007FFFFF
    if size <= 3:
        word >>= 8 * (3 - size)
        value = word
    else:
        value = word << (8 * (size - 3))
    if word != 0 and bits & 0x00800000:
        raise InvalidBits(f"nBits {bits:08x} encodes a negative target")
    if word != 0 and (size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32)):
        raise InvalidBits(f"nBits {bits:08x} overflows 256 bits")
    if value == 0:
        raise InvalidBits(f"nBits {bits:08x} encodes a target of zero")
    return value


def encode_compact(target: int) -> int:
    """``arith_uint256::GetCompact``: the nBits that encodes ``target``, rounded down."""
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        compact = (target << (8 * (3 - size))) & 0xFFFFFFFF
    else:
        compact = (target >> (8 * (size - 3))) & 0xFFFFFFFF
    if compact & 0x00800000:
        compact >>= 8
        size += 1
    return compact | (size << 24)


def work_of(target: int) -> int:
    """The expected number of hashes to find a header meeting ``target``:
    2^256 / (target + 1), as Bitcoin Core's ``GetBlockProof``."""
    return (1 << 256) // (target + 1)


def difficulty_of(target: int) -> float:
    """The conventional difficulty: difficulty-1 target divided by ``target``."""
    return DIFFICULTY_1_TARGET / target


# --------------------------------------------------------------------------- headers


@dataclass(frozen=True)
class BlockHeader:
    """An 80-byte block header, parsed. Hashes are in internal order."""

    raw: bytes
    version: int
    prev_hash: bytes
    merkle_root: bytes
    time: int
    bits: int
    nonce: int
    hash: bytes

    @classmethod
    def parse(cls, raw: bytes) -> BlockHeader:
        """Parse a serialized header.

        Raises:
            ValueError: ``raw`` is not exactly 80 bytes.
        """
        if len(raw) != HEADER_SIZE:
            raise ValueError(f"a block header is {HEADER_SIZE} bytes, got {len(raw)}")
        version, prev, root, time, bits, nonce = _HEADER.unpack(raw)
        return cls(bytes(raw), version, prev, root, time, bits, nonce, dsha256(raw))

    @property
    def display_hash(self) -> str:
        return display(self.hash)

    @property
    def hash_value(self) -> int:
        """The hash read as a little-endian 256-bit number, as compared with targets."""
        return int.from_bytes(self.hash, "little")


class ProofOfWorkError(ValueError):
    """A header that does not carry the proof-of-work it must."""


def header_target(header: BlockHeader, params: NetworkParams) -> int:
    """(1) ``CheckProofOfWork``: the target in the header's nBits is valid and at most
    the network's limit, and the header's hash does not exceed it. Returns the target.

    Raises:
        ProofOfWorkError: naming the rule broken and both values.
    """
    try:
        target = decode_compact(header.bits)
    except InvalidBits as exc:
        raise ProofOfWorkError(str(exc)) from None
    if target > params.pow_limit:
        raise ProofOfWorkError(
            f"its target {target:064x} (nBits {header.bits:08x}) is above the "
            f"{params.network.value} proof-of-work limit {params.pow_limit:064x}")
    if header.hash_value > target:
        raise ProofOfWorkError(
            f"its hash is above its target {target:064x} (nBits {header.bits:08x})")
    return target


def retarget_bits(params: NetworkParams, *, last_bits: int, first_bits: int,
                  first_time: int, last_time: int) -> int:
    """(2) ``CalculateNextWorkRequired``: the nBits of the first block of a period, from
    the period before it: the old target times the actual timespan (its first to its
    last block, i.e. 2015 intervals) over two weeks, the timespan clamped to [1/4, 4]
    of two weeks, capped at the limit. BIP 94 scales the period's first block's target
    instead of its last. The product wraps at 256 bits, as ``arith_uint256`` does.

    Raises:
        InvalidBits: the old nBits encodes no valid target.
    """
    if params.no_retargeting:
        return last_bits
    span = min(max(last_time - first_time, TARGET_TIMESPAN // 4), TARGET_TIMESPAN * 4)
    old = decode_compact(first_bits if params.enforce_bip94 else last_bits)
    new = ((old * span) & ((1 << 256) - 1)) // TARGET_TIMESPAN
    return encode_compact(min(new, params.pow_limit))
