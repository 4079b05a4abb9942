"""Chain sources against real HTTP servers on 127.0.0.1 speaking Bitcoin Core's
JSON-RPC and Esplora, fed by the generated regtest chain (anchor at height 3 of 10)."""

from __future__ import annotations

import json
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gen.chain_scenarios import reorg_chain
from gen.world import world
from helpers.chainservers import BitcoinRpcServer, ChainData, EsploraServer, Knobs
from helpers.common import SCENARIOS
from provelio_verify import Digest, Indication, Policy, SubIndication, verify
from provelio_verify.chain import (
    BitcoinCoreSource,
    EsploraSource,
    HeadersFileSource,
    replay_sources,
)
from provelio_verify.net import HttpClient, HttpPolicy
from provelio_verify.verifier import Verifier

TXID = "5aaf2d54b40c16d261c22cd606ffc9821f857eb1fa68f95c60284a40c4bb062f"


def fast_client(sleeps: list[float] | None = None, **kw: Any) -> HttpClient:
    """Short timeouts and backoffs so the suite stays fast; ``sleeps`` records waits
    instead of sleeping."""
    settings = dict(connect_timeout=1.0, read_timeout=1.0, retries=2, backoff=0.01,
                    max_retry_after=5.0, deadline=10.0)
    settings.update(kw)
    if sleeps is None:
        return HttpClient(HttpPolicy(**settings))
    return HttpClient(HttpPolicy(**settings), sleep=sleeps.append)


def bundle(name: str = "ok-confirmed-regtest") -> bytes:
    return (SCENARIOS / name / "proof.json").read_bytes()


def subject() -> Digest:
    return Digest(world().digest.hex())


def run(sources: list[Any], proof: bytes | None = None, min_conf: int = 6):
    policy = Policy(allow_test_mode=True, min_confirmations=min_conf)
    return verify(subject(), proof or bundle(), policy=policy, sources=sources)


def main_chain() -> ChainData:
    return ChainData.of(world().anchoring.chain)


KINDS = ["esplora", "bitcoin-core"]


def server_for(kind: str, data: ChainData, knobs: Knobs | None = None):
    return (EsploraServer if kind == "esplora" else BitcoinRpcServer)(data, knobs)


def source_for(kind: str, server, client: HttpClient | None = None):
    client = client or fast_client()
    if kind == "esplora":
        return EsploraSource(server.url, client)
    return BitcoinCoreSource(server.url_with_credentials(), client=client)


def anchor_indications(report) -> dict[str, str]:
    return {c.id: c.indication.value for c in report.checks if c.id.startswith("anchor.")}


ALL_PASSED = {c: "PASSED" for c in ("anchor.merkle-path", "anchor.transaction",
                                    "anchor.op-return", "anchor.inclusion",
                                    "anchor.proof-of-work", "anchor.chain")}


# --------------------------------------------------------------------------- happy paths


def test_esplora_happy_path_asks_only_about_blocks():
    with EsploraServer(main_chain()) as server:
        report = run([EsploraSource(server.url, fast_client())])
    assert anchor_indications(report) == ALL_PASSED
    chain = report.check("anchor.chain")
    assert chain.details["confirmations"] == 8
    assert chain.details["sources"][0]["verifiedHeaders"] == 6
    assert "8 confirmations" in chain.message
    # Header and branch are in the bundle: nothing reveals the transaction.
    assert server.requests and not any(TXID in path for path in server.requests)
    assert not any("/tx/" in path for path in server.requests)
    assert report.existence["evidence"] == ["bitcoin"]


def test_bitcoin_core_with_basic_auth_never_shows_the_password():
    with BitcoinRpcServer(main_chain()) as server:
        source = BitcoinCoreSource(server.url_with_credentials(), client=fast_client())
        report = run([source])
    assert anchor_indications(report) == ALL_PASSED
    text = report.to_json()
    assert server.password not in text and server.user not in text
    assert server.password not in repr(source) and "***@" in source.label
    assert {r.split()[0] for r in server.requests} <= {"getblockhash", "getblockcount",
                                                       "getblockheader"}


