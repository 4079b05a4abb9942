"""Several sources' answers, one verdict: contract section 4, "Where a fault is reported".

Pure: it judges what :mod:`~provelio_verify.chain.survey` gathered and asks nothing.

- A source on another network, unreachable, or failing its own validation, did not
  answer (``TRY_LATER`` when none did); nor did one whose best chain ends below the
  height.
- Answers that agree stand; depth counts from the lowest tip among them.
- Answers that contradict each other: ``SOURCES_DISAGREE``, each in ``details``.
- Every answer puts a different block at the height: FAILED (``NOT_IN_BEST_CHAIN``).

On mainnet the details name, under ``checkpoint``, the shipped checkpoint a headers
file must pass through for the height (the last one, for a block above them all), and
a verdict that is not PASSED for a block above the last checkpoint says so, with the
way to settle it (``--sync-headers``, or a chain source).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..chain.survey import SourceState, SourceView
from ..core.anchor.bitcoin import NetworkParams, short
from ..core.anchor.checkpoints import Checkpoints
from ..core.anchor.pow import CheckpointRow, above_checkpoints, vouching_checkpoint
from ..outcome import CheckFailure, CheckIndeterminate, Passed
from ..report import SubIndication


def manual_check(params: NetworkParams, block_hash: str, height: int, min_conf: int) -> str:
    """How a person settles the chain question by hand."""
    text = (f"`{params.cli(f'getblockhash {height}')}` must print {block_hash} and "
            f"`{params.cli('getblockcount')}` must be at least {height + min_conf - 1}")
    url = params.explorer_url(block_hash)
    return f"{text} (or open {url})" if url else text


#: How a block above the shipped checkpoints is settled once, for every later
#: verification (docs/anchor.md, "verify a 2026 certificate offline").
SYNC_HEADERS = ("build a local header chain once with `provelio-verify --sync-headers PATH` "
                "and one chain source (--bitcoin-node URL, --esplora URL or --electrum "
                "HOST:PORT), which validates every header and retarget from that checkpoint "
                "to the source's tip, then verify with `--headers PATH`, offline")


def beyond_checkpoints(row: CheckpointRow, height: int) -> str:
    """``block height H is above the last shipped checkpoint, the checkpoint of …``."""
    return f"height {height} is above the last shipped checkpoint, the {row.describe()}"


def checkpoint_details(checkpoints: Checkpoints | None, height: int) -> dict[str, Any]:
    """``{"checkpoint": row}``: the checkpoint a headers file must pass through to speak
    for ``height``, and whether the height is above every checkpoint; ``{}`` off
    mainnet."""
    row = vouching_checkpoint(checkpoints, height)
    if row is None:
        return {}
    return {"checkpoint": {**row.to_details(), "use": "vouching",
                           "anchorAbove": height > row.height}}


def stands(views: Sequence[SourceView], block_hash: str) -> bool:
    """At least one source answered, and every source that answered has ``block_hash``
    at the height: the block is in the best chain of the sources chosen."""
    answered = [v for v in views if v.state is SourceState.ANSWERED]
    return bool(answered) and all(v.block_at_height == block_hash for v in answered)


def _names(views: Sequence[SourceView]) -> str:
    return ", ".join(v.label for v in views)


def combine(views: Sequence[SourceView], params: NetworkParams, block_hash: str, height: int,
            min_conf: int, checkpoints: Checkpoints | None = None) -> Passed[int]:
    """``anchor.chain`` from the sources' views.

    Raises:
        CheckFailure: NOT_IN_BEST_CHAIN when every source that answered puts a
            different block at the height.
        CheckIndeterminate: TRY_LATER (no source answered), SOURCES_DISAGREE,
            INSUFFICIENT_CONFIRMATIONS (with the count).
    """
    details: dict[str, Any] = {"blockHash": block_hash, "height": height,
                               "minConfirmations": min_conf,
                               "sources": [v.to_details() for v in views],
                               **checkpoint_details(checkpoints, height)}
    by_hand = manual_check(params, block_hash, height, min_conf)
    above = above_checkpoints(checkpoints, height)
    settle = (f"; block {beyond_checkpoints(above, height)}, so no shipped data vouches "
              f"for it: {SYNC_HEADERS}; or name another chain source" if above else "")
    answered = [v for v in views if v.state is SourceState.ANSWERED]
    silent = [v for v in views if v.state is not SourceState.ANSWERED]
    silent_note = "".join(f"; {v.label} did not answer ({v.state.value}: {v.reason})"
                          for v in silent)
    if not answered:
        raise CheckIndeterminate(
            SubIndication.TRY_LATER,
            f"no chain source answered for height {height}{silent_note}{settle}; try again "
            f"later, or by hand: {by_hand}", details)
    same = [v for v in answered if v.block_at_height == block_hash]
    other = [v for v in answered if v.block_at_height != block_hash]
    if same and other:
        said = "; ".join(f"{v.label} puts {v.block_at_height} there" for v in answered)
        raise CheckIndeterminate(
            SubIndication.SOURCES_DISAGREE,
            f"chain sources disagree about the block at height {height}: {said}; the bundle "
            f"names {block_hash}; compare them by hand: {by_hand}", details)
    if other:
        said = "; ".join(f"{v.label} puts {v.block_at_height} there"
                         + (f" and {v.bundle_block_status}" if v.bundle_block_status else "")
                         for v in other)
        raise CheckFailure(
            SubIndication.NOT_IN_BEST_CHAIN,
            f"block.hash {block_hash} is not at height {height} in the best chain of any "
            f"source that answered: {said}{silent_note}", details)
    lowest = min(v.tip for v in same if v.tip is not None)
    confirmations = lowest - height + 1
    details["confirmations"] = confirmations
    details["lowestTip"] = lowest
    where = (f"block {short(block_hash)} is at height {height} in the best chain of "
             f"{_names(same)}")
    if confirmations < min_conf:
        raise CheckIndeterminate(
            SubIndication.INSUFFICIENT_CONFIRMATIONS,
            f"{where} with {confirmations} confirmation(s) (lowest tip {lowest}), fewer than "
            f"the {min_conf} required{silent_note}; try again later, or by hand: {by_hand}",
            details)
    verified = min(v.verified_headers for v in same)
    warnings = tuple(f"chain source {v.label} did not answer ({v.state.value}: {v.reason}); "
                     "the verdict rests on the others" for v in silent)
    return Passed(
        f"{where} with {confirmations} confirmations (lowest tip {lowest}; at least "
        f"{min_conf} required; each source showed {verified} linked headers from it up "
        f"meeting their targets){silent_note}",
        details, value=confirmations, warnings=warnings)
