"""Reading an RFC 3161 token (guide items A1, A2, B1, B2, C1, C5, C6, C8) and checking
its imprint (C2) and its genTime against the verifier's clock (C5).

Pure: bytes in, a :class:`Token` out. Every part that is hashed or signed later keeps
its original bytes (asn1crypto keeps them); nothing is re-encoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import cms, parser, tsp

from ..outcome import CheckFailure, CheckIndeterminate, Passed
from ..report import SubIndication
from .algorithms import BROKEN_DIGESTS, DIGEST_OIDS, DIGEST_SIZES, pretty, raw_parameters
from .certs import general_name_text

#: A genTime may run ahead of the verifier's clock by its accuracy plus this much
#: before it counts as "in the future" (contract section 4): clocks drift.
FUTURE_TOLERANCE = timedelta(minutes=5)
ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4"
ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
#: Imprint algorithms whose digest of the subject this verifier can compute.
IMPRINT_DIGESTS = ("sha256", "sha384", "sha512")
#: RFC 3161 §2.4.2: GeneralizedTime in UTC, "YYYYMMDDhhmmss[.s...]Z".
_GEN_TIME = re.compile(rb"\d{14}(\.\d+)?Z")
_GRANTED = (0, 1)  # granted, grantedWithMods (RFC 3161 §2.4.2)


class _TimeStampResp(tsp.TimeStampResp):  # type: ignore[misc]
    """(A2) asn1crypto marks the token as required, so a rejection response (which
    carries none) would not parse: here it is optional, as RFC 3161 §2.4.2 has it."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class Accuracy:
    """(C6) TSTInfo accuracy; a missing part is 0."""

    seconds: int
    millis: int
    micros: int

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds, milliseconds=self.millis,
                         microseconds=self.micros)

    def text(self) -> str:
        return f"±{self.delta.total_seconds():g} s"


@dataclass(frozen=True)
class Token:
    """A parsed token. asn1crypto objects keep the bytes as received."""

    form: str  # "TimeStampResp" or "TimeStampToken"
    status: str | None  # a response's PKIStatus; None for a bare token
    content_info: cms.ContentInfo
    signed_data: cms.SignedData
    signer_info: cms.SignerInfo
    #: The signed attributes exactly as received, tagged SET OF (0x31): what is signed.
    #: Empty when the SignerInfo has none.
    signed_attrs: bytes
    e_content: bytes  # the eContent octets: what the message-digest attribute covers
    tst_info: tsp.TSTInfo
    gen_time: datetime
    accuracy: Accuracy | None
    policy: str
    serial: int
    nonce: int | None
    ordering: bool
    tsa_name: Any  # asn1crypto GeneralName or None
    imprint_oid: str
    imprint: bytes
    certificates: tuple[bytes, ...]  # DER of the embedded certificates, in token order
    crls: tuple[bytes, ...]  # embedded CRLs (DER)
    ocsp_responses: tuple[bytes, ...]  # embedded OCSP responses (DER)
    extensions: tuple[tuple[str, bool], ...]  # (OID, critical)
    warnings: tuple[str, ...] = field(default=())

    @property
    def imprint_algorithm(self) -> str:
        """The imprint's hash name (``sha256``), or its OID when unknown."""
        return DIGEST_OIDS.get(self.imprint_oid, self.imprint_oid)

    @property
    def margin(self) -> timedelta:
        return self.accuracy.delta if self.accuracy else timedelta(0)

    @property
    def earliest(self) -> datetime:
        """genTime minus accuracy: the interval the token vouches for starts here."""
        return self.gen_time - self.margin

    @property
    def latest(self) -> datetime:
        """genTime plus accuracy: the latest instant the token vouches for."""
        return self.gen_time + self.margin

    def facts(self) -> dict[str, Any]:
        """What the token says, for the report."""
        return {
            "form": self.form,
            "status": self.status,
            "genTime": self.gen_time.isoformat().replace("+00:00", "Z"),
            "accuracy": None if self.accuracy is None else {
                "seconds": self.accuracy.seconds, "millis": self.accuracy.millis,
                "micros": self.accuracy.micros},
            "policy": self.policy,
            "serialNumber": hex(self.serial),
            "nonce": None if self.nonce is None else hex(self.nonce),
            "ordering": self.ordering,
            "tsa": general_name_text(self.tsa_name) if self.tsa_name is not None else None,
            "imprintAlgorithm": self.imprint_algorithm,
            "imprint": self.imprint.hex(),
            "extensions": [{"oid": oid, "critical": crit} for oid, crit in self.extensions],
            "embeddedCertificates": len(self.certificates),
        }


