"""The evidence report's HTML: what it shows, that it loads nothing, that hostile
strings stay text, and that its "verify it yourself" commands really work."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import re
import shutil
import subprocess

import pytest
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from helpers.common import SCENARIOS, manifest, run_cli, scenario
from helpers.reports import PageParts, made_up, scenario_report
from provelio_verify import (
    CHECK_IDS,
    Indication,
    Policy,
    SubIndication,
    load_certificates,
    parse_bundle,
    verify,
)
from provelio_verify.evidence_report import HOW_TO_CHECK, how_to_check, render_html
from provelio_verify.evidence_report.markup import (
    COMMAND_WIDTH,
    MAX_TABLE_DEPTH,
    verdict_words,
    wrap_command,
)
from provelio_verify.evidence_report.style import CSS

P, F, U = Indication.PASSED, Indication.FAILED, Indication.INDETERMINATE
CASES = manifest()
OK = SCENARIOS / "ok-created"

#: Elements that load, run or submit something; none may appear on the page.
ACTIVE_TAGS = {"script", "link", "img", "iframe", "frame", "object", "embed", "base", "form",
               "input", "audio", "video", "source", "svg", "image", "picture", "track",
               "portal", "applet", "noscript"}
LOADING_ATTRIBUTES = {"src", "srcset", "poster", "background", "action", "formaction", "data",
                      "ping", "manifest", "style"}


def _report(name):
    """The JSON report of a scenario, run with its manifest's arguments."""
    return scenario_report(name, scenario(name)["args"])


@pytest.fixture(scope="module")
def regtest_report():
    return _report("ok-confirmed-regtest")


def _run_steps(steps, cwd, check=None):
    """Run the commands of the steps (of one check, if given) in bash, as a person would."""
    lines = [c for s in steps if check in (None, s["check"]) for c in s["commands"]]
    assert lines, f"no step for {check}"
    return subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(lines)], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def _needs(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (scripts/test installs them): the "
                    "test runs the report's commands with them")


# ------------------------------------------------------------------ what the page shows


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_scenario_shows_its_verdict_hash_and_every_check(case):
    report = _report(case["name"])
    page = PageParts(render_html(report))
    assert page.text.count(report["indication"]) >= 2  # the verdict box and the checks
    if report["subIndication"]:
        assert report["subIndication"] in page.text
    if report["subject"]["sha256"]:
        assert report["subject"]["sha256"] in page.text
    for check_id in CHECK_IDS:
        assert f"check-{check_id}" in page.ids, check_id
        assert check_id in page.text
    for check in report["checks"]:
        assert check["message"] in page.text


def test_single_report_sections(regtest_report):
    page = PageParts(render_html(regtest_report))
    text = page.text
    for section in ("subject", "certificate", "times", "checks", "warnings", "trust", "chain",
                    "policy", "verify-yourself", "environment"):
        assert section in page.ids, section
    assert verdict_words(regtest_report["indication"]) in text  # plain words
    if regtest_report["indication"] != "PASSED":
        deciding = next(c for c in regtest_report["checks"]
                        if c["indication"] == regtest_report["indication"])
        assert f"Decided by the check {deciding['id']}" in text
    cert = regtest_report["certificate"]
    for value in (cert["certificateId"], cert["publicId"], "cust_test", "ord_test",
                  regtest_report["verifiedAt"], regtest_report["bundle"]["sha256"]):
        assert value in text
    assert "This is a test-mode certificate: it is not evidence." in text
    anchor = regtest_report["trustAnchors"][0]
    assert anchor["sha256"] in text and anchor["subject"] in text
    flat = " ".join(text.split())
    for name, version in regtest_report["environment"]["packages"].items():
        assert f"{name} {version}" in flat
    assert regtest_report["environment"]["openssl"]["cryptography"] in text
    assert "genTime (as the token states)" in text
    assert regtest_report["times"]["genTime"] in text


def test_existence_and_times_are_shown():
    report = made_up().to_dict()
    report["times"] = {"genTime": "2026-04-19T10:11:58Z", "blockTime": "2026-04-19T08:00:00Z"}
    text = PageParts(render_html(report)).text
    assert "existed no later than 2026-04-19T10:12:00Z" in " ".join(text.split())
    assert "2026-04-19T10:11:58Z" in text and "2026-04-19T08:00:00Z" in text
    assert "RFC 3161 timestamp, Bitcoin anchor" in text
    assert "the evidence holds: every required check passed" in text


