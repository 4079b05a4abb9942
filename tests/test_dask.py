"""Batches on a Dask distributed cluster (issue 11): a ``LocalCluster`` of worker
processes on 127.0.0.1, the real scheduler protocol. Same verdicts as the local pool,
a worker killed mid-batch loses nothing and doubles nothing, chain sources are asked
about each block once per batch, and ``--dask-scheduler`` runs the real command line
against the cluster."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

import provelio_verify as pv
from helpers.batch_archive import ARCHIVE_HEADERS, ARCHIVE_ROOTS, archive_verifier, build_archive
from helpers.common import SCENARIOS, run_cli
from provelio_verify.batch import discover, iter_batch, run_batch, verify_item
from provelio_verify.batch.cluster import dask_executor
from provelio_verify.errors import InputError

distributed = pytest.importorskip(
    "distributed", reason="Dask's distributed is in the test extra (pip install -e '.[test]')")

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=50) as local:
        yield local


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    target = tmp_path_factory.mktemp("dask")
    build_archive(target, 120)
    items, _ = discover(target / "archive")
    return target, items


def _verifier(target):
    return archive_verifier(target, now=NOW)


@pytest.fixture(scope="module")
def reference(archive):
    target, items = archive
    verifier = _verifier(target)
    return [verify_item(item, verifier, line=True).line for item in items]


def test_the_cluster_gives_the_local_pools_lines_in_item_order(cluster, archive, reference):
    target, items = archive
    with dask_executor(cluster.scheduler_address) as executor:
        assert executor.max_workers == 2
        outcomes = list(iter_batch(items, _verifier(target), executor=executor,
                                   chunk_size=9, full_reports=False, lines=True))
    assert [o.item.index for o in outcomes] == list(range(len(items)))
    assert [o.line for o in outcomes] == reference
    local = list(iter_batch(items, _verifier(target), jobs=2, chunk_size=9,
                            full_reports=False, lines=True))
    assert [o.line for o in local] == reference


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(tmp_path, cluster):
    # Sparse files make items slow enough that the kill lands while chunks are out.
    src = tmp_path / "big"
    src.mkdir()
    bundle = (SCENARIOS / "ok-created" / "proof.json").read_bytes()
    n = 40
    for i in range(n):
        with open(src / f"{i:03d}.bin", "wb") as out:
            out.truncate(16 * 1024 * 1024)
        (src / f"{i:03d}.bin.proof.json").write_bytes(bundle)
    items, _ = discover(src)
    roots = pv.load_certificates(SCENARIOS / "ok-created" / "roots.pem")
    verifier = pv.Verifier(pv.Policy(tsa_roots=roots))
    client = distributed.Client(cluster.scheduler_address, set_as_default=False)
    try:
        pids = list(client.run(os.getpid).values())
    finally:
        client.close()
    seen: list[int] = []
    killed = threading.Event()

    def on_outcome(outcome):
        seen.append(outcome.item.index)
        if len(seen) == 4 and not killed.is_set():
            os.kill(pids[0], signal.SIGKILL)  # as the kernel kills a worker out of memory
            killed.set()

    with dask_executor(cluster.scheduler_address) as executor:
        summary = run_batch(items, verifier, executor=executor, chunk_size=2,
                            full_reports=False, on_outcome=on_outcome)
    assert killed.is_set()
    assert seen == list(range(n))  # every item once, in order
    assert summary.done == n and summary.by_indication["FAILED"] == n  # not the document
    # The nanny brings the worker back for the tests that follow.
    deadline = time.monotonic() + 60
    client = distributed.Client(cluster.scheduler_address, set_as_default=False)
    try:
        while len(client.nthreads()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        client.close()


def test_a_remote_source_is_asked_about_each_block_once_on_the_cluster(tmp_path, cluster):
    from gen.world import world
    from helpers.chainservers import ChainData, EsploraServer

    src = tmp_path / "same-block"
    src.mkdir()
    for i in range(24):
        for suffix, name in (("", "document.txt"), (".proof.json", "proof.json")):
            shutil.copy(SCENARIOS / "ok-confirmed-regtest" / name, src / f"{i:02d}.txt{suffix}")
    roots = pv.load_certificates(SCENARIOS / "ok-confirmed-regtest" / "roots.pem")
    items, _ = discover(src)
    with EsploraServer(ChainData.of(world().anchoring.chain)) as esplora, \
            dask_executor(cluster.scheduler_address) as executor:
        verifier = pv.Verifier(pv.Policy(tsa_roots=roots, allow_test_mode=True),
                               [pv.chain.EsploraSource(esplora.url)])
        summary = run_batch(iter(items), verifier, executor=executor, chunk_size=3,
                            full_reports=False)
        asked = list(esplora.requests)
    assert summary.by_indication["PASSED"] == 24, summary.to_dict()
    assert asked, "the source was not asked at all"
    repeated = [r for r, n in Counter(asked).items() if n > 1]
    assert not repeated, f"asked more than once: {repeated}"


def test_the_command_line_runs_a_batch_on_the_cluster(tmp_path, cluster, archive):
    target, items = archive
    local = tmp_path / "local.jsonl"
    remote = tmp_path / "remote.jsonl"
    common = ["--batch", "archive", "--tsa-roots", ARCHIVE_ROOTS, "--headers",
              ARCHIVE_HEADERS, "--allow-test-mode"]
    # Relative paths, given in a folder the workers do not run in.
    first = run_cli([*common, "--jsonl", str(local), "--jobs", "2"], cwd=target)
    second = run_cli([*common, "--jsonl", str(remote), "--dask-scheduler",
                      cluster.scheduler_address], cwd=target)
    assert first.returncode == second.returncode != 2, second.stderr
    verdicts = [(d["item"]["index"], d["item"]["name"], d["indication"], d["subIndication"])
                for d in map(json.loads, local.read_text().splitlines())]
    on_cluster = [(d["item"]["index"], d["item"]["name"], d["indication"],
                   d["subIndication"]) for d in map(json.loads, remote.read_text().splitlines())]
    assert on_cluster == verdicts and len(verdicts) == len(items)
    assert all(os.path.isabs(json.loads(line)["item"]["file"] or "/")
               for line in remote.read_text().splitlines())
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]  # BATCH VERDICT


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path):
    src = tmp_path / "b"
    src.mkdir()
    shutil.copy(SCENARIOS / "ok-created" / "document.txt", src / "a.txt")
    shutil.copy(SCENARIOS / "ok-created" / "proof.json", src / "a.txt.proof.json")
    with socket_closed_port() as port:
        done = run_cli(["--batch", str(src), "--dask-scheduler", f"tcp://127.0.0.1:{port}"],
                       env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert done.returncode == 2 and "cannot reach the Dask scheduler" in done.stderr
    assert "Traceback" not in done.stderr
    both = run_cli(["--batch", str(src), "--dask-scheduler", "tcp://127.0.0.1:1", "--jobs", "2"])
    assert both.returncode == 2 and "give one of them" in both.stderr
    with socket_closed_port() as port, pytest.raises(InputError, match="cannot reach"), \
            dask_executor(f"tcp://127.0.0.1:{port}", timeout=2):
        pass


class socket_closed_port:  # noqa: N801 - used as a context manager
    """A port on 127.0.0.1 that nothing listens on."""

    def __enter__(self) -> int:
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc) -> None:
        return None
