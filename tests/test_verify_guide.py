"""docs/verify-a-certificate.md runs as printed (issue 10): each ```sh block, line by
line, in a fresh copy of examples/, with the exit status (and output) that the line's
``# exit N[: TEXT]`` states. ```text blocks are illustrations and are not run.
provelio-verify lines run through the README test's runner (the real command line, in
process); the others in bash."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess

import pytest
from test_readme import _run

from helpers.common import REPO

GUIDE = (REPO / "docs" / "verify-a-certificate.md").read_text()
EXPECT = re.compile(r"\s+# exit (\d+)(?::\s*(.+))?$")


def _sh_blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", GUIDE, flags=re.S | re.M)


def _lines(block: str) -> list[tuple[str, int | None, str | None]]:
    out = []
    for line in block.splitlines():
        if not line.strip():
            continue
        found = EXPECT.search(line)
        command = line[:found.start()] if found else line
        out.append((command, int(found.group(1)) if found else None,
                    found.group(2).strip() if found and found.group(2) else None))
    return out


def test_the_guide_has_runnable_blocks_with_stated_outcomes():
    blocks = _sh_blocks()
    assert len(blocks) >= 5
    stated = [code for block in blocks for _, code, _ in _lines(block) if code is not None]
    assert {0, 1, 3} <= set(stated)  # PASSED, FAILED and INDETERMINATE are each shown
    commands = " ".join(c for b in blocks for c, _, _ in _lines(b))
    for example in ("ok-created", "ok-confirmed-regtest"):
        assert example in commands


@pytest.mark.skipif(shutil.which("openssl") is None,
                    reason="the guide's fingerprint command needs openssl")
def test_the_guides_commands_give_what_it_states(tmp_path, monkeypatch, capsys):
    work = tmp_path / "examples"
    shutil.copytree(REPO / "examples", work)
    ran = 0
    for block in _sh_blocks():  # in order: a later block may rely on an earlier one
        for command, code, text in _lines(block):
            argv = shlex.split(command)
            if argv[0] == "provelio-verify":
                got, out = _run(argv, work, monkeypatch, capsys)
            else:
                proc = subprocess.run(["bash", "-c", command], cwd=work, capture_output=True,
                                      text=True, timeout=60)
                got, out = proc.returncode, proc.stdout + proc.stderr
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
