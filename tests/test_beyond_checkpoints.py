"""Issue 9, beyond the checkpoints: for a block above the last shipped checkpoint,
``anchor.proof-of-work`` and ``anchor.chain`` say so in their own words, with the way
to settle it (``--sync-headers PATH`` with a chain source, or naming a source), and
their details name the checkpoint row used (period, height, target, how many lists
vouch for it) under ``checkpoint``, for the report's trust anchors.

Only the wording and the details are asserted here: every verdict is the one these
checks gave before (held by the hard-coded indications below).

Real data: mainnet block 481815 (scenario ``mainnet-481815-offline``), with the
shipped checkpoints cut short so that the block is above the last of them.
"""

from __future__ import annotations

from typing import Any

import pytest

from helpers.common import SCENARIOS
from provelio_verify import Digest, Indication, SubIndication, verify
from provelio_verify.bundle import Network
from provelio_verify.chain.survey import SourceState, SourceView
from provelio_verify.core.anchor.bitcoin import NETWORKS, decode_compact
from provelio_verify.core.anchor.checkpoints import Checkpoints
from provelio_verify.inputs.checkpoints import mainnet_checkpoints
from provelio_verify.outcome import CheckIndeterminate, Passed
from provelio_verify.verifier.anchor_chain import combine

SHIPPED = mainnet_checkpoints()
MAINNET = NETWORKS[Network.MAINNET]
HEIGHT = 481815
BLOCK = "0000000000000000000c2ea8bb5ab0d8ef8cbd0e5a4aa6c0d0ae1df3a0e9d2a8"  # not checked
DIGEST = "a3a09da69833193bac5b19ed0c251832aeecfe3eaca52eb16b84bd0c40a870f6"
#: Rows kept: the last checkpoint is then period 229 (block 463,679), the targets are
#: known to height 465,695, and block 481,815 is above both.
KEPT = 230


def cut(rows: int) -> Checkpoints:
    return Checkpoints(SHIPPED.network, SHIPPED.block_hashes[:rows], SHIPPED.next_bits[:rows],
                       SHIPPED.vouched_by[:rows], SHIPPED.lists)


def report(monkeypatch: pytest.MonkeyPatch | None = None, rows: int | None = None) -> Any:
    if monkeypatch is not None and rows is not None:
        import provelio_verify.verifier.anchor as anchor_step

        monkeypatch.setattr(anchor_step, "mainnet_checkpoints", lambda: cut(rows))
    case = SCENARIOS / "mainnet-481815-offline"
    return verify(Digest(DIGEST), (case / "proof.json").read_bytes())


def verdict(check: Any) -> tuple[Indication, SubIndication | None]:
    return check.indication, check.sub_indication


LAST_ROW = {"period": KEPT - 1, "height": 2016 * KEPT - 1,
            "blockHash": SHIPPED.block_hashes[KEPT - 1],
            "bits": f"{SHIPPED.next_bits[KEPT - 1]:08x}",
            "target": f"{decode_compact(SHIPPED.next_bits[KEPT - 1]):064x}",
            "targetOfPeriod": KEPT, "sources": 2,
            "lists": ["Electrum 4.3.4", "Electrum 2026-07-01", "bitcoinj @13e137ec"]}


def test_proof_of_work_above_the_checkpoints_says_so_and_how_to_settle_it(monkeypatch):
    check = report(monkeypatch, KEPT).check("anchor.proof-of-work")
    # The verdict of before: offline, only bounds on the target.
    assert verdict(check) == (Indication.INDETERMINATE, SubIndication.NO_CHAIN_SOURCE)
    message = check.message
    assert (f"block height {HEIGHT} is above the last shipped checkpoint, the checkpoint "
            f"of period 229 (block 463679, {SHIPPED.block_hashes[229]}, vouched by 2 "
            "independent lists: Electrum 4.3.4, Electrum 2026-07-01, bitcoinj @13e137ec)"
            in message), message
    assert "offline its target is known only within bounds (height 481815 is past" in message
    assert "`provelio-verify --sync-headers PATH` and one chain source (--bitcoin-node URL, " \
        "--esplora URL or --electrum HOST:PORT)" in message
    assert "then verify with `--headers PATH`, offline" in message
    assert "`bitcoin-cli getblockheader " in message and "must show height 481815" in message
    assert check.details["checkpoint"] == {**LAST_ROW, "use": "bounds"}
    assert check.details["targetInForce"]["exact"] is False


def test_chain_above_the_checkpoints_says_so_and_how_to_settle_it(monkeypatch):
    check = report(monkeypatch, KEPT).check("anchor.chain")
    assert verdict(check) == (Indication.INDETERMINATE, SubIndication.NO_CHAIN_SOURCE)
    message = check.message
    assert message.startswith("no chain source was chosen (--headers, --bitcoin-node, "
                              "--esplora, --electrum): offline verification established")
    assert f"block height {HEIGHT} is above the last shipped checkpoint" in message
    assert "so no shipped data vouches for it: build a local header chain once with " \
        "`provelio-verify --sync-headers PATH`" in message
    assert "; or name a chain source, or check by hand: `bitcoin-cli getblockhash 481815`" \
        in message
    assert check.details["checkpoint"] == {**LAST_ROW, "use": "vouching",
                                           "anchorAbove": True}


