"""The committed fixtures are exactly what tests/fixtures/generate.py makes.

Every byte is compared, with one exception that is itself checked: OpenSSL 3.0 signs
with ECDSA using a random nonce, so the scenarios tagged ``nondeterministic-ecdsa``
(tokens made by ``openssl ts -reply`` with an ECDSA key) get a new signature value on
every run. For those, the regenerated token is given the committed signature value and
must then be byte-identical to the committed one (so everything but the signature value
is reproduced exactly), and both signature values must verify with the TSA's key over
the same signed attributes (so neither is junk).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from helpers.common import FIXTURES, REPO

NONDETERMINISTIC = "nondeterministic-ecdsa"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _token(reply: bytes) -> tuple[tsp.TimeStampResp | None, cms.ContentInfo]:
    try:
        resp = tsp.TimeStampResp.load(reply)
        return resp, resp["time_stamp_token"]
    except ValueError:
        return None, cms.ContentInfo.load(reply)


def _verify_ecdsa(token: cms.ContentInfo) -> None:
    signed = token["content"]
    info = signed["signer_infos"][0]
    cert = x509.load_der_x509_certificate(signed["certificates"][0].chosen.dump())
    public_key = cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(info["signature"].native, info["signed_attrs"].untag().dump(),
                      ec.ECDSA(hashes.SHA256()))


def _same_but_ecdsa_signature(made: bytes, committed: bytes) -> bool:
    """Whether two proof.json files differ only in their token's ECDSA signature value,
    both signatures verifying."""
    made_doc, committed_doc = json.loads(made), json.loads(committed)
    made_reply = base64.b64decode(made_doc["timestamp"]["token"])
    committed_reply = base64.b64decode(committed_doc["timestamp"]["token"])
    made_resp, made_token = _token(made_reply)
    _, committed_token = _token(committed_reply)
    _verify_ecdsa(made_token)
    _verify_ecdsa(committed_token)
    signature = committed_token["content"]["signer_infos"][0]["signature"].native
    made_token["content"]["signer_infos"][0]["signature"] = signature
    rebuilt = (made_resp or made_token).dump()
    made_doc["timestamp"]["token"] = base64.b64encode(rebuilt).decode("ascii")
    return (json.dumps(made_doc, indent=2, ensure_ascii=False) + "\n").encode() == committed


def test_generate_reproduces_committed_fixtures(tmp_path):
    proc = subprocess.run([sys.executable, str(FIXTURES / "generate.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    made = _tree(tmp_path / "scenarios")
    committed = _tree(FIXTURES / "scenarios")
    assert sorted(made) == sorted(committed), "scenario files differ in name"
    manifest = (tmp_path / "manifest.json").read_bytes()
    assert manifest == (FIXTURES / "manifest.json").read_bytes()
    loose = {s["name"] for s in json.loads(manifest)["scenarios"] if NONDETERMINISTIC in s["tags"]}
    differing = [name for name in made if made[name] != committed[name]]
    for name in list(differing):
        folder, file = name.split("/", 1)
        if folder in loose and file == "proof.json":
            assert _same_but_ecdsa_signature(made[name], committed[name]), name
            differing.remove(name)
    assert not differing, f"regenerated fixtures differ: {differing[:20]}"
    assert _tree(tmp_path / "examples") == _tree(REPO / "examples")


def test_only_openssl_ecdsa_scenarios_are_exempt():
    """The exemption covers the ECDSA tokens OpenSSL signs, and nothing else."""
    scenarios = json.loads((FIXTURES / "manifest.json").read_text())["scenarios"]
    loose = sorted(s["name"] for s in scenarios if NONDETERMINISTIC in s["tags"])
    assert loose == ["tsa-ok-ecdsa-p256", "tsa-ok-ecdsa-p384-essv1"]
