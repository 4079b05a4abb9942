"""One name per artefact in the by-hand commands (layout follow-up, issue 13): the token
and extraCerts are written by the same lines, to ``token.der`` and ``extra-certs.pem``,
from the bundle's path as it was given, wherever a step needs them; and the
``timestamp.chain`` commands run as printed from another directory."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from helpers.common import SCENARIOS
from helpers.tsa_helpers import tsa_world
from provelio_verify import Policy, verify
from provelio_verify.bundle import parse_bundle
from provelio_verify.evidence_report import HOW_TO_CHECK
from provelio_verify.howto import extract_commands

CASE = "tsa-ok-intermediate-in-extracerts"  # a bundle with extraCerts


def _case(tmp_path, name=CASE):
    case = tmp_path / "evidence folder"  # a space: paths must be quoted
    shutil.copytree(SCENARIOS / name, case)
    bundle = case / "proof.json"
    report = verify(case / "document.txt", bundle,
                    policy=Policy(tsa_roots=(tsa_world().root.der,))).to_dict()
    return case, bundle, report


def _commands(report):
    steps = [c for s in report[HOW_TO_CHECK] for c in s["commands"]]
    return steps + report["timestamp"]["recheck"]


def test_every_command_names_each_artefact_one_way(tmp_path):
    _, bundle, report = _case(tmp_path)
    commands = _commands(report)
    assert not [c for c in commands if "extra.pem" in c]
    assert any("extra-certs.pem" in c for c in commands)
    # the bundle is named by its path as given, never by a literal proof.json elsewhere
    mentions = [c for c in commands if "proof.json" in c]
    assert mentions and all(str(bundle) in c for c in mentions), mentions
    # one producer: the extraction lines are the same in every step that has them
    expected = extract_commands(parse_bundle(bundle.read_bytes()), str(bundle))
    token_step = next(s for s in report[HOW_TO_CHECK] if s["check"] == "timestamp.token")
    assert token_step["commands"][:len(expected)] == expected
    assert report["timestamp"]["recheck"][:len(expected)] == expected


@pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("jq") is None,
                    reason="the re-check commands need openssl and jq (scripts/test installs them)")
@pytest.mark.parametrize("tamper, verdict", [(False, "Verification: OK"),
                                             (True, "Verification: FAILED")])
def test_the_recheck_runs_as_printed_from_another_directory(tmp_path, tamper, verdict):
    case, _, report = _case(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "ROOTS.pem").write_bytes(tsa_world().root.pem)
    if tamper:  # the file changes after the report was made: OpenSSL must now refuse
        data = bytearray((case / "document.txt").read_bytes())
        data[0] ^= 1
        (case / "document.txt").write_bytes(bytes(data))
    proc = subprocess.run(["bash", "-c", "\n".join(report["timestamp"]["recheck"])],
                          cwd=elsewhere, capture_output=True, text=True, timeout=60)
    assert verdict in proc.stdout + proc.stderr, (proc.stdout, proc.stderr)
