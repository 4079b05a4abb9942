"""``--esplora URL``: the Esplora REST API (blockstream.info, mempool.space, or your own).

Trust: the explorer's word on which block is at a height and how high its tip is.
What it says is checked where it can be: every header it gives is hashed and compared
with the hash asked for, and the headers above the anchor block must link and meet
their targets. An explorer can still lie consistently about a chain it mined itself;
ask several (``--esplora`` is repeatable), or your own node.

Requests: ``/block-height/:h``, ``/block/:hash/header``, ``/block/:hash/status`` (with
``/block/:hash`` for its ``tx_count``), ``/blocks/tip/height``; ``/tx/:txid/hex`` and
``/tx/:txid/merkle-proof`` only when the bundle lacks the transaction or its branch.
"""

from __future__ import annotations

from typing import Any

from .._json_bounds import loads_bounded
from ..errors import NetworkError, SourceInvalid, SourceUnavailable
from ..net import HttpClient, Response, redact, split_credentials
from .base import ChainSource, Question, Reply

#: Cap on answers that are a hash, a height, a header or a status: a few hundred bytes.
MAX_SMALL_ANSWER = 64 * 1024
#: Cap on a transaction's hex: the largest transaction a block can hold (4 MB) as hex.
MAX_TRANSACTION_ANSWER = 2 * 4_000_000 + 1024
#: Digits in a height: Bitcoin Core keeps heights in an int32 (10 digits). A longer tip
#: answer is not a height, and never reaches int() (which refuses 4,300 digits).
MAX_HEIGHT_DIGITS = 10


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

    def _get(self, path: str, *, limit: int = MAX_SMALL_ANSWER) -> Response:
        try:
            return self._client.get(self._base + path, auth=self._auth, max_bytes=limit)
        except NetworkError as exc:
            raise SourceUnavailable(str(exc)) from None

    def _text(self, path: str, *, limit: int = MAX_SMALL_ANSWER,
              missing_ok: bool = False) -> tuple[str | None, tuple[str, ...]]:
        response = self._get(path, limit=limit)
        if response.status == 404 and missing_ok:
            return None, response.retries
        if response.status != 200:
            raise SourceUnavailable(f"GET {response.url} answered HTTP {response.status}")
        try:
            return response.text().strip(), response.retries
        except NetworkError as exc:
            raise SourceInvalid(str(exc)) from None

    def _json(self, path: str, *, missing_ok: bool = False) -> tuple[Any, tuple[str, ...]]:
        text, retries = self._text(path, missing_ok=missing_ok)
        if text is None:
            return None, retries
        try:
            return loads_bounded(text), retries
        except ValueError as exc:  # not JSON, or over the reader's limits (depth, numbers)
            problem = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
            raise SourceInvalid(f"GET {self._base}{path} answered text that is not JSON this "
                                f"verifier reads: {problem}") from None

    def _answer(self, question: Question) -> Reply:
        kind = question.kind
        if kind in ("genesis", "blockHash"):
            height = 0 if kind == "genesis" else question.height
            text, retries = self._text(f"/block-height/{height}", missing_ok=True)
            return Reply(text, retries)
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
            # Esplora answers 404 for a block it does not know, and in_best_chain false
            # (without a height) for one outside its best chain.
            status, retries = self._json(f"/block/{question.block}/status", missing_ok=True)
            if status is None:
                return Reply(None, retries)
            if not isinstance(status, dict):
                raise SourceInvalid(f"/block/{question.block}/status is not a JSON object")
            # /block/:hash gives tx_count, which fixes the block's Merkle branches' length.
            block, more = self._json(f"/block/{question.block}", missing_ok=True)
            count = block.get("tx_count") if isinstance(block, dict) else None
            return Reply({"inBestChain": status.get("in_best_chain"),
                          "height": status.get("height"), "txCount": count}, retries + more)
        if kind == "transaction":
            return Reply(*self._text(f"/tx/{question.txid}/hex",
                                     limit=MAX_TRANSACTION_ANSWER))
        # merkleProof
        proof, retries = self._json(f"/tx/{question.txid}/merkle-proof")
        if not isinstance(proof, dict):
            raise SourceInvalid(f"/tx/{question.txid}/merkle-proof is not a JSON object")
        if proof.get("block_height") != question.height:
            raise SourceUnavailable(
                f"it places transaction {question.txid} in its block at height "
                f"{proof.get('block_height')}, not at height {question.height}")
        return Reply({"txIndex": proof.get("pos"), "branch": proof.get("merkle")}, retries)
