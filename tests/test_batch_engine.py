"""Issue 11: the batch engine streams, runs on any executor, and loses no item.

- Any ``concurrent.futures.Executor`` (threads, processes) gives the same outcomes, in
  item order, as verifying in this process; chunks of any size, a bounded number in
  flight.
- Items are pulled as work goes out: output starts before the source is exhausted,
  and no more than ``chunk_size × in_flight`` items are ever waiting.
- Workers render the JSON lines: byte for byte what the report's JSON is.
- A worker process that dies costs no item and doubles none.
- A remote chain source is asked about each block once per batch, whatever executor.
- Discovery streams a manifest: a bad line in the middle is that line's item.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

import provelio_verify as pv
from helpers.batch_archive import archive_verifier, build_archive
from helpers.common import SCENARIOS
from provelio_verify.batch import discover, iter_batch, run_batch, stream, verify_item

NOW = datetime(2026, 6, 1, tzinfo=UTC)  # one clock: reports compare byte for byte


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    target = tmp_path_factory.mktemp("engine")
    build_archive(target, 150)
    items, _ = discover(target / "archive")
    return target, items


def _verifier(target):
    return archive_verifier(target, now=NOW)


def _lines(outcomes):
    return [o.line for o in outcomes]


@pytest.fixture(scope="module")
def reference(archive):
    target, items = archive
    verifier = _verifier(target)
    return [verify_item(item, verifier, line=True) for item in items]


def test_a_worker_line_is_the_report_json_byte_for_byte(archive, reference):
    target, items = archive
    full = [verify_item(item, _verifier(target)) for item in items[:20]]
    for outcome, line in zip(full, _lines(reference[:20]), strict=True):
        assert line == (json.dumps(outcome.report, ensure_ascii=False) + "\n").encode()


@pytest.mark.parametrize("kind", ["threads", "processes"])
def test_any_executor_gives_the_same_outcomes_in_item_order(archive, reference, kind):
    target, items = archive
    pool = ThreadPoolExecutor(3) if kind == "threads" else ProcessPoolExecutor(2)
    with pool:
        outcomes = list(iter_batch(items, _verifier(target), executor=pool, chunk_size=7,
                                   in_flight=3, full_reports=False, lines=True))
    assert [o.item.index for o in outcomes] == list(range(len(items)))
    assert _lines(outcomes) == _lines(reference)
    assert Counter(o.indication for o in outcomes) == Counter(o.indication for o in reference)


def test_own_pool_gives_the_same_lines(archive, reference):
    target, items = archive
    outcomes = list(iter_batch(items, _verifier(target), jobs=2, chunk_size=9,
                               full_reports=False, lines=True))
    assert _lines(outcomes) == _lines(reference)


def test_items_are_pulled_as_work_goes_out_and_output_starts_early(archive):
    target, items = archive
    pulled = []
    seen_at_first_outcome = []
    waiting = []

    def source():
        for item in items:
            pulled.append(item.index)
            yield item

    def on_outcome(outcome):
        if not seen_at_first_outcome:
            seen_at_first_outcome.append(len(pulled))
        waiting.append(len(pulled) - (outcome.item.index + 1))

    with ThreadPoolExecutor(2) as pool:
        summary = run_batch(source(), _verifier(target), executor=pool, chunk_size=5,
                            in_flight=2, full_reports=False, on_outcome=on_outcome)
    assert summary.total == summary.done == len(items) and summary.complete
    assert seen_at_first_outcome[0] < len(items) // 2, "output waited for discovery"
    assert max(waiting) <= 5 * 2, f"{max(waiting)} items were waiting"


def test_a_killed_worker_loses_nothing_and_doubles_nothing(archive, reference, monkeypatch):
    target, items = archive
    parent = os.getpid()
    doomed = items[40].name
    real = pv.Verifier.verify

    def verify(self, subject, bundle, **kwargs):
        if os.getpid() != parent and str(subject).endswith(doomed):
            os._exit(9)  # as a worker killed by the kernel (out of memory) dies
        return real(self, subject, bundle, **kwargs)

    monkeypatch.setattr(pv.Verifier, "verify", verify)
    outcomes = list(iter_batch(items, _verifier(target), jobs=2, chunk_size=8,
                               full_reports=False, lines=True))
    assert [o.item.index for o in outcomes] == list(range(len(items)))
    lost = [o for o in outcomes if o.line != reference[o.item.index].line]
    assert [o.item.name for o in lost] == [doomed]  # only the item that kills its worker
    assert lost[0].indication is pv.Indication.INDETERMINATE
    assert "worker process verifying it died" in lost[0].deciding[1]


def test_a_worker_dying_before_the_next_chunk_is_sent_loses_nothing(archive, reference,
                                                                    monkeypatch):
    """The race CI met: the chunk at the head comes back, and by the time the parent
    sends the next one a worker verifying a later chunk has died and broken the pool.
    Here the reader of the outcomes is slow after the first one, so the pool is surely
    broken at that send."""
    import time

    target, items = archive
    parent = os.getpid()
    doomed = items[5].name  # in the second chunk; the first comes back whole
    real = pv.Verifier.verify

    def verify(self, subject, bundle, **kwargs):
        if os.getpid() != parent and str(subject).endswith(doomed):
            os._exit(9)
        return real(self, subject, bundle, **kwargs)

    monkeypatch.setattr(pv.Verifier, "verify", verify)
    outcomes = []
    for outcome in iter_batch(items[:30], _verifier(target), jobs=2, chunk_size=4,
                              in_flight=2, full_reports=False, lines=True):
        if not outcomes:
            time.sleep(1.0)
        outcomes.append(outcome)
    assert [o.item.index for o in outcomes] == list(range(30))
    lost = [o for o in outcomes if o.line != reference[o.item.index].line]
    assert [o.item.name for o in lost] == [doomed]


def test_a_remote_source_is_asked_about_each_block_once_on_any_executor(tmp_path):
    from gen.world import world
    from helpers.chainservers import ChainData, EsploraServer

    src = tmp_path / "same-block"
    src.mkdir()
    for i in range(24):
        for suffix, name in (("", "document.txt"), (".proof.json", "proof.json")):
            (src / f"{i:02d}.txt{suffix}").write_bytes((SCENARIOS / "ok-confirmed-regtest"
                                                        / name).read_bytes())
    roots = pv.load_certificates(SCENARIOS / "ok-confirmed-regtest" / "roots.pem")
    items, _ = discover(src)
    with EsploraServer(ChainData.of(world().anchoring.chain)) as esplora, \
            ProcessPoolExecutor(2) as pool:
        verifier = pv.Verifier(pv.Policy(tsa_roots=roots, allow_test_mode=True),
                               [pv.chain.EsploraSource(esplora.url)])
        summary = run_batch(iter(items), verifier, executor=pool, chunk_size=3,
                            full_reports=False)
        asked = list(esplora.requests)
    assert summary.by_indication["PASSED"] == 24, summary.to_dict()
    assert asked, "the source was not asked at all"
    repeated = [r for r, n in Counter(asked).items() if n > 1]
    assert not repeated, f"asked more than once: {repeated}"


def test_a_manifest_streams_and_a_bad_line_midway_is_that_line_only(tmp_path):
    proof = (SCENARIOS / "ok-digest" / "proof.json")
    digest = json.loads(proof.read_text())["certificate"]["sha256Hash"]
    (tmp_path / "p.json").write_bytes(proof.read_bytes())
    good = json.dumps({"digest": digest, "proof": "p.json"}).encode()
    (tmp_path / "m.jsonl").write_bytes(good + b"\n" + b'{"x": "\xff"}\n' + good + b"\n")
    (tmp_path / "m.csv").write_bytes(b"digest,proof\n" + f"{digest},p.json\n".encode()
                                     + b"\xff,p.json\n" + f"{digest},p.json\n".encode())
    for name, lines in (("m.jsonl", (1, 2, 3)), ("m.csv", (2, 3, 4))):
        items, _ = stream(tmp_path / name)
        first = next(items)
        assert first.problem is None and first.digest == digest
        rest = list(items)
        assert [i.name for i in (first, *rest)] == ["p.json", f"line {lines[1]}", "p.json"]
        assert "not UTF-8" in rest[0].problem
        assert rest[1].problem is None
        assert [i.index for i in (first, *rest)] == [0, 1, 2]


def test_a_manifest_is_read_a_line_at_a_time(tmp_path):
    """The first item comes before the manifest's end is read: the rest of it is not
    even written yet."""
    proof = SCENARIOS / "ok-digest" / "proof.json"
    digest = json.loads(proof.read_text())["certificate"]["sha256Hash"]
    (tmp_path / "p.json").write_bytes(proof.read_bytes())
    path = tmp_path / "m.jsonl"
    with open(path, "w") as out:
        out.write(json.dumps({"digest": digest, "proof": "p.json"}) + "\n")
        out.flush()
        items, _ = stream(path)
        assert next(items).digest == digest
        out.write(json.dumps({"digest": digest, "proof": "p.json"}) + "\n")
    assert len(list(items)) == 1
