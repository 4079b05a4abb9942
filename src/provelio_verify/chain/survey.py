"""Ask each chosen source what it holds at the anchor block's height.

Per source: (1) its block at height 0 must be the bundle network's genesis, else it
counts as unreachable; (2) its tip and its block at the height must be consistent;
(3) where it has the bundle's block, the headers above it, up to the confirmations
required, must link to it and meet their targets, so a claimed depth is shown, not
just said; (4) where it has another block, that block's header must be real (hash and
proof-of-work), and the source is asked what it knows of the bundle's block.

Only block hashes and heights are asked (and, of the bundle's block, its status, for
its transaction count): nothing here names the transaction.
"""

from __future__ import annotations

import contextvars
import enum
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..core.anchor.bitcoin import BlockHeader, NetworkParams, display
from ..core.anchor.checkpoints import Checkpoints
from ..core.anchor.pow import check_header_work
from ..errors import SourceError, SourceInvalid, SourceUnavailable, SourceUnproven
from ..outcome import CheckFailure
from .base import (
    ChainSource,
)

#: Each header shown above the anchor block costs a source two requests; a day of
#: blocks bounds that cost. A larger --min-confirmations rests, beyond this depth, on
#: the sources' tips (the lowest among them), as ``verifiedHeaders`` in the report shows.
MAX_SHOWN_HEADERS = 144


class SourceState(enum.StrEnum):
    ANSWERED = "answered"  # put a block at the height
    SHORT = "short"  # its best chain ends below the height
    UNREACHABLE = "unreachable"
    #: holds the block but cannot show it is the best chain's (a headers file that
    #: does not reach the checkpoint vouching for the height)
    UNPROVEN = "unproven"
    INVALID = "invalid"  # failed its own validation
    WRONG_NETWORK = "wrong-network"


@dataclass(frozen=True)
class SourceView:
    """What one source said about the anchor block's height, and how it was checked."""

    label: str
    kind: str
    state: SourceState
    reason: str | None = None
    tip: int | None = None
    block_at_height: str | None = None
    #: Blocks from the anchor's height up whose headers this source showed linked and
    #: meeting their targets (at most the confirmations required).
    verified_headers: int = 0
    #: What the source said of the bundle's block when it put another at the height.
    bundle_block_status: str | None = None
    answers: tuple[dict[str, Any], ...] = ()
    #: The bundle's block's transaction count, where this source said it.
    tx_count: int | None = None
    #: What the source says of itself beyond its label and kind (an Esplora server's
    #: ``couldNotUse``: endpoints it lacked), as (key, value) pairs.
    notes: tuple[tuple[str, str], ...] = ()

    def to_details(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.label, "kind": self.kind,
                               "state": self.state.value}
        for key, value in (("reason", self.reason), ("tip", self.tip),
                           ("blockAtHeight", self.block_at_height),
                           ("bundleBlockStatus", self.bundle_block_status)):
            if value is not None:
                out[key] = value
        if self.state is SourceState.ANSWERED:
            out["verifiedHeaders"] = self.verified_headers
        out.update(self.notes)
        out["answers"] = list(self.answers)
        return out



def survey(sources: Sequence[ChainSource], params: NetworkParams, block_hash: str,
           height: int, min_conf: int, checkpoints: Checkpoints | None) -> list[SourceView]:
    """One :class:`SourceView` per source, in the order given; sources are asked in
    parallel (each is thread-safe)."""

    def one(source: ChainSource) -> SourceView:
        key = ("survey", params.network, block_hash, height, min_conf)
        return source.derived(key, lambda: _view(source, params, block_hash, height,
                                                 min_conf, checkpoints))

    if len(sources) <= 1:
        return [one(s) for s in sources]
    with ThreadPoolExecutor(max_workers=len(sources)) as pool:
        # Each thread runs in a copy of this context: the verification's network
        # budget (net.network_budget) holds in them too.
        futures = [pool.submit(contextvars.copy_context().run, one, s) for s in sources]
        return [f.result() for f in futures]