def test_details_are_rendered_generically():
    details = {
        "anchor.chain": {
            "sources": [{"name": "esplora https://example.org/api", "height": 840000,
                         "answer": {"hash": "00" * 32, "inBestChain": True}}],
            "unreachable": None,
            "tipHeight": 840010,
            HOW_TO_CHECK: ["bitcoin-cli getblockhash 840000",
                           "https://mempool.space/block/" + "00" * 32,
                           "javascript:alert(1)"],
        },
        "anchor.proof-of-work": {"headerHash": "0f" * 40},
    }
    report = made_up({"anchor.chain": (U, SubIndication.SOURCES_DISAGREE)}, details=details)
    html_text = render_html(report.to_dict())
    page = PageParts(html_text)
    for value in ("sources", "esplora https://example.org/api", "840000", "inBestChain",
                  "true", "unreachable", "null", "tipHeight", "840010"):
        assert value in page.text, value
    assert f'<code class="hex">{"0f" * 40}</code>' in html_text  # long hex, wrapped
    checks_part, how_part = html_text.split('id="verify-yourself"')
    assert "bitcoin-cli getblockhash 840000" not in checks_part  # not among the details
    assert "bitcoin-cli getblockhash 840000" in how_part
    assert "javascript:alert(1)" in how_part
    hrefs = page.attribute_values("href")
    assert "https://mempool.space/block/" + "00" * 32 in hrefs
    assert not [h for h in hrefs if not (h.startswith("#") or h.startswith("https://"))]


def test_deep_metadata_is_shown_as_json_text_past_the_table_depth():
    deep: dict[str, object] = {"leaf": "<b>bottom</b>"}
    for level in range(60):
        deep = {f"level{level}": deep}
    report = made_up().to_dict()
    report["certificate"]["metadata"] = deep
    html_text = render_html(report)
    assert html_text.count("<table") < 20 + MAX_TABLE_DEPTH
    assert '"leaf": "&lt;b&gt;bottom&lt;/b&gt;"' in html_text.replace("&quot;", '"')


@pytest.mark.parametrize("odd", [
    {},
    {"certificate": {"testMode": [], "metadata": "text"}, "checks": "x", "subject": [],
     "existence": 3, "times": None, "trustAnchors": {"a": 1}, "environment": [1]},
    {"indication": ["x"], "checks": [1, {"id": None, "details": [1, 2]}],
     "howToCheck": [{"commands": "not a list"}, 3], "warnings": "w"},
])
def test_a_report_of_an_odd_shape_still_renders(odd):
    """The batch code may hand over reports read back from JSON files: a page, not a
    traceback, whatever their shape."""
    assert render_html(odd).endswith("</html>\n")
    assert "Batch of 2 verifications" in render_html([odd, odd])


def test_render_html_takes_a_report_or_a_list_of_them():
    with pytest.raises(TypeError):
        render_html("report")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        render_html([made_up().to_dict(), 3])  # type: ignore[list-item]


def test_a_malformed_bundle_still_gives_a_full_page():
    report = _report("malformed-not-json")
    assert report[HOW_TO_CHECK] == []
    page = PageParts(render_html(report))
    assert "The bundle is malformed" in page.text
    assert "it makes no claim to check by hand" in page.text
    assert all(f"check-{c}" in page.ids for c in CHECK_IDS)


# ------------------------------------------------------------------ loads nothing


@pytest.mark.parametrize("name", ["ok-confirmed-regtest", "ok-created"])
def test_the_page_has_no_script_and_loads_nothing(name):
    html_text = render_html(_report(name))
    page = PageParts(html_text)
    assert not page.tags & ACTIVE_TAGS, page.tags & ACTIVE_TAGS
    for tag, attrs in page.elements:
        assert not {a for a in attrs if a.startswith("on")}, (tag, attrs)
        assert not set(attrs) & LOADING_ATTRIBUTES, (tag, attrs)
        if "href" in attrs:
            assert tag == "a", tag
    lowered = html_text.lower()
    for marker in ("<script", "url(", "@import", "src=", "@font-face", "http-equiv=\"refresh"):
        assert marker not in lowered, marker
    assert page.styles == [CSS]


