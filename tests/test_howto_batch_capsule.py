"""Issue 10, item 1: every by-hand command a report prints runs as printed, in a fresh
shell, from a folder other than the one the verification ran in, for a batch item and
for a capsule's re-verification, and shows the verdict the report states; and the
opposite once the input is tampered with after the report was made (a byte flipped in
the file, or in the token inside the bundle the commands name).

The paths the commands name are absolute (the batch's relative paths joined to the
folder it ran in; a capsule's bundle by its own copy, and its file by the recorded
digest when the file is not given again). Only what the commands write themselves
(``token.der``, ``extra-certs.pem``) and ``ROOTS.pem`` (the person's own roots) are names
in the folder the commands run in. The single run's commands are run the same way in
tests/test_howto_names.py.

Lines that need a Bitcoin node (``bitcoin-cli ...``) or a browser (a URL) are not run
here; each test asserts that those are the only ones left out."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from helpers.common import SCENARIOS, run_cli

CREATED = SCENARIOS / "tsa-ok-intermediate-in-extracerts"  # a bundle with extraCerts
CONFIRMED = SCENARIOS / "ok-confirmed-regtest"  # anchored, with its headers file
TOOLS = ("openssl", "jq", "xxd", "sha256sum", "stat", "base64", "fold", "tac")
needs_tools = pytest.mark.skipif(
    not all(shutil.which(t) for t in TOOLS),
    reason=f"the by-hand commands need {', '.join(TOOLS)} (scripts/test installs them)")
ITEMS = {"doc one.txt": CREATED, "doc two.txt": CONFIRMED}
VERIFY = ["--tsa-roots", "roots.pem", "--allow-test-mode", "--headers", "headers.bin"]


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    """The folder the verification runs in (items with spaces in their names, roots,
    headers) and another one, holding only the person's roots as ``ROOTS.pem``."""
    run = tmp_path / "where it ran"
    (run / "items").mkdir(parents=True)
    for name, case in ITEMS.items():
        shutil.copy(case / "document.txt", run / "items" / name)
        shutil.copy(case / "proof.json", run / "items" / f"{name}.proof.json")
    shutil.copy(CREATED / "roots.pem", run / "roots.pem")  # one TSA root for both
    shutil.copy(CONFIRMED / "headers.bin", run / "headers.bin")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(CREATED / "roots.pem", elsewhere / "ROOTS.pem")
    return run, elsewhere


def _needs_node(line: str) -> bool:
    return "bitcoin-cli" in line or line.startswith(("http://", "https://"))


def _shell(lines: list[str], cwd: Path) -> str:
    proc = subprocess.run(["bash", "-c", "\n".join(lines)], cwd=cwd, capture_output=True,
                          text=True, timeout=60)
    return proc.stdout + proc.stderr


def _run_every_step(report: dict, cwd: Path) -> dict[str, str]:
    """Each howToCheck step's runnable lines in a fresh shell in ``cwd``, and the
    timestamp summary's recheck lines: what each printed, by check id (the recheck as
    "recheck"). Lines that need a node are left out, and only those."""
    out: dict[str, str] = {}
    for step in report["howToCheck"]:
        runnable = [c for c in step["commands"] if not _needs_node(c)]
        if len(runnable) < len(step["commands"]):  # only the anchor's need a node
            assert step["check"].startswith("anchor."), step
        if [c for c in runnable if not c.startswith("#")]:
            out[step["check"]] = out.get(step["check"], "") + _shell(runnable, cwd)
    out["recheck"] = _shell(report["timestamp"]["recheck"], cwd)
    return out


def _expect_verdicts(report: dict, printed: dict[str, str], bundle_path: Path, *,
                     tampered: str | None) -> None:
    """What each step printed is what the report established (or, with ``tampered``,
    "file" or "token", what shows the input changed)."""
    bundle = json.loads(bundle_path.read_text())
    claimed = bundle["certificate"]["sha256Hash"]
    assert report["indication"] == "PASSED"
    hashed = printed["file.sha256"].split()[0]
    assert (hashed != claimed) if tampered == "file" else (hashed == claimed)
    assert "Time stamp:" in printed["timestamp.token"] or tampered == "token"
    for where in ("timestamp.chain", "recheck"):
        if tampered is None:
            assert "Verification: OK" in printed[where], printed[where]
        else:
            assert "Verification: FAILED" in printed[where], printed[where]
            assert "Verification: OK" not in printed[where]
    if "anchor" in bundle and bundle["anchor"].get("block"):
        assert printed["anchor.merkle-path"].split()[-1] == bundle["anchor"]["merkleRoot"]
        assert printed["anchor.proof-of-work"].split()[0] == bundle["anchor"]["block"]["hash"]


def _flip_file(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))