def _view(source: ChainSource, params: NetworkParams, block_hash: str, height: int,
          min_conf: int, checkpoints: Checkpoints | None) -> SourceView:
    log: list[dict[str, Any]] = []

    def view(state: SourceState, reason: str | None = None, **kw: Any) -> SourceView:
        notes = tuple((key, str(value)) for key, value in source.describe().items()
                      if key not in ("source", "kind"))
        return SourceView(source.label, source.kind, state, reason, answers=tuple(log),
                          notes=notes, **kw)

    try:
        # (1) The source follows the bundle's network.
        genesis = source.genesis_hash(log)
        if genesis != params.genesis_hash:
            return view(SourceState.WRONG_NETWORK,
                        f"its block at height 0 is {genesis}, not the {params.network.value} "
                        f"genesis {params.genesis_hash}")
        # (2) Its tip and its block at the height agree with each other.
        tip = source.tip_height(log)
        at = source.block_hash(height, log)
        if at is None:
            if tip >= height:
                raise SourceInvalid(f"it says its tip is at height {tip} but has no block "
                                    f"at height {height}")
            return view(SourceState.SHORT, f"its best chain ends at height {tip}, below "
                                           f"{height}", tip=tip)
        if tip < height:
            raise SourceInvalid(f"it has a block at height {height} but says its tip is at "
                                f"height {tip}")
        if at == block_hash:
            # (3) Show the depth: linked headers meeting their targets.
            wanted = min(min_conf, tip - height + 1, MAX_SHOWN_HEADERS)
            shown = _linked_headers(source, params, checkpoints, at, height, wanted, log)
            return view(SourceState.ANSWERED, tip=tip, block_at_height=at,
                        verified_headers=shown, tx_count=_tx_count(source, at, log))
        # (4) Another block at the height: a real one, and what of the bundle's block?
        _real_header(source, params, checkpoints, at, height, log)
        status = source.block_status(block_hash, log)
        if status is not None and status.in_best_chain and status.height == height:
            raise SourceInvalid(f"it puts {at} at height {height} yet says {block_hash} is "
                                "in its best chain at that height")
        known = ("does not know the bundle's block" if status is None else
                 "says the bundle's block is not in its best chain"
                 if not status.in_best_chain else
                 f"has the bundle's block in its best chain at height {status.height}")
        return view(SourceState.ANSWERED, tip=tip, block_at_height=at,
                    bundle_block_status=known)
    except SourceUnproven as exc:
        return view(SourceState.UNPROVEN, exc.reason)
    except SourceUnavailable as exc:
        return view(SourceState.UNREACHABLE, exc.reason)
    except SourceInvalid as exc:
        return view(SourceState.INVALID, exc.reason)
    except SourceError as exc:  # pragma: no cover - every SourceError is one of the above
        return view(SourceState.UNREACHABLE, exc.reason)


def _tx_count(source: ChainSource, block_hash: str, log: list[dict[str, Any]]) -> int | None:
    """The block's transaction count, where the source says it (for anchor.inclusion:
    it fixes the Merkle branch's length). A source that cannot say is no less an
    answer about the chain: its error stays in the log, and the count is unknown."""
    try:
        status = source.block_status(block_hash, log)
    except SourceError:
        return None
    return None if status is None else status.tx_count


def _real_header(source: ChainSource, params: NetworkParams, checkpoints: Checkpoints | None,
                 block_hash: str, height: int, log: list[dict[str, Any]]) -> BlockHeader:
    """The header of ``block_hash`` from ``source``: it hashes to it (checked by the
    source's base class) and carries the work its height demands.

    Raises:
        SourceError: the source gave no such header.
    """
    header = BlockHeader.parse(source.header(block_hash, log))
    try:
        check_header_work(header, height, params, checkpoints)
    except CheckFailure as exc:
        raise SourceInvalid(f"its block at height {height}: {exc.message}") from None
    return header


def _linked_headers(source: ChainSource, params: NetworkParams,
                    checkpoints: Checkpoints | None, block_hash: str, height: int,
                    wanted: int, log: list[dict[str, Any]]) -> int:
    """Check the ``wanted - 1`` headers above ``block_hash``: each at its height in the
    source's best chain, linked to the one below, meeting its target. Returns how many
    blocks, the anchor's included, were shown.

    Raises:
        SourceError: the source could not show them.
    """
    below = block_hash
    for h in range(height + 1, height + wanted):
        at = source.block_hash(h, log)
        if at is None:
            raise SourceInvalid(f"it claims a tip above height {h} but has no block at "
                                f"height {h}")
        header = _real_header(source, params, checkpoints, at, h, log)
        if display(header.prev_hash) != below:
            raise SourceInvalid(f"its block {at} at height {h} links to "
                                f"{display(header.prev_hash)}, not to its block {below} at "
                                f"height {h - 1}")
        below = at
    return max(wanted, 0)
