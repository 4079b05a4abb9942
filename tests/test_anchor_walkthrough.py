"""docs/anchor.md, "Verify a 2026 certificate offline" (issue 9): its ```sh block runs
as printed, line by line, from a copy of examples/ok-confirmed-regtest, with the exit
status (and output) each line's ``# exit N[: TEXT]`` states. The Bitcoin Core it names
is a loopback JSON-RPC server serving the example's regtest chain, at the address and
with the cookie file the block shows (the address is this test's server's)."""

from __future__ import annotations

import re
import shlex
import shutil

import pytest
from test_readme import run_documented, stated_lines

from gen.world import world
from helpers.chainservers import BitcoinRpcServer, ChainData
from helpers.common import REPO

DOC = (REPO / "docs" / "anchor.md").read_text()
SECTION = DOC.split("#### Verify a 2026 certificate offline", 1)[-1].split("\n### ", 1)[0]
SHOWN_NODE = "http://127.0.0.1:18443"


def _block() -> list[tuple[str, int | None, str | None]]:
    blocks = re.findall(r"^```sh\n(.*?)^```$", SECTION, flags=re.S | re.M)
    assert len(blocks) == 1, "the walk-through has one runnable block"
    lines = stated_lines(blocks[0])
    for command, code, _ in lines:
        assert code is not None, f"every line states its exit status: {command!r}"
    return lines


def test_the_walkthrough_syncs_then_verifies_offline():
    commands = " ".join(c for c, _, _ in _block())
    assert "--sync-headers" in commands and "--headers my-headers.bin" in commands
    assert commands.count("--sync-headers") == 2  # built, then extended from its tip


@pytest.mark.skipif(shutil.which("jq") is None, reason="the walk-through's first step uses jq")
def test_the_walkthrough_runs_as_printed(tmp_path, monkeypatch, capsys):
    work = tmp_path / "ok-confirmed-regtest"
    shutil.copytree(REPO / "examples" / "ok-confirmed-regtest", work)
    with BitcoinRpcServer(ChainData.of(world().anchoring.chain)) as node:
        node.write_cookie(work / "regtest.cookie")
        for command, code, text in _block():
            argv = [node.url if a == SHOWN_NODE else a for a in shlex.split(command)]
            got, out = run_documented(command, work, monkeypatch, capsys, argv)
            assert got == code, (command, out)
            if text is not None:
                assert text in out, (command, text, out)
        asked = list(node.requests)
    assert any("getblockheader" in r for r in asked), asked  # the file came from the node
