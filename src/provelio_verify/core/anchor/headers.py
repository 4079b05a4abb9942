"""A run of consecutive block headers, validated as a node validates headers.

Each header (1) links to the one before by hash, (2) meets the target in its nBits,
(3) carries exactly the nBits the network's retarget rule demands at its height,
(4) is later than the median time of the eleven before it (BIP 113), (5) has at least
the version the buried deployments demand (BIP 34/66/65), and (6) where the shipped
mainnet checkpoints name a block at its height, is that block.

Fast: 190,000 mainnet headers validate in a fraction of a second. The per-header
Python work is two SHA-256 calls and one comparison; every other rule runs over
columns unpacked by ``struct`` in C (see ``benchmarks/headers.py``).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from .bitcoin import (
    HEADER_SIZE,
    MAX_FUTURE_BLOCK_TIME,
    MAX_TIMEWARP,
    MEDIAN_TIME_SPAN,
    RETARGET_INTERVAL,
    TARGET_SPACING,
    BlockHeader,
    InvalidBits,
    Network,
    NetworkParams,
    decode_compact,
    display,
    retarget_bits,
)
from .checkpoints import Checkpoints

_VERSIONS = struct.Struct("<i76x")
_PREVS = struct.Struct("<4x32s44x")
_TIMES = struct.Struct("<68xI8x")
_BITS = struct.Struct("<72xI4x")
_DEPLOYMENT = {2: "BIP 34", 3: "BIP 66", 4: "BIP 65"}


class HeaderRunError(ValueError):
    """The run breaks a rule at ``height``."""

    def __init__(self, height: int, problem: str) -> None:
        self.height = height
        self.problem = problem
        super().__init__(f"height {height}: {problem}")


@dataclass(frozen=True)
class HeaderRun:
    """A validated run: its raw headers and their hashes (internal order)."""

    params: NetworkParams
    first_height: int
    data: bytes
    hashes: bytes
    #: Period starts whose nBits were recomputed from the run's own timestamps.
    retargets: int
    #: Checkpointed blocks the run contains, each found equal to the checkpoint.
    checkpoints_matched: int

    @property
    def count(self) -> int:
        return len(self.data) // HEADER_SIZE

    @property
    def tip_height(self) -> int:
        return self.first_height + self.count - 1

    def covers(self, height: int) -> bool:
        return self.first_height <= height <= self.tip_height

    def hash_at(self, height: int) -> bytes | None:
        """The hash (internal order) of the header at ``height``, if the run holds it."""
        if not self.covers(height):
            return None
        i = height - self.first_height
        return self.hashes[32 * i:32 * i + 32]

    def header_at(self, height: int) -> bytes | None:
        if not self.covers(height):
            return None
        i = height - self.first_height
        return self.data[HEADER_SIZE * i:HEADER_SIZE * i + HEADER_SIZE]

    def proven_tip(self, checkpoints: Checkpoints | None) -> int | None:
        """The highest height up to which this run shows the best chain, by the
        checkpoint rule (:meth:`Checkpoints.vouching_height`): on mainnet, the highest
        checkpointed block the run holds, or its tip once it holds the last
        checkpoint; ``None`` when it holds no checkpoint. Networks without
        checkpoints (test networks, which start at genesis): the tip.
        """
        if self.params.network is not Network.MAINNET or checkpoints is None \
                or not len(checkpoints):
            return self.tip_height
        if self.covers(checkpoints.last_height):
            return self.tip_height
        top = (self.tip_height + 1) // RETARGET_INTERVAL - 1  # last period ended in the run
        height = checkpoints.height_of_checkpoint(top) if top >= 0 else -1
        return height if height >= self.first_height else None

    def height_of(self, block_hash: bytes) -> int | None:
        """The height of the header with this hash (internal order) in the run."""
        at = self.hashes.find(block_hash)
        while at != -1 and at % 32:
            at = self.hashes.find(block_hash, at + 1)
        return None if at == -1 else self.first_height + at // 32


def validate_run(data: bytes, first_height: int, params: NetworkParams,
                 checkpoints: Checkpoints | None = None, *,
                 latest_time: int | None = None) -> HeaderRun:
    """Validate ``data``, consecutive raw headers, the first at ``first_height``.

    The first header's own link is taken as given: a run from height 0 must begin with
    the network's genesis header; a mainnet run from elsewhere takes its first targets
    from ``checkpoints``. (Whether the first header deserves trust is the caller's
    question: a headers file must begin at a genesis or a checkpointed block.)

    With ``latest_time`` (the verifier's clock plus
    :data:`~provelio_verify.core.anchor.bitcoin.MAX_FUTURE_BLOCK_TIME`), (7) no header's time
    is later than it, as a node refuses headers from the future.

    Raises:
        HeaderRunError: the first rule broken, at its height.
    """
    count, rest = divmod(len(data), HEADER_SIZE)
    if rest or not count:
        raise HeaderRunError(first_height, f"{len(data)} bytes is not a whole number of "
                                           f"{HEADER_SIZE}-byte headers")
    cps = checkpoints if params.network is Network.MAINNET else None
    genesis_bits = BlockHeader.parse(params.genesis_header).bits
    if first_height == 0 and data[:HEADER_SIZE] != params.genesis_header:
        raise HeaderRunError(0, f"the first header is not the {params.network.value} "
                                f"genesis block {params.genesis_hash}")
    if first_height and cps is None:
        raise HeaderRunError(first_height, f"a {params.network.value} run must start at "
                                           "genesis: no checkpoints ship for it")
    if cps is not None and cps.period_bits(first_height // RETARGET_INTERVAL,
                                           genesis_bits) is None:
        raise HeaderRunError(first_height, "the run starts past the shipped checkpoints, "
                                           "where the target in force is not known")
    bits = [b for (b,) in _BITS.iter_unpack(data)]
    times = [t for (t,) in _TIMES.iter_unpack(data)]
    _check_versions(data, first_height, params)
    _check_median_time(times, first_height)
    if latest_time is not None and max(times) > latest_time:
        bad = next(i for i, t in enumerate(times) if t > latest_time)
        raise HeaderRunError(first_height + bad,
                             f"time {times[bad]} is more than {MAX_FUTURE_BLOCK_TIME} s after "
                             f"the verifier's clock ({latest_time - MAX_FUTURE_BLOCK_TIME}): a "
                             "header from the future")

    hashes: list[bytes] = []
    retargets = 0
    start = 0
    while start < count:
        height = first_height + start
        period = height // RETARGET_INTERVAL
        end = min(count, (period + 1) * RETARGET_INTERVAL - first_height)
        if height % RETARGET_INTERVAL == 0 and start >= RETARGET_INTERVAL:
            expected = retarget_bits(params, last_bits=bits[start - 1],
                                     first_bits=bits[start - RETARGET_INTERVAL],
                                     first_time=times[start - RETARGET_INTERVAL],
                                     last_time=times[start - 1])
            retargets += 1
            known = cps.period_bits(period, genesis_bits) if cps is not None else None
            if known is not None and known != expected:
                raise HeaderRunError(height, f"the retarget rule gives nBits {expected:08x}, "
                                             f"the shipped checkpoints {known:08x}")
        elif height == 0:
            expected = genesis_bits
        else:
            assert cps is not None  # a run not from genesis is a mainnet run (above)
            known = cps.period_bits(period, genesis_bits)
            if known is None:
                raise HeaderRunError(height, f"the target of period {period} is past the "
                                             "shipped checkpoints and the run does not hold "
                                             "the period before it")
            expected = known
        if (params.enforce_bip94 and height % RETARGET_INTERVAL == 0 and start
                and times[start] < times[start - 1] - MAX_TIMEWARP):
            raise HeaderRunError(height, f"time {times[start]} is more than {MAX_TIMEWARP} s "
                                         f"before its parent's {times[start - 1]} at a "
                                         "period start (BIP 94)")
        if params.allow_min_difficulty:
            _check_min_difficulty_bits(bits, times, start, end, first_height, expected, params)
        elif bits[start:end].count(expected) != end - start:
            bad = next(i for i in range(start, end) if bits[i] != expected)
            raise HeaderRunError(first_height + bad, f"nBits {bits[bad]:08x}, but the target "
                                                     f"in force is nBits {expected:08x}")
        _hash_and_check_work(data, start, end, first_height, bits, hashes)
        start = end

    prevs = [p for (p,) in _PREVS.iter_unpack(data)]
    if prevs[1:] != hashes[:-1]:
        bad = next(i for i in range(1, count) if prevs[i] != hashes[i - 1])
        raise HeaderRunError(first_height + bad,
                             f"previous-block hash {display(prevs[bad])}, but the header "
                             f"before it hashes to {display(hashes[bad - 1])}")
    matched = _check_checkpoint_hashes(hashes, first_height, cps)
    return HeaderRun(params, first_height, data, b"".join(hashes), retargets, matched)


def _hash_and_check_work(data: bytes, start: int, end: int, first_height: int,
                         bits: Sequence[int], hashes: list[bytes]) -> None:
    """The hot loop: hash each header and compare the hash with its target."""
    sha256 = hashlib.sha256
    from_bytes = int.from_bytes
    append = hashes.append
    targets: dict[int, int] = {}
    current_bits = -1
    target = 0
    offset = start * HEADER_SIZE
    for i in range(start, end):
        digest = sha256(sha256(data[offset:offset + HEADER_SIZE]).digest()).digest()
        offset += HEADER_SIZE
        append(digest)
        if bits[i] != current_bits:
            current_bits = bits[i]
            target = targets.get(current_bits) or _target(current_bits, first_height + i)
            targets[current_bits] = target
        if from_bytes(digest, "little") > target:
            raise HeaderRunError(first_height + i, f"hash {display(digest)} is above its "
                                                   f"target {target:064x} "
                                                   f"(nBits {current_bits:08x})")


def _target(bits: int, height: int) -> int:
    try:
        return decode_compact(bits)
    except InvalidBits as exc:
        raise HeaderRunError(height, str(exc)) from None


def _check_min_difficulty_bits(bits: Sequence[int], times: Sequence[int], start: int,
                               end: int, first_height: int, period_bits: int,
                               params: NetworkParams) -> None:
    """``GetNextWorkRequired`` with ``fPowAllowMinDifficultyBlocks``: inside a period,
    a block more than twice the spacing after its parent may use the limit; any other
    carries the nBits of the last block before it that did not (walking back no
    further than the period's first block)."""
    limit_bits = params.pow_limit_bits
    last_real = period_bits
    for i in range(start, end):
        height = first_height + i
        if height % RETARGET_INTERVAL == 0:
            expected = period_bits
        elif times[i] > times[i - 1] + 2 * TARGET_SPACING:
            expected = limit_bits
        else:
            expected = last_real
        if bits[i] != expected:
            raise HeaderRunError(height, f"nBits {bits[i]:08x}, but the rules of "
                                         f"{params.network.value} demand {expected:08x}")
        if height % RETARGET_INTERVAL == 0 or bits[i] != limit_bits:
            last_real = bits[i]


def _check_median_time(times: Sequence[int], first_height: int) -> None:
    """(4) BIP 113: a block's time exceeds the median of the (up to) eleven before it.
    A run that does not start at genesis cannot judge its first eleven headers."""
    begin = 1 if first_height == 0 else MEDIAN_TIME_SPAN
    latest = max(times[:begin], default=-1)
    for i in range(begin, len(times)):
        t = times[i]
        if t <= latest:  # only then can t fail to exceed the median of those before it
            window = sorted(times[max(0, i - MEDIAN_TIME_SPAN):i])
            median = window[len(window) // 2]
            if t <= median:
                raise HeaderRunError(first_height + i, f"time {t} is not after {median}, the "
                                                       "median time of the blocks before it")
        else:
            latest = t


def _check_versions(data: bytes, first_height: int, params: NetworkParams) -> None:
    """(5) Buried deployments: from each activation height, a minimum header version."""
    versions = [v for (v,) in _VERSIONS.iter_unpack(data)]
    for minimum, since in params.version_heights:
        begin = max(0, since - first_height)
        if begin < len(versions) and min(versions[begin:]) < minimum:
            bad = next(i for i in range(begin, len(versions)) if versions[i] < minimum)
            raise HeaderRunError(
                first_height + bad,
                f"version {versions[bad]}, below {minimum} which {_DEPLOYMENT[minimum]} "
                f"demands from height {since} on {params.network.value}")


def _check_checkpoint_hashes(hashes: Sequence[bytes], first_height: int,
                             cps: Checkpoints | None) -> int:
    """(6) Every checkpointed height in the run holds the checkpointed block."""
    if cps is None:
        return 0
    matched = 0
    last = first_height + len(hashes) - 1
    first_index = max(0, (first_height + 1) // RETARGET_INTERVAL - 1)
    for index in range(first_index, len(cps)):
        height = cps.height_of_checkpoint(index)
        if height > last:
            break
        if height < first_height:
            continue
        got = display(hashes[height - first_height])
        if got != cps.block_hashes[index]:
            raise HeaderRunError(height, f"block {got}, but the shipped checkpoint at this "
                                         f"height is {cps.block_hashes[index]}")
        matched += 1
    return matched