def _format(message: str, details: dict[str, Any] | None = None) -> CheckFailure:
    return CheckFailure(SubIndication.FORMAT_FAILURE, message, details)


def _outer_form(data: bytes) -> str:
    """(1) A1, RFC 3161 §2.4.2: a TimeStampResp is SEQUENCE { PKIStatusInfo (a SEQUENCE),
    ... }; a TimeStampToken is a ContentInfo, SEQUENCE { OBJECT IDENTIFIER, [0] ... }.
    The first element's tag tells them apart: no guessing from parse errors."""
    try:
        cls, _method, tag, _header, contents, trailer = parser.parse(data, strict=True)
        first = parser.parse(contents)
    except ValueError as exc:
        raise _format(f"token is not DER: {exc}") from None
    if cls != 0 or tag != 16 or trailer:
        raise _format("token is not an ASN.1 SEQUENCE")
    if first[0] == 0 and first[2] == 6:
        return "TimeStampToken"
    if first[0] == 0 and first[2] == 16:
        return "TimeStampResp"
    raise _format("token is neither a TimeStampResp nor a TimeStampToken (ContentInfo): "
                  f"its first element has tag {first[2]}")


def _status(resp: _TimeStampResp) -> tuple[str, cms.ContentInfo]:
    """(2) A2: only granted(0) and grantedWithMods(1) carry a token."""
    info = resp["status"]
    code = int(info["status"])
    text = info["status"].native
    if code not in _GRANTED:
        strings = [s.native for s in info["status_string"]] if info["status_string"] else []
        fail = sorted(info["fail_info"].native) if info["fail_info"].native else []
        raise _format(
            f"the TSA refused the request: status {text}"
            + (f", failInfo {', '.join(fail)}" if fail else "")
            + (f", statusString {'; '.join(strings)!r}" if strings else ""),
            {"status": text, "statusString": strings, "failInfo": fail},
        )
    token = resp["time_stamp_token"]
    if not token:
        raise _format(f"response status is {text} but it carries no timeStampToken",
                      {"status": text})
    return str(text), token


def parse_token(data: bytes) -> Token:
    """Parse a DER TimeStampResp or TimeStampToken and check its structure.

    Raises:
        CheckFailure: FORMAT_FAILURE, naming what is wrong.
    """
    form = _outer_form(data)
    status: str | None = None
    try:
        if form == "TimeStampResp":
            status, content_info = _status(_TimeStampResp.load(data, strict=True))
        else:
            content_info = cms.ContentInfo.load(data, strict=True)
        return _parse_signed(form, status, content_info)
    except CheckFailure:
        raise
    except (ValueError, TypeError, KeyError) as exc:  # asn1crypto parses lazily
        raise _format(f"token does not parse: {exc}".splitlines()[0]) from None