def test_bitcoin_core_with_cookie_auth(tmp_path):
    with BitcoinRpcServer(main_chain(), user="__cookie__", password="ab" * 32) as server:
        cookie = server.write_cookie(tmp_path / ".cookie")
        report = run([BitcoinCoreSource(server.url, cookie_path=cookie, client=fast_client())])
    assert report.check("anchor.chain").indication is Indication.PASSED
    assert "ab" * 32 not in report.to_json()


def test_wrong_credentials_are_unreachable_not_failed():
    with BitcoinRpcServer(main_chain()) as server:
        url = f"http://alice:wrong@127.0.0.1:{server.port}"
        report = run([BitcoinCoreSource(url, client=fast_client())])
    chain = report.check("anchor.chain")
    assert (chain.indication, chain.sub_indication) == (Indication.INDETERMINATE,
                                                        SubIndication.TRY_LATER)
    assert "refused the credentials" in chain.message
    assert "wrong" not in report.to_json()


# --------------------------------------------------------------------------- the chain


@pytest.mark.parametrize("kind", KINDS)
def test_too_few_confirmations_reports_the_count(kind):
    with server_for(kind, main_chain()) as server:
        report = run([source_for(kind, server)], min_conf=9)
    chain = report.check("anchor.chain")
    assert chain.sub_indication is SubIndication.INSUFFICIENT_CONFIRMATIONS
    assert chain.details["confirmations"] == 8
    assert "8 confirmation(s)" in chain.message and "9 required" in chain.message


