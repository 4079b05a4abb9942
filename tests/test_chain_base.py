"""The source interface (answer validation, caching, records, pickling, replay) and the
pure combination of several sources' answers (contract section 4)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from gen.world import world
from helpers.common import SCENARIOS
from provelio_verify import Digest, Indication, Policy, SubIndication, verify
from provelio_verify.bundle import Network
from provelio_verify.chain import ChainSource, Question, ReplaySource, SourceInvalid
from provelio_verify.chain.base import Reply
from provelio_verify.chain.survey import SourceState, SourceView
from provelio_verify.core.anchor.bitcoin import NETWORKS
from provelio_verify.outcome import CheckFailure, CheckIndeterminate
from provelio_verify.verifier.anchor_chain import combine, stands

REGTEST = NETWORKS[Network.REGTEST]
B = "aa" * 32
OTHER = "bb" * 32


class ScriptedSource(ChainSource):
    """Answers from a dict; counts how often each question reached it."""

    kind = "scripted"

    def __init__(self, answers: dict[Question, Any]) -> None:
        super().__init__("scripted")
        self.script = answers
        self.calls: list[Question] = []

    def _answer(self, question: Question) -> Reply:
        self.calls.append(question)
        return Reply(self.script[question])


def header_of(height: int) -> tuple[str, str]:
    raw = world().anchoring.chain.header(height)
    return world().anchoring.chain.blocks[height].GetHash()[::-1].hex(), raw.hex()


def test_answers_are_validated_cached_and_recorded():
    block, header = header_of(3)
    source = ScriptedSource({Question("header", block=block): header.upper(),
                             Question("tip"): 10,
                             Question("blockHash", height=99): None})
    log: list[dict[str, Any]] = []
    assert source.header(block, log) == bytes.fromhex(header)
    assert source.header(block, log) == bytes.fromhex(header)
    assert source.tip_height(log) == 10 and source.block_hash(99, log) is None
    assert len(source.calls) == 3  # the second header question came from the cache
    assert log[0] == {"question": "header", "block": block, "answer": header} == log[1]
    assert sorted(a["question"] for a in source.answers()) == ["blockHash", "header", "tip"]


@pytest.mark.parametrize("question,answer,problem", [
    (Question("header", block="00" * 32), None, "not 80 bytes of hex"),
    (Question("header", block="00" * 32), "zz", "not 80 bytes of hex"),
    (Question("tip"), "10", "not a height"),
    (Question("tip"), True, "not a height"),
    (Question("tip"), -1, "not a height"),
    (Question("blockHash", height=1), "12", "not a block hash"),
    (Question("genesis"), None, "not a block hash"),
    (Question("blockStatus", block=B), {"inBestChain": "yes"}, "not a block status"),
    (Question("merkleProof", height=1, block=B, txid=B), {"txIndex": -1, "branch": []},
     "not a Merkle proof"),
    (Question("merkleProof", height=1, block=B, txid=B), {"txIndex": 0, "branch": [B] * 33},
     "at most 32"),
    (Question("transaction", txid=B), "00", "does not parse"),
])
def test_malformed_answers_make_the_source_invalid(question, answer, problem):
    source = ScriptedSource({question: answer})
    log: list[dict[str, Any]] = []
    with pytest.raises(SourceInvalid, match=problem):
        source.ask(question, log)
    assert log == [{**question.to_json(), "error": log[0]["error"]}]
    with pytest.raises(SourceInvalid):
        source.ask(question)  # failures are not cached
    assert len(source.calls) == 2


def test_a_header_for_another_block_is_refused():
    block, _ = header_of(3)
    _, other = header_of(4)
    source = ScriptedSource({Question("header", block=block): other})
    with pytest.raises(SourceInvalid, match=f"not to the block asked for {block}"):
        source.header(block)


def test_a_transaction_must_hash_to_the_txid_asked():
    tx = world().anchoring.tx
    txid = tx.GetTxid()[::-1].hex()
    good = ScriptedSource({Question("transaction", txid=txid): tx.serialize().hex()})
    assert good.transaction(txid, None) == tx.serialize()
    bad = ScriptedSource({Question("transaction", txid=B): tx.serialize().hex()})
    with pytest.raises(SourceInvalid, match=f"hashes to {txid}, not to {B}"):
        bad.transaction(B, None)


def test_a_source_survives_pickling_with_its_cache():
    source = ScriptedSource({Question("tip"): 7})
    source.tip_height()
    copy = pickle.loads(pickle.dumps(source))
    assert copy.tip_height() == 7 and copy.calls == [Question("tip")]  # from the cache


def test_replay_answers_only_what_was_recorded():
    block, header = header_of(3)
    records = [{"question": "header", "block": block, "answer": header},
               {"question": "tip", "error": "timed out"}]
    replay = ReplaySource("replay", records)
    assert replay.header(block) == bytes.fromhex(header)
    with pytest.raises(Exception, match="no recorded answer to tip"):
        replay.tip_height()
    with pytest.raises(ValueError, match="two recorded answers"):
        ReplaySource("x", [{"question": "tip", "answer": 1}, {"question": "tip", "answer": 2}])
    with pytest.raises(ValueError, match="unknown question"):
        ReplaySource("x", [{"question": "balance", "answer": 1}])


def test_the_verifier_refuses_what_is_not_a_source():
    with pytest.raises(TypeError, match="must be a ChainSource"):
        verify(world().document, b"{}", policy=Policy(), sources=["http://example"])


# --------------------------------------------------------------------------- combine


def view(at: str | None, tip: int | None = 10, state: SourceState = SourceState.ANSWERED,
         label: str = "s", reason: str | None = None) -> SourceView:
    return SourceView(label, "scripted", state, reason, tip=tip, block_at_height=at,
                      verified_headers=6 if at == B else 0)


def outcome(views: list[SourceView], min_conf: int = 6) -> tuple[str, Any, Any]:
    try:
        passed = combine(views, REGTEST, B, 3, min_conf)
    except CheckFailure as exc:
        return "FAILED", exc.sub_indication, exc
    except CheckIndeterminate as exc:
        return "INDETERMINATE", exc.sub_indication, exc
    return "PASSED", None, passed


def test_agreeing_answers_stand_with_depth_from_the_lowest_tip():
    result, _, passed = outcome([view(B, 12, label="a"), view(B, 9, label="b")])
    assert result == "PASSED" and passed.value == 7
    assert passed.details["lowestTip"] == 9 and "7 confirmations" in passed.message
    assert stands([view(B), view(None, state=SourceState.UNREACHABLE)], B)


def test_too_few_confirmations_is_indeterminate_with_the_count():
    result, sub, exc = outcome([view(B, 7)])
    assert (result, sub) == ("INDETERMINATE", SubIndication.INSUFFICIENT_CONFIRMATIONS)
    assert exc.details["confirmations"] == 5 and "5 confirmation(s)" in exc.message


def test_contradicting_answers_disagree():
    result, sub, exc = outcome([view(B, label="a"), view(OTHER, label="b")])
    assert (result, sub) == ("INDETERMINATE", SubIndication.SOURCES_DISAGREE)
    assert B in exc.message and OTHER in exc.message
    assert [s["blockAtHeight"] for s in exc.details["sources"]] == [B, OTHER]
    assert not stands([view(B), view(OTHER)], B)


def test_a_different_block_from_all_that_answered_fails():
    views = [view(OTHER, label="a"), view(OTHER, label="b"),
             view(None, None, SourceState.UNREACHABLE, "c", "timed out")]
    result, sub, exc = outcome(views)
    assert (result, sub) == ("FAILED", SubIndication.NOT_IN_BEST_CHAIN)
    assert "c did not answer (unreachable: timed out)" in exc.message


def test_no_answer_is_try_later():
    views = [view(None, None, SourceState.UNREACHABLE, "a", "cannot connect"),
             view(None, 2, SourceState.SHORT, "b", "its best chain ends at height 2"),
             view(None, None, SourceState.WRONG_NETWORK, "c", "mainnet genesis"),
             view(None, None, SourceState.INVALID, "d", "header does not hash")]
    result, sub, exc = outcome(views)
    assert (result, sub) == ("INDETERMINATE", SubIndication.TRY_LATER)
    for reason in ("cannot connect", "ends at height 2", "mainnet genesis", "does not hash"):
        assert reason in exc.message
    assert "bitcoin-cli -regtest getblockhash 3" in exc.message
    assert not stands(views, B)
    assert outcome([])[1] is SubIndication.TRY_LATER


def test_passing_beside_a_silent_source_warns():
    result, _, passed = outcome([view(B), view(None, None, SourceState.UNREACHABLE, "x",
                                                "timed out")])
    assert result == "PASSED"
    assert passed.warnings == ("chain source x did not answer (unreachable: timed out); the "
                               "verdict rests on the others",)


def test_replayed_sources_judge_like_live_ones():
    """The same answers, live or replayed, give the same verdict (a capsule re-verifies)."""
    chain = world().anchoring.chain
    records = [{"question": "genesis", "answer": REGTEST.genesis_hash},
               {"question": "tip", "answer": 10}]
    for h in range(3, 9):
        block = chain.blocks[h].GetHash()[::-1].hex()
        records.append({"question": "blockHash", "height": h, "answer": block})
        records.append({"question": "header", "block": block, "answer": chain.header(h).hex()})
    proof = (SCENARIOS / "ok-confirmed-regtest" / "proof.json").read_bytes()
    report = verify(Digest(world().digest.hex()), proof, policy=Policy(allow_test_mode=True),
                    sources=[ReplaySource("capsule", records)])
    assert report.check("anchor.chain").indication is Indication.PASSED
    assert report.check("anchor.chain").details["confirmations"] == 8


def test_a_defect_in_a_source_is_an_internal_error_not_a_traceback():
    class Broken(ChainSource):
        kind = "broken"

        def _answer(self, question: Question) -> Reply:
            raise RuntimeError("bug in a source")

    proof = (SCENARIOS / "ok-confirmed-regtest" / "proof.json").read_bytes()
    report = verify(Digest(world().digest.hex()), proof, policy=Policy(allow_test_mode=True),
                    sources=[Broken("broken")])
    chain = report.check("anchor.chain")
    assert (chain.indication, chain.sub_indication) == (Indication.INDETERMINATE,
                                                        SubIndication.INTERNAL_ERROR)
    assert report.check("anchor.proof-of-work").indication is Indication.PASSED  # regtest


def test_records_do_not_alias_the_cache():
    question = Question("merkleProof", height=3, block=B, txid=B)
    source = ScriptedSource({question: {"txIndex": 1, "branch": [OTHER]}})
    log: list[dict[str, Any]] = []
    source.ask(question, log)
    log[0]["answer"]["branch"].append("cc" * 32)
    assert source.merkle_proof(B, B, 3).branch == (bytes.fromhex(OTHER),)