def test_content_security_policy_admits_only_the_page_style():
    html_text = render_html(made_up().to_dict())
    page = PageParts(html_text)
    policies = [a["content"] for tag, a in page.elements
                if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(policies) == 1
    policy = str(policies[0])
    assert "default-src 'none'" in policy and "img-src 'none'" in policy
    style_hash = base64.b64encode(hashlib.sha256(page.styles[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{style_hash}'" in policy
    assert html_text.index("Content-Security-Policy") < html_text.index("<style>")


# ------------------------------------------------------------------ hostile strings

HOSTILE = '<img src=x onerror=alert(1)> "quoted" & \'single\' \u202eexe.pdf'


def test_hostile_strings_from_the_bundle_stay_text(tmp_path):
    bundle = json.loads((OK / "proof.json").read_text())
    cert = bundle["certificate"]
    cert["fileName"] = HOSTILE
    cert["publicId"] = "</td></tr></table><script>alert(2)</script>"
    cert["metadata"] = {HOSTILE: HOSTILE, "nested": {"<style>": "</style><b>bold</b>"}}
    bundle["<b>unknown</b>"] = 1  # an unknown key: echoed in a warning
    name = "<img src=y onerror=alert(3)>.txt"
    (tmp_path / name).write_bytes((OK / "document.txt").read_bytes())
    (tmp_path / "proof.json").write_text(json.dumps(bundle))
    report = verify(tmp_path / name, tmp_path / "proof.json",
                    policy=Policy(tsa_roots=load_certificates(OK / "roots.pem"))).to_dict()
    assert any("<b>unknown</b>" in w for w in report["warnings"])
    html_text = render_html(report)
    page = PageParts(html_text)
    assert not page.tags & ACTIVE_TAGS
    assert "b" not in page.tags
    assert all(not a.startswith("on") for _, attrs in page.elements for a in attrs)
    assert page.styles == [CSS]
    # The strings are on the page as text, with the right-to-left override made visible.
    visible = HOSTILE.replace("\u202e", "\\u202e")
    assert visible in page.text
    assert "\u202e" not in html_text
    for text in ("</td></tr></table><script>alert(2)</script>", "</style><b>bold</b>",
                 "<b>unknown</b>", "onerror=alert(3)"):
        assert text in page.text, text


# ------------------------------------------------------------------ the JSON report


def test_the_json_report_carries_what_the_page_shows(regtest_report):
    env = regtest_report["environment"]
    assert env["tool"]["version"] == regtest_report["tool"]["version"]
    for name in ("asn1crypto", "cryptography", "python-bitcoinlib", "click", "requests"):
        assert env["packages"][name] == importlib.metadata.version(name)
    assert env["openssl"]["cryptography"].startswith("OpenSSL")
    assert env["python"].split()[0].count(".") == 2
    [anchor] = regtest_report["trustAnchors"]
    [root_der] = load_certificates(SCENARIOS / "ok-confirmed-regtest" / "roots.pem")
    root = x509.load_der_x509_certificate(root_der)
    assert anchor["sha256"] == hashlib.sha256(root_der).hexdigest()
    assert anchor["subject"] == root.subject.rfc4514_string()
    assert anchor["serialNumber"] == format(root.serial_number, "x")
    assert regtest_report["bundle"]["path"] == "proof.json"
    assert regtest_report["times"]["blockTime"] == "2026-01-02T04:30:00Z"  # block 3: T0 + 30 min
    assert [s["check"] for s in regtest_report[HOW_TO_CHECK]] == [
        "file.sha256", "timestamp.token", "timestamp.chain", "anchor.merkle-path",
        "anchor.transaction", "anchor.op-return", "anchor.inclusion", "anchor.proof-of-work",
        "anchor.chain"]


def test_how_to_check_collects_the_checks_commands_in_table_order():
    details = {
        "anchor.chain": {HOW_TO_CHECK: ["bitcoin-cli getblockhash 3"]},
        "timestamp.chain": {HOW_TO_CHECK: ["openssl ts -verify -in token.der", 7, "", None]},
        "anchor.op-return": {HOW_TO_CHECK: "not a list"},
    }
    steps = how_to_check(made_up(details=details).to_dict())
    assert [(s["check"], s["commands"]) for s in steps] == [
        ("file.sha256", ["sha256sum -- document.pdf"]),
        ("timestamp.chain", ["openssl ts -verify -in token.der"]),
        ("anchor.chain", ["bitcoin-cli getblockhash 3"]),
    ]
    assert steps[0]["expect"].startswith("sha256sum prints " + "ab" * 32)


def test_a_checks_own_commands_follow_this_packages_step_for_it(regtest_report):
    for check in regtest_report["checks"]:
        if check["id"] == "anchor.merkle-path":
            check["details"][HOW_TO_CHECK] = ["# the lead's extra line"]
    bundle = parse_bundle((SCENARIOS / "ok-confirmed-regtest" / "proof.json").read_bytes())
    steps = how_to_check(regtest_report, bundle)
    merkle = [s for s in steps if s["check"] == "anchor.merkle-path"]
    assert len(merkle) == 2 and merkle[0]["commands"][0].startswith("h=")
    assert merkle[1]["commands"] == ["# the lead's extra line"]
    assert [s["check"] for s in steps].index("anchor.merkle-path") == 3  # table order


# ------------------------------------------------------------------ the commands work


@pytest.mark.parametrize("name", ["ok-confirmed-regtest", "merkle-sibling-tampered"])
def test_the_merkle_replay_gives_the_root_the_check_computed(name):
    _needs("xxd", "sha256sum")
    report = _report(name)
    proc = _run_steps(report[HOW_TO_CHECK], SCENARIOS / name, "anchor.merkle-path")
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.split()[-1]
    merkle = next(c for c in report["checks"] if c["id"] == "anchor.merkle-path")
    root = json.loads((SCENARIOS / name / "proof.json").read_text())["anchor"]["merkleRoot"]
    if merkle["indication"] == "PASSED":
        assert printed == root
    else:  # the tampered path: the person sees the same wrong root the check reported
        assert printed == merkle["details"]["computedRoot"] != root


@pytest.mark.parametrize("name", ["ok-created", "wrong-file", "wrong-size"])
def test_sha256sum_and_stat_show_what_file_sha256_compared(name):
    _needs("sha256sum", "stat")
    report = _report(name)
    proc = _run_steps(report[HOW_TO_CHECK], SCENARIOS / name, "file.sha256")
    assert proc.returncode == 0, proc.stderr
    digest, size = proc.stdout.split()[0], int(proc.stdout.split()[-1])
    assert digest == report["subject"]["sha256"]
    assert size == report["subject"]["size"]
    cert = report["certificate"]
    matches = (digest == cert["sha256Hash"] and size == cert["fileSize"])
    assert matches == (name == "ok-created")


def test_the_token_step_shows_the_token_with_openssl(tmp_path):
    _needs("jq", "base64", "openssl")
    shutil.copytree(OK, tmp_path / "case")
    report = _report("ok-created")
    proc = _run_steps(report[HOW_TO_CHECK], tmp_path / "case", "timestamp.token")
    assert proc.returncode == 0, proc.stderr
    assert "Time stamp: " in proc.stdout
    digest = report["certificate"]["sha256Hash"]
    dump = "".join(re.findall(r"^\s+\d{4} - (.{47})", proc.stdout, re.M)).replace("-", " ")
    assert dump.replace(" ", "") == digest


def test_the_token_step_reads_a_timestamp_response_too(tmp_path):
    """A TimeStampResp (not a bare token) needs no -token_in; openssl then shows the
    status too."""
    _needs("jq", "base64", "openssl")
    shutil.copytree(OK, tmp_path / "case")
    proof = tmp_path / "case" / "proof.json"
    bundle = json.loads(proof.read_text())
    token = cms.ContentInfo.load(base64.b64decode(bundle["timestamp"]["token"]))
    reply = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})
    bundle["timestamp"]["token"] = base64.b64encode(reply.dump()).decode()
    proof.write_text(json.dumps(bundle))
    report = verify(tmp_path / "case" / "document.txt", proof).to_dict()
    [step] = [s for s in report[HOW_TO_CHECK] if s["check"] == "timestamp.token"]
    assert "-token_in" not in step["commands"][-1]
    proc = _run_steps([step], tmp_path / "case")
    assert proc.returncode == 0, proc.stderr
    assert "Status: Granted." in proc.stdout and "Time stamp: " in proc.stdout


def test_the_extra_certs_step_writes_a_pem_file_openssl_reads(tmp_path):
    _needs("jq", "openssl", "fold")
    shutil.copytree(OK, tmp_path / "case")
    proof = tmp_path / "case" / "proof.json"
    bundle = json.loads(proof.read_text())
    token = cms.ContentInfo.load(base64.b64decode(bundle["timestamp"]["token"]))
    tsa_cert = token["content"]["certificates"][0].chosen.dump()
    ders = [*load_certificates(OK / "roots.pem"), tsa_cert]
    bundle["timestamp"]["extraCerts"] = [base64.b64encode(d).decode() for d in ders]
    proof.write_text(json.dumps(bundle))
    report = verify(tmp_path / "case" / "document.txt", proof).to_dict()
    proc = _run_steps(report[HOW_TO_CHECK], tmp_path / "case", "timestamp.token")
    assert proc.returncode == 0, proc.stderr
    pem = (tmp_path / "case" / "extra-certs.pem").read_bytes()
    written = [x509.load_pem_x509_certificate(b"-----BEGIN" + block)
               for block in pem.split(b"-----BEGIN")[1:]]
    assert [c.public_bytes(Encoding.DER) for c in written] == ders
    first = subprocess.run(["openssl", "x509", "-in", "extra-certs.pem", "-noout",
                            "-fingerprint", "-sha256"], cwd=tmp_path / "case",
                           capture_output=True, text=True, check=True).stdout
    assert first.split("=")[1].strip().replace(":", "").lower() == \
        hashlib.sha256(ders[0]).hexdigest()


def test_a_hostile_file_name_is_quoted_for_the_shell(tmp_path):
    _needs("sha256sum")
    name = "-a b $(touch pwned) `touch pwned2` ';' \"q\".txt"
    (tmp_path / name).write_bytes(b"hello\n")
    digest = hashlib.sha256(b"hello\n").hexdigest()
    report = made_up(path=name, sha256=digest).to_dict()
    proc = _run_steps(how_to_check(report), tmp_path, "file.sha256")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == digest
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


# ------------------------------------------------------------------ a batch


def _batch():
    return [
        made_up(path="a.pdf").to_dict(),
        made_up({"file.sha256": (F, SubIndication.HASH_FAILURE)}, path="b.pdf").to_dict(),
        made_up({"timestamp.chain": (U, SubIndication.NO_CERTIFICATE_CHAIN_FOUND)},
                path="c.pdf").to_dict(),
        made_up({"file.sha256": (F, SubIndication.HASH_FAILURE),
                 "anchor.chain": (U, SubIndication.TRY_LATER)}, path="d.pdf").to_dict(),
    ]


def _rows(html_text, section):
    part = html_text.split(f'id="{section}"')[1].split("</section>")[0]
    return [" ".join(" ".join(PageParts(cell).text.split())
                     for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S))
            for row in re.findall(r"<tr>.*?</tr>", part, re.S)]


def test_batch_counts_per_indication_and_per_failing_check():
    html_text = render_html(_batch())
    rows = _rows(html_text, "summary")
    assert "PASSED 1" in rows and "FAILED 2" in rows and "INDETERMINATE 1" in rows
    assert "total 4" in rows
    assert "file.sha256 FAILED HASH_FAILURE 2" in rows
    assert "timestamp.chain INDETERMINATE NO_CERTIFICATE_CHAIN_FOUND 1" in rows
    assert "anchor.chain INDETERMINATE TRY_LATER 1" in rows
    text = " ".join(PageParts(html_text).text.split())
    assert "Full details follow for 3 items that did not pass." in text
    assert "Items that passed (1 item) are one row each" in text


def test_batch_gives_full_details_only_for_items_that_did_not_pass():
    page = PageParts(render_html(_batch()))
    assert "item-1" not in page.ids
    for number in (2, 3, 4):
        assert f"item-{number}" in page.ids
        assert f"item-{number}-check-file.sha256" in page.ids
    assert "a.pdf" in page.text  # the passed item still has its row
    full = PageParts(render_html(_batch(), passed_in_full=True))
    assert "item-1" in full.ids and "item-1-check-anchor.chain" in full.ids


def test_batch_ids_are_unique_and_every_link_has_a_target():
    page = PageParts(render_html(_batch(), passed_in_full=True))
    assert len(page.ids) == len(set(page.ids))
    for href in page.attribute_values("href"):
        if href.startswith("#"):
            assert href[1:] in page.ids, href


def test_a_batch_of_thousands_stays_one_row_per_passed_item():
    reports = [made_up(path=f"file-{i}.pdf").to_dict() for i in range(3000)]
    reports += _batch()[1:]
    html_text = render_html(reports)
    assert html_text.count('class="item"') == 3
    single = len(render_html(reports[0]))
    assert len(html_text) < 3000 * 600 + 3 * single, len(html_text)


# ------------------------------------------------------------------ batches that scale (item 6)

NOT_PASSED_CASES = ("merkle-sibling-tampered", "tsa-wrong-imprint", "require-anchor-unanchored")


def _copies(report, count, start=0):
    """``count`` copies of a real report under distinct file names and digests."""
    out = []
    for i in range(start, start + count):
        item = json.loads(json.dumps(report))
        item["subject"]["path"] = f"archive/2026/contract-{i:05d}.pdf"
        item["subject"]["sha256"] = hashlib.sha256(b"item %d" % i).hexdigest()
        out.append(item)
    return out


@pytest.fixture(scope="module")
def big_batch(regtest_report):
    """10,000 items: real confirmed reports, and every 100th one of the three scenarios
    that did not pass (1%)."""
    others = [_report(name) for name in NOT_PASSED_CASES]
    reports = _copies(regtest_report, 10_000)
    for n, i in enumerate(range(99, 10_000, 100)):
        reports[i] = _copies(others[n % 3], 1, start=i)[0]
    return reports


def test_a_batch_of_ten_thousand_items_is_at_most_ten_megabytes(big_batch, regtest_report):
    page = render_html(big_batch)
    size = len(page.encode("utf-8"))
    assert size <= 10_000_000, size
    assert page.count('class="item"') == 100  # the items that did not pass, in full
    # Each PASSED item costs one row: a bound per item, measured on passed items alone.
    passed = render_html(_copies(regtest_report, 2_000))
    empty = render_html(_copies(regtest_report, 1))
    per_item = (len(passed.encode()) - len(empty.encode())) / 1_999
    assert per_item <= 400, per_item


def test_failed_items_get_full_details_and_passed_ones_a_row(big_batch):
    reports = big_batch[:300]
    page = render_html(reports)
    parts = PageParts(page)
    rows = _rows(page, "items")
    for number, report in enumerate(reports, start=1):
        row = next(r for r in rows if r.startswith(f"{number} {report['subject']['path']}"))
        assert report["subject"]["sha256"] in row and report["indication"] in row
        if report["indication"] == "PASSED":
            assert f"item-{number}" not in parts.ids
            assert report["existence"]["notAfter"] in row
            continue
        for ident in ("subject", "checks", "verify-yourself", "details", "chain"):
            assert f"item-{number}-{ident}" in parts.ids, (number, ident)
        item = page.split(f'id="item-{number}"')[1].split('<section class="item"')[0]
        assert report["subject"]["path"] in item
        assert deciding_check_id(report) in row
        if report["indication"] == "FAILED":  # a FAILED row states no date (item 4)
            assert not report["existence"]["notAfter"] or report["existence"]["notAfter"] not in row
            assert "makes no statement about when the data existed" in item


def deciding_check_id(report):
    return next(c["id"] for c in report["checks"] if c["indication"] == report["indication"]
                and (c["indication"] == "FAILED" or c.get("required", True)))


def test_a_batch_shows_what_items_share_once(big_batch):
    """The chain answers and the details an earlier item showed are named, not repeated:
    the second item in full costs far less than the first."""
    failing = [r for r in big_batch if r["indication"] != "PASSED"][:6]
    one, two = render_html(failing[:3]), render_html(failing)
    # 0.68 here; 0.83 when no whole block is shared (only objects inside details)
    assert len(two) - len(one) < 0.75 * len(one), (len(one), len(two))
    assert "The same as for" in two and "The same as " in two
    parts = PageParts(two)
    for href in parts.attribute_values("href"):
        if href.startswith("#"):
            assert href[1:] in parts.ids, href


def test_the_option_for_all_gives_every_item_in_full(big_batch):
    reports = big_batch[:120]
    page = render_html(reports, passed_in_full=True)
    assert page.count('class="item"') == 120
    assert "Full details follow for 120 items (every item)." in " ".join(
        PageParts(page).text.split())
    assert render_html(reports).count('class="item"') == 1


def test_the_command_line_option_for_all(tmp_path):
    """--batch with --html: full sections for the items that did not pass, and with
    --full-details for every item."""
    manifest = tmp_path / "items.jsonl"
    rows = [{"file": str(SCENARIOS / name / "document.txt"),
             "proof": str(SCENARIOS / name / "proof.json")}
            for name in ("ok-created", "tsa-wrong-imprint", "ok-created")]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pages = {}
    for extra in ([], ["--full-details"]):
        out = tmp_path / f"batch{len(extra)}.html"
        proc = run_cli(["--batch", str(manifest), "--html", str(out), "--tsa-roots",
                        str(OK / "roots.pem"), *extra], cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        pages[bool(extra)] = PageParts(out.read_text())
    assert [i for i in ("item-1", "item-2", "item-3") if i in pages[False].ids] == ["item-2"]
    assert all(i in pages[True].ids for i in ("item-1", "item-2", "item-3"))


def test_single_page_and_batch_agree_on_an_items_sections():
    report = _batch()[1]
    single = PageParts(render_html(report))
    batch = PageParts(render_html([report]))
    for check_id in CHECK_IDS:
        assert f"check-{check_id}" in single.ids and f"item-1-check-{check_id}" in batch.ids
    assert "HASH_FAILURE" in batch.text


def test_the_steps_say_they_run_from_any_folder():
    """The commands name the file and the bundle by absolute paths (tests/test_howto_*.py
    run them from another folder); the page says so, and which names are relative."""
    page = PageParts(render_html(made_up().to_dict()))
    assert ("They run from any folder: the file and the bundle are named by absolute "
            "paths; token.der and extra-certs.pem are written to the folder you run them "
            "in; ROOTS.pem stands for the roots you trust.") in page.text
    assert "folder where the verification was run" not in page.text



def test_the_header_hash_command_prints_the_block_hash():
    """anchor.proof-of-work's own command: the header's double SHA-256, byte-reversed."""
    _needs("jq", "xxd", "sha256sum", "fold", "tac")
    name = "ok-confirmed-regtest"
    report = _report(name)
    step = next(s for s in report[HOW_TO_CHECK] if s["check"] == "anchor.proof-of-work")
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", step["commands"][0]],
                          cwd=SCENARIOS / name, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    block = json.loads((SCENARIOS / name / "proof.json").read_text())["anchor"]["block"]
    assert proc.stdout.strip() == block["hash"]


@pytest.mark.parametrize("name, verdict", [("ok-confirmed-regtest", "Verification: OK"),
                                           ("tsa-wrong-imprint", "FAILED")])
def test_the_openssl_command_rechecks_the_token_at_gen_time(name, verdict, tmp_path):
    _needs("jq", "openssl")
    report = _report(name)
    step = next((s for s in report[HOW_TO_CHECK] if s["check"] == "timestamp.chain"), None)
    assert step is not None, [s["check"] for s in report[HOW_TO_CHECK]]
    case = tmp_path / "case"  # the commands write token.der: never into the fixtures
    shutil.copytree(SCENARIOS / name, case)
    script = "\n".join(c.replace("ROOTS.pem", "roots.pem") for c in step["commands"])
    proc = subprocess.run(["bash", "-c", script], cwd=case,
                          capture_output=True, text=True, timeout=60)
    assert verdict in proc.stdout + proc.stderr


# ------------------------------------------------------------------ commands, wrapped (item 5)

#: What follows " \" and a newline on a continued command line.
CONTINUED = re.compile(r" \\\n(?:    |#   )")
LONG_COMMANDS = [
    "openssl ts -verify -in token.der -token_in -data 'a file with spaces.txt' -CAfile "
    "'my roots.pem' -attime 1767323045 && echo 'it said: Verification: OK, as it must'",
    'printf %s "$(jq -r .anchor.block.header proof.json)" | xxd -r -p | sha256sum | '
    "xxd -r -p -l 32 | sha256sum | cut -c1-64 | fold -w2 | tac | tr -d '\\n'; echo",
    "x=$(printf '%s %s' \"quoted words that must stay together in one argument\" b | "
    "tr ' ' '_')  # a trailing comment that is long enough to need a line of its own too",
    "# " + " ".join(["a comment made of many words"] * 8),
    "echo " + "f" * 120 + " tail",  # one word longer than the line: kept whole
    "jq -r '.timestamp.extraCerts[]' proof.json | while read -r c; do printf -- "
    "'-----BEGIN CERTIFICATE-----\\n%s\\n-----END CERTIFICATE-----\\n' "
    '"$(printf %s "$c" | fold -w 64)"; done > extra-certs.pem',
]


def _all_commands():
    commands = list(LONG_COMMANDS)
    for name in ("ok-confirmed-regtest", "ok-created", "mainnet-481815-offline",
                 "real-identrust", "tsa-wrong-imprint"):
        commands += [c for s in _report(name)[HOW_TO_CHECK] for c in s["commands"]]
    return commands


def _shell_form(script: str) -> str:
    """What bash makes of ``script`` (comments dropped, words normalised): the body of a
    function holding it, as ``declare -f`` prints it."""
    proc = subprocess.run(["bash", "-c", f"f() {{\n{script}\n:\n}}\ndeclare -f f"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_wrapped_command_is_the_same_command_to_the_shell():
    wrapped_some = False
    for command in _all_commands():
        lines = wrap_command(command)
        wrapped_some |= len(lines) > 1
        for line in lines:  # short enough, unless one word alone is longer
            assert len(line) <= COMMAND_WIDTH or " " not in line.strip(" \\#"), line
        text = "\n".join(lines)
        assert " ".join(CONTINUED.sub(" ", text).split()) == " ".join(command.split())
        assert all(line.endswith(" \\") for line in lines[:-1]), lines
        if not command.startswith("#") and not command.startswith("http"):
            assert _shell_form(text) == _shell_form(command), text
    assert wrapped_some


def test_a_wrapped_command_keeps_quoted_words_whole():
    lines = wrap_command(LONG_COMMANDS[2])
    assert any('"quoted words that must stay together in one argument"' in line
               for line in lines), lines
    assert lines[-1].lstrip().startswith("# a trailing comment")  # a comment line of its own
    assert wrap_command("echo " + "f" * 120 + " tail") == [  # the long word alone, whole
        "echo \\", "    " + "f" * 120 + " \\", "    tail"]


def test_the_page_prints_commands_wrapped_and_the_browser_may_not_wrap_them(regtest_report):
    html_text = render_html(regtest_report)
    blocks = re.findall(r'<pre class="commands">(.*?)</pre>', html_text, re.S)
    assert blocks
    text = "\n".join(PageParts(b).text for b in blocks)
    assert " \\\n    " in text
    for line in text.splitlines():
        assert len(line) <= COMMAND_WIDTH or " " not in line.strip(" \\#"), line
    joined = CONTINUED.sub(" ", text)
    for command in (c for s in regtest_report[HOW_TO_CHECK] for c in s["commands"]):
        assert " ".join(command.split()) in " ".join(joined.split()), command
    rule = re.search(r"pre\.commands \{([^}]*)\}", CSS)
    assert rule and "white-space: pre;" in rule.group(1) and "word-break: normal" in rule.group(1)
    assert "break-all" not in rule.group(1) and "anywhere" not in rule.group(1)


def test_commands_copied_from_the_page_run_as_printed(regtest_report, tmp_path):
    """The Merkle step as the page shows it (continuation lines and all), pasted into a
    shell, prints the merkleRoot."""
    _needs("xxd", "sha256sum")
    html_text = render_html(regtest_report)
    step = html_text.split("(<code>anchor.merkle-path</code>)")[1]
    block = re.search(r'<pre class="commands">(.*?)</pre>', step, re.S)
    assert block is not None
    script = PageParts(block.group(1)).text
    assert " \\\n" in script
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    bundle = json.loads((SCENARIOS / "ok-confirmed-regtest" / "proof.json").read_text())
    assert proc.stdout.split()[-1] == bundle["anchor"]["merkleRoot"], proc.stderr


def test_the_appendix_holds_the_details_and_the_answers_once(regtest_report):
    html_text = render_html(regtest_report)
    page = PageParts(html_text)
    for ident in ("verify-yourself", "appendix", "details", "chain", "policy", "environment"):
        assert ident in page.ids, ident
    assert html_text.index('id="verify-yourself"') < html_text.index('id="appendix"') \
        < html_text.index('id="chain"')
    chain = next(c for c in regtest_report["checks"] if c["id"] == "anchor.chain")
    [source] = chain["details"]["sources"]
    for answer in source["answers"]:
        value = answer["answer"]
        if isinstance(value, str) and len(value) == 64:
            assert html_text.count(value) >= 1
    header = next(a["answer"] for a in source["answers"] if a["question"] == "header")
    assert html_text.count(header[:16] + "…" + header[-16:]) == 1
    # Each check that passed has its details once, in the appendix, linked from its row.
    for check in regtest_report["checks"]:
        if check["indication"] == "PASSED":
            assert f'href="#details-{check["id"]}"' in html_text, check["id"]
            assert page.ids.count(f'details-{check["id"]}') == 1
