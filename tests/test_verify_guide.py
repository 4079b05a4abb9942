"""docs/verify-a-certificate.md runs as printed (issue 10): each ```sh block, line by
line, in a fresh copy of examples/, with the exit status (and output) that the line's
``# exit N[: TEXT]`` states. ```text blocks are illustrations and are not run.
provelio-verify lines run through the README test's runner (the real command line, in
process); the others in bash."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from test_readme import _run, run_documented, stated_lines

from helpers.common import REPO

GUIDE = (REPO / "docs" / "verify-a-certificate.md").read_text()
def _sh_blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", GUIDE, flags=re.S | re.M)


def test_the_guide_has_runnable_blocks_with_stated_outcomes():
    blocks = _sh_blocks()
    assert len(blocks) >= 5
    stated = [code for block in blocks for _, code, _ in stated_lines(block) if code is not None]
    assert {0, 1, 3} <= set(stated)  # PASSED, FAILED and INDETERMINATE are each shown
    commands = " ".join(c for b in blocks for c, _, _ in stated_lines(b))
    for example in ("ok-created", "ok-confirmed-regtest"):
        assert example in commands


@pytest.mark.skipif(shutil.which("openssl") is None,
                    reason="the guide's fingerprint command needs openssl")
def test_the_guides_commands_give_what_it_states(tmp_path, monkeypatch, capsys):
    work = tmp_path / "examples"
    shutil.copytree(REPO / "examples", work)
    ran = 0
    for block in _sh_blocks():  # in order: a later block may rely on an earlier one
        for command, code, text in stated_lines(block):
            got, out = run_documented(command, work, monkeypatch, capsys)
            if code is not None:
                assert got == code, (command, out)
                ran += 1
            else:
                assert got == 0, (command, out)
            if text is not None:
                assert text in out, (command, text, out)
    assert ran >= 5


def test_the_fingerprint_the_guide_shows_is_the_one_the_report_names(tmp_path, monkeypatch,
                                                                      capsys):
    """The guide's fingerprint (its prefix) is the SHA-256 of the example root, which the
    report lists under trustAnchors."""
    shown = re.search(r"sha256 Fingerprint=([0-9A-F:]+)", GUIDE)
    assert shown
    code, out = _run(["provelio-verify", "ok-created/document.txt", "ok-created/proof.json",
                      "--tsa-roots", "ok-created/roots.pem", "--json"], REPO / "examples",
                     monkeypatch, capsys)
    assert code == 0
    anchors = json.loads(out)["trustAnchors"]
    assert any(a["sha256"].startswith(shown.group(1).replace(":", "").lower())
               for a in anchors), anchors
