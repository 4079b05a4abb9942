"""Revocation of the TSA certificate (guide item D7, RFC 3161 §4): how each kind of
CRL and OCSP answer counts, data embedded in the token, the command-line options, and
fetching under --fetch-revocation from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
from datetime import timedelta

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from gen.pki import issue, key_usage, name
from gen.revocation import crl, ocsp_response
from gen.tsa_world import REVOCATION_TIME
from gen.world import TSA_VALIDITY
from helpers.common import SCENARIOS, loopback_server, run_cli
from helpers.tsa_helpers import GEN_TIME, NOW, cms_edit, scenario_token, tsa_world, verify_token
from provelio_verify import (
    CheckFailure,
    CheckIndeterminate,
    Indication,
    Policy,
    SubIndication,
    Verifier,
)
from provelio_verify.core.timestamp import revocation as rev
from provelio_verify.core.timestamp.certs import Cert

R = x509.ReasonFlags
LATEST = GEN_TIME + timedelta(seconds=1)  # genTime + accuracy of the fixture tokens


def _tsa() -> Cert:
    return Cert.load(tsa_world().tsas["rsa2048"].der)


def _root() -> Cert:
    return Cert.load(tsa_world().root.der)


def _crl_evidence(entries, *, this_update=REVOCATION_TIME, **kw) -> rev.Evidence:
    data = crl(tsa_world().root, entries, this_update=this_update, **kw)
    return rev.evaluate(rev.RevocationSource("crl", "test", data), _tsa(), _root(), GEN_TIME)


def _judge(*evidence: rev.Evidence):
    return rev.judge(list(evidence), LATEST, _tsa(), "supply one")


def test_a_crl_older_than_gen_time_proves_nothing():
    evidence = _crl_evidence([], this_update=GEN_TIME - timedelta(days=1))
    assert evidence.status == rev.UNUSABLE and "before genTime" in evidence.note
    with pytest.raises(CheckIndeterminate) as caught:
        _judge(evidence)
    assert caught.value.sub_indication is SubIndication.TRY_LATER
    assert "supply one" in caught.value.message


def test_a_crl_after_expiry_counts_only_with_expired_certs_on_crl():
    after = TSA_VALIDITY[1] + timedelta(days=1)
    assert _crl_evidence([], this_update=after).status == rev.UNUSABLE
    root = tsa_world().root
    builder = (x509.CertificateRevocationListBuilder().issuer_name(root.cert.subject)
               .last_update(after).next_update(after + timedelta(days=1))
               .add_extension(x509.UnrecognizedExtension(
                   x509.ObjectIdentifier(rev.ID_EXPIRED_CERTS_ON_CRL),
                   b"\x18\x0f20250601000000Z"), critical=False))
    data = builder.sign(root.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    kept = rev.evaluate(rev.RevocationSource("crl", "t", data), _tsa(), _root(), GEN_TIME)
    assert kept.status == rev.GOOD


def test_delta_and_partial_crls_are_not_used():
    root = tsa_world().root
    base = (x509.CertificateRevocationListBuilder().issuer_name(root.cert.subject)
            .last_update(REVOCATION_TIME).next_update(REVOCATION_TIME + timedelta(days=1)))
    delta = base.add_extension(x509.DeltaCRLIndicator(1), critical=True)
    partial = base.add_extension(x509.IssuingDistributionPoint(
        full_name=None, relative_name=None, only_contains_user_certs=False,
        only_contains_ca_certs=True, only_some_reasons=None, indirect_crl=False,
        only_contains_attribute_certs=False), critical=True)
    for builder, note in ((delta, "delta"), (partial, "scope")):
        data = builder.sign(root.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        evidence = rev.evaluate(rev.RevocationSource("crl", "t", data), _tsa(), _root(),
                                GEN_TIME)
        assert evidence.status == rev.UNUSABLE and note in evidence.note


@pytest.mark.parametrize("reason, at, void", [
    (R.key_compromise, GEN_TIME + timedelta(days=300), True),
    (None, GEN_TIME + timedelta(days=300), True),
    (R.privilege_withdrawn, GEN_TIME + timedelta(days=300), True),  # cautious reading
    (R.ca_compromise, GEN_TIME + timedelta(days=300), True),
    (R.superseded, LATEST, True),  # at genTime + accuracy: not before it
    (R.superseded, LATEST + timedelta(seconds=1), False),
    (R.cessation_of_operation, GEN_TIME + timedelta(hours=1), False),
    (R.affiliation_changed, GEN_TIME - timedelta(hours=1), True),
    (R.unspecified, GEN_TIME + timedelta(hours=1), False),
])
def test_rfc3161_section4_reason_rule(reason, at, void):
    evidence = _crl_evidence([(_tsa().crypto.serial_number, at, reason)])
    assert evidence.status == rev.REVOKED
    if void:
        with pytest.raises(CheckFailure) as caught:
            _judge(evidence)
        assert caught.value.sub_indication is SubIndication.REVOKED
    else:
        assert "stays valid" in _judge(evidence).message


def test_revoked_wins_over_good():
    good = _crl_evidence([])
    revoked = _crl_evidence([(_tsa().crypto.serial_number, LATEST + timedelta(days=9),
                              R.key_compromise)])
    with pytest.raises(CheckFailure):
        _judge(good, revoked)


def _ocsp(status, *, responder=None, cert=None, **kw) -> rev.Evidence:
    tw = tsa_world()
    data = ocsp_response(cert or tw.tsas["rsa2048"], responder or tw.root, status,
                         this_update=REVOCATION_TIME, **kw)
    return rev.evaluate(rev.RevocationSource("ocsp", "t", data), _tsa(), _root(), GEN_TIME)


def test_ocsp_answers():
    assert _ocsp(ocsp.OCSPCertStatus.GOOD).status == rev.GOOD
    assert _ocsp(ocsp.OCSPCertStatus.UNKNOWN).status == rev.UNKNOWN
    other = _ocsp(ocsp.OCSPCertStatus.GOOD, cert=tsa_world().tsas["rsa4096"])
    assert other.status == rev.UNUSABLE and "other certificates" in other.note


def test_ocsp_from_a_responder_the_issuer_did_not_certify_is_not_evidence():
    tw = tsa_world()
    stranger = tw.other_root  # signs, but the TSA's issuer never certified it
    assert "neither the issuer" in _ocsp(ocsp.OCSPCertStatus.GOOD, responder=stranger).note
    delegated = issue(name("Provelio Test OCSP Responder"), tw.tsas["rsa4096"].key,
                      issuer=tw.root, serial=0x6001, not_before=TSA_VALIDITY[0],
                      not_after=TSA_VALIDITY[1], ca=False,
                      key_usage=key_usage(digital_signature=True),
                      eku=[ExtendedKeyUsageOID.OCSP_SIGNING], eku_critical=False)
    signed = (ocsp.OCSPResponseBuilder()
              .add_response(cert=tw.tsas["rsa2048"].cert, issuer=tw.root.cert,
                            algorithm=hashes.SHA1(), cert_status=ocsp.OCSPCertStatus.GOOD,
                            this_update=REVOCATION_TIME, next_update=None,
                            revocation_time=None, revocation_reason=None)
              .responder_id(ocsp.OCSPResponderEncoding.NAME, delegated.cert)
              .certificates([delegated.cert])
              .sign(delegated.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    evidence = rev.evaluate(rev.RevocationSource("ocsp", "t", signed), _tsa(), _root(),
                            GEN_TIME)
    # producedAt is the builder's clock (now): inside the responder's validity.
    assert evidence.status == rev.GOOD, evidence.note


def test_a_crl_embedded_in_the_token_is_used():
    revoking = crl(tsa_world().root, [(_tsa().crypto.serial_number, GEN_TIME,
                                       R.key_compromise)], this_update=REVOCATION_TIME)

    def embed(info: cms.ContentInfo) -> None:
        info["content"]["crls"] = cms.RevocationInfoChoices(
            [cms.RevocationInfoChoice({"crl": cms.CertificateList.load(revoking)})])

    report = verify_token(cms_edit.edit_token(scenario_token("ok-created"), embed))
    check = report.check("timestamp.revocation")
    assert (check.indication, check.sub_indication) == (Indication.FAILED,
                                                        SubIndication.REVOKED)
    assert "embedded in the token" in check.message


def test_cli_revocation_paths_are_checked(tmp_path):
    folder = SCENARIOS / "tsa-ok-crl-not-revoked"
    base = ["document.txt", "proof.json", "--tsa-roots", "roots.pem"]
    (tmp_path / "junk").write_bytes(b"not revocation data")
    for option in ("--crl", "--ocsp"):
        for path in (str(tmp_path / "absent"), str(tmp_path / "junk")):
            proc = run_cli([*base, option, path], cwd=folder)
            assert proc.returncode == 2, (option, path, proc.stderr)
            assert "Traceback" not in proc.stderr
    pem = x509.load_der_x509_crl((folder / "tsa.crl").read_bytes()).public_bytes(
        serialization.Encoding.PEM)
    (tmp_path / "tsa.pem").write_bytes(pem)
    proc = run_cli([*base, "--require-revocation", "--crl", str(tmp_path / "tsa.pem")],
                   cwd=folder)
    assert proc.returncode == 0, proc.stdout


# ----------------------------------------------------------------- fetching


class _Revocation(http.server.BaseHTTPRequestHandler):
    crl: bytes = b""
    ocsp: bytes = b""
    seen: list[tuple[str, str]] = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append(("GET", self.path))
        self._answer(self.crl if self.path == "/tsa.crl" else b"", "application/pkix-crl")

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        request = ocsp.load_der_ocsp_request(self.rfile.read(length))
        type(self).seen.append(("POST", f"{self.path} serial={request.serial_number:x}"))
        self._answer(self.ocsp, "application/ocsp-response")

    def _answer(self, body: bytes, kind: str) -> None:
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def responder():
    _Revocation.seen = []
    with loopback_server(_Revocation) as url:
        yield url, _Revocation


def _tsa_pointing_to(base: str, *, crl_path: str | None, ocsp_path: str | None):
    tw = tsa_world()
    extra = []
    if crl_path:
        extra.append((x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(base + crl_path)], relative_name=None,
            reasons=None, crl_issuer=None)]), False))
    if ocsp_path:
        extra.append((x509.AuthorityInformationAccess([x509.AccessDescription(
            x509.oid.AuthorityInformationAccessOID.OCSP,
            x509.UniformResourceIdentifier(base + ocsp_path))]), False))
    cert = issue(name("Provelio Test TSA with revocation URLs"), tw.tsas["rsa2048"].key,
                 issuer=tw.root, serial=0x6101, not_before=TSA_VALIDITY[0],
                 not_after=TSA_VALIDITY[1], ca=False,
                 key_usage=key_usage(digital_signature=True), eku=[x509.ExtendedKeyUsageOID
                                                                  .TIME_STAMPING],
                 extra=extra)
    token = cms_edit.resign(scenario_token("ok-created"), cert, certs=[cert])
    return cert, token


def _fetching(**policy) -> Verifier:
    return Verifier(Policy(tsa_roots=(tsa_world().root.der,), now=NOW,
                           require_revocation=True, **policy))


def test_fetch_revocation_gets_the_crl_the_certificate_names(responder):
    base, handler = responder
    cert, token = _tsa_pointing_to(base, crl_path="/tsa.crl", ocsp_path=None)
    handler.crl = crl(tsa_world().root, [], this_update=REVOCATION_TIME)
    report = verify_token(token, verifier=_fetching(fetch_revocation=True))
    check = report.check("timestamp.revocation")
    assert check.indication is Indication.PASSED, check.message
    assert base + "/tsa.crl" in check.message
    assert handler.seen == [("GET", "/tsa.crl")]


def test_fetch_revocation_asks_the_ocsp_responder(responder):
    base, handler = responder
    cert, token = _tsa_pointing_to(base, crl_path=None, ocsp_path="/ocsp")
    handler.ocsp = ocsp_response(cert, tsa_world().root, ocsp.OCSPCertStatus.REVOKED,
                                 this_update=REVOCATION_TIME, revoked_at=GEN_TIME,
                                 reason=R.key_compromise)
    report = verify_token(token, verifier=_fetching(fetch_revocation=True))
    check = report.check("timestamp.revocation")
    assert check.sub_indication is SubIndication.REVOKED, check.message
    assert handler.seen == [("POST", f"/ocsp serial={cert.cert.serial_number:x}")]


def test_nothing_is_fetched_without_the_switch_or_when_data_settles_it(responder):
    base, handler = responder
    cert, token = _tsa_pointing_to(base, crl_path="/tsa.crl", ocsp_path="/ocsp")
    report = verify_token(token, verifier=_fetching())
    check = report.check("timestamp.revocation")
    assert check.sub_indication is SubIndication.TRY_LATER
    assert base + "/tsa.crl" in check.message and "--fetch-revocation" in check.message
    supplied = crl(tsa_world().root, [], this_update=REVOCATION_TIME)
    settled = verify_token(token, verifier=_fetching(fetch_revocation=True, crls=(supplied,)))
    assert settled.check("timestamp.revocation").indication is Indication.PASSED
    assert handler.seen == []


def test_an_unreachable_responder_leaves_revocation_indeterminate():
    cert, token = _tsa_pointing_to("http://127.0.0.1:9", crl_path="/tsa.crl", ocsp_path=None)
    report = verify_token(token, verifier=_fetching(fetch_revocation=True))
    check = report.check("timestamp.revocation")
    assert check.sub_indication is SubIndication.TRY_LATER
    assert "127.0.0.1:9/tsa.crl" in check.message
    assert report.indication is Indication.INDETERMINATE  # required by the policy


# ----------------------------------------------------- fetching: who chooses the address


def test_nothing_is_fetched_for_a_certificate_no_trusted_root_vouches_for(responder):
    """Issue 8, item 5: the token carries its own root (and so a known issuer), its
    TSA certificate names addresses on our loopback responder, and the user trusts
    no root of it: nothing may be asked of those addresses."""
    base, handler = responder
    cert, token = _tsa_pointing_to(base, crl_path="/tsa.crl", ocsp_path="/ocsp")
    token = cms_edit.resign(scenario_token("ok-created"), cert, certs=[cert, tsa_world().root])
    other_root = tsa_world().tsas["rsa2048"].der  # trusted, but not this token's root
    verifier = Verifier(Policy(tsa_roots=(other_root,), now=NOW, require_revocation=True,
                               fetch_revocation=True))
    report = verify_token(token, verifier=verifier)
    assert report.check("timestamp.chain").indication is not Indication.PASSED
    check = report.check("timestamp.revocation")
    assert check.indication is Indication.INDETERMINATE
    assert "nothing was fetched" in check.message
    assert handler.seen == []


class _Redirect(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self):  # noqa: N802
        self.send_response(302)
        self.send_header("Location", type(self).target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("where", ["third-host", "file:///etc/passwd", "ftp://127.0.0.1/x"])
def test_a_redirect_from_a_crl_address_is_not_followed(responder, where):
    third, handler = responder
    _Redirect.target = third + "/tsa.crl" if where == "third-host" else where
    handler.crl = crl(tsa_world().root, [], this_update=REVOCATION_TIME)
    with loopback_server(_Redirect) as redirecting:
        cert, token = _tsa_pointing_to(redirecting, crl_path="/tsa.crl", ocsp_path=None)
        report = verify_token(token, verifier=_fetching(fetch_revocation=True))
    check = report.check("timestamp.revocation")
    assert check.sub_indication is SubIndication.TRY_LATER, check.message
    assert "not followed" in check.message
    assert handler.seen == []
