"""Issue 10, items 2-4: unsigned claims are shown as claims, every verdict says what it
does not show, and a FAILED report states no time of existence. Each rendering (JSON,
terminal text, HTML, PDF) is read from the real command line on the scenario fixtures."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pypdf
import pytest

from helpers.common import SCENARIOS, run_cli
from helpers.reports import made_up
from provelio_verify import Indication, SubIndication
from provelio_verify.evidence_report import render_html
from provelio_verify.verifier.assemble import CLAIM_FIELDS, not_shown

ROOTS = ["--tsa-roots", "roots.pem"]
CREATED = ("ok-created", ["document.txt", "proof.json", *ROOTS])
CONFIRMED = ("ok-confirmed-regtest",
             ["document.txt", "proof.json", *ROOTS, "--allow-test-mode", "--headers",
              "headers.bin"])
EXISTENCE_WORDS = "existed no later than"


def _copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(SCENARIOS / name, folder)
    return folder


def _renderings(folder: Path, args: list[str]) -> dict[str, Any]:
    """The JSON report, the terminal text, the HTML page and the PDF's text of one run."""
    text = run_cli(args, cwd=folder)
    assert text.returncode in (0, 1, 3), text.stderr
    out = run_cli([*args, "--json", "--html", "r.html", "--pdf", "r.pdf"], cwd=folder)
    assert out.returncode == text.returncode, out.stderr
    reader = pypdf.PdfReader(io.BytesIO((folder / "r.pdf").read_bytes()))
    pdf = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    return {"json": json.loads(out.stdout), "text": text.stdout,
            "html": (folder / "r.html").read_text(encoding="utf-8"), "pdf": pdf,
            "exit": text.returncode}


def _ids(report: dict[str, Any]) -> set[str]:
    return {item["id"] for item in report["notShown"]}


# ------------------------------------------------------------------ item 2: claims


def test_changed_claims_still_pass_and_every_rendering_calls_them_unsigned(tmp_path):
    folder = _copy(tmp_path, "ok-created")
    proof = json.loads((folder / "proof.json").read_text())
    proof["certificate"].update(fileName="contract-signed-by-Alice.pdf",
                                certificateId="11111111-2222-3333-4444-555555555555",
                                createdAt="1999-12-31T23:59:59.000Z")
    (folder / "proof.json").write_text(json.dumps(proof))
    got = _renderings(folder, CREATED[1])
    report = got["json"]
    assert got["exit"] == 0 and report["indication"] == "PASSED"
    # The contract's keys stay as they were; the split is added beside them.
    assert report["certificate"]["certificateId"] == "11111111-2222-3333-4444-555555555555"
    assert report["claims"]["fileName"] == "contract-signed-by-Alice.pdf"
    assert report["claims"]["createdAt"] == "1999-12-31T23:59:59.000Z"
    assert set(report["claims"]) <= set(CLAIM_FIELDS)
    assert not set(report["claims"]) & set(report["established"])
    assert report["established"]["sha256"] == {"value": report["subject"]["sha256"],
                                              "establishedBy": ["file.sha256"]}
    assert "timestamp.signature" in report["established"]["genTime"]["establishedBy"]
    # Text: the claims are listed under the unsigned heading, above what was established.
    text = got["text"]
    claims_at = text.index("claims of the bundle (unsigned")
    assert claims_at < text.index("contract-signed-by-Alice.pdf") < text.index(
        "established by the evidence:")
    assert "1999-12-31T23:59:59.000Z" in text[claims_at:text.index("established by")]
    # HTML and PDF: under "Claims of the bundle", each marked an unsigned claim.
    html = got["html"]
    claims_html = html[html.index("Claims of the bundle"):html.index("Metadata")]
    for value in ("contract-signed-by-Alice.pdf", "11111111-2222-3333-4444-555555555555",
                  "1999-12-31T23:59:59.000Z"):
        row = claims_html[claims_html.index(value):]
        assert row.index("(unsigned claim)") < row.index("</tr>"), value
    assert html.index("Established by the evidence") < html.index("Claims of the bundle")
    pdf = got["pdf"]
    assert "Claims of the bundle" in pdf and "Unsigned claims" in pdf
    assert "contract-signed-by-Alice.pdf (unsigned claim)" in pdf


# ------------------------------------------------------------------ item 3: not shown


def test_created_pass_says_the_anchor_is_pending_and_revocation_unknown(tmp_path):
    got = _renderings(_copy(tmp_path, CREATED[0]), CREATED[1])
    assert got["json"]["indication"] == "PASSED"
    assert {"anchor-pending", "revocation-unknown"} <= _ids(got["json"])
    verdict = got["text"].splitlines()[-1]
    assert "every required check passed, within the limits listed above" in verdict
    limits = got["text"][got["text"].index("what this does not show:"):]
    assert "anchor is pending" in limits and "revocation status is unknown" in limits
    html = got["html"]
    box = html[html.index('<div class="verdict'):html.index("</ul></div>")]
    assert "What this does not show" in box and "anchor is pending" in box
    assert "revocation status is unknown" in box
    assert "What this does not show" in got["pdf"] and "anchor is pending" in got["pdf"]


