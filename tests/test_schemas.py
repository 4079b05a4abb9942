"""The JSON Schemas in schemas/ against what the code reads and writes (issue 10).

- Every fixture bundle (tests/fixtures/scenarios, examples, tests/data) and every
  malformation of tests/test_bundle.py: the schema and the strict reader agree on which
  are malformed, except where the schema cannot see the fault (SCHEMA_BLIND, each
  listed in docs/bundle-format.md): there the reader alone refuses it. The strict
  reader stays the judge.
- Every report the tool produces over the scenario manifest: --json of each scenario,
  the --jsonl lines of a batch over all of them, a capsule's report.json and its
  re-verification, and library reports, all valid against the report schema.
- The report schema is not vacuous: a wrong type, an unknown top-level key or a
  broken rule fails it. Its enums are the code's own vocabulary, and
  docs/report-format.md names every key, check id and sub-indication it holds.

Runs in-process (cli.main, not a child process) to stay fast.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema  # the test extra
import pytest
from test_bundle import MALFORMED, mutated

from helpers.batch_archive import build_archive
from helpers.common import REPO, SCENARIOS, manifest
from provelio_verify import Digest, Policy, load_certificates, parse_bundle, verify
from provelio_verify.bundle import BundleFormatError
from provelio_verify.cli import command as cli
from provelio_verify.outcome import CHECK_IDS, SubIndication
from provelio_verify.verifier.assemble import CLAIM_FIELDS

SCHEMAS = REPO / "schemas"
BUNDLE_SCHEMA = json.loads((SCHEMAS / "proof-bundle-v1.schema.json").read_text())
REPORT_SCHEMA = json.loads((SCHEMAS / "report-v1.schema.json").read_text())
BUNDLE = jsonschema.Draft202012Validator(BUNDLE_SCHEMA)
REPORT = jsonschema.Draft202012Validator(REPORT_SCHEMA)
CASES = manifest()

#: Malformations of tests/test_bundle.py that parse as JSON yet the schema cannot see
#: (docs/bundle-format.md, "What only the reader sees"): the reader refuses them alone.
SCHEMA_BLIND = {
    "duplicate-key-nested": "a duplicated key: a JSON parser keeps one of the two values",
    "version-float": "1.0 is the integer 1 to JSON Schema",
    "lone-surrogate": "a lone surrogate is a valid JSON string escape",
}


def _errors(validator: Any, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}"
            for e in validator.iter_errors(instance)]


def _strict_json(data: bytes) -> Any:
    """JSON as a validator would get it: UTF-8, no NaN/Infinity (Python accepts them)."""
    def refuse(token: str) -> Any:
        raise ValueError(f"{token} is not JSON")
    return json.loads(data.decode("utf-8"), parse_constant=refuse)


def _reader_accepts(data: bytes) -> bool:
    try:
        parse_bundle(data)
    except BundleFormatError:
        return False
    return True


def _schema_accepts(data: bytes) -> bool:
    try:
        document = _strict_json(data)
    except ValueError:  # not JSON at all: no schema applies, it is malformed
        return False
    return not _errors(BUNDLE, document)


# --------------------------------------------------------------------------- the schemas


@pytest.mark.parametrize("schema", [BUNDLE_SCHEMA, REPORT_SCHEMA], ids=["bundle", "report"])
def test_schemas_are_valid_draft_2020_12(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


# --------------------------------------------------------------------------- bundles


def _fixture_bundles() -> list[Path]:
    found = set(SCENARIOS.glob("*/proof.json")) | set((REPO / "examples").glob("*/proof.json"))
    for path in (REPO / "tests" / "data").rglob("*.json"):
        if b'"provelio-proof"' in path.read_bytes()[:4096]:
            found.add(path)
    return sorted(found)


FIXTURE_BUNDLES = _fixture_bundles()


def test_every_scenario_and_example_has_a_bundle_here():
    names = {p.parent.name for p in FIXTURE_BUNDLES if p.parent.parent == SCENARIOS}
    assert names == {c["name"] for c in CASES}
    assert {p.parent.name for p in FIXTURE_BUNDLES if p.parent.parent.name == "examples"} \
        == {"ok-created", "ok-confirmed-regtest"}


@pytest.mark.parametrize("path", FIXTURE_BUNDLES,
                         ids=[str(p.relative_to(REPO)) for p in FIXTURE_BUNDLES])
def test_fixture_bundle_schema_and_reader_agree(path):
    data = path.read_bytes()
    reader = _reader_accepts(data)
    schema = _schema_accepts(data)
    detail = _errors(BUNDLE, _strict_json(data)) if reader and not schema else ""
    assert schema == reader, (path, "reader accepts" if reader else "reader refuses", detail)


def test_fixture_bundles_include_the_malformed_scenarios():
    """Both sides of the agreement are exercised by the fixtures themselves."""
    refused = {p.parent.name for p in FIXTURE_BUNDLES if not _reader_accepts(p.read_bytes())}
    assert {"malformed-not-json", "malformed-confirmed-without-block"} <= refused
    assert len(FIXTURE_BUNDLES) - len(refused) >= 100


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_bundle_is_refused_by_the_schema_unless_it_cannot_see_it(case):
    name, data, _, _ = case
    assert not _reader_accepts(data)  # the judge
    if name in SCHEMA_BLIND:
        assert _schema_accepts(data), f"{name} is listed as invisible to the schema"
    else:
        assert not _schema_accepts(data), f"the schema accepts the malformed bundle {name}"


def test_schema_blind_cases_are_documented():
    text = (REPO / "docs" / "bundle-format.md").read_text()
    section = text.split("## What only the reader sees", 1)[1].split("\n## ", 1)[0]
    for words in ("duplicated key", "1.0", "surrogate", "16 MiB", "nesting", "NaN"):
        assert words in section, words


def _doc(**changes: Any) -> dict[str, Any]:
    doc = json.loads((SCENARIOS / "ok-confirmed-regtest" / "proof.json").read_text())
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = doc
        for part in parents:
            target = target[part]
        if value is _DEL:
            del target[last]
        else:
            target[last] = value
    return doc


_DEL = object()

VALID_VARIANTS = {
    "unknown-keys": _doc(future={"x": 1}, anchor__block__futureField=1),
    "uppercase-hex": _doc(certificate__sha256Hash=_doc()["certificate"]["sha256Hash"].upper()),
    "created-null-anchor": _doc(certificate__status="created", anchor=None),
    "created-no-anchor": _doc(certificate__status="created", anchor=_DEL),
    "anchoring-without-block": _doc(certificate__status="anchoring", anchor__block=_DEL),
    "anchoring-root-only": _doc(certificate__status="anchoring", anchor__block=_DEL,
                                anchor__transaction=_DEL),
    "empty-token": _doc(timestamp__token=""),
    "block-without-header-group": _doc(anchor__block={"hash": "ab" * 32, "height": 3}),
    "no-optional-certificate-fields": _doc(certificate={
        "sha256Hash": "ab" * 32, "status": "confirmed", "testMode": True}),
}

INVALID_VARIANTS = {
    "tx-hex-trailing-newline": _doc(anchor__transaction__hex="00\n"),
    "token-trailing-newline": _doc(timestamp__token="YWJjZA==\n"),
    "tx-hex-empty": _doc(anchor__transaction__hex=""),
    "anchoring-block-without-transaction": _doc(certificate__status="anchoring",
                                                anchor__transaction=_DEL),
    "path-without-root": _doc(certificate__status="anchoring", anchor__merkleRoot=_DEL,
                              anchor__transaction=_DEL, anchor__block=_DEL),
    "network-missing": _doc(anchor__network=_DEL),
    "null-extra-certs": _doc(timestamp__extraCerts=None),
    "status-null": _doc(certificate__status=None),
    "testmode-one": _doc(certificate__testMode=1),
    "height-negative": _doc(anchor__block__height=-1),
    "output-index-string": _doc(anchor__transaction__outputIndex="0"),
}


@pytest.mark.parametrize("name", sorted(VALID_VARIANTS))
def test_valid_variant_accepted_by_both(name):
    data = json.dumps(VALID_VARIANTS[name]).encode()
    assert _reader_accepts(data), name
    assert _schema_accepts(data), _errors(BUNDLE, VALID_VARIANTS[name])


@pytest.mark.parametrize("name", sorted(INVALID_VARIANTS))
def test_invalid_variant_refused_by_both(name):
    data = json.dumps(INVALID_VARIANTS[name]).encode()
    assert not _reader_accepts(data), name
    assert not _schema_accepts(data), name


def test_unknown_keys_stay_open_in_the_bundle_schema():
    """Contract section 2: unknown keys are ignored with a warning, so the bundle schema
    leaves additionalProperties open everywhere."""
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            assert node.get("additionalProperties", True) is not False, node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(BUNDLE_SCHEMA)
    bundle = parse_bundle(mutated("anchor.block.futureField", 1))
    assert "unknown key anchor.block.futureField ignored" in bundle.warnings


# --------------------------------------------------------------------------- reports


def _run_cli(args: list[str], cwd: Path, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("NO_COLOR", "1")
    capsys.readouterr()
    with pytest.raises(SystemExit) as caught:
        cli.main(args)
    out = capsys.readouterr()
    assert "Traceback" not in out.err, out.err
    return int(caught.value.code or 0), out.out


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_scenario_report_matches_the_schema(case, monkeypatch, capsys):
    code, out = _run_cli([*case["args"], "--json"], SCENARIOS / case["name"], monkeypatch,
                         capsys)
    assert code == case["expect"]["exit"]
    report = json.loads(out)
    assert _errors(REPORT, report) == []
    assert report["indication"] == case["expect"]["indication"]


def test_batch_jsonl_lines_match_the_schema(tmp_path, monkeypatch, capsys):
    """One item per scenario, plus a file without its proof and a proof without its
    file: every line a report, each with its item."""
    records = build_archive(tmp_path, len(CASES) + 2)
    code, _ = _run_cli(["--batch", "archive", "--tsa-roots", "roots.pem", "--headers",
                        "headers.bin", "--allow-test-mode", "--jobs", "1", "--jsonl",
                        "reports.jsonl", "-q"], tmp_path, monkeypatch, capsys)
    assert code == 1  # the archive holds FAILED items
    lines = (tmp_path / "reports.jsonl").read_text().splitlines()
    assert len(lines) == len(records)
    names = set()
    for line in lines:
        report = json.loads(line)
        assert _errors(REPORT, report) == [], report["item"]
        names.add(report["item"]["name"])
    assert names == {r["name"] for r in records}
    kinds = {r["kind"] for r in records}
    assert {"<missing-file>", "<missing-proof>"} <= kinds


def test_capsule_reports_match_the_schema(tmp_path, monkeypatch, capsys):
    example = REPO / "examples" / "ok-confirmed-regtest"
    work = tmp_path / "work"
    shutil.copytree(example, work)
    code, _ = _run_cli(["document.txt", "proof.json", "--tsa-roots", "roots.pem",
                        "--allow-test-mode", "--headers", "headers.bin", "--save-evidence",
                        str(tmp_path / "capsule"), "-q"], work, monkeypatch, capsys)
    assert code == 0
    saved = json.loads((tmp_path / "capsule" / "report.json").read_text())
    assert _errors(REPORT, saved) == []
    code, out = _run_cli(["--evidence", str(tmp_path / "capsule"), "--tsa-roots",
                          "roots.pem", "--allow-test-mode", "--json"], work, monkeypatch,
                         capsys)
    assert code == 0
    assert _errors(REPORT, json.loads(out)) == []


def test_library_reports_match_the_schema():
    """Reports from the library: a stream and a digest as subject, bytes as bundle."""
    ok = SCENARIOS / "ok-created"
    policy = Policy(tsa_roots=load_certificates(str(ok / "roots.pem")))
    bundle = (ok / "proof.json").read_bytes()
    digest = json.loads(bundle)["certificate"]["sha256Hash"]
    reports = [
        verify(io.BytesIO((ok / "document.txt").read_bytes()), bundle, policy=policy),
        verify(Digest(digest), bundle, policy=policy),
        verify(Digest(digest), b"{", policy=policy),
    ]
    for report in reports:
        data = report.to_dict()
        assert _errors(REPORT, data) == [], data["subject"]
    assert [r.indication.value for r in reports] == ["PASSED", "PASSED", "FAILED"]


# --------------------------------------------------------------------------- not vacuous


@pytest.fixture(scope="module")
def confirmed_report() -> dict[str, Any]:
    example = SCENARIOS / "ok-confirmed-regtest"
    from provelio_verify.chain import HeadersFileSource

    policy = Policy(tsa_roots=load_certificates(str(example / "roots.pem")),
                    allow_test_mode=True)
    report = verify(str(example / "document.txt"), str(example / "proof.json"), policy=policy,
                    sources=[HeadersFileSource(str(example / "headers.bin"))]).to_dict()
    assert report["indication"] == "PASSED"
    assert _errors(REPORT, report) == []
    return report


def _broken(report: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(report)
    *parents, last = path.split(".")
    target: Any = doc
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    elif value is _DEL:
        del target[last]
    else:
        target[last] = value
    return doc


BROKEN_REPORTS = [
    ("indication-word", "indication", "OK"),
    ("report-version-string", "reportVersion", "1"),
    ("unknown-top-level-key", "surprise", True),
    ("fixed-key-missing", "existence", _DEL),
    ("subject-size-string", "subject.size", "3610"),
    ("subject-sha256-short", "subject.sha256", "ab"),
    ("not-after-with-offset", "existence.notAfter", "2026-01-02T04:04:06+01:00"),
    ("evidence-unknown", "existence.evidence", ["rfc3161", "hearsay"]),
    ("check-id-unknown", "checks.0.id", "bundle.vibes"),
    ("check-required-string", "checks.0.required", "yes"),
    ("check-details-array", "checks.0.details", []),
    ("passed-with-sub-indication", "subIndication", "HASH_FAILURE"),
    ("check-passed-with-sub-indication", "checks.2.subIndication", "HASH_FAILURE"),
    ("sub-indication-unknown", "checks.9.subIndication", "MAYBE_LATER"),
    ("how-to-check-not-strings", "checks.15.details.howToCheck", [1, 2]),
    ("warnings-not-strings", "warnings", [{"text": "x"}]),
    ("tool-name", "tool.name", "other-verifier"),
    ("policy-key-unknown", "policy.trustEveryone", True),
    ("not-shown-id-unknown", "notShown.0.id", "everything-is-fine"),
    ("claim-unknown", "claims.signedBy", "Alice"),
    ("established-without-checks", "established.sha256.establishedBy", []),
    ("certificate-status-unknown", "certificate.status", "done"),
    ("trust-anchor-fingerprint-upper", "trustAnchors.0.sha256", "AB" * 32),
]


@pytest.mark.parametrize("case", BROKEN_REPORTS, ids=[c[0] for c in BROKEN_REPORTS])
def test_a_broken_report_fails_the_schema(case, confirmed_report):
    _, path, value = case
    assert _errors(REPORT, _broken(confirmed_report, path, value)) != []


def test_failed_report_with_an_existence_statement_fails_the_schema(confirmed_report):
    failed = _broken(confirmed_report, "indication", "FAILED")
    failed["subIndication"] = "HASH_FAILURE"
    assert "genTime" in failed["established"]
    assert _errors(REPORT, failed) != []
    for key in ("genTime", "blockTime", "notAfter"):
        failed["established"].pop(key, None)
    assert _errors(REPORT, failed) == []


def test_the_report_schema_is_closed_at_the_top_level():
    assert REPORT_SCHEMA["additionalProperties"] is False
    for name in ("tool", "subject", "existence", "policy", "bundle", "times"):
        node = REPORT_SCHEMA["properties"][name]
        node = REPORT_SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]] if "$ref" in node \
            else node
        assert node["additionalProperties"] is False, name


# --------------------------------------------------------------------------- vocabulary


def test_schema_enums_are_the_codes_vocabulary():
    defs = REPORT_SCHEMA["$defs"]
    assert defs["checkId"]["enum"] == list(CHECK_IDS)
    assert defs["subIndication"]["enum"] == [s.value for s in SubIndication]
    assert set(defs["claims"]["properties"]) == set(CLAIM_FIELDS)


def test_report_format_doc_names_every_key_check_and_sub_indication():
    text = (REPO / "docs" / "report-format.md").read_text()
    names = [*REPORT_SCHEMA["properties"], *CHECK_IDS, *(s.value for s in SubIndication),
             *REPORT_SCHEMA["$defs"]["policy"]["properties"],
             *REPORT_SCHEMA["$defs"]["batchItem"]["properties"],
             *REPORT_SCHEMA["$defs"]["notShownEntry"]["properties"]["id"]["enum"],
             *REPORT_SCHEMA["$defs"]["established"]["properties"]]
    missing = [n for n in names if f"`{n}`" not in text]
    assert missing == []


def test_bundle_format_doc_names_every_field():
    text = (REPO / "docs" / "bundle-format.md").read_text()
    fields: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            fields.extend(node.get("properties", {}))
            for value in node.values():
                collect(value)
    collect(BUNDLE_SCHEMA)
    missing = sorted({f for f in fields if f"`{f}`" not in text})
    assert missing == []



def test_every_contract_section_cited_has_its_reference_here():
    """Docs and docstrings cite "contract section N" (or "contract §N"): each N is a
    section heading of docs/bundle-format.md or docs/report-format.md, which are the
    contract in this repository."""
    import re

    headings = ""
    for name in ("bundle-format.md", "report-format.md"):
        headings += "\n".join(line for line in (REPO / "docs" / name).read_text().splitlines()
                              if line.startswith("#"))
    cited: set[str] = set()
    files = [*(REPO / "docs").glob("*.md"), *(REPO / "src").rglob("*.py"), REPO / "README.md"]
    for path in files:
        text = path.read_text()
        cited.update(re.findall(r"[Cc]ontract(?:'s)? (?:section |§ ?)(\d+)", text))
    assert cited, "no citation found: the pattern is wrong"
    missing = sorted(n for n in cited if f"Contract section {n}" not in headings)
    assert missing == []


def test_links_of_the_reference_docs_resolve():
    import re

    for name in ("bundle-format.md", "report-format.md"):
        doc = REPO / "docs" / name
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", doc.read_text()):
            if not target.startswith("http"):
                assert (doc.parent / target).exists(), (name, target)


def test_sub_indication_table_says_with_which_indication_each_comes():
    """docs/report-format.md's "with" column against what the scenario reports hold."""
    text = (REPO / "docs" / "report-format.md").read_text()
    table = text.split("### Sub-indications", 1)[1].split("\n### ", 1)[0]
    stated: dict[str, set[str]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            stated[cells[0].strip("`")] = {w.strip() for w in cells[1].split("/")}
    assert set(stated) == {s.value for s in SubIndication}
    seen: set[tuple[str, str]] = set()
    for case in CASES:
        report = _report_in_process(case["args"], SCENARIOS / case["name"])
        seen.update((c["subIndication"], c["indication"]) for c in report["checks"]
                    if c["subIndication"])
    assert len(seen) >= 15
    for sub, indication in sorted(seen):
        assert indication in stated[sub], (sub, indication, stated[sub])


def _report_in_process(args: list[str], cwd: Path) -> dict[str, Any]:
    import contextlib

    buffer = io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(buffer), \
            contextlib.redirect_stderr(io.StringIO()), pytest.raises(SystemExit):
        cli.main([*args, "--json"])
    return json.loads(buffer.getvalue())


def test_the_report_schema_fixes_the_checks_and_their_order(confirmed_report):
    order = [entry["properties"]["id"]["const"]
             for entry in REPORT_SCHEMA["properties"]["checks"]["prefixItems"]]
    assert order == list(CHECK_IDS)
    swapped = copy.deepcopy(confirmed_report)
    swapped["checks"][0], swapped["checks"][1] = swapped["checks"][1], swapped["checks"][0]
    assert _errors(REPORT, swapped) != []
    dropped = copy.deepcopy(confirmed_report)
    del dropped["checks"][-1]
    assert _errors(REPORT, dropped) != []


# --------------------------------------------------------------------------- properties

_BASE_DOC = _doc()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


_PATHS = _paths(_BASE_DOC)
def _json_values() -> Any:
    """JSON a schema sees exactly as the reader does: no lone surrogates, no integral
    floats (1.0), no NaN, no duplicated keys (dicts cannot hold them), small sizes."""
    from hypothesis import strategies as st

    text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8)
    hexish = st.sampled_from(["", "00", "ab" * 32, "AB" * 32, "ab" * 31, "0x" + "ab" * 31,
                              "00" * 80, "abc", "YWJjZA==", "YWJjZA", "ab-_", "0\n"])
    floats = st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda f: not f.is_integer())
    leaves = st.one_of(st.none(), st.booleans(), st.integers(-3, 2**64), floats, text, hexish,
                       st.sampled_from(["created", "anchoring", "confirmed", "failed",
                                        "regtest", "mainnet", "rfc3161", "provelio-proof"]))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["left", "right", "hash", "height", "txid", "x"]),
                        inner, max_size=3)), max_leaves=6)


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    target = doc
    for part in path[:-1]:
        target = target[part]
    if value is _DEL:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


def test_schema_and_reader_agree_on_random_changes():
    """Change one field of a valid bundle to a random JSON value (or delete it): within
    the JSON both see alike (SCHEMA_BLIND excluded by construction), the schema accepts
    exactly what the reader accepts."""
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.sampled_from(_PATHS), st.one_of(st.just(_DEL), _json_values()))
    def agree(path: tuple[Any, ...], value: Any) -> None:
        if value is _DEL and isinstance(path[-1], int):
            return  # deleting from a list shifts it: another path covers the result
        doc = _set(_BASE_DOC, path, value)
        data = json.dumps(doc, ensure_ascii=False).encode()
        assert _schema_accepts(data) == _reader_accepts(data), (path, value,
                                                                _errors(BUNDLE, doc))
    agree()