def test_inside_the_checkpoints_the_messages_keep_their_words_and_name_the_row():
    whole = report()
    pow_check, chain = whole.check("anchor.proof-of-work"), whole.check("anchor.chain")
    assert verdict(pow_check) == (Indication.PASSED, None)
    assert verdict(chain) == (Indication.INDETERMINATE, SubIndication.NO_CHAIN_SOURCE)
    for check in (pow_check, chain):
        assert "above the last shipped checkpoint" not in check.message
        assert "--sync-headers" not in check.message
    assert "settle it with a chain source, or by hand: " in chain.message
    # The row the target came from (period 237 gives period 238's) ...
    row = pow_check.details["checkpoint"]
    assert (row["period"], row["height"], row["targetOfPeriod"], row["use"]) == \
        (237, 2016 * 238 - 1, 238, "target")
    assert row["target"] == pow_check.details["target"]  # the header carries that target
    assert row["sources"] == 2 and len(row["lists"]) == 3
    # ... and the one a headers file must pass through for the height: the last block
    # of the block's own period 238.
    vouch = chain.details["checkpoint"]
    assert (vouch["period"], vouch["height"], vouch["use"], vouch["anchorAbove"]) == \
        (238, 481823, "vouching", False)


def test_a_one_list_row_is_named_with_its_one_list():
    rows = 440  # rows 436-472 are vouched by the 2026 Electrum list alone
    cps = cut(rows)
    views = [SourceView("headers-file h.bin", "headers-file", SourceState.SHORT,
                        "its best chain ends at height 880000, below 890000", tip=880000)]
    with pytest.raises(CheckIndeterminate) as caught:
        combine(views, MAINNET, BLOCK, 890000, 6, cps)
    message = caught.value.message
    assert caught.value.sub_indication is SubIndication.TRY_LATER
    assert "no chain source answered for height 890000; headers-file h.bin did not " \
        "answer (short: its best chain ends at height 880000, below 890000); block " \
        "height 890000 is above the last shipped checkpoint, the checkpoint of period " \
        f"439 (block 887039, {SHIPPED.block_hashes[439]}, vouched by one list only: " \
        "Electrum 2026-07-01), so no shipped data vouches for it" in message
    assert "`provelio-verify --sync-headers PATH`" in message
    assert "; or name another chain source; try again later, or by hand:" in message
    row = caught.value.details["checkpoint"]
    assert (row["period"], row["sources"], row["lists"], row["anchorAbove"]) == \
        (439, 1, ["Electrum 2026-07-01"], True)


def test_a_passed_chain_above_the_checkpoints_keeps_its_message_and_names_the_row():
    views = [SourceView("esplora e", "esplora", SourceState.ANSWERED, tip=890010,
                        block_at_height=BLOCK, verified_headers=6)]
    passed = combine(views, MAINNET, BLOCK, 890000, 6, cut(KEPT))
    assert isinstance(passed, Passed)
    assert passed.message.startswith(f"block {BLOCK[:8]}")
    assert "--sync-headers" not in passed.message
    assert passed.details["checkpoint"]["anchorAbove"] is True
    # Without checkpoints (test networks), no row.
    assert "checkpoint" not in combine(views, NETWORKS[Network.REGTEST], BLOCK, 890000, 6,
                                       None).details


def _trust_section(report_dict: dict[str, Any]) -> str:
    """The text of the evidence report's trust-anchors section."""
    import html
    import re

    from provelio_verify.evidence_report import render_html

    page = render_html(report_dict)
    start = page.index('id="trust"')
    end = page.index("<section", start)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page[start:end])))


def test_the_trust_anchors_section_names_the_checkpoint_rows_used(monkeypatch):
    """Issue 9: the report's trust anchors name the checkpoint row used, beside the TSA
    roots: inside the checkpoints the two rows the checks relied on, beyond them the
    last row and that the anchor is above it."""
    inside = _trust_section(report().to_dict())
    assert "Bitcoin checkpoints" in inside
    assert ("used by anchor.proof-of-work: the target the block's proof-of-work is held "
            "to period 237 last block of the period 479807") in inside
    assert "used by anchor.chain: the checkpointed block the chain must pass through" in inside
    assert "vouched by 2 independent project(s), in the lists Electrum 4.3.4, " \
        "Electrum 2026-07-01, bitcoinj @13e137ec" in inside
    assert "beyond the checkpoints" not in inside
    beyond = _trust_section(report(monkeypatch, KEPT).to_dict())
    assert f"period {KEPT - 1} last block of the period {2016 * KEPT - 1}" in beyond
    assert "used by anchor.chain: the checkpointed block" in beyond
    assert "used by anchor.proof-of-work: the last target known" in beyond
    assert beyond.count(SHIPPED.block_hashes[KEPT - 1]) == 2  # the row, once per use
    assert "the anchor block is above this row, the last shipped checkpoint: beyond " \
        "the checkpoints" in beyond


def test_no_checkpoint_row_is_shown_where_none_was_used():
    case = SCENARIOS / "ok-confirmed-regtest"
    regtest = verify(case / "document.txt", (case / "proof.json").read_bytes())
    assert "Bitcoin checkpoints" not in _trust_section(regtest.to_dict())


def test_a_batch_page_names_each_checkpoint_row_once():
    import html
    import re

    from provelio_verify.evidence_report import render_html

    page = render_html([report().to_dict(), report().to_dict()])
    start = page.index('id="trust"')
    trust = html.unescape(re.sub(r"<[^>]+>", " ", page[start:page.index("<section", start)]))
    trust = re.sub(r"\s+", " ", trust)
    assert trust.count("Bitcoin checkpoints") == 1
    assert trust.count("used by anchor.proof-of-work") == 1
    assert trust.count("used by anchor.chain") == 1
