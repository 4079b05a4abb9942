"""``--esplora URL``: the Esplora REST API (blockstream.info, mempool.space, or your own).

Trust: the explorer's word on which block is at a height and how high its tip is.
What it says is checked where it can be: every header it gives is hashed and compared
with the hash asked for, and the headers above the anchor block must link and meet
their targets. An explorer can still lie consistently about a chain it mined itself;
ask several (``--esplora`` is repeatable), or your own node.

Requests are those every Esplora-compatible server answers: Blockstream's esplora
(electrs), mempool.space and a self-hosted mempool, whose bitcoind- and
Electrum-backed modes serve their own subset of the routes:

- ``/block-height/:h``, ``/block/:hash/header``, ``/blocks/tip/height``;
- a block's status from ``/block/:hash`` (its ``height`` and ``tx_count``) and
  ``/block-height/:height`` (is that height's block the same?): mempool's backends
  lack ``/block/:hash/status``, so it is never asked;
- ``/tx/:txid/hex`` and a Merkle proof only when the bundle lacks the transaction or
  its branch: ``/tx/:txid/merkle-proof``, else ``/tx/:txid/merkleblock-proof``, else
  the branch computed here from ``/block/:hash/txids``. The endpoints a server lacked
  are named in :meth:`EsploraSource.describe` (``couldNotUse``), which the report's
  ``sources`` entries carry, and are not asked again;
- for ``--sync-headers`` (:meth:`EsploraSource.header_run`), ``/blocks/:height``:
  10 blocks a request on esplora, 15 on mempool, each rebuilt into its 80-byte
  header and checked to hash to the id given.

Every answer, whichever endpoint gave it, passes the same validation (``base.ask``)
and the same checks of the verifier: a fallback is believed no more than the original.
"""

from __future__ import annotations

import struct
from typing import Any

from .._json_bounds import loads_bounded
from ..core.anchor.bitcoin import HEADER_SIZE, dsha256
from ..core.anchor.merkleblock import MAX_BLOCK_TRANSACTIONS, MerkleBlockError, parse_merkle_block
from ..errors import NetworkError, SourceInvalid, SourceUnavailable
from ..net import HttpClient, Response, redact, split_credentials
from .base import ChainSource, Question, Reply

#: Cap on answers that are a hash, a height, a header or a status: a few hundred bytes.
MAX_SMALL_ANSWER = 64 * 1024
#: Cap on a transaction's hex: the largest transaction a block can hold (4 MB) as hex.
MAX_TRANSACTION_ANSWER = 2 * 4_000_000 + 1024
#: Cap on ``/block/:hash/txids``: a quoted 64-digit txid and a comma per transaction.
MAX_TXIDS_ANSWER = 68 * MAX_BLOCK_TRANSACTIONS + 1024
#: Cap on a ``/blocks/:height`` page: mempool adds pool and fee statistics (a few KB
#: a block) to esplora's fields.
MAX_BLOCKS_ANSWER = 1024 * 1024
#: Digits in a height: Bitcoin Core keeps heights in an int32 (10 digits). A longer tip
#: answer is not a height, and never reaches int() (which refuses 4,300 digits).
MAX_HEIGHT_DIGITS = 10
#: Statuses that say "this server does not serve that endpoint": 404 for a route it
#: lacks (or, sadly, for a thing it does not know), 405/501 for one it refuses, and
#: 500 from mempool's bitcoind mode ("not supported by the Bitcoin RPC API").
MISSING = frozenset({404, 405, 500, 501})
#: Blocks per ``/blocks/:height`` page: esplora's fixed 10, until a server gives more.
BLOCKS_PAGE = 10
#: The most blocks a page is believed to hold (mempool gives 15).
MAX_BLOCKS_PAGE = 100

_HEADER = struct.Struct("<I32s32sIII")


