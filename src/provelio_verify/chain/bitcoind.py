"""``--bitcoin-node URL``: Bitcoin Core's JSON-RPC, with credentials in the URL
(``http://user:pass@127.0.0.1:8332``) or a cookie file (``--rpc-cookie``).

Trust: your node's view of the best chain. A node you run validated every block
itself, so its word on a height and a tip is the strongest a source can give; what it
says is still checked as any source's is (headers hashed, headers above the anchor
linked). Credentials travel only in the Authorization header and are never shown.

Calls: ``getblockhash``, ``getblockheader``, ``getblockcount``; ``getrawtransaction``
and ``gettxoutproof`` only when the bundle lacks the transaction or its branch.
``--sync-headers`` (:meth:`BitcoinCoreSource.header_run`) asks for headers in bulk from
the node's REST interface, which a node started with ``-rest`` serves unauthenticated on
the RPC port (``GET /rest/headers/<hash>.bin?count=<n>``, or ``/rest/headers/<n>/<hash>.bin``
before Core 24.0; at most 2,000 a request); a node without it answers 404 and the
headers come, for the rest of the run, in JSON-RPC batches (``couldNotUse`` says so).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.parse
from typing import Any, ClassVar

from .._json_bounds import loads_bounded
from ..core.anchor.bitcoin import HEADER_SIZE, dsha256
from ..core.anchor.merkleblock import MerkleBlockError, parse_merkle_block
from ..errors import InputError, NetworkError, SourceInvalid, SourceUnavailable
from ..inputs.files import read_at_most
from ..net import HttpClient, redact, split_credentials
from .base import ChainSource, Question, Reply
from .esplora import MAX_SMALL_ANSWER, MAX_TRANSACTION_ANSWER

#: Bitcoin Core's RPC error codes this source interprets.
RPC_INVALID_ADDRESS_OR_KEY = -5  # block or transaction not found
RPC_INVALID_PARAMETER = -8  # block height out of range
#: A cookie file holds ``__cookie__:<64 hex>``; anything much larger is not one.
MAX_COOKIE_BYTES = 4096
#: The most one response of a batch takes (a header in hex with its JSON-RPC envelope).
_BATCH_ITEM_BYTES = 512
#: The most headers Bitcoin Core's REST interface gives in one answer
#: (``MAX_REST_HEADERS_RESULTS`` in its rest.cpp); a header run asks for no more, so
#: that one run is one REST request.
REST_HEADERS_MAX = 2000
#: A REST headers answer is read up to this many bytes past the headers asked for: a
#: longer one is cut off unread (and REST is not used again), a shorter excess refused.
_REST_SLACK = 4096
#: The two forms of the REST headers path, newest first: ``?count=`` since Core 24.0;
#: a node before it answers 400 to that form and knows only ``<count>/<hash>``.
_REST_FORMS = ("query", "path")
_HASH = re.compile(r"[0-9a-f]{64}")
_HEADER_HEX = re.compile(r"[0-9a-f]{160}")


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:120]


class _RpcError(Exception):
    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def read_cookie(path: str | os.PathLike[str]) -> tuple[str, str]:
    """The ``user:password`` of a Bitcoin Core cookie file.

    Raises:
        InputError: unreadable, or not a cookie (the contents are never shown).
    """
    shown = os.fspath(path)
    raw = read_at_most(shown, MAX_COOKIE_BYTES)
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = ""
    user, sep, password = text.partition(":")
    if len(raw) > MAX_COOKIE_BYTES or not sep or not user or "\n" in text:
        raise InputError(f"{shown} is not a Bitcoin Core cookie file (user:password)")
    return user, password


def _result(method: str, document: Any) -> Any:
    """The ``result`` of one JSON-RPC response.

    Raises:
        SourceInvalid: not a JSON-RPC response.
        _RpcError: the response is an error.
    """
    if not isinstance(document, dict) or "result" not in document and "error" not in document:
        raise SourceInvalid(f"{method}: the node's answer is not a JSON-RPC response")
    error = document.get("error")
    if error:
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise _RpcError(code if isinstance(code, int) else None, str(message))
    return document.get("result")


class BitcoinCoreSource(ChainSource):
    """A Bitcoin Core node's JSON-RPC at ``url``.

    Raises:
        ValueError: ``url`` is not an http(s) URL, or it carries credentials while a
            cookie is given too.
        InputError: the cookie file cannot be read or is not a cookie.
    """

    kind = "bitcoin-core"
    #: One REST answer (:data:`REST_HEADERS_MAX`); or two JSON-RPC batches of as many.
    HEADER_RUN_MAX: ClassVar[int] = REST_HEADERS_MAX

    def __init__(self, url: str, *, cookie_path: str | os.PathLike[str] | None = None,
                 client: HttpClient | None = None, rest: bool = True) -> None:
        plain, auth = split_credentials(url)
        if cookie_path is not None:
            if auth is not None:
                raise ValueError(f"{redact(url)} carries credentials and a cookie file was "
                                 "given too: use one")
            auth = read_cookie(cookie_path)
        super().__init__(f"bitcoin-core {redact(url)}")
        self._url = plain
        self._auth = auth
        self._client = client or HttpClient()
        # REST lives at the server's root (or a proxy's prefix), not under /wallet/<name>.
        parts = urllib.parse.urlsplit(plain)
        prefix = parts.path.rstrip("/")
        if "/wallet/" in prefix + "/":
            prefix = prefix[:(prefix + "/").index("/wallet/")]
        self._rest_base = urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, f"{prefix}/rest/headers/", "", ""))
        #: The REST path form this node answers (``None``: REST is not used).
        self._rest_form: str | None = _REST_FORMS[0] if rest else None

    def _post(self, what: str, payload: Any, limit: int) -> tuple[Any, tuple[str, ...]]:
        """POST one JSON-RPC request (or a batch) and read the JSON answer.

        Raises:
            SourceUnavailable: no answer, refused credentials, an unexpected HTTP status.
            SourceInvalid: the answer is not JSON this verifier reads.
        """
        body = json.dumps(payload).encode()
        try:
            # Bitcoin Core answers an RPC error with HTTP 500 (404 for an unknown method)
            # and a JSON body: an answer, not a failure to retry.
            response = self._client.post(self._url, body, auth=self._auth, max_bytes=limit,
                                         headers={"Content-Type": "application/json"},
                                         no_retry=(500,))
        except NetworkError as exc:
            raise SourceUnavailable(str(exc)) from None
        if response.status == 401:
            raise SourceUnavailable(f"{what}: the node refused the credentials (HTTP 401)")
        if response.status not in (200, 404, 500):
            raise SourceUnavailable(f"{what}: the node answered HTTP {response.status}")
        try:
            return loads_bounded(response.body), response.retries
        except ValueError as exc:  # not JSON, or over the reader's limits (depth, numbers)
            raise SourceInvalid(f"{what}: the node's answer (HTTP {response.status}) is "
                                f"not JSON this verifier reads: {_first_line(exc)}") from None

    def _call(self, method: str, params: list[Any],
              limit: int = MAX_SMALL_ANSWER) -> tuple[Any, tuple[str, ...]]:
        document, retries = self._post(method, {"jsonrpc": "1.0", "id": "provelio-verify",
                                                "method": method, "params": params}, limit)
        return _result(method, document), retries

    def _batch(self, method: str, calls: list[list[Any]]) -> list[Any]:
        """One JSON-RPC batch of ``method`` calls; the results in call order, an RPC
        error as an :class:`_RpcError` in its place.

        Raises:
            SourceUnavailable, SourceInvalid: as :meth:`_post`; or the batch's answer
                is not one response per call.
        """
        payload = [{"jsonrpc": "1.0", "id": n, "method": method, "params": params}
                   for n, params in enumerate(calls)]
        document, _ = self._post(f"{method} batch", payload,
                                 MAX_SMALL_ANSWER + len(calls) * _BATCH_ITEM_BYTES)
        if not isinstance(document, list) or len(document) != len(calls):
            raise SourceInvalid(f"{method} batch of {len(calls)}: the node's answer is not "
                                f"a list of {len(calls)} responses")
        by_id: dict[Any, Any] = {}
        for item in document:
            if not isinstance(item, dict) or type(item.get("id")) is not int \
                    or item["id"] in by_id or not 0 <= item["id"] < len(calls):
                raise SourceInvalid(f"{method} batch: a response with a missing, repeated "
                                    "or unknown id")
            try:
                by_id[item["id"]] = _result(method, item)
            except _RpcError as exc:
                by_id[item["id"]] = exc
        return [by_id[n] for n in range(len(calls))]

    def header_run(self, start: int, count: int) -> bytes:
        """Up to ``count`` headers from height ``start`` (see
        :meth:`ChainSource.header_run`): one REST request when the node serves REST
        (:meth:`_rest_run`), else two JSON-RPC batches (:meth:`_batch_run`). Either way
        every header is hashed: the first to the hash the node gives for ``start``,
        each next one linked to the one before it.

        Raises:
            SourceUnavailable: the node gave no usable answer.
            SourceInvalid: its answer is not the headers asked for (a REST answer that
                is not whole headers, holds more than asked, does not start at the
                asked block or does not link; a batch header that does not hash to its
                height's hash).
        """
        wanted = min(count, self.HEADER_RUN_MAX)
        if wanted <= 0:
            return b""
        if self._rest_form is not None:
            run = self._rest_run(start, wanted)
            if run is not None:
                return run
        return self._batch_run(start, wanted)

    def _rest_run(self, start: int, count: int) -> bytes | None:
        """``GET /rest/headers/<hash>.bin?count=<count>`` from the block the node has at
        ``start`` (one ``getblockhash``); ``None`` when the batches must answer instead
        (the node serves no REST, or the block left its best chain since).

        A 200 answer is the node's word: one that is not ``count`` or fewer whole
        headers, linked, from the asked block, is refused (:class:`SourceInvalid`),
        as a batch header that does not hash to its hash is, and none of it is
        returned. Any other answer (404 from a node without ``-rest``, 403, an error,
        no answer, one over the size bound) turns REST off for the rest of the run.

        Raises:
            SourceUnavailable, SourceInvalid: as :meth:`header_run`.
        """
        try:
            first, _ = self._call("getblockhash", [start])
        except _RpcError as exc:
            if exc.code == RPC_INVALID_PARAMETER:
                return b""  # beyond the node's tip
            raise SourceUnavailable(f"getblockhash {start}: the node answered error "
                                    f"{exc.code}: {exc.message}") from None
        if not isinstance(first, str) or not _HASH.fullmatch(first):
            raise SourceInvalid(f"getblockhash {start}: {first!r:.80} is not a block hash")
        answer = self._rest_get(first, min(count, REST_HEADERS_MAX))
        if not answer:
            # None: no REST. b"": the block is no longer in the node's best chain
            # (Core then answers empty); the batches give this run a consistent answer.
            return None
        what = f"/rest/headers from block {first} (height {start})"
        count = min(count, REST_HEADERS_MAX)
        if len(answer) % HEADER_SIZE or len(answer) > count * HEADER_SIZE:
            raise SourceInvalid(f"{what}: asked for {count} headers, it sent {len(answer)} "
                                f"bytes (not {count} or fewer whole 80-byte headers)")
        # Each header's double SHA-256 (dsha256, inlined: 2,000 calls an answer), then
        # every header's previous-block field against the hash of the one before it,
        # compared all at once and searched only when they differ.
        sha256, view = hashlib.sha256, memoryview(answer)
        hashes = [sha256(sha256(view[at:at + HEADER_SIZE]).digest()).digest()
                  for at in range(0, len(answer), HEADER_SIZE)]
        if hashes[0][::-1].hex() != first:
            raise SourceInvalid(f"{what}: the first header hashes to "
                                f"{hashes[0][::-1].hex()}, not to the block asked for")
        links = b"".join([answer[at + 4:at + 36]
                          for at in range(HEADER_SIZE, len(answer), HEADER_SIZE)])
        if links != b"".join(hashes[:-1]):
            n = next(n for n in range(1, len(hashes))
                     if links[(n - 1) * 32:n * 32] != hashes[n - 1])
            raise SourceInvalid(f"{what}: the header at height {start + n} does not link "
                                f"to the one before it (previous block "
                                f"{links[(n - 1) * 32:n * 32][::-1].hex()}, not "
                                f"{hashes[n - 1][::-1].hex()})")
        return answer

    def _rest_get(self, first: str, count: int) -> bytes | None:
        """The body of the REST headers answer from ``first``; ``None`` (and REST off,
        said in ``couldNotUse``) when the node does not serve it. Unauthenticated:
        the credentials go to the JSON-RPC only."""
        while self._rest_form is not None:
            form = self._rest_form
            url = (f"{self._rest_base}{first}.bin?count={count}" if form == "query"
                   else f"{self._rest_base}{count}/{first}.bin")
            try:
                response = self._client.get(url, max_bytes=REST_HEADERS_MAX * HEADER_SIZE
                                            + _REST_SLACK)
            except NetworkError as exc:  # its words without the URL, said already
                why = str(exc).replace(f"{url}: ", "").replace(f"GET {url} ", "")
                self._rest_off(f"no usable answer: {_first_line(NetworkError(why))}")
                return None
            if response.status == 200:
                return response.body
            if response.status == 400 and form == _REST_FORMS[0]:
                self._rest_form = _REST_FORMS[1]  # a node before Core 24.0
                continue
            self._rest_off(f"HTTP {response.status}")
        return None

    def _rest_off(self, why: str) -> None:
        self._rest_form = None
        self._lacks.setdefault("/rest/headers", f"{why}; headers asked in JSON-RPC batches")

    def _batch_run(self, start: int, count: int) -> bytes:
        """Two JSON-RPC batches: ``getblockhash`` for each height, then
        ``getblockheader(hash, false)`` for each hash; each header is checked to hash to
        the hash the node gave for its height."""
        heights = range(start, start + count)
        hashes: list[str] = []
        for height, found in zip(heights, self._batch("getblockhash", [[h] for h in heights]),
                                 strict=True):
            if isinstance(found, _RpcError):
                if found.code == RPC_INVALID_PARAMETER:
                    break  # beyond the node's tip
                raise SourceUnavailable(f"getblockhash {height}: the node answered error "
                                        f"{found.code}: {found.message}")
            if not isinstance(found, str) or not _HASH.fullmatch(found):
                raise SourceInvalid(f"getblockhash {height}: {found!r:.80} is not a block hash")
            hashes.append(found)
        if not hashes:
            return b""
        out = bytearray()
        headers = self._batch("getblockheader", [[h, False] for h in hashes])
        for height, block, header in zip(heights, hashes, headers, strict=False):
            if isinstance(header, _RpcError):
                raise SourceUnavailable(f"getblockheader {block}: the node answered error "
                                        f"{header.code}: {header.message}")
            if not isinstance(header, str) or not _HEADER_HEX.fullmatch(header):
                raise SourceInvalid(f"getblockheader {block}: not an 80-byte header in hex")
            raw = bytes.fromhex(header)
            if dsha256(raw)[::-1].hex() != block:
                raise SourceInvalid(f"getblockheader {block} (height {height}): the header "
                                    f"hashes to {dsha256(raw)[::-1].hex()}")
            out += raw
        return bytes(out)

    def _answer(self, question: Question) -> Reply:
        kind = question.kind
        try:
            if kind in ("genesis", "blockHash"):
                height = 0 if kind == "genesis" else question.height
                try:
                    return Reply(*self._call("getblockhash", [height]))
                except _RpcError as exc:
                    if exc.code == RPC_INVALID_PARAMETER and kind == "blockHash":
                        return Reply(None)  # height out of range: beyond the node's tip
                    raise
            if kind == "tip":
                return Reply(*self._call("getblockcount", []))
            if kind == "header":
                return Reply(*self._call("getblockheader", [question.block, False]))
            if kind == "blockStatus":
                try:
                    info, retries = self._call("getblockheader", [question.block, True])
                except _RpcError as exc:
                    if exc.code == RPC_INVALID_ADDRESS_OR_KEY:
                        return Reply(None)  # the node does not know the block
                    raise
                if not isinstance(info, dict) or not isinstance(info.get("confirmations"), int):
                    raise SourceInvalid("getblockheader: no confirmations in the answer")
                # confirmations is -1 for a block outside the best chain.
                # nTx (the block's transaction count) fixes its Merkle branches' length.
                return Reply({"inBestChain": info["confirmations"] > 0,
                              "height": info.get("height"), "txCount": info.get("nTx")},
                             retries)
            if kind == "transaction":
                params: list[Any] = [question.txid, False]
                if question.block:
                    params.append(question.block)
                return Reply(*self._call("getrawtransaction", params,
                                         limit=MAX_TRANSACTION_ANSWER))
            return self._merkle_proof(question)
        except _RpcError as exc:
            raise SourceUnavailable(f"{question.describe()}: the node answered error "
                                    f"{exc.code}: {exc.message}") from None

    def _merkle_proof(self, question: Question) -> Reply:
        proof_hex, retries = self._call("gettxoutproof", [[question.txid], question.block])
        try:
            block = parse_merkle_block(bytes.fromhex(proof_hex))
        except (MerkleBlockError, ValueError, TypeError) as exc:
            raise SourceInvalid(f"gettxoutproof: not a Merkle block ({exc})") from None
        if dsha256(block.header)[::-1].hex() != question.block:
            raise SourceInvalid(f"gettxoutproof: the Merkle block's header is not of block "
                                f"{question.block}")
        assert question.txid is not None
        match = block.matches.get(bytes.fromhex(question.txid)[::-1])
        if match is None:
            raise SourceInvalid(f"gettxoutproof: the Merkle block does not hold "
                                f"{question.txid}")
        index, branch = match
        return Reply({"txIndex": index, "branch": [h[::-1].hex() for h in branch]}, retries)