def _parse_signed(form: str, status: str | None, content_info: cms.ContentInfo) -> Token:
    # (3) B1, RFC 5652 §5.2: a SignedData whose eContent is a TSTInfo.
    if content_info["content_type"].dotted != ID_SIGNED_DATA:
        raise _format(f"token content type is {content_info['content_type'].dotted}, "
                      f"not id-signedData ({ID_SIGNED_DATA})")
    signed = content_info["content"]
    encap = signed["encap_content_info"]
    e_type = encap["content_type"].dotted
    if e_type != ID_CT_TSTINFO:
        raise _format(f"token eContentType is {e_type}, not id-ct-TSTInfo ({ID_CT_TSTINFO})")
    if not encap["content"]:
        raise _format("token has no eContent (a detached TSTInfo is not a token)")
    e_content = encap["content"].contents
    # (4) B2, RFC 3161 §2.4.2: the TSA's signature is the only one.
    signers = signed["signer_infos"]
    if len(signers) != 1:
        raise _format(f"token has {len(signers)} SignerInfos; RFC 3161 §2.4.2 allows only "
                      "the TSA's", {"signerInfos": len(signers)})
    signer = signers[0]
    # (4b) B4: the signed attributes' bytes as received, taken before anything reads
    # them: asn1crypto re-sorts a SET OF in place once its children are parsed.
    signed_attrs = _signed_attributes(signer)
    # Parse the whole SignedData now (asn1crypto is lazy): a malformed part, signed or
    # not, makes a malformed token rather than a surprise in a later check.
    _ = (signed["version"].native, [a["algorithm"].dotted for a in signed["digest_algorithms"]],
         [c.name for c in signed["certificates"] or []], [c.name for c in signed["crls"] or []],
         signer["version"].native, signer["sid"].native,
         signer["digest_algorithm"]["algorithm"].dotted,
         signer["signature_algorithm"]["algorithm"].dotted, signer["signed_attrs"].native,
         signer["signature"].native, [a["type"].dotted for a in signer["unsigned_attrs"] or []])
    tst = tsp.TSTInfo.load(e_content, strict=True)
    # Parse every field now, not in a later check; the imprint's parameters stay raw
    # (asn1crypto insists on NULL there, C2 is judged by timestamp.imprint).
    _ = [tst[f].native for f in ("version", "policy", "serial_number", "gen_time",
                                 "accuracy", "ordering", "nonce", "tsa", "extensions")]
    _ = (tst["message_imprint"]["hash_algorithm"]["algorithm"].dotted,
         tst["message_imprint"]["hashed_message"].native)
    # (5) C1: version 1.
    if int(tst["version"]) != 1:
        raise _format(f"TSTInfo version is {int(tst['version'])}, not 1",
                      {"version": int(tst["version"])})
    # (6) C5, RFC 3161 §2.4.2: genTime is GeneralizedTime in UTC ("Z").
    raw_time = tst["gen_time"].contents
    if not _GEN_TIME.fullmatch(raw_time):
        raise _format(f"TSTInfo genTime {raw_time.decode('ascii', 'replace')!r} is not UTC "
                      "GeneralizedTime (YYYYMMDDhhmmss[.s]Z)")
    warnings: list[str] = []
    if raw_time.endswith(b"0Z") and b"." in raw_time:
        warnings.append("TSTInfo genTime has trailing zeros in its fraction (not DER)")
    # (7) C6, RFC 3161 §2.4.2: millis and micros in 1..999, a missing part is 0.
    accuracy = _accuracy(tst["accuracy"]) if tst["accuracy"] else None
    # (8) C8: no extension is understood here, so none may be critical.
    extensions = tuple((ext["extn_id"].dotted, bool(ext["critical"].native))
                       for ext in (tst["extensions"] or []))
    critical = [oid for oid, crit in extensions if crit]
    if critical:
        raise _format(f"TSTInfo has critical extension(s) {', '.join(critical)} that this "
                      "verifier does not understand", {"criticalExtensions": critical})
    imprint = tst["message_imprint"]
    certs, crls, ocsps = _embedded(signed)
    return Token(
        form=form, status=status, content_info=content_info, signed_data=signed,
        signer_info=signer, signed_attrs=signed_attrs, e_content=e_content, tst_info=tst,
        gen_time=tst["gen_time"].native, accuracy=accuracy, policy=tst["policy"].dotted,
        serial=int(tst["serial_number"]), nonce=tst["nonce"].native,
        ordering=bool(tst["ordering"].native),
        tsa_name=tst["tsa"] if tst["tsa"] else None,
        imprint_oid=imprint["hash_algorithm"]["algorithm"].dotted,
        imprint=imprint["hashed_message"].native,
        certificates=certs, crls=crls, ocsp_responses=ocsps, extensions=extensions,
        warnings=tuple(warnings),
    )


def _signed_attributes(signer: cms.SignerInfo) -> bytes:
    """RFC 5652 §5.4: the DER of the [0] IMPLICIT signed attributes with their tag
    replaced by SET OF (0x31), from the bytes as received (header and contents of the
    still-unparsed element: never re-encoded)."""
    encoded = bytes(signer["signed_attrs"].dump())  # not yet parsed: the bytes received
    if not encoded:
        return b""
    if encoded[:1] != b"\xa0":
        raise _format("SignerInfo signedAttrs is not tagged [0]")
    return b"\x31" + encoded[1:]


def _accuracy(value: tsp.Accuracy) -> Accuracy:
    parts = {k: value[k].native for k in ("seconds", "millis", "micros")}
    seconds = parts["seconds"] or 0
    if seconds < 0:
        raise _format(f"TSTInfo accuracy seconds is {seconds}, below 0")
    for name in ("millis", "micros"):
        if parts[name] is not None and not 1 <= parts[name] <= 999:
            raise _format(f"TSTInfo accuracy {name} is {parts[name]}, outside 1..999 "
                          "(RFC 3161 §2.4.2)", {name: parts[name]})
    return Accuracy(seconds, parts["millis"] or 0, parts["micros"] or 0)


