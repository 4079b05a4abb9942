"""The timestamp checks through the library: the report's timestamp details and re-check
command, the clock, signed attributes as received, Ed25519 against an independent
OpenSSL check, signer lookup, the path cache across threads and processes."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from asn1crypto import cms, tsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from gen.pki import TIMESTAMPING, issue
from helpers.common import SCENARIOS
from helpers.tsa_helpers import (
    GEN_TIME,
    NOW,
    bundle,
    cms_edit,
    scenario_token,
    tsa_tokens,
    tsa_world,
    verify_token,
    world,
)
from provelio_verify import Digest, Indication, Policy, SubIndication, Verifier, verify
from provelio_verify.verifier.pathcache import PathCache

TIMESTAMP_CHECKS = ("timestamp.token", "timestamp.imprint", "timestamp.signature",
                    "timestamp.signing-certificate", "timestamp.tsa-certificate",
                    "timestamp.chain")


def _all_passed(report):
    return {c: report.check(c).indication for c in TIMESTAMP_CHECKS} == {
        c: Indication.PASSED for c in TIMESTAMP_CHECKS}


def test_report_shows_what_the_token_and_path_are():
    token = scenario_token("tsa-ok-rsa3072-intermediate")
    report = verify_token(token)
    assert report.indication is Indication.PASSED
    summary = report.to_dict()["timestamp"]
    tw = tsa_world()
    assert summary["genTime"] == "2026-01-02T03:04:05Z"
    assert summary["accuracy"] == {"seconds": 1, "millis": 0, "micros": 0}
    assert summary["policy"] == "1.3.6.1.4.1.99999.1.1"
    assert summary["serialNumber"] == "0x203"  # OpenSSL's serial file 0x202, incremented
    assert summary["signer"]["sha256"] == tw.tsas["rsa3072"].cert.fingerprint(
        hashes.SHA256()).hex()
    assert [p["subject"] for p in summary["path"]] == [
        "CN=Provelio Test TSA RSA-3072,O=Provelio Test PKI,C=DE",
        "CN=Provelio Test TSA CA,O=Provelio Test PKI,C=DE",
        "CN=Provelio Test Root CA,O=Provelio Test PKI,C=DE"]
    assert summary["root"]["sha256"] == tw.root.cert.fingerprint(hashes.SHA256()).hex()
    assert summary["algorithms"] == {"imprint": "sha256", "digest": "sha256",
                                     "signature": "rsaEncryption"}
    assert summary["recheck"][-1].endswith(f"-attime {int(GEN_TIME.timestamp())}")
    assert report.existence["notAfter"] == "2026-01-02T03:04:06Z"  # genTime + accuracy
    chain = report.check("timestamp.chain")
    assert [p["sha256"] for p in chain.details["path"]] == [p["sha256"] for p in summary["path"]]


def test_no_roots_names_the_chain_found_and_the_root_needed():
    report = verify_token(scenario_token("tsa-missing-intermediate"), extra=(
        tsa_world().tsa_ca.der,), roots=())
    chain = report.check("timestamp.chain")
    assert chain.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND
    assert report.check("timestamp.signature").indication is Indication.PASSED
    assert [c["subject"] for c in chain.details["chainFound"]][-1].startswith(
        "CN=Provelio Test TSA CA")
    assert chain.details["rootNeeded"]["subject"].startswith("CN=Provelio Test Root CA")
    assert "--tsa-roots" in chain.message


def test_embedded_self_signed_root_is_named_with_its_fingerprint():
    report = verify_token(scenario_token("tsa-embedded-self-signed-root"))
    chain = report.check("timestamp.chain")
    attacker = tsa_world().attacker_root.cert.fingerprint(hashes.SHA256()).hex()
    assert chain.details["rootNeeded"]["sha256"] == attacker
    assert "not a configured root" in chain.message


@pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("jq") is None,
                    reason="the re-check command needs openssl and jq")
@pytest.mark.parametrize("name", ["ok-created", "tsa-ok-intermediate-in-extracerts",
                                  "tsa-ok-rsa2048-essv1-bare-token"])
def test_recheck_command_in_the_report_runs(name, tmp_path):
    folder = SCENARIOS / name
    for item in folder.iterdir():
        shutil.copy(item, tmp_path / item.name)
    report = verify(tmp_path / "document.txt", tmp_path / "proof.json",
                    policy=Policy(tsa_roots=(tsa_world().root.der,)))
    script = "\n".join(report.to_dict()["timestamp"]["recheck"]).replace(
        "ROOTS.pem", "roots.pem").replace(str(tmp_path / "document.txt"), "document.txt")
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path,
                          capture_output=True, text=True)
    assert "Verification: OK" in proc.stdout, (script, proc.stdout, proc.stderr)


def test_gen_time_in_the_future_uses_the_verifiers_clock():
    token = scenario_token("ok-created")  # genTime 2026-01-02T03:04:05Z, accuracy 1 s
    limit = GEN_TIME - timedelta(minutes=5, seconds=1)
    at_limit = verify_token(token, now=limit)
    assert at_limit.check("timestamp.token").indication is Indication.PASSED
    too_early = verify_token(token, now=limit - timedelta(microseconds=1))
    token_check = too_early.check("timestamp.token")
    assert token_check.indication is Indication.FAILED
    assert "later than this verifier's clock" in token_check.message
    # Its other checks still ran, but the token bounds no existence.
    assert too_early.check("timestamp.chain").indication is Indication.PASSED
    assert too_early.existence["notAfter"] is None


def test_rejection_response_reports_status_text_and_fail_info():
    report = verify_token(scenario_token("tsa-rejection-response"))
    check = report.check("timestamp.token")
    assert check.indication is Indication.FAILED
    assert check.details["status"] == "rejection"
    assert check.details["failInfo"] == ["bad_alg"]
    assert check.details["statusString"]
    assert "status rejection" in check.message and "bad_alg" in check.message


def _with_unsorted_attributes(token: bytes) -> bytes:
    """The token's signed attributes in reverse DER order, signed as such. Spliced into
    the bytes (same lengths): asn1crypto would sort a SET OF it re-encodes."""
    signer = tsa_world().tsas["rsa2048"]
    info = cms_edit.split_reply(token)[1]["content"]["signer_infos"][0]
    tagged = info["signed_attrs"].dump()
    header = len(tagged) - len(info["signed_attrs"].contents)
    body = b"".join(sorted((a.dump() for a in info["signed_attrs"]), reverse=True))
    assert body != info["signed_attrs"].contents
    old_signature = info["signature"].native
    signature = signer.key.sign(b"\x31" + tagged[1:header] + body, padding.PKCS1v15(),
                                hashes.SHA256())
    assert len(signature) == len(old_signature) and token.count(tagged) == 1
    return token.replace(tagged, tagged[:header] + body).replace(old_signature, signature)


def test_signed_attributes_are_verified_as_received():
    unsorted = _with_unsorted_attributes(scenario_token("ok-created"))
    report = verify_token(unsorted)
    assert report.check("timestamp.signature").indication is Indication.PASSED
    assert any("not in DER order" in w for w in report.warnings)
    # Re-encoding (sorting) them, as some libraries do, would break this valid token.
    info = cms_edit.split_reply(unsorted)[1]["content"]["signer_infos"][0]
    as_received = info["signed_attrs"].untag().dump()
    sorted_again = cms.CMSAttributes(list(info["signed_attrs"])).dump(force=True)
    assert as_received != sorted_again


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_ed25519_signature_checks_out_with_openssl_pkeyutl(tmp_path):
    """OpenSSL 3.0 cannot verify an Ed25519 CMS signer with signed attributes; its raw
    Ed25519 verification of the same bytes is an independent check of our verdict."""
    token = scenario_token("tsa-ok-ed25519")
    assert _all_passed(verify_token(token))
    info = cms_edit.split_reply(token)[1]["content"]["signer_infos"][0]
    (tmp_path / "attrs").write_bytes(info["signed_attrs"].untag().dump())
    (tmp_path / "sig").write_bytes(info["signature"].native)
    (tmp_path / "pub.pem").write_bytes(tsa_world().tsas["ed25519"].cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    proc = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem",
                           "-rawin", "-in", "attrs", "-sigfile", "sig"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert "Signature Verified Successfully" in proc.stdout, proc.stderr


def test_signer_is_found_by_sid_not_by_position():
    """A decoy with the TSA certificate's issuer and serial but another key, placed
    first: the signer is the one whose key verifies the signature."""
    tw = tsa_world()
    real = tw.tsas["rsa2048"]
    decoy = tw.tsas["rsa4096"]
    forged = cms_edit.resign(scenario_token("ok-created"), real, certs=[real])
    look_alike = issue(real.cert.subject, decoy.key, issuer=tw.root,
                       serial=real.cert.serial_number, not_before=real.cert.not_valid_before_utc,
                       not_after=real.cert.not_valid_after_utc, ca=False, eku=[TIMESTAMPING])
    report = verify_token(forged, extra=(look_alike.der,))
    assert _all_passed(report)
    assert report.check("timestamp.signature").details["signer"]["sha256"] == \
        real.cert.fingerprint(hashes.SHA256()).hex()


def test_signer_digest_must_be_listed_in_signed_data():
    def unlisted(info: cms.ContentInfo) -> None:
        info["content"]["digest_algorithms"] = cms.DigestAlgorithms([{"algorithm": "sha512"}])

    report = verify_token(cms_edit.edit_token(scenario_token("ok-created"), unlisted))
    check = report.check("timestamp.signature")
    assert (check.indication, check.sub_indication) == (Indication.FAILED,
                                                        SubIndication.FORMAT_FAILURE)
    assert "digestAlgorithms" in check.message


def test_path_cache_reuses_a_path_within_its_validity_window():
    cache = PathCache()
    verifier = Verifier(Policy(tsa_roots=(tsa_world().root.der,), now=NOW), path_cache=cache)
    first = verify_token(scenario_token("ok-created"), verifier=verifier)
    second = verify_token(scenario_token("tsa-ok-sha384-imprint"), verifier=verifier)
    assert _all_passed(first) and _all_passed(second)
    assert (cache.misses, cache.hits) == (1, 1)
    # A token whose interval leaves the window is validated afresh (and refused).
    late = tsa_tokens.reply("rsa2048", serial=0x7001, at=GEN_TIME.replace(year=2031))
    refused = verify_token(late, verifier=verifier, now=NOW.replace(year=2032))
    assert refused.check("timestamp.chain").sub_indication is SubIndication.EXPIRED
    assert cache.misses == 2


def test_verifier_pickles_and_verifies_the_same_after():
    verifier = Verifier(Policy(tsa_roots=(tsa_world().root.der,), now=NOW))
    token = scenario_token("tsa-ok-rsa4096-full-tstinfo")
    before = verify_token(token, verifier=verifier)
    clone = pickle.loads(pickle.dumps(verifier))
    assert clone.path_cache.hits == clone.path_cache.misses == 0  # it pickled empty
    after = verify_token(token, verifier=clone)
    assert before.to_dict()["checks"] == after.to_dict()["checks"]
    assert clone.path_cache.misses == 1


def test_one_verifier_across_threads_gives_the_same_verdicts():
    verifier = Verifier(Policy(tsa_roots=(tsa_world().root.der,), now=NOW))
    names = ["ok-created", "tsa-ok-rsa3072-intermediate", "tsa-ok-ecdsa-p256",
             "tsa-expired-at-gentime", "tsa-ess-wrong-hash", "tsa-untrusted-root"] * 8
    expected = {n: verify_token(scenario_token(n)).to_dict()["checks"] for n in set(names)}
    seen_threads = set()

    def run(name):
        seen_threads.add(threading.get_ident())
        return name, verify_token(scenario_token(name), verifier=verifier).to_dict()["checks"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, names))
    for name, checks in results:
        assert checks == expected[name], name
    assert verifier.path_cache.hits > 0


def test_response_status_granted_with_mods_is_accepted_and_others_are_not():
    token = scenario_token("ok-created")
    resp = tsp.TimeStampResp({"status": {"status": "waiting"},
                              "time_stamp_token": cms_edit.split_reply(
                                  tsa_tokens.reply("rsa2048", serial=0x7002))[1]}).dump()
    report = verify_token(resp)
    assert report.check("timestamp.token").indication is Indication.FAILED
    assert "status waiting" in report.check("timestamp.token").message
    assert verify_token(token).check("timestamp.token").indication is Indication.PASSED


def test_bundle_with_digest_only_cannot_check_a_sha512_token():
    report = verify(Digest(world().digest.hex()),
                    bundle(scenario_token("tsa-ok-sha512-imprint")),
                    policy=Policy(tsa_roots=(tsa_world().root.der,)))
    imprint = report.check("timestamp.imprint")
    assert imprint.sub_indication is SubIndication.SIGNED_DATA_NOT_FOUND
    assert "sha512sum" in imprint.message
