"""``anchor.proof-of-work``: the anchor block's header carries real work, and as much
as the network demanded at its height.

Offline, this is the weight of the evidence: a header that meets the target in force
at its height cost as much to make as a real block of that height did. Which target is
in force comes from the shipped mainnet checkpoints (exact while they reach), from the
retarget rule's bounds past them, or from a chain source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ...outcome import CheckFailure, SubIndication
from .bitcoin import (
    RETARGET_INTERVAL,
    BlockHeader,
    Network,
    NetworkParams,
    ProofOfWorkError,
    decode_compact,
    difficulty_of,
    encode_compact,
    header_target,
    work_of,
)
from .checkpoints import Checkpoints


@dataclass(frozen=True)
class CheckpointRow:
    """One row of the shipped checkpoints, as a report names it: checkpoint ``period``
    is block ``height`` (the last of that period) by its hash, and gives the nBits in
    force for period ``period + 1``; ``sources`` independent projects vouch for it,
    through ``lists`` (titles; both ``None``/empty when the data do not record it)."""

    period: int
    height: int
    block_hash: str
    bits: int
    sources: int | None
    lists: tuple[str, ...]

    @classmethod
    def of(cls, checkpoints: Checkpoints, index: int) -> CheckpointRow:
        titles = {entry.key: entry.title for entry in checkpoints.lists}
        keys = checkpoints.vouched_by[index] if checkpoints.vouched_by else ()
        return cls(index, checkpoints.height_of_checkpoint(index),
                   checkpoints.block_hashes[index], checkpoints.next_bits[index],
                   checkpoints.sources_of(index), tuple(titles[k] for k in keys))

    def describe(self) -> str:
        """``checkpoint of period 472 (block 953567, 0000…, vouched by one list only:
        Electrum 2026-07-01)``: for messages."""
        if self.sources is None:
            vouched = "vouching not recorded"
        elif self.sources == 1:
            vouched = "vouched by one list only: " + ", ".join(self.lists)
        else:
            vouched = f"vouched by {self.sources} independent lists: " + ", ".join(self.lists)
        return (f"checkpoint of period {self.period} (block {self.height}, "
                f"{self.block_hash}, {vouched})")

    def to_details(self) -> dict[str, Any]:
        return {"period": self.period, "height": self.height, "blockHash": self.block_hash,
                "bits": f"{self.bits:08x}", "target": f"{decode_compact(self.bits):064x}",
                "targetOfPeriod": self.period + 1, "sources": self.sources,
                "lists": list(self.lists)}


def last_checkpoint(checkpoints: Checkpoints | None) -> CheckpointRow | None:
    """The last shipped checkpoint's row (``None`` without checkpoints)."""
    if checkpoints is None or not len(checkpoints):
        return None
    return CheckpointRow.of(checkpoints, len(checkpoints) - 1)


