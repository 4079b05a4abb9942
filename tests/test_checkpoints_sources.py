"""Where the shipped checkpoints come from: every list scripts/make_checkpoints.py is
given must agree; each row records which lists (and how many independent projects)
vouch for it; a row one source only vouches for is marked, and anchor.proof-of-work
says so when it uses one; the 2026 Electrum list extends the rows to period 472."""

from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from helpers.common import REPO, SCENARIOS
from provelio_verify import Digest, Indication, verify
from provelio_verify.bundle import Network
from provelio_verify.core.anchor.bitcoin import NETWORKS, BlockHeader
from provelio_verify.core.anchor.checkpoints import Checkpoints
from provelio_verify.core.anchor.headers import validate_run
from provelio_verify.core.anchor.pow import check_header_work, target_in_force
from provelio_verify.inputs.checkpoints import RESOURCE, mainnet_checkpoints

SCRIPT = REPO / "scripts" / "make_checkpoints.py"
SHIPPED = REPO / "src" / "provelio_verify" / RESOURCE
HEADERS = REPO / "tests" / "data" / "bitcoin" / "headers"
BLOCKS = REPO / "tests" / "data" / "bitcoin" / "blocks"
ELECTRUM_2026 = HEADERS / "electrum_checkpoints_9ebabef3.json"
LISTS = [HEADERS / "electrum_checkpoints.json", ELECTRUM_2026,
         HEADERS / "bitcoinj_org.bitcoin.production.checkpoints.txt"]
MAINNET = NETWORKS[Network.MAINNET]
CHECKPOINTS = mainnet_checkpoints()


