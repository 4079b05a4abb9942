"""The pure core of the timestamp checks, piece by piece: the DER layout reader, the
token reader's structural rules, and the bound on explaining a refused path."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from asn1crypto import cms, tsp

from gen.pki import issue, name
from helpers.tsa_helpers import GEN_TIME, cms_edit, scenario_token, tsa_world
from provelio_verify import CheckFailure, SubIndication
from provelio_verify.core.timestamp.certs import Cert
from provelio_verify.core.timestamp.der import MAX_DEPTH, read_tlv
from provelio_verify.core.timestamp.pki import find_chain
from provelio_verify.core.timestamp.token import parse_token


def test_der_layout_reads_definite_and_indefinite_lengths():
    node = read_tlv(bytes.fromhex("3006020101020102"))
    assert [c.contents for c in node.children] == [b"\x01", b"\x02"]
    ber = read_tlv(bytes.fromhex("3080020101020102" "0000"))  # BER indefinite length
    assert [c.contents for c in ber.children] == [b"\x01", b"\x02"]
    high = read_tlv(bytes.fromhex("bf8101" "00"))  # [129] in high-tag-number form
    assert (high.cls, high.tag) == (2, 129)


@pytest.mark.parametrize("hexdata, fault", [
    ("300602010102", "runs past"),  # length larger than what follows
    ("3003020101" "00", "after the end"),  # a trailing byte
    ("30", "length missing"),
    ("3085" "0000000000", "bad length"),  # a 5-byte length
    ("0480" "0000", "indefinite length on a primitive"),
])
def test_der_layout_refuses_malformed_encodings(hexdata, fault):
    with pytest.raises(ValueError, match=fault):
        node = read_tlv(bytes.fromhex(hexdata))
        node.check()


def test_der_nesting_is_bounded():
    data = b"\x05\x00"
    for _ in range(MAX_DEPTH + 2):
        data = b"\x30" + bytes([len(data)]) + data if len(data) < 128 else (
            b"\x30\x81" + bytes([len(data)]) + data)
    with pytest.raises(ValueError, match="nesting deeper"):
        read_tlv(data).check()


def _fails(token: bytes, fragment: str) -> None:
    with pytest.raises(CheckFailure) as caught:
        parse_token(token)
    assert caught.value.sub_indication is SubIndication.FORMAT_FAILURE
    assert fragment in caught.value.message, caught.value.message


def test_response_and_bare_token_are_told_apart_by_structure():
    response = scenario_token("tsa-ok-granted-with-mods")
    bare = scenario_token("tsa-ok-rsa2048-essv1-bare-token")
    assert (parse_token(response).form, parse_token(response).status) == (
        "TimeStampResp", "granted_with_mods")
    assert (parse_token(bare).form, parse_token(bare).status) == ("TimeStampToken", None)
    _fails(bytes.fromhex("3003020105"), "neither a TimeStampResp nor a TimeStampToken")
    _fails(bytes.fromhex("0403010203"), "not an ASN.1 SEQUENCE")


def test_a_granted_response_must_carry_exactly_one_token():
    token = cms_edit.split_reply(scenario_token("ok-created"))[1]
    granted = tsp.PKIStatusInfo({"status": "granted"}).dump()
    alone = b"\x30" + bytes([len(granted)]) + granted
    _fails(alone, "carries no timeStampToken")
    body = granted + token.dump() + token.dump()
    _fails(b"\x30\x82" + len(body).to_bytes(2, "big") + body, "more than a token")


def test_malformed_unsigned_parts_make_a_malformed_token():
    """A corrupted part nobody reads (here an unsigned attribute's value) is refused as
    OpenSSL refuses it: the whole token is walked."""
    def bad_unsigned(info: cms.ContentInfo) -> None:
        info["content"]["signer_infos"][0]["unsigned_attrs"] = cms.CMSAttributes([
            cms.CMSAttribute({"type": "1.3.6.1.4.1.99999.5.5",
                              "values": [cms.ContentInfo.load(b"\x30\x03\x06\x01\x01")]})])

    good = cms_edit.edit_token(scenario_token("ok-created"), bad_unsigned)
    assert parse_token(good).form == "TimeStampToken"
    broken = good.replace(b"\x30\x03\x06\x01\x01", b"\x30\x03\x06\x05\x01")
    _fails(broken, "does not parse")


def test_gen_time_fraction_and_trailing_zeros():
    signer = tsa_world().tsas["rsa2048"]

    def fraction(tst: tsp.TSTInfo) -> None:
        tst["gen_time"] = tsp.GeneralizedTime.load(b"\x18\x1620260102030405.123450Z")

    token = parse_token(cms_edit.resign(scenario_token("ok-created"), signer,
                                        edit_tst=fraction))
    assert token.gen_time == GEN_TIME + timedelta(microseconds=123450)
    assert any("trailing zeros" in w for w in token.warnings)


def test_accuracy_and_non_critical_extensions_are_read():
    token = parse_token(scenario_token("tsa-ok-rsa4096-full-tstinfo"))
    assert (token.accuracy.seconds, token.accuracy.millis, token.accuracy.micros) == (2, 500,
                                                                                       250)
    assert token.latest - token.earliest == timedelta(seconds=5, microseconds=500)
    assert token.ordering is True and token.tsa_name is not None

    def extension(tst: tsp.TSTInfo) -> None:
        tst["extensions"] = [{"extn_id": "1.3.6.1.4.1.99999.9.2", "critical": False,
                              "extn_value": b"\x05\x00"}]

    signer = tsa_world().tsas["rsa2048"]
    extended = parse_token(cms_edit.resign(scenario_token("ok-created"), signer,
                                           edit_tst=extension))
    assert extended.extensions == (("1.3.6.1.4.1.99999.9.2", False),)


def test_explaining_a_path_is_bounded_among_look_alike_certificates():
    """Many certificates with one name and one key all 'issue' each other; the chain
    finder explores each once instead of every ordering."""
    tw = tsa_world()
    key = tw.other_root.key
    subject = name("Look-alike CA")
    validity = {"not_before": GEN_TIME - timedelta(days=1),
                "not_after": GEN_TIME + timedelta(days=1)}
    ring = [issue(subject, key, issuer=None, serial=serial, ca=True, **validity)
            for serial in range(1, 25)]
    leaf = issue(name("Leaf"), tw.tsas["rsa2048"].key, issuer=ring[0], serial=99, ca=False,
                 **validity)
    started = time.perf_counter()
    found = find_chain(Cert.load(leaf.der), [Cert.load(c.der) for c in ring],
                       [Cert.load(tw.root.der)])
    assert time.perf_counter() - started < 5
    assert not found.anchored and len(found.certs) >= 2