@pytest.mark.parametrize("kind", KINDS)
def test_reorg_a_different_block_at_the_height_fails(kind):
    data = ChainData.of(world().anchoring.chain, stale=reorg_chain(), fork_at=3)
    with server_for(kind, data) as server:
        report = run([source_for(kind, server)], proof=bundle("anchor-reorged"))
    chain = report.check("anchor.chain")
    assert (chain.indication, chain.sub_indication) == (Indication.FAILED,
                                                        SubIndication.NOT_IN_BEST_CHAIN)
    assert "says the bundle's block is not in its best chain" in chain.message
    assert report.indication is Indication.FAILED
    assert [c.id for c in report.checks if c.indication is Indication.FAILED] == \
        ["anchor.chain"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_header_that_does_not_hash_to_the_asked_hash_makes_the_source_invalid(kind):
    with server_for(kind, main_chain(), Knobs(wrong_header=True)) as server:
        report = run([source_for(kind, server)])
    chain = report.check("anchor.chain")
    assert chain.sub_indication is SubIndication.TRY_LATER
    assert chain.details["sources"][0]["state"] == "invalid"
    assert "hashes to" in chain.message and "not to the block asked for" in chain.message


@pytest.mark.parametrize("kind", KINDS)
def test_a_source_lying_about_its_tip_cannot_show_the_headers(kind):
    # Anchor at 3, tip 10: 9 confirmations need a block at height 11, which the liar
    # (claiming a tip at 1000) does not have.
    with server_for(kind, main_chain(), Knobs(tip=1000)) as server:
        report = run([source_for(kind, server)], min_conf=9)
    chain = report.check("anchor.chain")
    assert chain.indication is Indication.INDETERMINATE
    assert chain.sub_indication is SubIndication.TRY_LATER
    assert "no block at height 11" in chain.message


def test_depth_counts_from_the_lowest_tip_among_agreeing_sources():
    with EsploraServer(main_chain()) as honest, \
            EsploraServer(main_chain(), Knobs(tip=1000)) as liar:
        report = run([EsploraSource(honest.url, fast_client()),
                      EsploraSource(liar.url, fast_client())])
    chain = report.check("anchor.chain")
    assert chain.indication is Indication.PASSED
    assert chain.details["lowestTip"] == 10 and chain.details["confirmations"] == 8
    assert [s["tip"] for s in chain.details["sources"]] == [10, 1000]


def test_two_sources_disagreeing_are_reported_side_by_side():
    fork = ChainData.of(reorg_chain())
    with EsploraServer(main_chain()) as main, EsploraServer(fork) as other:
        report = run([EsploraSource(main.url, fast_client()),
                      EsploraSource(other.url, fast_client())])
    chain = report.check("anchor.chain")
    assert (chain.indication, chain.sub_indication) == (Indication.INDETERMINATE,
                                                        SubIndication.SOURCES_DISAGREE)
    said = [s["blockAtHeight"] for s in chain.details["sources"]]
    assert len(set(said)) == 2
    assert all(h in chain.message for h in said)


def test_a_source_down_alone_is_try_later_and_beside_another_is_listed():
    down = "http://127.0.0.1:9/api"  # the discard port: nothing listens
    alone = run([EsploraSource(down, fast_client(retries=0))])
    chain = alone.check("anchor.chain")
    assert chain.sub_indication is SubIndication.TRY_LATER
    assert "cannot connect" in chain.message
    node = run([BitcoinCoreSource("http://u:p@127.0.0.1:9", client=fast_client(retries=0))])
    assert node.check("anchor.chain").sub_indication is SubIndication.TRY_LATER
    with EsploraServer(main_chain()) as server:
        both = run([EsploraSource(down, fast_client(retries=0)),
                    EsploraSource(server.url, fast_client())])
    chain = both.check("anchor.chain")
    assert chain.indication is Indication.PASSED
    assert [s["state"] for s in chain.details["sources"]] == ["unreachable", "answered"]
    assert any("127.0.0.1:9" in w and "did not answer" in w for w in both.warnings)


@pytest.mark.parametrize("kind", KINDS)
def test_429_with_retry_after_is_honoured_and_reported(kind):
    sleeps: list[float] = []
    with server_for(kind, main_chain(), Knobs(throttle=2, retry_after="2")) as server:
        report = run([source_for(kind, server, fast_client(sleeps))])
    chain = report.check("anchor.chain")
    assert chain.indication is Indication.PASSED
    assert sleeps == [2.0, 2.0]
    first = chain.details["sources"][0]["answers"][0]
    assert first["retries"] == ["HTTP 429; waited 2 s (Retry-After)"] * 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_slow_source_times_out(kind):
    with server_for(kind, main_chain(), Knobs(delay=2.0)) as server:
        report = run([source_for(kind, server, fast_client(read_timeout=0.2, retries=0))])
    chain = report.check("anchor.chain")
    assert chain.sub_indication is SubIndication.TRY_LATER
    assert "timed out" in chain.message


@pytest.mark.parametrize("kind", KINDS)
def test_a_huge_response_is_refused(kind):
    with server_for(kind, main_chain(), Knobs(huge=5_000_000)) as server:
        report = run([source_for(kind, server)])
    chain = report.check("anchor.chain")
    assert chain.sub_indication is SubIndication.TRY_LATER
    assert "over the limit of 65536" in chain.message


@pytest.mark.parametrize("kind", KINDS)
def test_a_source_on_another_network_counts_as_unreachable(kind):
    data = main_chain()
    data.genesis = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
    with server_for(kind, data) as server:
        report = run([source_for(kind, server)])
    chain = report.check("anchor.chain")
    assert chain.sub_indication is SubIndication.TRY_LATER
    assert chain.details["sources"][0]["state"] == "wrong-network"
    assert "not the regtest genesis" in chain.message


# --------------------------------------------------------------------------- supplying


@pytest.mark.parametrize("kind", KINDS)
def test_a_source_supplies_what_the_bundle_lacks(kind):
    with server_for(kind, main_chain()) as server:
        source = source_for(kind, server)
        no_hex = run([source], proof=bundle("anchor-without-tx-hex-offline"))
        no_group = run([source], proof=bundle("anchor-without-header-offline"))
    assert anchor_indications(no_hex) == ALL_PASSED
    assert f"supplied by {source.label}" in no_hex.check("anchor.transaction").message
    assert anchor_indications(no_group) == ALL_PASSED
    inclusion = no_group.check("anchor.inclusion")
    assert inclusion.details["suppliedBy"] == source.label and inclusion.details["txIndex"] == 6
    assert any(TXID in r for r in server.requests)  # only now is the txid asked


@pytest.mark.parametrize("kind", KINDS)
def test_a_source_supplying_another_transaction_is_not_a_failure(kind):
    with server_for(kind, main_chain(), Knobs(wrong_tx=True)) as server:
        report = run([source_for(kind, server)],
                     proof=bundle("anchor-without-tx-hex-offline"))
    tx = report.check("anchor.transaction")
    assert (tx.indication, tx.sub_indication) == (Indication.INDETERMINATE,
                                                  SubIndication.TRY_LATER)
    assert f"not to {TXID}" in tx.message
    assert report.indication is not Indication.FAILED


@pytest.mark.parametrize("kind", KINDS)
def test_a_supplied_branch_that_does_not_fold_is_not_a_failure(kind):
    with server_for(kind, main_chain(), Knobs(wrong_position=True)) as server:
        report = run([source_for(kind, server)],
                     proof=bundle("anchor-without-header-offline"))
    inclusion = report.check("anchor.inclusion")
    assert (inclusion.indication, inclusion.sub_indication) == (Indication.INDETERMINATE,
                                                                SubIndication.TRY_LATER)
    assert report.indication is not Indication.FAILED


# --------------------------------------------------------------------------- sharing


def test_a_verifier_asks_each_source_about_each_block_once():
    with EsploraServer(main_chain()) as server:
        verifier = Verifier(Policy(allow_test_mode=True),
                            [EsploraSource(server.url, fast_client())])
        first = verifier.verify(subject(), bundle())
        asked = len(server.requests)
        second = verifier.verify(subject(), bundle())
    assert first.check("anchor.chain").indication is Indication.PASSED
    assert second.check("anchor.chain").details == first.check("anchor.chain").details
    assert asked > 0 and len(server.requests) == asked


def test_sources_are_shared_safely_between_threads_and_survive_pickling(tmp_path):
    headers = tmp_path / "headers.bin"
    headers.write_bytes(world().anchoring.chain.headers_file())
    with EsploraServer(main_chain()) as esplora, BitcoinRpcServer(main_chain()) as node:
        sources = [EsploraSource(esplora.url, fast_client()),
                   BitcoinCoreSource(node.url_with_credentials(), client=fast_client()),
                   HeadersFileSource(headers)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            reports = list(pool.map(lambda _: run(sources), range(8)))
        copies = pickle.loads(pickle.dumps(sources))
        again = run(copies)
    assert all(r.check("anchor.chain").indication is Indication.PASSED for r in reports)
    assert again.check("anchor.chain").indication is Indication.PASSED
    assert node.password not in pickle.dumps([s.label for s in copies]).decode("latin-1")


def test_a_report_replays_offline_from_its_recorded_answers():
    with EsploraServer(main_chain()) as server, BitcoinRpcServer(main_chain()) as node:
        live = run([EsploraSource(server.url, fast_client()),
                    BitcoinCoreSource(node.url_with_credentials(), client=fast_client())],
                   proof=bundle("anchor-without-header-offline"))
    recorded = json.loads(live.to_json())
    replayed = run(replay_sources(recorded), proof=bundle("anchor-without-header-offline"))
    assert anchor_indications(replayed) == ALL_PASSED == anchor_indications(live)
    assert replayed.check("anchor.chain").details["confirmations"] == 8
    # A recorded header altered after the fact no longer hashes to its block.
    for check in recorded["checks"]:
        for entry in check["details"].get("sources", []):
            for answer in entry["answers"]:
                if answer["question"] == "header":
                    text = answer["answer"]  # flip the lowest bit of the version
                    answer["answer"] = f"{int(text[:2], 16) ^ 1:02x}{text[2:]}"
    tampered = run(replay_sources(recorded), proof=bundle("anchor-without-header-offline"))
    assert tampered.check("anchor.inclusion").indication is Indication.INDETERMINATE
    assert tampered.check("anchor.chain").sub_indication is SubIndication.TRY_LATER
    assert "hashes to" in tampered.check("anchor.chain").message


def test_source_answers_are_recorded_as_plain_json():
    with EsploraServer(main_chain()) as server:
        source = EsploraSource(server.url, fast_client())
        run([source])
    answers = source.answers()
    assert json.loads(json.dumps(answers)) == answers
    kinds = {a["question"] for a in answers}
    # blockStatus of the bundle's block: its transaction count (anchor.inclusion).
    assert kinds == {"genesis", "tip", "blockHash", "header", "blockStatus"}


def test_concurrent_first_questions_to_a_headers_file_validate_it_once(tmp_path, monkeypatch):
    from provelio_verify.chain import headers_file

    calls = []
    real = headers_file.validate_run

    def counting(*args: Any, **kw: Any):
        calls.append(threading.get_ident())
        return real(*args, **kw)

    monkeypatch.setattr(headers_file, "validate_run", counting)
    path = tmp_path / "headers.bin"
    path.write_bytes(world().anchoring.chain.headers_file())
    source = HeadersFileSource(path)
    with ThreadPoolExecutor(max_workers=4) as pool:
        tips = list(pool.map(lambda _: source.tip_height(), range(8)))
    assert tips == [10] * 8 and len(calls) == 1


def test_headers_shown_above_the_block_are_bounded(monkeypatch):
    from provelio_verify.chain import survey

    monkeypatch.setattr(survey, "MAX_SHOWN_HEADERS", 3)
    with EsploraServer(main_chain()) as server:
        report = run([EsploraSource(server.url, fast_client())], min_conf=8)
    chain = report.check("anchor.chain")
    assert chain.indication is Indication.PASSED
    assert chain.details["sources"][0]["verifiedHeaders"] == 3
    asked = [p for p in server.requests if "/block-height/" in p]
    assert sorted(asked) == [f"/api/block-height/{h}" for h in (0, 3, 4, 5)]


# ------------------------------------------------- Bitcoin Core's REST headers (header_run)


class _AuthSeeingRpcServer(BitcoinRpcServer):
    """Records the Authorization header each REST request came with."""

    def answer(self, handler, method, body):
        if handler.path.startswith("/rest/"):
            self.rest_auth = [*getattr(self, "rest_auth", []),
                              handler.headers.get("Authorization")]
        return super().answer(handler, method, body)


def test_rest_headers_are_asked_at_the_root_without_the_credentials():
    """A wallet URL's REST is the server's /rest/, and the credentials go to the
    JSON-RPC only (REST is unauthenticated); the run is the chain's headers."""
    chain = world().anchoring.chain
    with _AuthSeeingRpcServer(main_chain(), rest=True) as server:
        source = BitcoinCoreSource(server.url_with_credentials() + "/wallet/w1/",
                                   client=fast_client())
        run_ = source.header_run(1, 10)
        rest = server.rest_requests
    assert run_ == chain.headers_file()[80:]
    assert len(rest) == 1 and rest[0].startswith("GET /rest/headers/")
    assert server.rest_auth == [None]
    assert server.password not in json.dumps(source.describe()) + repr(source)


def test_a_node_without_rest_is_named_in_could_not_use_and_asked_no_more():
    with BitcoinRpcServer(main_chain(), rest=False) as server:
        source = BitcoinCoreSource(server.url_with_credentials(), client=fast_client())
        first = source.header_run(1, 4)
        second = source.header_run(5, 6)
        rest = server.rest_requests
        restored = pickle.loads(pickle.dumps(source))
    assert first + second == world().anchoring.chain.headers_file()[80:]
    assert len(rest) == 1
    assert source.describe()["couldNotUse"] == ("/rest/headers (HTTP 404; headers asked "
                                                "in JSON-RPC batches)")
    assert restored.could_not_use == source.could_not_use


def test_rest_can_be_turned_off_by_the_caller():
    with BitcoinRpcServer(main_chain(), rest=True) as server:
        source = BitcoinCoreSource(server.url_with_credentials(), client=fast_client(),
                                   rest=False)
        assert source.header_run(1, 10) == world().anchoring.chain.headers_file()[80:]
        assert server.rest_requests == [] and source.could_not_use == {}


def test_a_rest_run_beyond_the_tip_is_empty_and_at_the_tip_is_short():
    with BitcoinRpcServer(main_chain(), rest=True) as server:
        source = BitcoinCoreSource(server.url_with_credentials(), client=fast_client())
        assert source.header_run(11, 5) == b""
        assert source.header_run(9, 5) == world().anchoring.chain.headers_file()[9 * 80:]
        assert len(server.rest_requests) == 1
