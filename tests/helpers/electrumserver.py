"""A real Electrum-protocol server on 127.0.0.1: line-delimited JSON-RPC 2.0 over TCP,
or over TLS with a self-signed certificate made at test time, fed by the same chains
as the HTTP servers of :mod:`helpers.chainservers` (:class:`ChainData`, generated
regtest chains, or real mainnet headers from a height), with the misbehaviours of
:class:`~helpers.chainservers.Knobs` (tip, wrong_header, delay, huge, wrong_tx,
wrong_position) and the Electrum-only ones of :class:`ElectrumKnobs`.

    with ElectrumServer(ChainData.of(chain)) as server:
        source = ElectrumSource(server.address)
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bitcoin.core import CBlock

from helpers.chainservers import ChainData, Knobs

#: What ElectrumX answers for a height above its tip (code 1, BAD_REQUEST).
OUT_OF_RANGE = {"code": 1, "message": "height out of range"}


@dataclass
class ElectrumKnobs:
    """Electrum-only misbehaviours, each off by default."""

    #: Answer server.version as an unknown method (a server that negotiates nothing).
    no_version: bool = False
    #: Negotiate this protocol instead of 1.4.
    protocol: str = "1.4"
    #: Answer every request after server.version with this line (not JSON).
    garbage: bytes | None = None
    #: Methods answered with a JSON-RPC error.
    errors: set[str] = field(default_factory=set)
    #: The most headers blockchain.block.headers gives per request (its "max").
    chunk_max: int = 2016
    #: Answer blockchain.transaction.get_merkle with this block_height.
    merkle_height: int | None = None
    #: Send a headers.subscribe notification before every answer.
    notify: bool = False
    #: Answer with this id instead of the request's.
    wrong_id: bool = False
    #: Answer blockchain.block.header at a height asked before with the header of the
    #: block below (a server whose second answer contradicts its first).
    changes_its_mind: bool = False
    #: Serve blockchain.block.headers with the header at this height altered.
    lying_chunk_at: int | None = None


@dataclass
class OffsetData:
    """Real mainnet headers from ``offset`` (and height 0's hash, the genesis): a server
    that has them, and no transactions."""

    headers: bytes
    offset: int
    genesis_header: bytes

    @property
    def tip(self) -> int:
        return self.offset + len(self.headers) // 80 - 1

    def header(self, height: int) -> bytes | None:
        if height == 0:
            return self.genesis_header
        at = height - self.offset
        if not 0 <= at <= self.tip - self.offset:
            return None
        return self.headers[at * 80:(at + 1) * 80]


class ElectrumServer:
    """A threading TCP server speaking the Electrum protocol; ``tls_dir`` (a folder to
    write the certificate and key in) makes it TLS. ``requests`` logs each method
    and its params."""

    def __init__(self, data: ChainData | OffsetData, knobs: Knobs | None = None,
                 eknobs: ElectrumKnobs | None = None, *, tls_dir: Path | None = None) -> None:
        self.data = data
        self.knobs = knobs or Knobs()
        self.eknobs = eknobs or ElectrumKnobs()
        self.requests: list[str] = []
        self.connections = 0
        self._asked: set[int] = set()
        self._lock = threading.Lock()
        self.cert: Path | None = None
        context: ssl.SSLContext | None = None
        if tls_dir is not None:
            self.cert, key = make_certificate(tls_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.cert, key)
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def setup(self) -> None:
                if context is not None:
                    try:
                        self.request = context.wrap_socket(self.request, server_side=True)
                    except (ssl.SSLError, OSError):
                        self.request.close()
                        self.handshake_failed = True
                super().setup()

            def handle(self) -> None:
                if getattr(self, "handshake_failed", False):
                    return
                with owner._lock:
                    owner.connections += 1
                with contextlib.suppress(OSError, ValueError):  # the client went away
                    owner._serve(self)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def address(self) -> str:
        return f"{'ssl://' if self.cert else ''}127.0.0.1:{self.port}"

    def __enter__(self) -> ElectrumServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    # The protocol --------------------------------------------------------------------

    def _serve(self, handler: socketserver.StreamRequestHandler) -> None:
        while True:
            line = handler.rfile.readline()
            if not line:
                return
            try:
                call = json.loads(line)
                method, params, call_id = call["method"], call.get("params", []), call["id"]
            except (ValueError, KeyError, TypeError):
                handler.wfile.write(b'{"jsonrpc": "2.0", "id": null, "error": '
                                    b'{"code": -32700, "message": "parse error"}}\n')
                continue
            with self._lock:
                self.requests.append(f"{method} {json.dumps(params)}")
            if self.knobs.delay:
                time.sleep(self.knobs.delay)
            out = self._answer(method, params, call_id)
            if self.eknobs.notify and method != "server.version":
                handler.wfile.write(json.dumps({"jsonrpc": "2.0",
                                                "method": "blockchain.headers.subscribe",
                                                "params": [self._tip()]}).encode() + b"\n")
            handler.wfile.write(out)
            handler.wfile.flush()

    def _answer(self, method: str, params: list[Any], call_id: Any) -> bytes:
        ek = self.eknobs
        if method == "server.version":
            if ek.no_version:
                return _line(call_id, error={"code": -32601,
                                             "message": f"unknown method {method!r}"})
            return _line(call_id, ["TestElectrum 1.0", ek.protocol])
        if ek.garbage is not None:
            return ek.garbage + b"\n"
        if self.knobs.huge:
            return b'{"jsonrpc": "2.0", "id": ' + str(call_id).encode() + b', "result": "' \
                + b"0" * self.knobs.huge + b'"}\n'
        if method in ek.errors:
            return _line(call_id, error={"code": 2, "message": f"daemon error in {method}"})
        if ek.wrong_id:
            call_id = call_id + 1000
        fn = getattr(self, "rpc_" + method.replace(".", "_"), None)
        if fn is None:
            return _line(call_id, error={"code": -32601, "message": f"unknown method {method}"})
        try:
            return _line(call_id, fn(*params))
        except _Fault as fault:
            return _line(call_id, error=fault.error)

    # Chain facts -----------------------------------------------------------------------

    def tip_height(self) -> int:
        return self.data.tip

    def claimed_tip(self) -> int:
        return self.data.tip if self.knobs.tip is None else self.knobs.tip

    def raw_header(self, height: int) -> bytes | None:
        if isinstance(self.data, OffsetData):
            return self.data.header(height)
        if not 0 <= height <= self.data.tip:
            return None
        return self.data.best[height].get_header().serialize()

    def served_header(self, height: int) -> bytes | None:
        if self.knobs.wrong_header and height > 0:
            return self.raw_header(height - 1)
        return self.raw_header(height)

    def _tip(self) -> dict[str, Any]:
        height = self.claimed_tip()
        raw = self.raw_header(min(height, self.tip_height()))
        assert raw is not None
        return {"height": height, "hex": raw.hex()}

    # Methods ---------------------------------------------------------------------------

    def rpc_blockchain_headers_subscribe(self) -> dict[str, Any]:
        return self._tip()

    def rpc_blockchain_block_header(self, height: int, cp_height: int = 0) -> str:
        if cp_height:
            raise _Fault({"code": 1, "message": "cp_height is not served here (electrs)"})
        with self._lock:
            again = height in self._asked
            self._asked.add(height)
        raw = self.served_header(height - 1 if again and self.eknobs.changes_its_mind
                                 and height > 0 else height)
        if raw is None:
            raise _Fault(OUT_OF_RANGE)
        return raw.hex()

    def rpc_blockchain_block_headers(self, start: int, count: int,
                                     cp_height: int = 0) -> dict[str, Any]:
        cap = self.eknobs.chunk_max
        out = bytearray()
        for height in range(start, start + min(count, cap)):
            raw = self.served_header(height)
            if raw is None:
                break
            if height == self.eknobs.lying_chunk_at:
                raw = raw[:4] + bytes(32) + raw[36:]  # another previous-block hash
            out += raw
        return {"count": len(out) // 80, "hex": out.hex(), "max": cap}

    def rpc_blockchain_transaction_get(self, txid: str, verbose: bool = False) -> str:
        hit = self._find_tx(txid)
        tx, block = hit[0], hit[1]
        if self.knobs.wrong_tx:
            tx = next(t for t in block.vtx if t.GetTxid() != tx.GetTxid())
        return str(tx.serialize().hex())

    def rpc_blockchain_transaction_get_merkle(self, txid: str, height: int) -> dict[str, Any]:
        tx, block, at = self._find_tx(txid)
        if at != height:
            raise _Fault({"code": 1, "message": f"tx {txid} not in block at height {height}"})
        from gen.chain import merkle_branch

        txids = [t.GetTxid() for t in block.vtx]
        index = txids.index(tx.GetTxid())
        branch = merkle_branch(txids, index)
        pos = index ^ 1 if self.knobs.wrong_position else index
        shown = at if self.eknobs.merkle_height is None else self.eknobs.merkle_height
        return {"block_height": shown, "pos": pos, "merkle": [h[::-1].hex() for h in branch]}

    def _find_tx(self, txid: str) -> tuple[Any, CBlock, int]:
        hit = None if isinstance(self.data, OffsetData) else self.data.find_tx(txid)
        if hit is None:
            raise _Fault({"code": 2, "message": f"daemon error: no such transaction {txid}"})
        return hit


class _Fault(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["message"])
        self.error = error


def _line(call_id: Any, result: Any = None, error: Any = None) -> bytes:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": call_id}
    if error is not None:
        body["error"] = error
    else:
        body["result"] = result
    return json.dumps(body).encode() + b"\n"


def make_certificate(folder: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (a fixed key size, made
    now with the cryptography package), as ``name``.pem and ``name``-key.pem."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "electrum test server")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
