"""``--headers PATH``: a file of consecutive raw 80-byte headers as an offline source.

Trust: none beyond the file's own proof-of-work and the shipped checkpoints. The file
must begin with a network's genesis header or a checkpointed mainnet block (the last
of a 2016-block period), and every header after it is validated as a node would
(:func:`~provelio_verify.core.anchor.headers.validate_run`): linkage, proof-of-work, every
retarget, median time, versions, checkpoints. It then answers for the chain it holds:
best-chain membership and depth *within the file*. It cannot know of blocks mined
after its last header, nor of a heavier chain elsewhere.

The checkpoint rule (issue 8): headers below a checkpoint can be invented cheaply
(every period before height 32,256 has difficulty 1: a header costs 2^32 hashes), so
on mainnet the file speaks for a height only up to the highest shipped checkpoint it
holds, or up to its tip once it holds the last checkpoint
(:meth:`~provelio_verify.core.anchor.headers.HeaderRun.proven_tip`). Its tip, for depth, is
that height too. A block the file holds above it is *unproven*: ``anchor.chain`` is
INDETERMINATE and says which checkpoint the file must reach.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from ..core.anchor.bitcoin import (
    HEADER_SIZE,
    MAX_FUTURE_BLOCK_TIME,
    NETWORKS,
    RETARGET_INTERVAL,
    BlockHeader,
    Network,
    NetworkParams,
    dsha256,
    network_of_genesis,
    short,
)
from ..core.anchor.checkpoints import Checkpoints
from ..core.anchor.headers import HeaderRun, HeaderRunError, validate_run
from ..errors import InputError, SourceInvalid, SourceUnavailable, SourceUnproven
from ..inputs.checkpoints import mainnet_checkpoints
from ..inputs.files import read_at_most
from .base import (
    ChainSource,
    Question,
    Reply,
)

#: Four million headers (320 MB): more than the mainnet chain will hold for decades.
MAX_HEADERS_FILE_BYTES = 4_000_000 * HEADER_SIZE


def validate_headers(data: bytes, checkpoints: Checkpoints, *,
                     now: float | None = None, known_good: int = 0) -> HeaderRun:
    """A headers file's bytes, validated as ``--headers`` takes them: it begins at a
    genesis block or a checkpointed mainnet block, and every header after it passes
    :func:`~provelio_verify.core.anchor.headers.validate_run` (no header later than
    ``now``, default the clock, plus the two hours a node allows). ``--sync-headers``
    writes nothing this refuses.

    ``known_good``: how many leading headers already passed (the file a sync extends).
    The rules then run again only from the start of the retarget period before the
    first new header's (or an earlier period start whose target the checkpoints give):
    that window holds every header a new header's rules look back to (its parent's
    link, the eleven times before it, the period its retarget is computed from), so
    each new header meets exactly the checks it meets in the whole file, and a sync's
    validation stays linear in what it fetches (whole-file validation at each write
    made it quadratic, see benchmarks/sync.py). The run returned is then the window's.
    Where no such window exists (a test network, whose checkpoints give no target),
    the whole file is validated.

    Raises:
        SourceInvalid: the bytes are not such a file, naming the first rule broken.
    """
    if len(data) > MAX_HEADERS_FILE_BYTES:
        raise SourceInvalid(f"the file is over the limit of {MAX_HEADERS_FILE_BYTES} bytes")
    if len(data) < HEADER_SIZE or len(data) % HEADER_SIZE:
        raise SourceInvalid(f"the file's {len(data)} bytes are not a whole number of "
                            f"{HEADER_SIZE}-byte headers")
    # (1) The first header anchors the file: a genesis block, or a checkpoint.
    first = dsha256(data[:HEADER_SIZE])[::-1].hex()
    params = network_of_genesis(first)
    height = 0
    if params is None:
        at = checkpoints.height_of(first)
        if at is None:
            raise SourceInvalid(f"the file's first header {first} is neither a genesis "
                                "block nor a shipped mainnet checkpoint")
        params, height = NETWORKS[Network.MAINNET], at
    # (2) Every header after it (or after the window's start), as a node validates
    # headers.
    start = _window_start(height, known_good, params, checkpoints)
    clock = time.time() if now is None else now
    try:
        return validate_run(data[(start - height) * HEADER_SIZE:], start, params,
                            checkpoints, latest_time=int(clock) + MAX_FUTURE_BLOCK_TIME)
    except HeaderRunError as exc:
        raise SourceInvalid(f"the file does not validate at {exc}",
                            height=exc.height) from None


def _window_start(first: int, known_good: int, params: NetworkParams,
                  checkpoints: Checkpoints) -> int:
    """The height :func:`validate_headers` runs the rules from: ``first`` (the whole
    file), or with ``known_good`` headers already passed, the start of the period
    before the first new header's, or an earlier period start whose target the
    checkpoints give."""
    if known_good <= 0:
        return first
    genesis_bits = BlockHeader.parse(params.genesis_header).bits
    start = ((first + known_good) // RETARGET_INTERVAL - 1) * RETARGET_INTERVAL
    while start > first and checkpoints.period_bits(start // RETARGET_INTERVAL,
                                                    genesis_bits) is None:
        start -= RETARGET_INTERVAL
    return start if start > first else first


class HeadersFileSource(ChainSource):
    """A headers file, read and validated once, at the first question.

    Args:
        path: the file.
        checkpoints: mainnet checkpoints (the shipped ones by default).
    """

    kind = "headers-file"
    remote = False

    def __init__(self, path: str | os.PathLike[str],
                 checkpoints: Checkpoints | None = None) -> None:
        self.path = os.fspath(path)
        super().__init__(f"headers-file {self.path}")
        # Read where the path pointed when it was given: a copy of this source sent to
        # a worker in another folder (a cluster's) reads the same file.
        self._where = os.path.abspath(self.path)
        self._checkpoints = checkpoints
        self._run: HeaderRun | None = None
        self._failure: SourceInvalid | SourceUnavailable | None = None
        self._load_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        del state["_load_lock"]
        state["_run"] = None  # validated again, lazily, after unpickling
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._load_lock = threading.Lock()

    def run(self) -> HeaderRun:
        """The validated run (read and validated on first use).

        Raises:
            SourceUnavailable: the file cannot be read.
            SourceInvalid: the file does not validate.
        """
        with self._load_lock:
            if self._run is None and self._failure is None:
                try:
                    self._run = self._load()
                except (SourceInvalid, SourceUnavailable) as exc:
                    self._failure = exc
            if self._failure is not None:
                raise self._failure
            assert self._run is not None
            return self._run

    def _load(self) -> HeaderRun:
        try:  # a FIFO or device is refused, never read (nor waited on)
            data = read_at_most(self._where, MAX_HEADERS_FILE_BYTES)
        except InputError as exc:
            raise SourceUnavailable(str(exc)) from None
        return validate_headers(data, self._mainnet_checkpoints())

    def _answer(self, question: Question) -> Reply:
        run = self.run()
        kind = question.kind
        if kind == "genesis":
            # A file from a checkpoint holds no height 0, but its checkpoint places it.
            return Reply(run.params.genesis_hash)
        if kind == "tip":
            # Depth counts only what the file shows to be the best chain's.
            return Reply(self._proven_tip(run, None))
        if kind == "blockHash":
            assert question.height is not None
            if question.height < run.first_height:
                raise SourceUnavailable(f"the file starts at height {run.first_height}, "
                                        f"after {question.height}")
            at = run.hash_at(question.height)
            if at is not None:
                self._proven_tip(run, question.height)
            return Reply(None if at is None else at[::-1].hex())
        if kind in ("header", "blockStatus"):
            assert question.block is not None
            height = run.height_of(bytes.fromhex(question.block)[::-1])
            if kind == "blockStatus":
                if height is not None:
                    self._proven_tip(run, height)
                return Reply(None if height is None else {"inBestChain": True,
                                                          "height": height})
            if height is None:
                raise SourceUnavailable(f"block {question.block} is not in the file")
            header = run.header_at(height)
            assert header is not None
            return Reply(header.hex())
        raise SourceUnavailable("a headers file holds no transactions")

    def _mainnet_checkpoints(self) -> Checkpoints:
        return mainnet_checkpoints() if self._checkpoints is None else self._checkpoints

    def _checkpoints_of(self, run: HeaderRun) -> Checkpoints | None:
        return self._mainnet_checkpoints() if run.params.network is Network.MAINNET else None

    def _proven_tip(self, run: HeaderRun, height: int | None) -> int:
        """The file's proven tip; with ``height``, refuse a height above it.

        Raises:
            SourceUnproven: no height (or not ``height``) is shown to be the best
                chain's, saying which checkpoint the file must reach.
        """
        checkpoints = self._checkpoints_of(run)
        proven = run.proven_tip(checkpoints)
        if proven is not None and (height is None or height <= proven):
            return proven
        assert checkpoints is not None  # only mainnet runs can fall short
        at = run.tip_height if height is None else height
        needed = checkpoints.vouching_height(at)
        assert needed is not None
        needed_hash = checkpoints.hash_at(needed)
        what = ("holds no shipped checkpoint" if proven is None
                else f"is shown to be the best chain's only up to height {proven}, its "
                     "highest shipped checkpoint")
        raise SourceUnproven(
            f"the file {what}: it runs from height {run.first_height} to {run.tip_height}, "
            f"and a headers file establishes a block at height {at} only when its run "
            f"also passes through the shipped checkpoint at height {needed} (block "
            f"{short(needed_hash or '')}), since headers below a checkpoint can be made "
            f"up cheaply; extend the file through height {needed} (e.g. from a node: "
            f"`bitcoin-cli getblockhash {needed}` must print {needed_hash}), or use a "
            "chain source")

    def summary(self) -> dict[str, Any]:
        """What the file covers, once validated (for reports and ``--help`` users)."""
        run = self.run()
        return {"network": run.params.network.value, "firstHeight": run.first_height,
                "tipHeight": run.tip_height, "retargets": run.retargets,
                "checkpointsMatched": run.checkpoints_matched,
                "provenTipHeight": run.proven_tip(self._checkpoints_of(run))}