@functools.cache
def script() -> ModuleType:
    """scripts/make_checkpoints.py as a module (registered, as its dataclass needs)."""
    spec = importlib.util.spec_from_file_location("make_checkpoints", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def make(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def shipped_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SHIPPED.read_bytes())
    return document


# ------------------------------------------------------------------------- the remake


def test_the_shipped_file_is_remade_byte_for_byte(tmp_path):
    assert make("--check").returncode == 0
    assert script().build() == SHIPPED.read_bytes()
    # The default is all three lists, in that order: naming them gives the same bytes.
    out = tmp_path / "made.json"
    assert make("--out", out, *LISTS).returncode == 0
    assert out.read_bytes() == SHIPPED.read_bytes()
    # --check does compare: one changed row is caught.
    out.write_bytes(out.read_bytes().replace(b'"17028c61"', b'"17028c62"', 1))
    proc = make("--check", "--out", out)
    assert proc.returncode == 1 and "differs" in proc.stderr


# ------------------------------------------------------------------- disagreement


def tampered_2026(tmp_path: Path, period: int, column: int, value: Any) -> Path:
    rows = json.loads(ELECTRUM_2026.read_text())
    rows[period][column] = value
    path = tmp_path / ELECTRUM_2026.name  # the same name: the same list, changed
    path.write_text(json.dumps(rows))
    return path


def test_a_hash_the_lists_disagree_on_is_refused_naming_both(tmp_path):
    real = json.loads(ELECTRUM_2026.read_text())[100][0]
    fake = "00000000000000000000" + "ab" * 22
    bad = tampered_2026(tmp_path, 100, 0, fake)
    proc = make("--out", tmp_path / "out.json", LISTS[0], bad, LISTS[2])
    assert proc.returncode != 0
    assert "period 100:" in proc.stderr
    assert f"Electrum 4.3.4 says block {real}" in proc.stderr
    assert f"Electrum 2026-07-01 says block {fake}" in proc.stderr
    assert not (tmp_path / "out.json").exists()


def test_a_target_the_lists_disagree_on_is_refused_naming_both(tmp_path):
    # Period 400 is in the 2026 list and bitcoinj's only: the two independent sources.
    real = json.loads(ELECTRUM_2026.read_text())[400][1]
    bits = script().encode_compact(real)
    off_bits = bits - 1  # one step lower in the mantissa: a different, valid target
    bad = tampered_2026(tmp_path, 400, 1, script().decode_compact(off_bits))
    proc = make("--out", tmp_path / "out.json", bad, LISTS[2])
    assert proc.returncode != 0
    assert "period 400: Electrum 2026-07-01 says block " in proc.stderr
    assert f"and nBits {off_bits:08x}, but bitcoinj @13e137ec says" in proc.stderr
    assert f"and nBits {bits:08x}" in proc.stderr


def test_a_one_list_row_must_still_be_reachable_by_the_retarget_rule(tmp_path):
    """Rows 436-472 have no second list to disagree with; the retarget rule (at most
    four times higher or lower per period) still binds them."""
    real = json.loads(ELECTRUM_2026.read_text())[450][1]
    bad = tampered_2026(tmp_path, 450, 1, real * 256)  # exactly nBits + 1 exponent
    proc = make("--out", tmp_path / "out.json", *LISTS[:1], bad, LISTS[2])
    assert proc.returncode != 0
    assert "period 450:" in proc.stderr and "not reachable by one retarget" in proc.stderr


# -------------------------------------------------------------- vouching, recorded


def test_each_row_records_its_lists_and_one_list_rows_are_marked():
    rows = shipped_document()["checkpoints"]
    assert [row[2:] for row in rows[:371]] == \
        [[2, ["electrum-4.3.4", "electrum-2026-07-01", "bitcoinj-13e137ec"]]] * 371
    assert [row[2:] for row in rows[371:436]] == \
        [[2, ["electrum-2026-07-01", "bitcoinj-13e137ec"]]] * 65
    assert [row[2:] for row in rows[436:]] == [[1, ["electrum-2026-07-01"]]] * 37
    assert CHECKPOINTS.sources_of(0) == CHECKPOINTS.sources_of(435) == 2
    assert CHECKPOINTS.single_source(435) is None
    assert CHECKPOINTS.single_source(436) == CHECKPOINTS.single_source(472) == \
        "Electrum 2026-07-01"


def test_two_electrum_lists_are_one_source(tmp_path):
    """Electrum 4.3.4's rows and the 2026 list's are one project's: without bitcoinj
    every row is vouched by one source only, however many Electrum lists hold it."""
    out = tmp_path / "electrum-only.json"
    assert make("--out", out, LISTS[0], LISTS[1]).returncode == 0
    cps = Checkpoints.from_json(out.read_bytes())
    assert {cps.sources_of(i) for i in range(len(cps))} == {1}
    assert cps.single_source(0) == \
        "Electrum 4.3.4 and Electrum 2026-07-01, all Electrum's"
    assert cps.single_source(400) == "Electrum 2026-07-01"


def with_one_list_row(index: int) -> Checkpoints:
    """The shipped checkpoints, except that row ``index`` is vouched by the 2026
    Electrum list alone (as rows 436-472 really are)."""
    document = shipped_document()
    document["checkpoints"][index][2:] = [1, ["electrum-2026-07-01"]]
    return Checkpoints.from_json(json.dumps(document).encode())


def test_a_target_from_a_one_list_row_is_said_so():
    # Shipped data: heights in period 437-473 take their target from rows 436-472.
    rule = target_in_force(MAINNET, 900000, CHECKPOINTS)
    assert rule.exact and rule.one_list_only == (445, "Electrum 2026-07-01")
    assert rule.basis == ("the target of period 446 (heights 899136-901151) given by the "
                          "shipped checkpoint of period 445 (vouched by one list only: "
                          "Electrum 2026-07-01)")
    # A real header whose row is marked: PASSED, and it says which list alone vouches.
    header = BlockHeader.parse((BLOCKS / "bitcoinj_block481815.dat").read_bytes()[:80])
    facts = check_header_work(header, 481815, MAINNET, with_one_list_row(237))
    assert facts.details()["targetInForce"]["oneListOnly"] == \
        {"checkpoint": 237, "lists": "Electrum 2026-07-01"}


def report_for_481815() -> Any:
    case = SCENARIOS / "mainnet-481815-offline"
    return verify(Digest("a3a09da69833193bac5b19ed0c251832aeecfe3eaca52eb16b84bd0c40a870f6"),
                  (case / "proof.json").read_bytes())


def test_proof_of_work_passed_message_names_a_one_list_row(monkeypatch):
    import provelio_verify.verifier.anchor as anchor_step

    monkeypatch.setattr(anchor_step, "mainnet_checkpoints", lambda: with_one_list_row(237))
    check = report_for_481815().check("anchor.proof-of-work")
    assert check.indication is Indication.PASSED
    assert check.message.endswith(
        "that target is the one in force at height 481815: the target of period 238 "
        "(heights 479808-481823) given by the shipped checkpoint of period 237 (vouched "
        "by one list only: Electrum 2026-07-01)")
    assert check.details["targetInForce"]["oneListOnly"] == \
        {"checkpoint": 237, "lists": "Electrum 2026-07-01"}


def test_a_row_two_sources_vouch_for_keeps_its_message():
    check = report_for_481815().check("anchor.proof-of-work")
    assert check.indication is Indication.PASSED
    assert check.message.endswith(
        "that target is the one in force at height 481815: the target of period 238 "
        "(heights 479808-481823) given by the shipped checkpoints")
    assert "oneListOnly" not in check.details["targetInForce"]


# ------------------------------------------------------------------- the extension


def test_the_extension_reaches_period_472_and_real_headers_still_validate():
    electrum_2026 = json.loads(ELECTRUM_2026.read_text())
    assert len(CHECKPOINTS) == len(electrum_2026) == 473
    assert CHECKPOINTS.last_height == 953567 and CHECKPOINTS.covered_until == 955583
    assert CHECKPOINTS.hash_at(953567) == electrum_2026[472][0]
    assert target_in_force(MAINNET, 955583, CHECKPOINTS).exact
    assert not target_in_force(MAINNET, 955584, CHECKPOINTS).exact
    # The rows that were shipped before are unchanged, from the same two sources.
    assert all(CHECKPOINTS.sources_of(i) == 2 for i in range(436))
    # Real mainnet data still check out against the extended rows: a full block's
    # header at its height, and 190,000 consecutive headers, every checkpoint matched.
    header = BlockHeader.parse((BLOCKS / "bitcoinj_block481815.dat").read_bytes()[:80])
    assert check_header_work(header, 481815, MAINNET, CHECKPOINTS).rule.exact
    run = validate_run((HEADERS / "mainnet_headers_150001_340000.bin").read_bytes(),
                       150001, MAINNET, CHECKPOINTS)
    assert (run.tip_height, run.checkpoints_matched) == (340000, 94)


# ------------------------------------------------------------------ damaged data


def damaged(change: Any) -> bytes:
    document = shipped_document()
    change(document)
    return json.dumps(document).encode()


def _set(row: int, column: int, value: Any) -> Any:
    def change(document: dict[str, Any]) -> None:
        document["checkpoints"][row][column] = value
    return change


@pytest.mark.parametrize("change", [
    _set(10, 2, 1),                                    # says one source; its lists are two
    _set(440, 2, 2),                                   # says two; its one list is one
    _set(10, 2, "2"),                                  # a count that is not a number
    _set(10, 2, True),                                 # ... nor a boolean
    _set(440, 2, 0),                                   # no source at all
    _set(440, 3, []),
    _set(440, 3, ["electrum-2027"]),                   # a list the file does not name
    _set(440, 3, "electrum-2026-07-01"),               # not a list of names
    _set(10, 3, ["bitcoinj-13e137ec", "electrum-4.3.4"]),   # out of order
    _set(440, 3, ["electrum-2026-07-01", "electrum-2026-07-01"]),  # repeated
    lambda d: d["checkpoints"][10].pop(),              # a format-1 row in a format-2 file
    lambda d: d.pop("lists"),
    lambda d: d["lists"]["bitcoinj-13e137ec"].pop("project"),
    lambda d: d.update({"format": 3}),
    lambda d: d.update({"format": "2"}),
])
def test_a_damaged_vouch_field_is_refused(change):
    assert Checkpoints.from_json(damaged(lambda d: None)) == CHECKPOINTS
    with pytest.raises(ValueError, match="malformed|checkpoint"):
        Checkpoints.from_json(damaged(change))


def test_the_earlier_format_is_still_read():
    """Format 1 (no ``format`` key, ``[hash, bits]`` rows, as shipped up to period
    435): the same rows, no vouching recorded, nothing marked."""
    document = shipped_document()
    document.pop("format")
    document.pop("lists")
    document["checkpoints"] = [row[:2] for row in document["checkpoints"][:436]]
    old = json.dumps(document).encode()
    cps = Checkpoints.from_json(old)
    assert len(cps) == 436
    assert cps.block_hashes == CHECKPOINTS.block_hashes[:436]
    assert cps.next_bits == CHECKPOINTS.next_bits[:436]
    assert cps.sources_of(0) is None and cps.single_source(0) is None
    assert not target_in_force(MAINNET, 900000, cps).exact
    with pytest.raises(ValueError, match="malformed"):
        Checkpoints.from_json(old.replace(b'"1d00ffff"]', b'"1d00ffff", 2]', 1))
