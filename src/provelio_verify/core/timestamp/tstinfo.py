"""Reading the TSTInfo (guide items C1, C5, C6, C8) from its layout (``core.der``).

TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime,
accuracy OPTIONAL, ordering DEFAULT FALSE, nonce OPTIONAL, tsa [0] OPTIONAL,
extensions [1] OPTIONAL } (RFC 3161 §2.4.2). The tsa name is parsed by asn1crypto.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import x509

from .der import (
    BOOLEAN,
    CONTEXT,
    GENERALIZED_TIME,
    INTEGER,
    OCTET_STRING,
    SEQUENCE,
    UNIVERSAL,
    Node,
    read_tlv,
)
from .fields import algorithm_id, boolean, format_failure, integer, oid_of

#: RFC 3161 §2.4.2: GeneralizedTime in UTC, "YYYYMMDDhhmmss[.s...]Z".
_GEN_TIME = re.compile(rb"\d{14}(\.\d+)?Z")
#: The largest accuracy accepted. RFC 3161 sets none, but accuracy is the TSA's bound
#: on its own clock's error: real TSAs state a second or less (ETSI EN 319 421 asks
#: 1 s of a qualified one). A token unsure of its time by more than a day does not
#: date anything to the day, and an unbounded value (10^20 s) cannot even be added
#: to a date.
MAX_ACCURACY = timedelta(days=1)
#: How far from the ends of the calendar (years 1 and 9999) genTime must lie. Every
#: sum this verifier forms from a genTime (± accuracy, the future tolerance, rounding
#: up to the second) moves it by less than this, so none can overflow.
GEN_TIME_HEADROOM = 2 * MAX_ACCURACY
_EARLIEST_GEN_TIME = datetime.min.replace(tzinfo=UTC) + GEN_TIME_HEADROOM
_LATEST_GEN_TIME = datetime.max.replace(tzinfo=UTC) - GEN_TIME_HEADROOM


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


def read_tst_info(e_content: bytes) -> dict[str, Any]:
    """The TSTInfo's fields, named as :class:`~provelio_verify.core.timestamp.token.Token` has them.

    TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime,
    accuracy OPTIONAL, ordering DEFAULT FALSE, nonce OPTIONAL, tsa [0] OPTIONAL,
    extensions [1] OPTIONAL } (RFC 3161 §2.4.2)."""
    tst = read_tlv(e_content)  # every constructed field is walked below
    fields = list(tst.children) if tst.is_(UNIVERSAL, SEQUENCE) else []
    if len(fields) < 5 or not (fields[0].is_(UNIVERSAL, INTEGER)
                               and fields[2].is_(UNIVERSAL, SEQUENCE)
                               and fields[3].is_(UNIVERSAL, INTEGER)
                               and fields[4].is_(UNIVERSAL, GENERALIZED_TIME)):
        raise format_failure("TSTInfo does not have version, policy, messageImprint, serialNumber "
                             "and genTime (a GeneralizedTime)")
    # (5) C1: version 1.
    version = integer(fields[0])
    if version != 1:
        raise format_failure(f"TSTInfo version is {version}, not 1", {"version": version})
    imprint = fields[2].children
    if len(imprint) != 2 or not imprint[1].is_(UNIVERSAL, OCTET_STRING) or imprint[1].constructed:
        raise format_failure("TSTInfo messageImprint is not { hashAlgorithm, hashedMessage }")
    # (6) C5, RFC 3161 §2.4.2: genTime is GeneralizedTime in UTC ("Z").
    raw_time = fields[4].contents
    if not _GEN_TIME.fullmatch(raw_time):
        raise format_failure(f"TSTInfo genTime {raw_time.decode('ascii', 'replace')!r} is not UTC "
                             "GeneralizedTime (YYYYMMDDhhmmss[.s]Z)")
    warnings: list[str] = []
    if raw_time.endswith(b"0Z") and b"." in raw_time:
        warnings.append("TSTInfo genTime has trailing zeros in its fraction (not DER)")
    gen_time = _utc_time(raw_time)
    if not _EARLIEST_GEN_TIME <= gen_time <= _LATEST_GEN_TIME:
        raise format_failure(
            f"TSTInfo genTime {gen_time.isoformat().replace('+00:00', 'Z')} is within "
            f"{GEN_TIME_HEADROOM.days} days of the end of the calendar (years 1 to 9999): "
            f"it must lie between {_EARLIEST_GEN_TIME.date().isoformat()} and "
            f"{_LATEST_GEN_TIME.date().isoformat()} for genTime ± accuracy to be computed",
            {"genTime": raw_time.decode("ascii")})
    optional = _tst_optional(fields[5:])
    # (8) C8: no extension is understood here, so none may be critical.
    critical = [oid for oid, crit in optional["extensions"] if crit]
    if critical:
        raise format_failure(f"TSTInfo has critical extension(s) {', '.join(critical)} that this "
                             "verifier does not understand", {"criticalExtensions": critical})
    return {**optional, "gen_time": gen_time, "policy": oid_of(fields[1]),
            "serial": integer(fields[3]), "imprint_algorithm_id": algorithm_id(imprint[0]),
            "imprint": imprint[1].contents, "warnings": tuple(warnings)}


def _tst_optional(fields: list[Node]) -> dict[str, Any]:
    """The TSTInfo's optional fields, in their order (accuracy, ordering, nonce, [0] tsa,
    [1] extensions); each may occur once."""
    found: dict[str, Any] = {"accuracy": None, "ordering": False, "nonce": None,
                             "tsa_name": None, "extensions": ()}
    order = ((UNIVERSAL, SEQUENCE, "accuracy"), (UNIVERSAL, BOOLEAN, "ordering"),
             (UNIVERSAL, INTEGER, "nonce"), (CONTEXT, 0, "tsa_name"),
             (CONTEXT, 1, "extensions"))
    position = 0
    for node in fields:
        while position < len(order) and not node.is_(*order[position][:2]):
            position += 1
        if position == len(order):
            raise format_failure(f"TSTInfo has an unexpected or misplaced field (tag {node.tag})")
        name = order[position][2]
        position += 1
        if name == "accuracy":
            # (7) C6, RFC 3161 §2.4.2: millis and micros in 1..999, a missing part is 0.
            found[name] = _accuracy(node)
        elif name == "ordering":
            found[name] = boolean(node)
        elif name == "nonce":
            found[name] = integer(node)
        elif name == "tsa_name":
            (general_name,) = node.children
            found[name] = x509.GeneralName.load(general_name.raw, strict=True)
            _ = found[name].native  # parsed now: C7 compares it with the signer's names
        else:
            found[name] = tuple(_extension(e) for e in node.children)
    return found


def _extension(node: Node) -> tuple[str, bool]:
    """Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }."""
    parts = node.children
    critical = len(parts) == 3 and parts[1].is_(UNIVERSAL, BOOLEAN) and boolean(parts[1])
    if len(parts) not in (2, 3) or not parts[-1].is_(UNIVERSAL, OCTET_STRING):
        raise format_failure("a TSTInfo extension is not { extnID, critical, extnValue }")
    return oid_of(parts[0]), critical


def _utc_time(raw: bytes) -> datetime:
    """A checked "YYYYMMDDhhmmss[.f]Z" as an aware datetime (digits past the
    microsecond are dropped).

    Raises:
        CheckFailure: FORMAT_FAILURE for an impossible date or time.
    """
    text = raw.decode("ascii")
    fraction = text[15:-1] if text[14:15] == "." else ""
    try:
        return datetime(int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]),
                        int(text[10:12]), int(text[12:14]),
                        int((fraction + "000000")[:6]), tzinfo=UTC)
    except ValueError as exc:
        raise format_failure(f"TSTInfo genTime {text!r} is not a valid time ({exc})") from None


def _accuracy(node: Node) -> Accuracy:
    """Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] OPTIONAL, micros [1]
    OPTIONAL }."""
    parts: dict[str, int | None] = {"seconds": None, "millis": None, "micros": None}
    for part in node.children:
        name = ("seconds" if part.is_(UNIVERSAL, INTEGER) else "millis" if part.is_(CONTEXT, 0)
                else "micros" if part.is_(CONTEXT, 1) else None)
        if name is None or parts[name] is not None:
            raise format_failure("TSTInfo accuracy has an unexpected field")
        parts[name] = integer(part)
    seconds = parts["seconds"] or 0
    if seconds < 0:
        raise format_failure(f"TSTInfo accuracy seconds is {seconds}, below 0")
    for name in ("millis", "micros"):
        value = parts[name]
        if value is not None and not 1 <= value <= 999:
            raise format_failure(f"TSTInfo accuracy {name} is {value}, outside 1..999 "
                                 "(RFC 3161 §2.4.2)", {name: value})
    millis, micros = parts["millis"] or 0, parts["micros"] or 0
    # Compared as integers: a timedelta of 10^20 s cannot be built.
    total_micros = (seconds * 1000 + millis) * 1000 + micros
    limit_micros = MAX_ACCURACY // timedelta(microseconds=1)
    if total_micros > limit_micros:
        raise format_failure(
            f"TSTInfo accuracy is {seconds} s {millis} ms {micros} µs, over the limit of "
            f"{MAX_ACCURACY.total_seconds():g} s: a token that uncertain of its own time "
            "dates nothing", {"seconds": seconds, "millis": millis, "micros": micros,
                              "limitSeconds": int(MAX_ACCURACY.total_seconds())})
    return Accuracy(seconds, millis, micros)