def _flip_token(bundle_path: Path) -> None:
    """A byte of the token's signature (its last byte) flipped, the bundle still valid
    JSON and base64: the token no longer verifies."""
    bundle = json.loads(bundle_path.read_text())
    token = bytearray(base64.b64decode(bundle["timestamp"]["token"]))
    token[-1] ^= 1
    bundle["timestamp"]["token"] = base64.b64encode(bytes(token)).decode()
    bundle_path.write_text(json.dumps(bundle))


def _batch(run: Path) -> list[dict]:
    done = run_cli(["--batch", "items", *VERIFY, "--jsonl", "out.jsonl"], cwd=run)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in (run / "out.jsonl").read_text().splitlines()]


@needs_tools
@pytest.mark.parametrize("tampered", [None, "file", "token"])
def test_a_batch_items_commands_run_from_another_directory(tmp_path, tampered):
    run, elsewhere = _setup(tmp_path)
    reports = _batch(run)
    assert len(reports) == len(ITEMS)
    for report in reports:
        # the report keeps the path as the batch gave it; the commands name it absolutely
        assert not Path(report["subject"]["path"]).is_absolute()
        bundle = run / report["bundle"]["path"]
        if tampered == "file":
            _flip_file(run / report["subject"]["path"])
        elif tampered == "token":
            _flip_token(bundle)
        _expect_verdicts(report, _run_every_step(report, elsewhere), bundle,
                         tampered=tampered)


@needs_tools
@pytest.mark.parametrize("name", list(ITEMS))
@pytest.mark.parametrize("tampered", [None, "token"])
def test_a_capsules_commands_run_from_another_directory(tmp_path, name, tampered):
    """Re-verified without the file: the recorded digest stands in, so the commands
    re-check the token against it (``-digest``) and hash "your copy of the file" by its
    claimed name; the bundle they read is the capsule's own copy."""
    run, elsewhere = _setup(tmp_path)
    item = f"items/{name}"
    saved = run_cli([item, f"{item}.proof.json", *VERIFY, "--save-evidence", "capsule"],
                    cwd=run)
    assert saved.returncode == 0, saved.stderr
    again = run_cli(["--evidence", str(run / "capsule"), "--tsa-roots",
                     str(run / "roots.pem"), "--allow-test-mode", "--json"], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["bundle"]["path"] == str(run / "capsule" / "proof.json")
    commands = [c for s in report["howToCheck"] for c in s["commands"]]
    commands += report["timestamp"]["recheck"]
    assert not [c for c in commands if "items/" in c]  # nothing of the first run's paths
    file_name = json.loads((run / "capsule" / "proof.json").read_text())[
        "certificate"]["fileName"]
    shutil.copy(run / item, elsewhere / file_name)  # "your copy of the file"
    if tampered == "token":
        _flip_token(run / "capsule" / "proof.json")
    _expect_verdicts(report, _run_every_step(report, elsewhere), run / "capsule" / "proof.json",
                     tampered=tampered)


@needs_tools
@pytest.mark.parametrize("tampered", [None, "file"])
def test_a_capsule_reverified_with_its_file_names_that_file(tmp_path, tampered):
    run, elsewhere = _setup(tmp_path)
    item = "items/doc one.txt"
    saved = run_cli([item, f"{item}.proof.json", *VERIFY, "--save-evidence", "capsule"],
                    cwd=run)
    assert saved.returncode == 0, saved.stderr
    again = run_cli(["--evidence", "capsule", *VERIFY, "--json", item], cwd=run)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["subject"]["path"] == item  # as given
    if tampered == "file":
        _flip_file(run / item)
    _expect_verdicts(report, _run_every_step(report, elsewhere), run / "capsule" / "proof.json",
                     tampered=tampered)


def test_a_capsule_whose_bundle_changes_while_it_is_reverified_is_refused(tmp_path):
    """The bundle is read by its path in the capsule (so the commands can name it) and
    judged only when it is still the bytes SHA256SUMS vouched for."""
    from provelio_verify import Policy
    from provelio_verify.capsule import load_capsule, reverify
    from provelio_verify.errors import CapsuleError

    run, _ = _setup(tmp_path)
    item = "items/doc one.txt"
    saved = run_cli([item, f"{item}.proof.json", *VERIFY, "--save-evidence", "capsule"],
                    cwd=run)
    assert saved.returncode == 0, saved.stderr
    capsule = load_capsule(run / "capsule")
    _flip_token(run / "capsule" / "proof.json")  # after the sums were checked
    roots = x509.load_pem_x509_certificate((run / "roots.pem").read_bytes())
    with pytest.raises(CapsuleError, match="changed while the capsule was re-verified"):
        reverify(capsule, policy=Policy(tsa_roots=(roots.public_bytes(Encoding.DER),)))