def vouching_checkpoint(checkpoints: Checkpoints | None, height: int) -> CheckpointRow | None:
    """The row of the checkpoint a headers file must pass through to speak for
    ``height`` (:meth:`Checkpoints.vouching_height`): the first at or above it, the
    last for a height above them all."""
    vouching = checkpoints.vouching_height(height) if checkpoints is not None else None
    if checkpoints is None or vouching is None:
        return None
    return CheckpointRow.of(checkpoints, vouching // RETARGET_INTERVAL)


def above_checkpoints(checkpoints: Checkpoints | None, height: int) -> CheckpointRow | None:
    """The last checkpoint's row when ``height`` is above it (nothing shipped vouches
    for that block), else ``None``."""
    last = last_checkpoint(checkpoints)
    return last if last is not None and height > last.height else None


@dataclass(frozen=True)
class TargetInForce:
    """What is known, without a chain source, of the target a header at some height
    must carry: ``low <= target <= high``, exact when the two are equal."""

    low: int
    high: int
    #: How it is known, for the report.
    basis: str
    #: The checkpoint row that gave an exact target, when one source only vouches for
    #: it: (its period, the lists that hold it).
    one_list_only: tuple[int, str] | None = None
    #: The checkpoint row the target was taken from (exact) or bounded from (past the
    #: checkpoints); ``None`` where no checkpoint was used.
    checkpoint: CheckpointRow | None = None

    @property
    def exact(self) -> bool:
        return self.low == self.high


def _round_compact(value: int) -> int:
    return decode_compact(encode_compact(value)) if value > 0 else 0


def target_in_force(params: NetworkParams, height: int,
                    checkpoints: Checkpoints | None) -> TargetInForce:
    """The target a header at ``height`` must have, as far as it is known offline.

    Mainnet: exact from the checkpoints while they reach; past them, each retarget at
    most quadruples or quarters the target (the timespan is clamped to [1/4, 4] of two
    weeks, and nBits rounds down), which bounds it. Regtest never retargets. Testnet
    and signet: only the limit is known.
    """
    limit = params.pow_limit
    if params.no_retargeting:
        genesis_target = decode_compact(BlockHeader.parse(params.genesis_header).bits)
        return TargetInForce(genesis_target, genesis_target,
                             f"{params.network.value} never retargets: every block carries "
                             "the genesis target")
    if params.network is not Network.MAINNET or checkpoints is None:
        return TargetInForce(1, limit, f"no checkpoints ship for {params.network.value}, so "
                                       "only its proof-of-work limit is known offline")
    period = height // RETARGET_INTERVAL
    genesis_bits = BlockHeader.parse(params.genesis_header).bits
    bits = checkpoints.period_bits(period, genesis_bits)
    first, last = period * RETARGET_INTERVAL, period * RETARGET_INTERVAL + RETARGET_INTERVAL - 1
    if bits is not None:
        target = decode_compact(bits)
        row = CheckpointRow.of(checkpoints, period - 1) if period else None
        lists = checkpoints.single_source(period - 1) if period else None
        if lists is not None:
            return TargetInForce(target, target,
                                 f"the target of period {period} (heights {first}-{last}) "
                                 f"given by the shipped checkpoint of period {period - 1} "
                                 f"(vouched by one list only: {lists})", (period - 1, lists),
                                 row)
        return TargetInForce(target, target,
                             f"the target of period {period} (heights {first}-{last}) "
                             "given by the shipped checkpoints", checkpoint=row)
    known = checkpoints.last_period
    low = high = decode_compact(checkpoints.period_bits(known, genesis_bits) or genesis_bits)
    steps = period - known
    for _ in range(steps):
        new_high, new_low = min(high * 4, limit), max(_round_compact(low // 4), 1)
        if (new_high, new_low) == (high, low):
            break  # both bounds have reached the limits: further periods change nothing
        high, low = new_high, new_low
    return TargetInForce(low, high,
                         f"height {height} is past the shipped checkpoints (they give "
                         f"targets up to height {checkpoints.covered_until}); {steps} "
                         "retargets since can at most quadruple or quarter the target",
                         checkpoint=last_checkpoint(checkpoints))


@dataclass(frozen=True)
class PowFacts:
    """What ``anchor.proof-of-work`` established about a header."""

    header: BlockHeader
    height: int
    target: int
    rule: TargetInForce

    @property
    def work(self) -> int:
        return work_of(self.target)

    @property
    def work_log2(self) -> float:
        return round(math.log2(self.work), 2)

    def summary(self) -> str:
        return (f"about 2^{self.work_log2:g} hashes of work "
                f"(difficulty {difficulty_of(self.target):.6g})")

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "blockHash": self.header.display_hash,
            "height": self.height,
            "bits": f"{self.header.bits:08x}",
            "target": f"{self.target:064x}",
            "work": str(self.work),
            "workLog2": self.work_log2,
            "difficulty": difficulty_of(self.target),
            "targetInForce": {
                "exact": self.rule.exact,
                "low": f"{self.rule.low:064x}",
                "high": f"{self.rule.high:064x}",
                "basis": self.rule.basis,
            },
            "time": self.header.time,
        }
        if self.rule.one_list_only is not None:
            period, lists = self.rule.one_list_only
            details["targetInForce"]["oneListOnly"] = {"checkpoint": period, "lists": lists}
        if self.rule.checkpoint is not None:
            # The row the target was taken or bounded from, for the trust anchors.
            details["checkpoint"] = {**self.rule.checkpoint.to_details(),
                                     "use": "target" if self.rule.exact else "bounds"}
        return details


def check_header_work(header: BlockHeader, height: int, params: NetworkParams,
                      checkpoints: Checkpoints | None) -> PowFacts:
    """(1) The header's nBits encode a valid target within the network's limit and its
    hash meets it (``CheckProofOfWork``). (2) The target is the one in force at
    ``height`` where that is known offline, and within the retarget rule's bounds
    where it is not. Whether an inexact target is settled is the caller's question.

    Raises:
        CheckFailure: PROOF_OF_WORK_FAILURE, naming the rule and both values.
    """
    try:
        target = header_target(header, params)
    except ProofOfWorkError as exc:
        raise CheckFailure(SubIndication.PROOF_OF_WORK_FAILURE,
                           f"header {header.display_hash} does not carry its work: {exc}",
                           {"blockHash": header.display_hash, "height": height,
                            "bits": f"{header.bits:08x}"}) from None
    rule = target_in_force(params, height, checkpoints)
    facts = PowFacts(header, height, target, rule)
    if rule.exact and target != rule.low:
        raise CheckFailure(
            SubIndication.PROOF_OF_WORK_FAILURE,
            f"header {header.display_hash} has target {target:064x} (nBits {header.bits:08x}), "
            f"but at height {height} the target in force is {rule.low:064x} (nBits "
            f"{encode_compact(rule.low):08x}), {rule.basis}",
            facts.details())
    if not rule.low <= target <= rule.high:
        raise CheckFailure(
            SubIndication.PROOF_OF_WORK_FAILURE,
            f"header {header.display_hash} has target {target:064x} (nBits {header.bits:08x}), "
            f"outside what the network allows at height {height}: between {rule.low:064x} "
            f"and {rule.high:064x}, as {rule.basis}",
            facts.details())
    return facts
