"""``--electrum HOST:PORT`` / ``--electrum ssl://HOST:PORT``: an Electrum-protocol server
(ElectrumX, Fulcrum, electrs).

Trust: the server's word on which header is at a height and how high its tip is, as
for Esplora. Each header is hashed here (never a hash the server states), the headers
above the anchor must link and meet their targets, and a Merkle branch is folded by
the verifier against the header. A server can still lie consistently about a chain it
mined itself; ask several sources. Over plain TCP anyone on the path can answer in its
place: the label says "unauthenticated". Over TLS the certificate is checked against
the system's roots (host name included), or against ``cafile`` (a self-signed
server's own certificate, pinned).

Requests (protocol 1.4; ``cp_height`` is never used, electrs lacks it):

- ``server.version`` first on every connection;
- ``blockchain.block.header(height)``: genesis, a height's hash (hashed here), and a
  block's header. Electrum serves headers by height only, so a block's header or
  status is answerable for the blocks whose height this source learned from an earlier
  answer (a height asked, the tip), and for the genesis blocks and the shipped
  checkpoints (where ``--sync-headers`` starts). The verifier asks a height before
  its hash (``anchor.chain``'s survey, and before ``header(hash)`` when the bundle
  lacks its header group), so the block's header is found at the bundle's claimed
  height and hashed against its hash; a block whose height it never learned it
  cannot give (it says so, and another source may);
- ``blockchain.headers.subscribe``: the tip (height and header, hashed here);
- ``blockchain.transaction.get`` and ``blockchain.transaction.get_merkle(txid, height)``
  only when the bundle lacks the transaction or its branch;
- ``blockchain.block.headers(start, count)`` for ``--sync-headers``, in the chunks the
  server allows (its ``max``, commonly 2016).
"""

from __future__ import annotations

import re
from typing import Any

from .._version import __version__
from ..core.anchor.bitcoin import HEADER_SIZE, dsha256, network_of_genesis
from ..errors import NetworkError, SourceInvalid, SourceUnavailable
from ..inputs.checkpoints import mainnet_checkpoints
from ..net.electrum import LineRpcClient, Reply, parse_address
from .base import ChainSource, Question
from .base import Reply as Answer

#: The longest line a header, a height's answer, a tip or a Merkle proof takes
#: (a 32-level branch is about 2.2 KB); generous slack for server envelopes.
MAX_SMALL_LINE = 64 * 1024
#: A transaction: the largest a block can hold (4 MB) as hex, with its envelope.
MAX_TRANSACTION_LINE = 2 * 4_000_000 + 1024
#: A chunk of ``blockchain.block.headers``: 2016 headers as hex, with its envelope.
MAX_HEADERS_LINE = 2016 * HEADER_SIZE * 2 + 1024
#: Seconds for one request (connecting, or a call and its answer).
DEFAULT_TIMEOUT = 20.0

_HEADER_HEX = re.compile(r"[0-9a-fA-F]{160}")


def _hash_of(header_hex: str) -> str:
    return dsha256(bytes.fromhex(header_hex))[::-1].hex()


