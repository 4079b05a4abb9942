"""Real HTTP servers on 127.0.0.1 that speak Bitcoin Core's JSON-RPC and the Esplora
REST API, fed by chains mined by tests/fixtures/gen/chain.py, with a knob for each way
a source misbehaves (:class:`Knobs`).

    with EsploraServer(ChainData.of(chain)) as server:
        source = EsploraSource(server.url, client)
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bitcoin.core import CBlock, CTransaction, b2lx, lx

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))

from gen.chain import Chain, merkle_branch  # noqa: E402


def dsha(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


@dataclass
class ChainData:
    """What a server knows: its best chain, and blocks it saw but left (stale)."""

    best: list[CBlock]
    stale: list[tuple[int, CBlock]] = field(default_factory=list)
    #: Answer height 0 with this hash instead (a server on another network).
    genesis: str | None = None

    @classmethod
    def of(cls, chain: Chain, stale: Chain | None = None, fork_at: int = 0) -> ChainData:
        extra = [(h, stale.blocks[h]) for h in range(fork_at, len(stale.blocks))] \
            if stale is not None else []
        return cls(list(chain.blocks), extra)

    @property
    def tip(self) -> int:
        return len(self.best) - 1

    def hash_at(self, height: int) -> str | None:
        if self.genesis is not None and height == 0:
            return self.genesis
        return b2lx(self.best[height].GetHash()) if 0 <= height <= self.tip else None

    def find_block(self, block_hash: str) -> tuple[CBlock, int, bool] | None:
        # An index, rebuilt when a test changes the chains (a sync asks for thousands).
        shape = (len(self.best), id(self.best[-1]) if self.best else None, len(self.stale))
        if getattr(self, "_shape", None) != shape:
            index: dict[str, tuple[CBlock, int, bool]] = {}
            for height, block in reversed(self.stale):
                index[b2lx(block.GetHash())] = (block, height, False)
            for height, block in enumerate(self.best):
                index[b2lx(block.GetHash())] = (block, height, True)
            self._index, self._shape = index, shape
        return self._index.get(block_hash)

    def find_tx(self, txid: str) -> tuple[CTransaction, CBlock, int] | None:
        for height, block in enumerate(self.best):
            for tx in block.vtx:
                if b2lx(tx.GetTxid()) == txid:
                    return tx, block, height
        return None


@dataclass
class Knobs:
    """Misbehaviours, each off by default; tests may change them while serving."""

    #: Claim this tip height instead of the real one.
    tip: int | None = None
    #: Answer every header question with the header of the block below the one asked.
    wrong_header: bool = False
    #: Answer the first N requests with 429 and this Retry-After.
    throttle: int = 0
    retry_after: str = "1"
    #: Seconds to wait before answering any request.
    delay: float = 0.0
    #: Answer every request with this many bytes.
    huge: int = 0
    #: Answer /tx/:txid/hex (getrawtransaction) with another transaction of the block.
    wrong_tx: bool = False
    #: Answer merkle proofs with the position off by one.
    wrong_position: bool = False
    #: Claim this transaction count for every block (Esplora tx_count, RPC nTx).
    tx_count: int | None = None
    #: Answer /block/:hash/txids with two txids swapped (they rebuild another root), and
    #: Esplora's merkle-proof with the branch of that tree.
    wrong_txids: bool = False
    #: Describe blocks (/block/:hash, /blocks/:h) by fields that do not hash to their id.
    wrong_fields: bool = False


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 port 0 with a request log."""

    def __init__(self, data: ChainData, knobs: Knobs | None = None) -> None:
        self.data = data
        self.knobs = knobs or Knobs()
        self.requests: list[str] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms stalls between header and body

            def do_GET(self) -> None:  # noqa: N802
                owner._serve(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                owner._serve(self, "POST")

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (timeout, size cap) is not an error here

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _serve(self, handler: http.server.BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append(self._describe(handler, body))
            throttled = self.knobs.throttle > 0
            if throttled:
                self.knobs.throttle -= 1
        if self.knobs.delay:
            time.sleep(self.knobs.delay)
        if throttled:
            self._send(handler, 429, b"slow down", {"Retry-After": self.knobs.retry_after})
            return
        if self.knobs.huge:
            self._send(handler, 200, b"0" * self.knobs.huge)
            return
        status, payload, content_type = self.answer(handler, method, body)
        self._send(handler, status, payload, {"Content-Type": content_type})

    def _describe(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> str:
        return handler.path

    def answer(self, handler: http.server.BaseHTTPRequestHandler, method: str,
               body: bytes) -> tuple[int, bytes, str]:
        raise NotImplementedError

    @staticmethod
    def _send(handler: http.server.BaseHTTPRequestHandler, status: int, payload: bytes,
              headers: dict[str, str] | None = None) -> None:
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        with contextlib.suppress(OSError):  # the client gave up (timeout, size cap)
            handler.wfile.write(payload)

    def header_of(self, block: CBlock, height: int) -> str:
        if self.knobs.wrong_header and height > 0:
            return self.data.best[height - 1].get_header().serialize().hex()
        return block.get_header().serialize().hex()

    def tx_count_of(self, block: CBlock) -> int:
        return len(block.vtx) if self.knobs.tx_count is None else self.knobs.tx_count

    def claimed_tip(self) -> int:
        return self.data.tip if self.knobs.tip is None else self.knobs.tip

    def tx_of(self, tx: CTransaction, block: CBlock) -> str:
        if self.knobs.wrong_tx:
            tx = next(t for t in block.vtx if t.GetTxid() != tx.GetTxid())
        return tx.serialize().hex()

    def position(self, block: CBlock, tx: CTransaction) -> tuple[int, list[bytes]]:
        txids = [t.GetTxid() for t in block.vtx]
        index = txids.index(tx.GetTxid())
        branch = merkle_branch(txids, index)
        return (index ^ 1 if self.knobs.wrong_position else index), branch


class EsploraServer(_Server):
    """The Esplora REST API under ``/api``.

    ``flavour="esplora"`` (the default) serves Blockstream's esplora routes.
    ``flavour="mempool"`` serves what a self-hosted mempool in bitcoind mode serves:
    no ``/block/:hash/status``, no ``/tx/:txid/merkleblock-proof``, and
    ``/tx/:txid/merkle-proof`` missing (404, as before mempool added it) or refused
    with ``merkle_proof_status`` (500, "not supported by the Bitcoin RPC API", as
    since); ``/block-height/:h`` above the tip answers 500, and ``/blocks/:h`` gives 15
    blocks, clamped to the tip, where esplora gives 10 and 404 above it.
    """

    PREFIX = "/api"
    FLAVOURS = ("esplora", "mempool")

    def __init__(self, data: ChainData, knobs: Knobs | None = None, *,
                 flavour: str = "esplora", merkle_proof_status: int = 404,
                 blocks_pages: bool = True) -> None:
        if flavour not in self.FLAVOURS:
            raise ValueError(f"unknown flavour {flavour!r}")
        super().__init__(data, knobs)
        self.flavour = flavour
        self.merkle_proof_status = merkle_proof_status
        #: Serve ``/blocks/:h`` at all (a server without it: header runs fall back).
        self.blocks_pages = blocks_pages

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.PREFIX}"

    @property
    def mempool(self) -> bool:
        return self.flavour == "mempool"

    def _missing(self, path: str) -> tuple[int, bytes, str]:
        # Express's answer for a route it does not have.
        return 404, f"Cannot GET {path}".encode(), "text/html"

    def block_info(self, block: CBlock, height: int) -> dict[str, Any]:
        header = self.block_header(block, height)
        info = {"id": b2lx(header.GetHash()), "height": height, "version": header.nVersion,
                "timestamp": header.nTime, "tx_count": self.tx_count_of(block),
                "merkle_root": b2lx(header.hashMerkleRoot), "bits": header.nBits,
                "nonce": header.nNonce,
                "previousblockhash": b2lx(header.hashPrevBlock) if height else None}
        if self.mempool:
            info["extras"] = {"medianFee": 1.5, "pool": {"id": 0, "name": "Unknown"}}
        return info

    def txids_of(self, block: CBlock) -> list[str]:
        txids = [b2lx(t.GetTxid()) for t in block.vtx]
        if self.knobs.wrong_txids and len(txids) > 2:
            txids[0], txids[1] = txids[1], txids[0]  # same txids, another tree: another root
        return txids

    def answer(self, handler: http.server.BaseHTTPRequestHandler, method: str,
               body: bytes) -> tuple[int, bytes, str]:
        path = handler.path
        if method != "GET" or not path.startswith(self.PREFIX + "/"):
            return 404, b"Not Found", "text/plain"
        parts = path[len(self.PREFIX) + 1:].split("/")
        data = self.data
        if parts[:1] == ["block-height"] and len(parts) == 2 and parts[1].isdigit():
            at = data.hash_at(int(parts[1]))
            if at:
                return 200, at.encode(), "text/plain"
            return (500, b"Failed to get block at height", "text/plain") if self.mempool \
                else (404, b"Block not found", "text/plain")
        if parts == ["blocks", "tip", "height"]:
            return 200, str(self.claimed_tip()).encode(), "text/plain"
        if parts[:1] == ["blocks"] and len(parts) == 2 and parts[1].isdigit():
            return self._blocks(path, int(parts[1]))
        if parts[:1] == ["block"] and len(parts) == 2:
            found = data.find_block(parts[1])
            if found is None:
                return 404, b"Block not found", "text/plain"
            block, height, _ = found
            info = self.block_info(block, height)
            info["id"] = parts[1]
            return 200, json.dumps(info).encode(), "application/json"
        if parts[:1] == ["block"] and len(parts) == 3:
            found = data.find_block(parts[1])
            if parts[2] == "status":
                if self.mempool:
                    return self._missing(path)
                if found is None:
                    return 404, b"Block not found", "text/plain"
                _, height, best = found
                status = {"in_best_chain": best, "height": height if best else None}
                return 200, json.dumps(status).encode(), "application/json"
            if parts[2] == "header" and found is not None:
                return 200, self.header_of(found[0], found[1]).encode(), "text/plain"
            if parts[2] == "txids" and found is not None:
                return 200, json.dumps(self.txids_of(found[0])).encode(), "application/json"
            return 404, b"Block not found", "text/plain"
        if parts[:1] == ["tx"] and len(parts) == 3:
            if self.mempool and parts[2] == "merkleblock-proof":
                return self._missing(path)
            if self.mempool and parts[2] == "merkle-proof":
                if self.merkle_proof_status == 404:
                    return self._missing(path)
                return (self.merkle_proof_status,
                        b"Method getTransactionMerkleProof not supported by the Bitcoin "
                        b"RPC API.", "text/plain")
            hit = data.find_tx(parts[1])
            if hit is None:
                return 404, b"Transaction not found", "text/plain"
            tx, block, height = hit
            if parts[2] == "hex":
                return 200, self.tx_of(tx, block).encode(), "text/plain"
            if parts[2] == "merkle-proof":
                pos, branch = self.position(block, tx)
                if self.knobs.wrong_txids:  # the branch of the tree the txids lie about
                    pos = self.txids_of(block).index(b2lx(tx.GetTxid()))
                    branch = merkle_branch([lx(t) for t in self.txids_of(block)], pos)
                proof = {"block_height": height, "pos": pos,
                         "merkle": [h[::-1].hex() for h in branch]}
                return 200, json.dumps(proof).encode(), "application/json"
            if parts[2] == "merkleblock-proof":
                index, _ = self.position(block, tx)
                return 200, merkle_block(block, [index]).hex().encode(), "text/plain"
        return 404, b"Not Found", "text/plain"

    def _blocks(self, path: str, top: int) -> tuple[int, bytes, str]:
        """``/blocks/:h``: blocks from ``h`` down, newest first."""
        if not self.blocks_pages:
            return self._missing(path)
        tip = self.data.tip
        if top > tip:
            if not self.mempool:
                return 404, b"Block not found", "text/plain"
            top = tip
        count = 15 if self.mempool else 10
        out = [self.block_info(self.data.best[h], h)
               for h in range(top, max(top - count, -1), -1)]
        return 200, json.dumps(out).encode(), "application/json"

    def block_header(self, block: CBlock, height: int) -> Any:
        """The header the server describes ``block`` by (``wrong_fields`` alters a
        page's nonce, so the fields no longer hash to the id)."""
        header = block.get_header()
        if self.knobs.wrong_fields:
            header = type(header)(header.nVersion, header.hashPrevBlock,
                                  header.hashMerkleRoot, header.nTime, header.nBits,
                                  header.nNonce ^ 1)
            return _Lying(header, block.get_header().GetHash())
        return header


class _Lying:
    """A header whose fields are altered but whose id is the real block's."""

    def __init__(self, header: Any, real_hash: bytes) -> None:
        self._header = header
        self._hash = real_hash

    def __getattr__(self, name: str) -> Any:
        return getattr(self._header, name)

    def GetHash(self) -> bytes:  # noqa: N802
        return self._hash


class BitcoinRpcServer(_Server):
    """Bitcoin Core's JSON-RPC (version 1.0 error style: HTTP 500 with a JSON body),
    with HTTP basic authentication (a cookie file is basic auth as ``__cookie__``).

    ``rest=True`` serves what ``-rest`` adds, unauthenticated: the headers endpoint, in
    the forms of ``rest_forms`` (``"query"``: ``/rest/headers/<hash>.bin?count=<n>``,
    Core 24.0 on; ``"path"``: ``/rest/headers/<n>/<hash>.bin``; a node before 24.0
    has only ``("path",)`` and answers the other 400). Off by default, as in Core:
    without it ``/rest/`` answers 404, and a sync gets its headers in JSON-RPC batches.
    ``rest_lie`` makes the REST headers answer lie (:data:`REST_LIES`).
    """

    #: The ways a REST headers answer can lie: start one block above the one asked,
    #: leave a header out in the middle (so the next does not link), end in half a
    #: header, hold one header more than asked, or be over any bound (zeros).
    REST_LIES = ("wrong-start", "unlinked", "truncated", "overlong", "huge")
    #: Bitcoin Core's MAX_REST_HEADERS_RESULTS.
    REST_HEADERS_MAX = 2000

    def __init__(self, data: ChainData, knobs: Knobs | None = None, *,
                 user: str = "alice", password: str = "s3cret-pa55", rest: bool = False,
                 rest_forms: tuple[str, ...] = ("query", "path"),
                 rest_lie: str | None = None) -> None:
        super().__init__(data, knobs)
        self.user = user
        self.password = password
        self.rest = rest
        self.rest_forms = rest_forms
        if rest_lie not in (None, *self.REST_LIES):
            raise ValueError(f"unknown REST lie {rest_lie!r}")
        self.rest_lie = rest_lie

    @property
    def rest_requests(self) -> list[str]:
        """The REST headers requests served (or refused), in order."""
        return [r for r in self.requests if r.startswith("GET /rest/")]

    def rest_headers(self, block_hash: str, count: int) -> bytes:
        """The raw headers from ``block_hash`` up the best chain, at most ``count``;
        empty when the block is unknown or not in the best chain (as Core answers)."""
        found = self.data.find_block(block_hash)
        if found is None or not found[2]:
            return b""
        height = found[1]
        out = bytearray()
        for at in range(height, min(height + count, self.claimed_tip() + 1)):
            block_at = self.data.hash_at(at)
            hit = None if block_at is None else self.data.find_block(block_at)
            if hit is None:
                break
            out += bytes.fromhex(self.header_of(hit[0], at))
        return bytes(out)

    def _rest(self, path: str) -> tuple[int, bytes, str]:
        """``GET /rest/...``: the headers endpoint in ``rest_forms``, as Core answers."""
        if not self.rest:
            return 404, b"", "text/html"  # no handler for /rest/: Core's 404
        route, _, query = path[len("/rest/"):].partition("?")
        parts = route.split("/")
        if parts[0] != "headers" or len(parts) not in (2, 3):
            return 404, b"Not found\r\n", "text/plain"
        name, dot, ext = parts[-1].rpartition(".")
        if not dot or ext != "bin":
            return 404, b"output format not found (available: .bin)\r\n", "text/plain"
        if len(parts) == 3 and "path" in self.rest_forms:
            count_text = parts[1]
        elif len(parts) == 2 and "query" in self.rest_forms:
            fields = dict(f.partition("=")[::2] for f in query.split("&") if f)
            count_text = fields.get("count", "5")
        else:
            return 400, (b"No header count specified. Use "
                         b"/rest/headers/<count>/<hash>.<ext>.\r\n"), "text/plain"
        count = int(count_text) if count_text.isdigit() else 0
        if not 1 <= count <= self.REST_HEADERS_MAX:
            return 400, f"Header count out of range: {count_text}\r\n".encode(), "text/plain"
        if len(name) != 64 or any(c not in "0123456789abcdef" for c in name):
            return 400, f"Invalid hash: {name}\r\n".encode(), "text/plain"
        return 200, self._lie(name, count), "application/octet-stream"

    def _lie(self, block_hash: str, count: int) -> bytes:
        """The answer to a REST headers request, as ``rest_lie`` has it."""
        lie = self.rest_lie
        if lie == "huge":
            return bytes(self.REST_HEADERS_MAX * 80 + 64 * 1024)
        if lie == "overlong":
            got = self.rest_headers(block_hash, count + 1)
            return got + got[-80:] if len(got) <= count * 80 else got
        got = self.rest_headers(block_hash, count + 1 if lie == "wrong-start" else count)
        if lie == "wrong-start":
            return got[80:]
        if lie == "unlinked" and len(got) >= 3 * 80:
            return got[:80] + got[160:]
        if lie == "truncated" and got:
            return got[:-40]
        return got

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_with_credentials(self) -> str:
        return f"http://{self.user}:{self.password}@127.0.0.1:{self.port}"

    def write_cookie(self, path: Path) -> Path:
        path.write_text(f"{self.user}:{self.password}")
        return path

    def _describe(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> str:
        if handler.command == "GET" and handler.path.startswith("/rest/"):
            return f"GET {handler.path}"
        try:
            call = json.loads(body)
            if isinstance(call, list):
                return "batch " + "; ".join(f"{c['method']} {json.dumps(c['params'])}"
                                            for c in call)
            return f"{call['method']} {json.dumps(call['params'])}"
        except (ValueError, KeyError, TypeError):
            return "unparsable"

    def answer(self, handler: http.server.BaseHTTPRequestHandler, method: str,
               body: bytes) -> tuple[int, bytes, str]:
        if method == "GET" and handler.path.startswith("/rest/"):
            return self._rest(handler.path)  # unauthenticated, as Core's REST is
        expected = "Basic " + base64.b64encode(
            f"{self.user}:{self.password}".encode()).decode()
        if handler.headers.get("Authorization") != expected:
            return 401, b"", "text/html"
        try:
            call = json.loads(body)
        except ValueError:
            return 500, _rpc(None, None, -32700, "Parse error"), "application/json"
        if isinstance(call, list):  # a batch: HTTP 200, one response per call, in order
            answers = [json.loads(self._one(item)[1]) for item in call]
            return 200, json.dumps(answers).encode(), "application/json"
        return self._one(call)

    def _one(self, call: Any) -> tuple[int, bytes, str]:
        try:
            name, params, call_id = call["method"], call["params"], call.get("id")
        except (KeyError, TypeError):
            return 500, _rpc(None, None, -32700, "Parse error"), "application/json"
        handler_fn = getattr(self, "rpc_" + name, None)
        if handler_fn is None:
            return 404, _rpc(call_id, None, -32601, "Method not found"), "application/json"
        try:
            result = handler_fn(*params)
        except _RpcFault as fault:
            return 500, _rpc(call_id, None, fault.code, fault.message), "application/json"
        return 200, _rpc(call_id, result), "application/json"

    def rpc_getblockcount(self) -> int:
        return self.claimed_tip()

    def rpc_getblockhash(self, height: int) -> str:
        at = self.data.hash_at(height)
        if at is None:
            raise _RpcFault(-8, "Block height out of range")
        return at

    def rpc_getblockheader(self, block_hash: str, verbose: bool = True) -> Any:
        found = self.data.find_block(block_hash)
        if found is None:
            raise _RpcFault(-5, "Block not found")
        block, height, best = found
        if not verbose:
            return self.header_of(block, height)
        return {"hash": block_hash, "height": height, "nTx": self.tx_count_of(block),
                "confirmations": self.data.tip - height + 1 if best else -1}

    def rpc_getrawtransaction(self, txid: str, verbose: bool = False,
                              block_hash: str | None = None) -> str:
        hit = self.data.find_tx(txid)
        if hit is None or (block_hash and b2lx(hit[1].GetHash()) != block_hash):
            raise _RpcFault(-5, "No such transaction found in the provided block")
        return self.tx_of(hit[0], hit[1])

    def rpc_gettxoutproof(self, txids: list[str], block_hash: str | None = None) -> str:
        hit = self.data.find_tx(txids[0])
        if hit is None or (block_hash and b2lx(hit[1].GetHash()) != block_hash):
            raise _RpcFault(-5, "Transaction not yet in block")
        tx, block, _ = hit
        index, _ = self.position(block, tx)
        return merkle_block(block, [index]).hex()


class _RpcFault(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _rpc(call_id: Any, result: Any, code: int | None = None, message: str = "") -> bytes:
    error = None if code is None else {"code": code, "message": message}
    return json.dumps({"result": result, "error": error, "id": call_id}).encode()


def merkle_block(block: CBlock, matched: list[int]) -> bytes:
    """A serialized CMerkleBlock proving the transactions at ``matched`` (Bitcoin Core's
    ``CPartialMerkleTree`` construction: depth-first, a flag bit per node visited)."""
    txids = [t.GetTxid() for t in block.vtx]
    count = len(txids)

    def width(height: int) -> int:
        return (count + (1 << height) - 1) >> height

    def node(height: int, pos: int) -> bytes:
        if height == 0:
            return txids[pos]
        left = node(height - 1, pos * 2)
        right = node(height - 1, pos * 2 + 1) if pos * 2 + 1 < width(height - 1) else left
        return dsha(left + right)

    flags: list[int] = []
    hashes: list[bytes] = []

    def build(height: int, pos: int) -> None:
        covered = range(pos << height, min((pos + 1) << height, count))
        parent_of_match = any(i in matched for i in covered)
        flags.append(int(parent_of_match))
        if height == 0 or not parent_of_match:
            hashes.append(node(height, pos))
            return
        build(height - 1, pos * 2)
        if pos * 2 + 1 < width(height - 1):
            build(height - 1, pos * 2 + 1)

    height = 0
    while width(height) > 1:
        height += 1
    build(height, 0)
    flag_bytes = bytearray((len(flags) + 7) // 8)
    for i, bit in enumerate(flags):
        flag_bytes[i // 8] |= bit << (i % 8)
    return (block.get_header().serialize() + count.to_bytes(4, "little")
            + _compact(len(hashes)) + b"".join(hashes)
            + _compact(len(flag_bytes)) + bytes(flag_bytes))


def _compact(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    return b"\xfe" + n.to_bytes(4, "little")
