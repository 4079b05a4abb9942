"""Chain sources: where the outside world comes in, behind one interface.

A :class:`ChainSource` answers a handful of questions (:class:`Question`) about the
chain it follows. The base class does what every source must: it checks each answer's
shape, hashes every header it is given and compares the hash with the one asked for,
caches answers (so a batch asks a source about each block once), and records every
answer as plain JSON data (:func:`Question.to_json` plus ``"answer"``), from which a
:class:`~provelio_verify.chain.replay.ReplaySource` can answer again offline.

Sources are safe to share between threads and survive pickling.
"""

from __future__ import annotations

import abc
import copy
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, TypeVar

from ..core.anchor.bitcoin import HEADER_SIZE, dsha256
from ..core.anchor.merkleblock import MAX_BLOCK_TRANSACTIONS
from ..core.anchor.transaction import MAX_BRANCH_LENGTH, parse_transaction
from ..errors import SourceError, SourceInvalid
from ..outcome import CheckFailure

#: The questions a source answers. ``transaction`` and ``merkleProof`` name a txid and
#: are asked only when the bundle lacks what they supply.
QUESTION_KINDS: Final = ("genesis", "blockHash", "header", "tip", "blockStatus",
                         "transaction", "merkleProof")

_HASH = re.compile(r"[0-9a-f]{64}")
T = TypeVar("T")