class ElectrumSource(ChainSource):
    """An Electrum server at ``address`` (``HOST:PORT`` or ``ssl://HOST:PORT``).

    Args:
        address: the server.
        cafile: with ``ssl://``, a PEM file of the certificates to trust instead of the
            system's roots (pin a self-signed server's certificate).
        timeout: seconds for each request.

    Raises:
        ValueError: ``address`` is not such an address, or ``cafile`` is given for a
            plain TCP address.
    """

    kind = "electrum"

    def __init__(self, address: str, *, cafile: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        host, port, tls = parse_address(address)
        if cafile is not None and not tls:
            raise ValueError(f"{address}: a certificate to trust needs ssl://{address}; "
                             "plain TCP has no certificate")
        self._client = LineRpcClient(host, port, tls=tls, cafile=cafile, timeout=timeout,
                                     client_name=f"provelio-verify {__version__}")
        shown = self._client.shown
        super().__init__(f"electrum {shown}" if tls
                         else f"electrum {shown} (plain TCP, unauthenticated)")
        #: Block hash → the height this server gave it at (from headers it was asked
        #: for by height and from its tip): how ``header``/``blockStatus`` find a height.
        self._heights: dict[str, int] = {}

    def describe(self) -> dict[str, str]:
        """The label and kind, how the connection is authenticated, and the server's
        software once known."""
        out = super().describe()
        if not self._client.tls:
            out["transport"] = "tcp, unauthenticated: anyone on the path could answer"
        elif self._client.cafile:
            out["transport"] = f"tls, certificate pinned by {self._client.cafile}"
        else:
            out["transport"] = "tls, certificate checked against the system's roots"
        if self._client.server_version:
            out["server"] = self._client.server_version[0]
        return out

    def close(self) -> None:
        """Close the connection (the next question opens another)."""
        self._client.close()

    # The wire ------------------------------------------------------------------------

    def _call(self, method: str, params: list[Any], *,
              max_line: int = MAX_SMALL_LINE) -> Reply:
        try:
            reply = self._client.call(method, params, max_line=max_line)
        except NetworkError as exc:
            raise SourceUnavailable(str(exc)) from None
        if reply.malformed is not None:
            raise SourceInvalid(f"{method} {_params(params)}: the server answered "
                                f"{reply.malformed}")
        return reply

    def _result(self, method: str, params: list[Any], *,
                max_line: int = MAX_SMALL_LINE) -> Any:
        reply = self._call(method, params, max_line=max_line)
        if not reply.ok:
            raise SourceUnavailable(f"{method} {_params(params)}: the server answered error "
                                    f"{_error(reply.error)}")
        return reply.result

    def _header_hex(self, height: int) -> str | None:
        """``blockchain.block.header(height)``: the header's hex, ``None`` above the
        tip (an error at a height above the tip, asked now, is "no such height")."""
        reply = self._call("blockchain.block.header", [height])
        if not reply.ok:
            tip = self._tip()[0]
            if height > tip:
                return None
            raise SourceUnavailable(f"blockchain.block.header {height}: the server answered "
                                    f"error {_error(reply.error)}, though its tip is at "
                                    f"height {tip}")
        value = reply.result
        if not isinstance(value, str) or not _HEADER_HEX.fullmatch(value):
            raise SourceInvalid(f"blockchain.block.header {height}: answered "
                                f"{_brief(value)}, not an 80-byte header in hex")
        self._heights[_hash_of(value)] = height
        return value.lower()

    def _tip(self) -> tuple[int, str]:
        """``blockchain.headers.subscribe``: the tip's height and hash."""
        value = self._result("blockchain.headers.subscribe", [])
        height = value.get("height") if isinstance(value, dict) else None
        header = value.get("hex") if isinstance(value, dict) else None
        if (isinstance(height, bool) or not isinstance(height, int) or height < 0
                or not isinstance(header, str) or not _HEADER_HEX.fullmatch(header)):
            raise SourceInvalid(f"blockchain.headers.subscribe answered {_brief(value)}, not "
                                "{height, hex} with an 80-byte header")
        block = _hash_of(header)
        self._heights[block] = height
        return height, block

    # Questions ----------------------------------------------------------------------

    def _answer(self, question: Question) -> Answer:
        kind = question.kind
        if kind in ("genesis", "blockHash"):
            height = 0 if kind == "genesis" else int(question.height or 0)
            header = self._header_hex(height)
            if header is None and kind == "genesis":
                raise SourceInvalid("blockchain.block.header 0: the server has no block at "
                                    "height 0")
            return Answer(None if header is None else _hash_of(header))
        if kind == "tip":
            return Answer(self._tip()[0])
        if kind == "header":
            block = str(question.block)
            learned = self._height_of(block)
            if learned is None:
                raise SourceUnavailable(self._no_height(block, "its header"))
            return Answer(self._header_hex(learned))
        if kind == "blockStatus":
            block = str(question.block)
            known = self._height_of(block)
            if known is None:
                # No lookup by hash in this protocol: a block whose height was not
                # learned is one this source does not know (as a headers file does
                # not know a block outside it).
                return Answer(None)
            # Through the cache: the same answer the survey judges, never a second one.
            in_best = self.block_hash(known) == block
            return Answer({"inBestChain": in_best, "height": known if in_best else None})
        if kind == "transaction":
            return Answer(self._result("blockchain.transaction.get", [question.txid],
                                       max_line=MAX_TRANSACTION_LINE))
        return self._merkle_proof(question)

    def _height_of(self, block: str) -> int | None:
        """Where this source would find ``block``: the height a server answer gave it,
        0 for a network's genesis, or a shipped mainnet checkpoint's height (where
        ``--sync-headers`` starts). Only where to ask: the header found there is still
        hashed against ``block``."""
        learned = self._heights.get(block)
        if learned is not None:
            return learned
        if network_of_genesis(block) is not None:
            return 0
        return mainnet_checkpoints().height_of(block)

    def _no_height(self, block: str, what: str) -> str:
        return (f"an Electrum server serves headers by height only, and the height of block "
                f"{block} is not known to this source (it learns heights from the blocks "
                f"it is asked for at a height), so it cannot give {what}; name another "
                "source, or give the bundle's header group")

    def _merkle_proof(self, question: Question) -> Answer:
        txid, height = str(question.txid), question.height
        proof = self._result("blockchain.transaction.get_merkle", [txid, height])
        if not isinstance(proof, dict):
            raise SourceInvalid(f"blockchain.transaction.get_merkle {txid}: answered "
                                f"{_brief(proof)}, not a JSON object")
        if proof.get("block_height") != height:
            raise SourceUnavailable(
                f"blockchain.transaction.get_merkle: it places transaction {txid} in its "
                f"block at height {str(proof.get('block_height'))[:40]}, not at height "
                f"{height}")
        # ``merkle`` is in display order, as Esplora's merkle-proof (whose format is
        # Electrum's); base validation checks its shape, the verifier folds it.
        return Answer({"txIndex": proof.get("pos"), "branch": proof.get("merkle")})

    # Header runs --------------------------------------------------------------------

    def header_run(self, start: int, count: int) -> bytes:
        """Consecutive raw headers from ``start`` (see :meth:`ChainSource.header_run`),
        by ``blockchain.block.headers`` chunks of at most the server's ``max``. Not
        cached; each header is checked by the caller.

        Raises:
            SourceError: the source gave no usable answer.
        """
        wanted = min(count, self.HEADER_RUN_MAX)
        out = bytearray()
        while len(out) < wanted * HEADER_SIZE:
            at = start + len(out) // HEADER_SIZE
            asked = wanted - len(out) // HEADER_SIZE
            value = self._result("blockchain.block.headers", [at, asked],
                                 max_line=MAX_HEADERS_LINE)
            got, cap = self._chunk(value, at, asked)
            out += got
            if len(got) // HEADER_SIZE < min(asked, cap) or not got:
                break  # the chain ends here
        return bytes(out)

    @staticmethod
    def _chunk(value: Any, at: int, asked: int) -> tuple[bytes, int]:
        what = f"blockchain.block.headers {at} {asked}"
        if not isinstance(value, dict):
            raise SourceInvalid(f"{what}: answered {_brief(value)}, not a JSON object")
        n, text, cap = value.get("count"), value.get("hex"), value.get("max", asked)
        if (isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= asked
                or isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise SourceInvalid(f"{what}: count {_brief(n)} (max {_brief(cap)}) is not 0 "
                                f"to the {asked} asked")
        try:
            raw = bytes.fromhex(text) if isinstance(text, str) else None
        except ValueError:
            raw = None
        if raw is None or len(raw) != n * HEADER_SIZE:
            shown = f"{len(text)} hex digits" if isinstance(text, str) else _brief(text)
            raise SourceInvalid(f"{what}: hex is {shown}, not the {n} headers of "
                                f"{HEADER_SIZE} bytes its count says")
        return raw, cap


def _params(params: list[Any]) -> str:
    return " ".join(str(p) for p in params)


def _error(error: Any) -> str:
    if isinstance(error, dict):
        return f"{_brief(error.get('code'), 20)}: {_brief(error.get('message'))}"
    return _brief(error)


def _brief(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 1]}…"