@pytest.mark.parametrize(("item", "shown", "not_shown_case"), [
    ("anchor-pending", CREATED, CONFIRMED),
    ("revocation-unknown", CREATED,
     ("tsa-ok-crl-not-revoked", ["document.txt", "proof.json", *ROOTS,
                                 "--require-revocation", "--crl", "tsa.crl"])),
    ("best-chain-not-established", ("ok-confirmed-regtest", CONFIRMED[1][:-2]), CONFIRMED),
    ("test-mode", CONFIRMED, CREATED),
    ("chosen-trust-anchors", CREATED, ("ok-created", ["document.txt", "proof.json"])),
], ids=lambda v: v if isinstance(v, str) else None)
def test_each_limit_appears_exactly_where_the_checks_call_for_it(tmp_path, item, shown,
                                                                 not_shown_case):
    with_it = _renderings(_copy(tmp_path / "a", shown[0]), shown[1])
    without = _renderings(_copy(tmp_path / "b", not_shown_case[0]), not_shown_case[1])
    assert item in _ids(with_it["json"])
    assert item not in _ids(without["json"])
    text_of = {i["id"]: i["text"] for i in with_it["json"]["notShown"]}
    for rendering in ("text", "html", "pdf"):
        words = " ".join(text_of[item].split()[:6])
        haystack = " ".join(with_it[rendering].replace("&#x27;", "'").split())
        assert words in haystack, (rendering, words)
        other = " ".join(without[rendering].replace("&#x27;", "'").split())
        assert words not in other, (rendering, words)


def test_beyond_the_checkpoints_alone():
    """A mainnet block above the last shipped checkpoint: only ``details.checkpoint``
    says so (the fixtures are regtest), and it alone brings the entry."""
    above = made_up(details={"anchor.chain": {"checkpoint": {"anchorAbove": True}}})
    below = made_up(details={"anchor.chain": {"checkpoint": {"anchorAbove": False}}})
    assert [i["id"] for i in not_shown(above.to_dict())] == [
        "beyond-checkpoints", "chosen-trust-anchors"]
    assert [i["id"] for i in not_shown(below.to_dict())] == ["chosen-trust-anchors"]


def test_the_list_follows_the_checks_not_the_status():
    """The same bundle claims, different results: the list is computed from them."""
    pending = made_up({"anchor.chain": (Indication.INDETERMINATE,
                                        SubIndication.ANCHOR_PENDING)})
    offline = made_up({"anchor.chain": (Indication.INDETERMINATE,
                                        SubIndication.NO_CHAIN_SOURCE)})
    assert {i["id"] for i in not_shown(pending.to_dict())} == {
        "anchor-pending", "chosen-trust-anchors"}
    assert {i["id"] for i in not_shown(offline.to_dict())} == {
        "best-chain-not-established", "chosen-trust-anchors"}
    page = render_html(pending.to_dict() | {"notShown": not_shown(pending.to_dict())})
    assert "anchor is pending" in page and "best chain" not in page


# ------------------------------------------------------------------ item 4: FAILED


def test_failed_report_makes_no_existence_statement(tmp_path):
    folder = _copy(tmp_path, "ok-confirmed-regtest")
    proof = json.loads((folder / "proof.json").read_text())
    txid = proof["anchor"]["transaction"]["txid"]
    proof["anchor"]["transaction"]["txid"] = ("0" if txid[0] != "0" else "1") + txid[1:]
    (folder / "proof.json").write_text(json.dumps(proof))
    got = _renderings(folder, CONFIRMED[1])
    report = got["json"]
    assert got["exit"] == 1 and report["indication"] == "FAILED"
    # The timestamp alone passed, so the contract's existence key still has its bound
    # (it is fixed by the contract); no rendering states it.
    assert report["existence"]["notAfter"] is not None
    not_after = report["existence"]["notAfter"]
    assert "notAfter" not in report["established"]
    assert "genTime" not in report["established"]
    for rendering in ("text", "html", "pdf"):
        assert EXISTENCE_WORDS + " " + not_after not in got[rendering], rendering
        assert "shows that this data existed" not in got[rendering], rendering
    assert "existence: no statement - the verdict is FAILED" in got["text"]
    assert "makes no statement about when the data existed" in got["html"]
    assert "no statement about when the data existed" in got["pdf"]


def test_failed_batch_row_has_no_date():
    failed = made_up({"anchor.transaction": (Indication.FAILED, SubIndication.HASH_FAILURE)})
    passed = made_up(sha256="cd" * 32)
    page = render_html([failed.to_dict(), passed.to_dict()])
    table = page[page.index("<th>existed no later than</th>"):]
    table = table[:table.index("</table>")]
    rows = table.split("<tr>")[1:]
    assert len(rows) == 2
    assert "2026-04-19T10:12:00Z" not in rows[0] and "FAILED" in rows[0]
    assert "2026-04-19T10:12:00Z" in rows[1]
