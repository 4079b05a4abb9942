"""benchmarks/sync.py, run small: a sync of real mainnet headers from each loopback
source (Bitcoin Core REST, Bitcoin Core JSON-RPC, Esplora, Electrum) writes the
headers it was served and keeps a loose floor against bare validation of the same
headers, measured in the same run. The figure can fail; the floor is not a claim
about this machine's speed."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from helpers.common import REPO


def test_the_sync_benchmark_runs_every_source_and_keeps_the_loose_floor():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "sync.py"),
                           "--headers", "20000", "--repeat", "1", "--min-ratio", "0.001"],
                          capture_output=True, text=True, timeout=180)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "20,000 real mainnet headers, heights 151,199-171,198" in proc.stdout
    assert re.search(r"validation \(bare loop\)\s+[0-9,]+", proc.stdout)
    for source in ("rest", "rpc", "esplora", "electrum"):
        line = re.search(rf"^sync {source}\s+([0-9,]+)\s.*\s([0-9.]+)\s+[0-9.]+s\s+met ",
                         proc.stdout, re.MULTILINE)
        assert line, f"no line for {source}:\n{proc.stdout}"
    assert "Bitcoin Core REST (-rest)" in proc.stdout and "JSON-RPC (no -rest)" in proc.stdout
    assert "servers: precomputed" in proc.stdout


def test_live_servers_are_said_and_rest_alone_runs():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "sync.py"),
                           "--headers", "3000", "--repeat", "1", "--sources", "rest",
                           "--servers", "live", "--min-ratio", "0.001"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^sync rest\s", proc.stdout, re.MULTILINE)
    assert not re.search(r"^sync rpc\s", proc.stdout, re.MULTILINE)
    assert "servers: live" in proc.stdout


def test_a_ratio_under_the_floor_exits_1():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "sync.py"),
                           "--headers", "3000", "--repeat", "1", "--sources", "electrum",
                           "--min-ratio", "1000"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "NOT met (>= 1000.0" in proc.stdout


# ------------------------------------------------- what the benchmark found: each write
# validated the whole file (three times the headers for 100,000); now the new headers
# with the period before them. The file and the errors must be those of the whole.

REAL = REPO / "tests" / "data" / "bitcoin" / "headers" / "mainnet_headers_150001_340000.bin"
REAL_FIRST = 150_001
FIRST = 151_199  # the first shipped checkpoint in the run


def _tampered(height: int, how: str) -> bytes:
    data = bytearray(REAL.read_bytes())
    at = (height - REAL_FIRST) * 80
    if how == "version":  # BIP 34 demands version 2 from height 227,931
        data[at:at + 4] = (1).to_bytes(4, "little")
    elif how == "time":  # not after the median of the eleven before it
        data[at + 68:at + 72] = data[at - 6 * 80 + 68:at - 6 * 80 + 72]
    elif how == "link":
        data[at + 4:at + 36] = bytes(32)
    elif how == "bits":  # a period start that ignores the retarget
        data[at + 72:at + 76] = data[at - 80 + 72:at - 80 + 76]
    return bytes(data)


def _checkpoints_to(period: int):
    """The shipped mainnet checkpoints up to ``period``'s last block: headers above it
    are beyond the checkpoints, where each retarget is only the run's own."""
    from provelio_verify.core.anchor.checkpoints import Checkpoints
    from provelio_verify.inputs.checkpoints import mainnet_checkpoints

    cps = mainnet_checkpoints()
    return Checkpoints(cps.network, cps.block_hashes[:period + 1], cps.next_bits[:period + 1])


def _sync_from_electrum(tmp_path, data: bytes, last: int, commit_every: int,
                        checkpoints=None):
    from helpers.electrumserver import ElectrumServer, OffsetData
    from provelio_verify.chain import ElectrumSource
    from provelio_verify.chain.sync import sync_headers
    from provelio_verify.core.anchor.bitcoin import NETWORKS, Network

    served = data[(FIRST - REAL_FIRST) * 80:(last + 1 - REAL_FIRST) * 80]
    with ElectrumServer(OffsetData(served, FIRST, NETWORKS[Network.MAINNET].genesis_header)) \
            as server:
        return sync_headers(tmp_path / "h.bin", ElectrumSource(server.address),
                            start_height=FIRST, commit_every=commit_every,
                            checkpoints=checkpoints), served


def test_a_sync_in_many_writes_holds_what_the_whole_file_validation_accepts(tmp_path):
    from provelio_verify.chain import HeadersFileSource

    result, served = _sync_from_electrum(tmp_path, REAL.read_bytes(), 175_000, 2016)
    assert (tmp_path / "h.bin").read_bytes() == served
    assert result.tip_height == 175_000 and result.added == 175_000 - FIRST + 1
    run = HeadersFileSource(tmp_path / "h.bin").run()
    assert run.checkpoints_matched == 12


def test_beyond_the_checkpoints_each_write_validates_from_the_last_known_target(tmp_path):
    """Checkpoints to height 163,295 only: every write above it recomputes each
    retarget from the run's own headers, as the whole file's validation does."""
    from provelio_verify.chain.headers_file import validate_headers

    cps = _checkpoints_to(80)
    assert cps.height_of_checkpoint(len(cps) - 1) == 163_295
    result, served = _sync_from_electrum(tmp_path, REAL.read_bytes(), 175_000, 2016, cps)
    assert (tmp_path / "h.bin").read_bytes() == served and result.tip_height == 175_000
    assert validate_headers(served, cps).retargets == 11


# Writes with commit_every=4032 begin their new headers at 151,200, 155,232, ...,
# 167,328, 171,360: the first cases sit just after a write's first new header, where
# the rules look back into headers written before.
@pytest.mark.parametrize("height, how, cps_to", [
    (167_330, "time", None), (171_361, "link", None), (229_000, "version", None),
    (170_011, "time", None), (173_376, "bits", None), (173_376, "bits", 80),
    (171_365, "time", 80)])
def test_a_bad_header_in_a_later_write_is_refused_as_the_whole_file_refuses_it(
        tmp_path, height, how, cps_to):
    """Each write validates the new headers with the period before them: the header
    that breaks a rule is found at the height, and named in the words, of validating
    the whole file, and the file keeps exactly the headers before it."""
    from provelio_verify.chain import HeadersFileSource
    from provelio_verify.chain.headers_file import validate_headers
    from provelio_verify.errors import HeadersSyncError, SourceInvalid
    from provelio_verify.inputs.checkpoints import mainnet_checkpoints

    cps = mainnet_checkpoints() if cps_to is None else _checkpoints_to(cps_to)
    data = _tampered(height, how)
    last = height + 3000
    whole = data[(FIRST - REAL_FIRST) * 80:(last + 1 - REAL_FIRST) * 80]
    with pytest.raises(SourceInvalid) as expected:
        validate_headers(whole, cps)
    with pytest.raises(HeadersSyncError) as caught:
        _sync_from_electrum(tmp_path, data, last, 4032, cps)
    assert expected.value.height == height
    assert expected.value.reason in caught.value.reason
    assert (tmp_path / "h.bin").read_bytes() == whole[:(height - FIRST) * 80]
    HeadersFileSource(tmp_path / "h.bin").run()