@dataclass(frozen=True)
class Question:
    """One question to a source. Hashes and txids are display-order lowercase hex."""

    kind: str
    height: int | None = None
    block: str | None = None
    txid: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in QUESTION_KINDS:
            raise ValueError(f"unknown question {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"question": self.kind}
        for name in ("height", "block", "txid"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Question:
        """The question of an answer record.

        Raises:
            ValueError: the record names no known question.
        """
        return cls(str(record.get("question")), record.get("height"), record.get("block"),
                   record.get("txid"))

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.to_json().items() if k != "question")
        return f"{self.kind}({args})"


@dataclass(frozen=True)
class Reply:
    """A source's raw answer, and the retries it took (see ``net.Response.retries``)."""

    value: Any
    retries: tuple[str, ...] = ()


@dataclass(frozen=True)
class BlockStatus:
    """What a source knows of a block: in its best chain or not, and at what height."""

    in_best_chain: bool
    height: int | None
    #: The block's transaction count, where the source says it (Bitcoin Core's
    #: ``nTx``, Esplora's ``tx_count``): it fixes every Merkle branch's length.
    tx_count: int | None = None


@dataclass(frozen=True)
class MerkleProof:
    """A transaction's position in a block and its branch (display order)."""

    tx_index: int
    branch: tuple[bytes, ...]


class ChainSource(abc.ABC):
    """A source of chain facts. Subclasses implement :meth:`_answer`; every answer
    passes :meth:`ask`, which validates, caches and records it.

    Attributes:
        label: names the source in reports; never holds credentials.
    """

    kind: ClassVar[str] = "source"
    #: Whether answering costs a request to another machine (a batch then asks it
    #: about each block once, before it fans out to worker processes).
    remote: ClassVar[bool] = True

    def __init__(self, label: str) -> None:
        self.label = label
        self._cache: dict[Question, Any] = {}
        self._derived: dict[Any, Any] = {}
        #: Endpoint → what it answered, for what this source was found not to serve
        #: (another endpoint, or another way of asking, gave what it would have).
        self._lacks: dict[str, str] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"]
        with self._lock:
            state["_cache"] = dict(self._cache)
            state["_derived"] = dict(self._derived)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"

    def describe(self) -> dict[str, str]:
        """The source's label and kind, and ``couldNotUse``: what it did not serve and
        what it answered instead, where there was any."""
        out = {"source": self.label, "kind": self.kind}
        lacks = dict(self._lacks)
        if lacks:
            out["couldNotUse"] = "; ".join(f"{endpoint} ({why})"
                                           for endpoint, why in sorted(lacks.items()))
        return out

    @property
    def could_not_use(self) -> dict[str, str]:
        """What this source did not serve, each with what it answered."""
        return dict(self._lacks)

    @abc.abstractmethod
    def _answer(self, question: Question) -> Reply:
        """Fetch the answer to ``question`` (uncached, unvalidated).

        Raises:
            SourceError: no usable answer.
        """

    def ask(self, question: Question, log: list[dict[str, Any]] | None = None) -> Any:
        """The validated answer to ``question``, from the cache or the source; the
        answer (or the error) is appended to ``log`` as a record.

        Raises:
            SourceError: the source gave no usable answer.
        """
        with self._lock:
            cached = question in self._cache
            value = self._cache.get(question)
        if cached:
            if log is not None:
                log.append({**question.to_json(), "answer": copy.deepcopy(value)})
            return value
        try:
            reply = self._answer(question)
            value = _validate(question, reply.value)
        except SourceError as exc:
            if log is not None:
                log.append({**question.to_json(), "error": exc.reason})
            raise
        with self._lock:
            self._cache[question] = value
        if log is not None:
            # A copy: a report's records must not alias the cache that serves the batch.
            record = {**question.to_json(), "answer": copy.deepcopy(value)}
            if reply.retries:
                record["retries"] = list(reply.retries)
            log.append(record)
        return value

    def derived(self, key: Any, compute: Callable[[], T]) -> T:
        """A value computed from this source's (cached) answers, computed once: a batch
        then checks what a source said about a block once, not once per certificate.
        ``compute`` must depend only on the source's answers and on ``key``."""
        with self._lock:
            if key in self._derived:
                return self._derived[key]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._derived.setdefault(key, value)
        return value

    def answers(self) -> list[dict[str, Any]]:
        """Every answer this source has given, as records (for an evidence capsule)."""
        with self._lock:
            return [{**q.to_json(), "answer": copy.deepcopy(v)} for q, v in self._cache.items()]

    # Typed questions ---------------------------------------------------------------

    def genesis_hash(self, log: list[dict[str, Any]] | None = None) -> str:
        """The hash of the source's block at height 0."""
        return str(self.ask(Question("genesis"), log))

    def block_hash(self, height: int, log: list[dict[str, Any]] | None = None) -> str | None:
        """The hash of the block at ``height`` in the source's best chain; ``None``
        when that chain is shorter."""
        value = self.ask(Question("blockHash", height=height), log)
        return None if value is None else str(value)

    def header(self, block_hash: str, log: list[dict[str, Any]] | None = None) -> bytes:
        """The 80-byte header of ``block_hash``, checked to hash to it."""
        return bytes.fromhex(self.ask(Question("header", block=block_hash), log))

    def tip_height(self, log: list[dict[str, Any]] | None = None) -> int:
        """The height of the source's best chain's tip."""
        return int(self.ask(Question("tip"), log))

    def block_status(self, block_hash: str,
                     log: list[dict[str, Any]] | None = None) -> BlockStatus | None:
        """Whether the source has ``block_hash`` in its best chain; ``None`` when it does
        not know the block."""
        value = self.ask(Question("blockStatus", block=block_hash), log)
        return None if value is None else BlockStatus(value["inBestChain"], value["height"],
                                                      value.get("txCount"))

    def transaction(self, txid: str, block_hash: str | None,
                    log: list[dict[str, Any]] | None = None) -> bytes:
        """The raw transaction ``txid``, checked to hash to it."""
        return bytes.fromhex(self.ask(Question("transaction", block=block_hash, txid=txid),
                                      log))

    def merkle_proof(self, txid: str, block_hash: str, height: int,
                     log: list[dict[str, Any]] | None = None) -> MerkleProof:
        """The position and branch of ``txid`` in block ``block_hash`` at ``height``."""
        value = self.ask(Question("merkleProof", height=height, block=block_hash, txid=txid),
                         log)
        return MerkleProof(value["txIndex"], tuple(bytes.fromhex(h) for h in value["branch"]))

    # Header runs (for --sync-headers) ---------------------------------------------

    #: The most headers :meth:`header_run` returns per call.
    HEADER_RUN_MAX: ClassVar[int] = 2016

    def header_run(self, start: int, count: int) -> bytes:
        """Up to ``count`` (at most :attr:`HEADER_RUN_MAX`) consecutive raw 80-byte
        headers of the source's best chain, from height ``start``; fewer only where
        that chain ends. A claim, not a fact: the caller checks every link, the
        proof of work, each retarget and the checkpoints. Not cached and not recorded
        (a sync would otherwise hold the whole chain twice).

        This default asks one block hash and one header per height; a source with a
        cheaper way (a batch, a chunk) overrides it.

        Raises:
            SourceError: the source gave no usable answer.
        """
        out = bytearray()
        for height in range(start, start + min(count, self.HEADER_RUN_MAX)):
            block = self._uncached(Question("blockHash", height=height))
            if block is None:
                break
            out += bytes.fromhex(self._uncached(Question("header", block=str(block))))
        return bytes(out)

    def fresh_tip_height(self) -> int:
        """The source's tip height now: asked again, not cached (a sync follows a
        chain that moves)."""
        return int(self._uncached(Question("tip")))

    def fresh_block_hash(self, height: int) -> str | None:
        """The hash at ``height`` in the source's best chain now, not cached."""
        value = self._uncached(Question("blockHash", height=height))
        return None if value is None else str(value)

    def _uncached(self, question: Question) -> Any:
        """``question``'s validated answer, fetched now and not kept."""
        return _validate(question, self._answer(question).value)


def _validate(question: Question, value: Any) -> Any:
    """Check an answer's shape and, for headers and transactions, that it hashes to
    what was asked. Returns it in canonical JSON form (lowercase hex).

    Raises:
        SourceInvalid: naming the question and what was wrong.
    """
    kind = question.kind
    what = question.describe()
    if kind == "blockHash" and value is None:
        return None
    if kind in ("genesis", "blockHash"):
        return _hash(value, what)
    if kind == "tip":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SourceInvalid(f"{what}: answered {_show(value)}, not a height")
        return value
    if kind == "header":
        raw = _hex(value, what, HEADER_SIZE)
        got = dsha256(raw)[::-1].hex()
        if got != question.block:
            raise SourceInvalid(f"{what}: the header given hashes to {got}, not to the "
                                f"block asked for {question.block}")
        return raw.hex()
    if kind == "blockStatus":
        if value is None:
            return None
        if (not isinstance(value, Mapping) or not isinstance(value.get("inBestChain"), bool)
                or not _optional_height(value.get("height"))
                or not _optional_tx_count(value.get("txCount"))):
            raise SourceInvalid(f"{what}: answered {_show(value)}, not a block status")
        status = {"inBestChain": value["inBestChain"], "height": value.get("height")}
        if value.get("txCount") is not None:
            status["txCount"] = value["txCount"]
        return status
    if kind == "transaction":
        raw = _hex(value, what, None)
        try:
            parsed = parse_transaction(raw)
        except CheckFailure as exc:
            raise SourceInvalid(f"{what}: {exc.message}") from None
        if parsed.txid[::-1].hex() != question.txid:
            raise SourceInvalid(f"{what}: the transaction given hashes to "
                                f"{parsed.txid[::-1].hex()}, not to {question.txid}")
        return raw.hex()
    # merkleProof
    if not isinstance(value, Mapping):
        raise SourceInvalid(f"{what}: answered {_show(value)}, not a Merkle proof")
    index, branch = value.get("txIndex"), value.get("branch")
    if (isinstance(index, bool) or not isinstance(index, int) or index < 0
            or not isinstance(branch, list) or len(branch) > MAX_BRANCH_LENGTH):
        raise SourceInvalid(f"{what}: answered {_show(value)}, not a Merkle proof of at "
                            f"most {MAX_BRANCH_LENGTH} levels")
    return {"txIndex": index, "branch": [_hash(h, what) for h in branch]}


def _hash(value: Any, what: str) -> str:
    text = value.strip().lower() if isinstance(value, str) else None
    if text is None or not _HASH.fullmatch(text):
        raise SourceInvalid(f"{what}: answered {_show(value)}, not a block hash")
    return text


def _hex(value: Any, what: str, size: int | None) -> bytes:
    try:
        raw = bytes.fromhex(value.strip()) if isinstance(value, str) else None
    except ValueError:
        raw = None
    if raw is None or not raw or (size is not None and len(raw) != size):
        expected = f"{size} bytes of hex" if size else "hex"
        raise SourceInvalid(f"{what}: answered {_show(value)}, not {expected}")
    return raw


def _optional_height(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool)
                             and value >= 0)


def _optional_tx_count(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool)
                             and 1 <= value <= MAX_BLOCK_TRANSACTIONS)


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 1]}…"
