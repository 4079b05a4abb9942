"""The committed fixtures are exactly what tests/fixtures/generate.py makes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, REPO


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_generate_reproduces_committed_fixtures(tmp_path):
    proc = subprocess.run([sys.executable, str(FIXTURES / "generate.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    made = _tree(tmp_path / "scenarios")
    committed = _tree(FIXTURES / "scenarios")
    assert sorted(made) == sorted(committed), "scenario files differ in name"
    differing = [name for name in made if made[name] != committed[name]]
    assert not differing, f"regenerated fixtures differ: {differing[:20]}"
    assert (tmp_path / "manifest.json").read_bytes() == (FIXTURES / "manifest.json").read_bytes()
    assert _tree(tmp_path / "examples") == _tree(REPO / "examples")