class EsploraSource(ChainSource):
    """An Esplora REST API at ``base_url`` (e.g. ``https://blockstream.info/api``).

    Raises:
        ValueError: ``base_url`` is not an http(s) URL.
    """

    kind = "esplora"

    def __init__(self, base_url: str, client: HttpClient | None = None) -> None:
        plain, auth = split_credentials(base_url)
        super().__init__(f"esplora {redact(base_url)}")
        self._base = plain.rstrip("/")
        self._auth = auth
        self._client = client or HttpClient()
        self._page = BLOCKS_PAGE

    def _get(self, path: str, *, limit: int = MAX_SMALL_ANSWER,
             answers: tuple[int, ...] = ()) -> Response:
        """GET ``path``; statuses in ``answers`` are returned at once, not retried."""
        try:
            return self._client.request("GET", self._base + path, auth=self._auth,
                                        max_bytes=limit, no_retry=answers)
        except NetworkError as exc:
            raise SourceUnavailable(str(exc)) from None

    def _body(self, response: Response) -> str:
        if response.status != 200:
            raise SourceUnavailable(f"GET {response.url} answered HTTP {response.status}")
        try:
            return response.text().strip()
        except NetworkError as exc:
            raise SourceInvalid(str(exc)) from None

    def _text(self, path: str, *, limit: int = MAX_SMALL_ANSWER,
              missing_ok: bool = False) -> tuple[str | None, tuple[str, ...]]:
        response = self._get(path, limit=limit)
        if response.status == 404 and missing_ok:
            return None, response.retries
        return self._body(response), response.retries

    def _parse_json(self, path: str, text: str) -> Any:
        try:
            return loads_bounded(text)
        except ValueError as exc:  # not JSON, or over the reader's limits (depth, numbers)
            problem = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
            raise SourceInvalid(f"GET {self._base}{path} answered text that is not JSON this "
                                f"verifier reads: {problem}") from None

    def _json(self, path: str, *, missing_ok: bool = False,
              limit: int = MAX_SMALL_ANSWER) -> tuple[Any, tuple[str, ...]]:
        text, retries = self._text(path, missing_ok=missing_ok, limit=limit)
        if text is None:
            return None, retries
        return self._parse_json(path, text), retries

    def _answer(self, question: Question) -> Reply:
        kind = question.kind
        if kind in ("genesis", "blockHash"):
            return self._block_hash(0 if kind == "genesis" else question.height or 0)
        if kind == "tip":
            text, retries = self._text("/blocks/tip/height")
            if text is None or not (text.isascii() and text.isdigit()) \
                    or len(text) > MAX_HEIGHT_DIGITS:
                shown = repr(text) if text is None or len(text) <= 40 else \
                    f"{text[:40]!r}… ({len(text)} characters)"
                raise SourceInvalid(f"/blocks/tip/height answered {shown}, not a height "
                                    f"(at most {MAX_HEIGHT_DIGITS} digits)")
            return Reply(int(text), retries)
        if kind == "header":
            return Reply(*self._text(f"/block/{question.block}/header"))
        if kind == "blockStatus":
            return self._block_status(str(question.block))
        if kind == "transaction":
            return Reply(*self._text(f"/tx/{question.txid}/hex",
                                     limit=MAX_TRANSACTION_ANSWER))
        return self._merkle_proof(question)

    def _block_hash(self, height: int) -> Reply:
        """``/block-height/:h``. Esplora answers 404 above its tip; mempool's bitcoind
        mode answers 500 there ("Failed to get block at height"), so a 500 is read as
        "no such height" only when the tip, asked now (a sync follows a moving chain),
        is indeed below it. A 500 is not retried: it is an answer."""
        response = self._get(f"/block-height/{height}", answers=(500,))
        if response.status == 404:
            return Reply(None, response.retries)
        if response.status == 500 and height > int(self._uncached(Question("tip"))):
            return Reply(None, response.retries)
        return Reply(self._body(response), response.retries)

    def _block_status(self, block: str) -> Reply:
        """Where the server has ``block``: ``/block/:hash`` gives its height (and its
        transaction count), ``/block-height/:height`` whether that height holds it.
        A block the server does not know (404) has no status."""
        info, retries = self._json(f"/block/{block}", missing_ok=True)
        if info is None:
            return Reply(None, retries)
        path = f"/block/{block}"
        if not isinstance(info, dict):
            raise SourceInvalid(f"{path} is not a JSON object")
        if info.get("id", block) != block:
            raise SourceInvalid(f"{path} describes block {str(info.get('id'))[:70]!r}, not "
                                f"the block asked for")
        height = info.get("height")
        if isinstance(height, bool) or not isinstance(height, int) \
                or not 0 <= height < 10 ** MAX_HEIGHT_DIGITS:
            raise SourceInvalid(f"{path} gives height {str(height)[:40]!r}, not a height")
        # Asked through the cache and validated as any blockHash answer: the same
        # answer the survey judges, never a second, different one.
        in_best = self.block_hash(height) == block
        return Reply({"inBestChain": in_best, "height": height if in_best else None,
                      "txCount": info.get("tx_count")}, retries)

    # Merkle proofs: merkle-proof, else merkleblock-proof, else the block's txids ----------

    def _merkle_proof(self, question: Question) -> Reply:
        txid, block = str(question.txid), str(question.block)
        tried: list[tuple[str, str]] = []
        ways = (("/tx/:txid/merkle-proof", self._electrum_proof),
                ("/tx/:txid/merkleblock-proof", self._merkleblock_proof),
                ("/block/:hash/txids", self._proof_from_txids))
        for endpoint, way in ways:
            if endpoint in self._lacks:
                continue
            got = way(question, txid, block)
            if isinstance(got, Reply):
                # The endpoints tried before this one are what this server lacks.
                for lacked, why in tried:
                    self._lacks.setdefault(lacked, why)
                return got
            tried.append((endpoint, got))
        said = "; ".join(f"{endpoint} answered {why}" for endpoint, why in tried)
        raise SourceUnavailable(f"no Merkle proof of {txid} in block {block}: {said}")

    def _electrum_proof(self, question: Question, txid: str, block: str) -> Reply | str:
        path = f"/tx/{txid}/merkle-proof"
        response = self._get(path, answers=(500,))
        if response.status in MISSING:
            return f"HTTP {response.status}"
        proof = self._parse_json(path, self._body(response))
        if not isinstance(proof, dict):
            raise SourceInvalid(f"{path} is not a JSON object")
        if proof.get("block_height") != question.height:
            raise SourceUnavailable(
                f"it places transaction {txid} in its block at height "
                f"{str(proof.get('block_height'))[:40]}, not at height {question.height}")
        return Reply({"txIndex": proof.get("pos"), "branch": proof.get("merkle")},
                     response.retries)

    def _merkleblock_proof(self, question: Question, txid: str, block: str) -> Reply | str:
        path = f"/tx/{txid}/merkleblock-proof"
        response = self._get(path, answers=(500,))
        if response.status in MISSING:
            return f"HTTP {response.status}"
        text = self._body(response)
        try:
            parsed = parse_merkle_block(bytes.fromhex(text))
        except (MerkleBlockError, ValueError) as exc:
            raise SourceInvalid(f"{path}: not a Merkle block ({exc})") from None
        if dsha256(parsed.header)[::-1].hex() != block:
            raise SourceInvalid(f"{path}: the Merkle block's header hashes to "
                                f"{dsha256(parsed.header)[::-1].hex()}, not to block {block}")
        match = parsed.matches.get(bytes.fromhex(txid)[::-1])
        if match is None:
            raise SourceInvalid(f"{path}: the Merkle block does not hold {txid}")
        index, branch = match
        return Reply({"txIndex": index, "branch": [h[::-1].hex() for h in branch]},
                     response.retries)

    def _proof_from_txids(self, question: Question, txid: str, block: str) -> Reply | str:
        path = f"/block/{block}/txids"
        response = self._get(path, limit=MAX_TXIDS_ANSWER, answers=(500,))
        if response.status in MISSING:
            return f"HTTP {response.status}"
        txids = self._parse_json(path, self._body(response))
        if not isinstance(txids, list) or not 1 <= len(txids) <= MAX_BLOCK_TRANSACTIONS:
            shown = f"{len(txids)} entries" if isinstance(txids, list) else type(txids).__name__
            raise SourceInvalid(f"{path} answered {shown}, not a list of 1 to "
                                f"{MAX_BLOCK_TRANSACTIONS} txids")
        if not all(isinstance(t, str) and len(t) == 64 for t in txids):
            raise SourceInvalid(f"{path} answered an entry that is not a 64-digit txid")
        try:
            leaves = [bytes.fromhex(t)[::-1] for t in txids]
        except ValueError:
            raise SourceInvalid(f"{path} answered an entry that is not hex") from None
        if len(set(leaves)) != len(leaves):
            # A block never holds one transaction twice; a list that repeats its last
            # ones can still rebuild the root (CVE-2012-2459) and would mislead.
            raise SourceInvalid(f"{path} lists a txid twice")
        wanted = bytes.fromhex(txid)[::-1]
        if wanted not in leaves:
            return f"a list of {len(leaves)} txids without {txid}"
        index = leaves.index(wanted)
        # The branch is checked by the verifier against the header's Merkle root, as a
        # merkle-proof answer's is: txids that do not rebuild it do not fold to it.
        return Reply({"txIndex": index,
                      "branch": [h[::-1].hex() for h in merkle_branch(leaves, index)]},
                     response.retries)

    # Header runs --------------------------------------------------------------------

    def header_run(self, start: int, count: int) -> bytes:
        """Consecutive raw headers from ``start`` (see :meth:`ChainSource.header_run`),
        from ``/blocks/:height`` pages (10 blocks a request on esplora, 15 on mempool,
        newest first), each block's fields rebuilt into its 80-byte header and checked
        to hash to the id the page gives. One ``/blocks/tip/height`` first bounds the
        run. A server without the pages is asked a hash and a header per height (the
        default, two requests a header), and ``couldNotUse`` says so.

        Raises:
            SourceError: the source gave no usable answer.
        """
        wanted = min(count, self.HEADER_RUN_MAX)
        if wanted <= 0:
            return b""
        tip = int(self._uncached(Question("tip")))
        last = min(start + wanted - 1, tip)
        got: dict[int, bytes] = {}
        low = start
        while low <= last:
            top = min(low + self._page - 1, last)
            if "/blocks/:start_height" in self._lacks:
                return _joined(got, start, low) + super().header_run(low, last - low + 1)
            page = self._blocks_page(top)
            if isinstance(page, str):
                self._lacks.setdefault("/blocks/:start_height", page)
                continue
            new = {h: raw for h, raw in page.items() if start <= h <= last and h not in got}
            if not new:
                raise SourceInvalid(f"/blocks/{top} gave no block between heights {start} "
                                    f"and {last} not given before")
            got.update(new)
            if len(page) > self._page:
                self._page = min(len(page), MAX_BLOCKS_PAGE)
            while low in got:
                low += 1
        return _joined(got, start, last + 1)

    def _blocks_page(self, top: int) -> dict[int, bytes] | str:
        """``/blocks/:top``: the blocks from ``top`` down, by height, as raw headers;
        or what the server answered when it lacks the endpoint."""
        path = f"/blocks/{top}"
        response = self._get(path, limit=MAX_BLOCKS_ANSWER, answers=(500,))
        if response.status in MISSING:
            return f"HTTP {response.status}"
        entries = self._parse_json(path, self._body(response))
        if not isinstance(entries, list) or not entries:
            raise SourceInvalid(f"{path} is not a non-empty JSON list of blocks")
        out: dict[int, bytes] = {}
        for n, entry in enumerate(entries[:MAX_BLOCKS_PAGE]):
            height = top - n
            raw = header_from_fields(entry, f"{path} entry {n}")
            if entry.get("height") != height:
                raise SourceInvalid(f"{path} entry {n} is at height "
                                    f"{str(entry.get('height'))[:40]}, not at {height}")
            out[height] = raw
        return out


