"""Property (issue 8, item 11): whatever an attacker does to a capsule's manifest, its
chain answers or its recorded report, with SHA256SUMS recomputed as anyone can, reading
and re-verifying it either refuses it (CapsuleError, InputError) or gives a report; and
that report is never PASSED when the roots the user gives do not include the signer's.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from helpers.common import SCENARIOS
from helpers.tsa_helpers import tsa_world
from provelio_verify import Indication, Policy, Verifier
from provelio_verify.capsule import load_capsule, reverify, save_capsule
from provelio_verify.chain import HeadersFileSource
from provelio_verify.errors import InputError

TARGETS = ("capsule.json", "chain/answers.json", "report.json")

_scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() \
    | st.text(max_size=20) | st.sampled_from(["../x", "/etc/passwd", "roots/01.pem",
                                             "proof.json", "chain/headers.bin", "zz" * 32])
_json_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                            max_leaves=6)


@pytest.fixture(scope="module")
def capsule_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    case = SCENARIOS / "ok-confirmed-regtest"
    verifier = Verifier(Policy(tsa_roots=(tsa_world().root.der,), allow_test_mode=True),
                        [HeadersFileSource(case / "headers.bin")])
    verification = verifier.verify_detailed(case / "document.txt", case / "proof.json")
    assert verification.report.indication is Indication.PASSED
    folder = tmp_path_factory.mktemp("capsule") / "capsule"
    save_capsule(folder, verification, verifier)
    return folder


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, the document itself included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def _mutate(data: st.DataObject, raw: bytes) -> bytes:
    how = data.draw(st.sampled_from(["replace", "drop", "flip"]))
    if how == "flip":
        position = data.draw(st.integers(0, len(raw) * 8 - 1))
        out = bytearray(raw)
        out[position // 8] ^= 1 << (position % 8)
        return bytes(out)
    document = json.loads(raw)
    path = data.draw(st.sampled_from(_paths(document)))
    if not path:
        return json.dumps(data.draw(_json_values)).encode()
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if how == "drop":
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(_json_values)
    return json.dumps(document).encode()


def _resum(folder: Path) -> None:
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                   if p.is_file() and p.name != "SHA256SUMS")
    (folder / "SHA256SUMS").write_text("".join(
        f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n" for n in names))


@given(st.data())
def test_a_mutated_capsule_is_refused_or_judged_never_passed_under_other_roots(
        capsule_dir, data):
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "capsule"
        shutil.copytree(capsule_dir, folder)
        for _ in range(data.draw(st.integers(1, 3))):
            target = folder / data.draw(st.sampled_from(TARGETS))
            try:
                target.write_bytes(_mutate(data, target.read_bytes()))
            except ValueError:  # an earlier flip left it no JSON: flip it again
                continue
        _resum(folder)
        try:
            capsule = load_capsule(folder)
        except InputError as exc:  # CapsuleError is one
            event(f"refused: {type(exc).__name__}")
            return
        event("judged")
        wrong = reverify(capsule, policy=Policy(tsa_roots=(tsa_world().other_root.der,),
                                                allow_test_mode=True))
        assert wrong.indication is not Indication.PASSED
        none = reverify(capsule, policy=Policy(allow_test_mode=True))
        assert none.indication is not Indication.PASSED
        reverify(capsule, policy=Policy(tsa_roots=(tsa_world().root.der,),
                                        allow_test_mode=True))  # judged, without raising
