"""The chain options on the real command line: no socket without them, usage errors,
credentials never shown; and proof-of-work settled by a source where checkpoints end."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from bitcoin.core import CBlock, b2lx
from test_chain_sources import main_chain

from gen.chain import merkle_branch
from gen.world import world
from helpers.chainservers import BitcoinRpcServer, ChainData, EsploraServer
from helpers.common import SCENARIOS, manifest, run_cli
from provelio_verify import Digest, Indication, Policy, SubIndication, verify
from provelio_verify.bundle import Network
from provelio_verify.chain import EsploraSource
from provelio_verify.core.anchor.bitcoin import NETWORKS
from provelio_verify.net import HttpClient, HttpPolicy

DATA = Path(__file__).resolve().parent / "data" / "bitcoin"

#: Runs the command line under an audit hook that kills the process at the first
#: socket event of any kind (creation, connect, bind, name lookup).
GUARDED = textwrap.dedent("""
    import os, sys
    def guard(event, args):
        if event.startswith("socket."):
            os.write(2, ("SOCKET OPENED: " + event + "\\n").encode())
            os._exit(99)
    sys.addaudithook(guard)
    from provelio_verify.cli import main
    main(sys.argv[1:])
""")


def guarded_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", GUARDED, *args, "--json"], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", ["ok-confirmed-regtest", "anchor-offline-regtest",
                                  "mainnet-481815-offline", "headers-file-broken"])
def test_without_a_network_source_no_socket_is_opened_at_all(name):
    case = next(c for c in manifest() if c["name"] == name)
    proc = guarded_cli(case["args"], SCENARIOS / name)
    assert "SOCKET OPENED" not in proc.stderr, proc.stderr
    assert proc.returncode == case["expect"]["exit"], proc.stderr
    assert json.loads(proc.stdout)["indication"] == case["expect"]["indication"]


def test_the_socket_guard_does_catch_a_connection():
    case = next(c for c in manifest() if c["name"] == "ok-confirmed-regtest")
    proc = guarded_cli([*case["args"], "--esplora", "http://127.0.0.1:9/api"],
                       SCENARIOS / case["name"])
    assert proc.returncode == 99 and "SOCKET OPENED" in proc.stderr


@pytest.mark.parametrize("extra,problem", [
    (["--esplora", "ftp://127.0.0.1/api"], "not an http:// or https:// URL"),
    (["--bitcoin-node", "127.0.0.1:8332"], "not an http:// or https:// URL"),
    (["--bitcoin-node", "http://127.0.0.1:notaport"], "Port"),
    (["--bitcoin-node", "http://u:topsecret@127.0.0.1:8332", "--rpc-cookie", "cookie"],
     "use one"),
    (["--bitcoin-node", "http://127.0.0.1:8332", "--rpc-cookie", "missing-cookie"],
     "cannot read missing-cookie"),
    (["--bitcoin-node", "http://127.0.0.1:8332", "--rpc-cookie", "bad-cookie"],
     "not a Bitcoin Core cookie"),
    (["--headers", "missing.bin"], "cannot read missing.bin"),
])
def test_bad_chain_options_are_usage_errors(tmp_path, extra, problem):
    scenario = SCENARIOS / "ok-confirmed-regtest"
    (tmp_path / "cookie").write_text("__cookie__:abcdef")
    (tmp_path / "bad-cookie").write_text("no-colon-here-topsecret\n")
    args = [str(scenario / "document.txt"), str(scenario / "proof.json"), "--allow-test-mode",
            *extra]
    proc = run_cli(args, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert problem in proc.stderr
    assert "topsecret" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


def test_sources_on_the_command_line_never_show_credentials():
    scenario = SCENARIOS / "ok-confirmed-regtest"
    with EsploraServer(main_chain()) as esplora, BitcoinRpcServer(main_chain()) as node:
        args = ["document.txt", "proof.json", "--tsa-roots", "roots.pem", "--allow-test-mode",
                "--headers", "headers.bin", "--bitcoin-node", node.url_with_credentials(),
                "--esplora", esplora.url, "--esplora", esplora.url + "/"]
        as_json = run_cli([*args, "--json"], cwd=scenario)
        as_text = run_cli(args, cwd=scenario)
    assert as_json.returncode == as_text.returncode == 0
    report = json.loads(as_json.stdout)
    chain = next(c for c in report["checks"] if c["id"] == "anchor.chain")
    assert chain["indication"] == "PASSED"
    assert [s["state"] for s in chain["details"]["sources"]] == ["answered"] * 4
    assert [s["kind"] for s in chain["details"]["sources"]] == \
        ["headers-file", "bitcoin-core", "esplora", "esplora"]
    for out in (as_json, as_text):
        text = out.stdout + out.stderr
        assert node.password not in text and node.user not in text
        assert "***@127.0.0.1" in text


# --------------------------------------------------------------------------- targets


class SparseData(ChainData):
    """A server that knows one real testnet block at its real height, the genesis
    hash of testnet, and nothing else: enough to place the block, not to mine."""

    def __init__(self, block: CBlock, height: int) -> None:
        super().__init__([block])
        self.block = block
        self.height = height

    @property
    def tip(self) -> int:
        return self.height

    def hash_at(self, height: int) -> str | None:
        if height == 0:
            return NETWORKS[Network.TESTNET].genesis_hash
        return b2lx(self.block.GetHash()) if height == self.height else None

    def find_block(self, block_hash: str):
        return (self.block, self.height, True) if block_hash == b2lx(self.block.GetHash()) \
            else None


def test_a_target_not_known_offline_is_settled_by_a_source():
    """Testnet ships no checkpoints: offline, a testnet header's target is not known,
    so anchor.proof-of-work is INDETERMINATE; a source placing the block in its best
    chain settles it."""
    raw = (DATA / "testnet" / "bcoin_block898352.raw").read_bytes()
    block = CBlock.deserialize(raw)
    tx = block.vtx[1]
    txids = [t.GetTxid() for t in block.vtx]
    w = world()
    document = {
        "type": "provelio-proof", "version": 1,
        "certificate": {"status": "confirmed", "testMode": True,
                        "sha256Hash": w.digest.hex()},
        "timestamp": {"type": "rfc3161", "token": "AAAA"},
        "anchor": {
            "type": "bitcoin-op-return", "network": "testnet",
            "merkleRoot": w.digest.hex(), "path": [],
            "transaction": {"txid": b2lx(tx.GetTxid()), "hex": tx.serialize().hex()},
            "block": {"hash": b2lx(block.GetHash()), "height": 898352,
                      "header": raw[:80].hex(), "txIndex": 1,
                      "merkleBranch": [h[::-1].hex() for h in merkle_branch(txids, 1)]},
        },
    }
    proof = json.dumps(document).encode()
    policy = Policy(allow_test_mode=True, min_confirmations=1)
    offline = verify(Digest(w.digest.hex()), proof, policy=policy)
    pow_offline = offline.check("anchor.proof-of-work")
    assert (pow_offline.indication, pow_offline.sub_indication) == \
        (Indication.INDETERMINATE, SubIndication.NO_CHAIN_SOURCE)
    assert "no checkpoints ship for testnet" in pow_offline.message
    assert offline.check("anchor.inclusion").indication is Indication.PASSED
    with EsploraServer(SparseData(block, 898352)) as server:
        client = HttpClient(HttpPolicy(retries=0, read_timeout=2))
        online = verify(Digest(w.digest.hex()), proof, policy=policy,
                        sources=[EsploraSource(server.url, client)])
    pow_online = online.check("anchor.proof-of-work")
    assert pow_online.indication is Indication.PASSED
    assert "whose validation fixes its target" in pow_online.message
    assert online.check("anchor.chain").indication is Indication.PASSED


def test_electrum_on_the_command_line_settles_the_chain():
    """--electrum HOST:PORT: a whole verification of the confirmed regtest certificate
    PASSES with an Electrum server as the only chain source (plain TCP, said so)."""
    from helpers.electrumserver import ElectrumServer

    case = SCENARIOS / "ok-confirmed-regtest"
    with ElectrumServer(main_chain()) as server:
        proc = run_cli([str(case / "document.txt"), str(case / "proof.json"),
                        "--tsa-roots", str(case / "roots.pem"), "--allow-test-mode",
                        "--electrum", server.address, "--json"])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    chain_check = next(c for c in json.loads(proc.stdout)["checks"] if c["id"] == "anchor.chain")
    assert chain_check["indication"] == "PASSED"
    assert "unauthenticated" in json.dumps(chain_check["details"]["sources"])