def _joined(got: dict[int, bytes], start: int, end: int) -> bytes:
    return b"".join(got[h] for h in range(start, end))


def header_from_fields(entry: Any, what: str) -> bytes:
    """The 80-byte header an Esplora block object describes (``version``,
    ``previousblockhash``, ``merkle_root``, ``timestamp``, ``bits``, ``nonce``),
    checked to hash to its ``id``.

    Raises:
        SourceInvalid: a field is missing or out of range, or the header does not hash
            to the id given.
    """
    if not isinstance(entry, dict):
        raise SourceInvalid(f"{what} is not a JSON object")

    def number(name: str, low: int) -> int:
        value = entry.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value < 2 ** 32:
            raise SourceInvalid(f"{what}: {name} is {str(value)[:40]!r}, not a 32-bit number")
        return value

    def digest(name: str, optional: bool = False) -> bytes:
        value = entry.get(name)
        if value is None and optional:
            return bytes(32)  # the genesis block has no previous block
        try:
            raw = bytes.fromhex(value) if isinstance(value, str) and len(value) == 64 else None
        except ValueError:
            raw = None
        if raw is None:
            raise SourceInvalid(f"{what}: {name} is {str(value)[:70]!r}, not a 64-digit hash")
        return raw[::-1]

    version = number("version", -(2 ** 31)) % 2 ** 32
    header = _HEADER.pack(version, digest("previousblockhash", optional=True),
                          digest("merkle_root"), number("timestamp", 0), number("bits", 0),
                          number("nonce", 0))
    assert len(header) == HEADER_SIZE
    block_id = dsha256(header)[::-1].hex()
    if entry.get("id") != block_id:
        raise SourceInvalid(f"{what}: its fields make a header hashing to {block_id}, not "
                            f"to its id {str(entry.get('id'))[:70]}")
    return header


def merkle_branch(leaves: list[bytes], index: int) -> list[bytes]:
    """The siblings from leaf ``index`` up to the root of Bitcoin's Merkle tree over
    ``leaves`` (internal byte order; an odd level pairs its last node with itself)."""
    level, branch = list(leaves), []
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        branch.append(level[index ^ 1])
        level = [dsha256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        index //= 2
    return branch