def _embedded(
    signed: cms.SignedData,
) -> tuple[tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...]]:
    certs = tuple(c.chosen.dump() for c in (signed["certificates"] or [])
                  if c.name == "certificate")
    crls: list[bytes] = []
    ocsps: list[bytes] = []
    for choice in signed["crls"] or []:
        if choice.name == "crl":
            crls.append(choice.chosen.dump())
        elif choice.chosen["other_rev_info_format"].native == "ocsp_response":
            ocsps.append(choice.chosen["other_rev_info"].dump())
    return certs, tuple(crls), tuple(ocsps)


def imprint_algorithms(data: bytes) -> tuple[str, ...]:
    """The subject hashes a token needs beyond SHA-256 (empty when it does not parse:
    ``timestamp.token`` then reports why)."""
    try:
        token = parse_token(data)
    except CheckFailure:
        return ()
    name = token.imprint_algorithm
    return (name,) if name in IMPRINT_DIGESTS and name != "sha256" else ()


def check_gen_time(token: Token, now: datetime) -> None:
    """(9) C5, contract section 4: genTime no later than the verifier's clock plus the
    accuracy plus :data:`FUTURE_TOLERANCE`.

    Raises:
        CheckFailure: FORMAT_FAILURE for a genTime in the future.
    """
    limit = now + token.margin + FUTURE_TOLERANCE
    if token.gen_time > limit:
        raise _format(
            f"token genTime {token.gen_time.isoformat()} is later than this verifier's clock "
            f"{now.isoformat()} by more than the accuracy plus {FUTURE_TOLERANCE}: a token "
            "cannot vouch for the future",
            {"genTime": token.gen_time, "now": now},
        )


def check_imprint(token: Token, claimed: bytes, subject: dict[str, bytes],
                  digest_given: bool) -> Passed:
    """(1) C2, RFC 3161 §2.4.2: an accepted hash algorithm, parameters absent or NULL,
    the right length, and the value of the subject's digest: ``sha256Hash`` for a
    SHA-256 imprint, the file's SHA-384/512 (computed here) for those.

    Raises:
        CheckFailure: CRYPTO_CONSTRAINTS_FAILURE for a refused algorithm,
            FORMAT_FAILURE for bad parameters or length, HASH_FAILURE for another value.
        CheckIndeterminate: SIGNED_DATA_NOT_FOUND when the token is over SHA-384/512
            and only a SHA-256 digest was given.
    """
    algorithm = token.tst_info["message_imprint"]["hash_algorithm"]
    name = token.imprint_algorithm
    if name in BROKEN_DIGESTS or name == "sha1":
        raise CheckFailure(
            SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
            f"token imprint uses {pretty(name)}; only SHA-256, SHA-384 and SHA-512 imprints "
            "are accepted (a Provelio token is over the SHA-256 sha256Hash)",
            {"imprintAlgorithm": name})
    if name not in IMPRINT_DIGESTS:
        raise CheckFailure(
            SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
            f"token imprint algorithm {name} is not one of SHA-256, SHA-384, SHA-512",
            {"imprintAlgorithm": name})
    if raw_parameters(algorithm) not in (b"", b"\x05\x00"):
        raise _format(f"token imprint {name} has parameters; they must be absent or NULL")
    if len(token.imprint) != DIGEST_SIZES[name]:
        raise _format(f"token imprint is {len(token.imprint)} bytes, but {name} digests are "
                      f"{DIGEST_SIZES[name]}", {"imprint": token.imprint.hex()})
    if name == "sha256":
        expected, what = claimed, "sha256Hash"
    elif name in subject:
        expected, what = subject[name], f"the file's {pretty(name)}"
    else:
        assert digest_given
        raise CheckIndeterminate(
            SubIndication.SIGNED_DATA_NOT_FOUND,
            f"token imprint is over {pretty(name)} of the file, which cannot be derived from "
            f"the SHA-256 given with --digest: verify with the file instead, or check by hand "
            f"that `{name}sum FILE` prints {token.imprint.hex()}",
            {"imprintAlgorithm": name, "imprint": token.imprint.hex()})
    if token.imprint != expected:
        raise CheckFailure(
            SubIndication.HASH_FAILURE,
            f"token imprint {token.imprint.hex()} does not match {what} {expected.hex()}",
            {"imprintAlgorithm": name, "imprint": token.imprint.hex(),
             "expected": expected.hex()})
    return Passed(f"token imprint ({pretty(name)}) matches {what} {expected.hex()}",
                  {"imprintAlgorithm": name, "imprint": token.imprint.hex()})
