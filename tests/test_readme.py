"""The README's commands, run as printed (issue 10): the shipped examples give the
verdicts it states, and the batch example's output is what its command prints."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from helpers.batch_archive import build_archive
from helpers.common import REPO
from provelio_verify.cli import command as cli

README = (REPO / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", README, flags=re.S | re.M)


def _run(argv: list[str], cwd: Path, monkeypatch, capsys) -> tuple[int, str]:
    assert argv[0].endswith("provelio-verify"), argv
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("NO_COLOR", "1")
    capsys.readouterr()
    with pytest.raises(SystemExit) as caught:
        cli.main(argv[1:])
    out = capsys.readouterr()
    assert "Traceback" not in out.err, out.err
    return int(caught.value.code or 0), out.out


#: A documented command's stated outcome: ``COMMAND   # exit N[: TEXT]``.
EXPECT = re.compile(r"\s+# exit (\d+)(?::\s*(.+))?$")


def stated_lines(block: str) -> list[tuple[str, int | None, str | None]]:
    """Each non-blank line of a documented sh block: the command, and the exit status
    and output text its ``# exit N[: TEXT]`` states (None where it states none)."""
    out = []
    for line in block.splitlines():
        if not line.strip():
            continue
        found = EXPECT.search(line)
        command = line[:found.start()] if found else line
        out.append((command, int(found.group(1)) if found else None,
                    found.group(2).strip() if found and found.group(2) else None))
    return out


def run_documented(command: str, cwd: Path, monkeypatch, capsys,
                   argv: list[str] | None = None) -> tuple[int, str]:
    """One documented command as a person runs it: provelio-verify lines through the
    real command line, in process (``argv``: its words, if not the line's own), the
    others in bash; its exit status and what it printed."""
    words = argv if argv is not None else shlex.split(command)
    if words[0] == "provelio-verify":
        return _run(words, cwd, monkeypatch, capsys)
    proc = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


def _example_commands() -> list[list[str]]:
    quick_start = _blocks("sh")[0]
    commands = []
    for line in quick_start.splitlines():
        if "provelio-verify examples/" in line:
            command = line.split("&&")[-1].strip()
            commands.append(shlex.split(command))
    return commands


def test_readme_names_both_examples():
    used = {Path(arg).parts[1] for argv in _example_commands() for arg in argv
            if arg.startswith("examples/")}
    assert used == {p.name for p in (REPO / "examples").iterdir() if p.is_dir()}


@pytest.mark.parametrize("argv", _example_commands(),
                         ids=lambda argv: Path(argv[1]).parent.name)
def test_example_command_passes_as_printed(argv, monkeypatch, capsys):
    code, out = _run(argv, REPO, monkeypatch, capsys)
    assert code == 0, out
    assert out.rstrip().splitlines()[-1].startswith("VERDICT: PASSED")


def test_regtest_example_without_headers_is_indeterminate_as_the_readme_says(
        monkeypatch, capsys):
    argv = next(a for a in _example_commands() if "--headers" in a)
    i = argv.index("--headers")
    code, out = _run(argv[:i] + argv[i + 2:], REPO, monkeypatch, capsys)
    assert code == 3
    assert re.search(r"INDETERMINATE +anchor\.chain +\[NO_CHAIN_SOURCE\]", out), out
    assert out.rstrip().splitlines()[-1].startswith("VERDICT: INDETERMINATE")
    assert "the second is INDETERMINATE (`NO_CHAIN_SOURCE`, exit status 3)" in \
        " ".join(README.split())


def test_batch_example_output_is_what_its_command_prints(tmp_path, monkeypatch, capsys):
    setup = next(b for b in _blocks("sh") if "build_archive(" in b)
    made = re.search(r"build_archive\(Path\('([^']+)'\), (\d+)\)", setup)
    assert made, setup
    target, count = Path(made.group(1)), int(made.group(2))
    command = next(line for line in setup.splitlines() if "--batch" in line)
    cd, run = (part.strip() for part in command.split("&&"))
    assert shlex.split(cd) == ["cd", str(target)]
    build_archive(tmp_path, count)  # the same archive, in a folder of the test's own
    code, out = _run(shlex.split(run), tmp_path, monkeypatch, capsys)
    assert code == 1  # BATCH VERDICT: FAILED
    assert (tmp_path / "reports.jsonl").read_text().count("\n") == count

    after = README[README.index("```", README.index(command)) + 3:]  # past the sh block
    shown = next(b for b in re.findall(r"^```\n(.*?)^```$", after, flags=re.S | re.M))
    expected = [line for line in shown.splitlines() if line != "…"]
    actual = out.splitlines()
    assert expected[0] == actual[0] and expected[-1] == actual[-1]
    # Every line shown is printed, in the order shown ("…" marks what is left out).
    position = 0
    for line in expected:
        assert line in actual[position:], f"README shows a line the command does not print: " \
                                          f"{line!r}"
        position = actual.index(line, position) + 1
    summary = actual.index(next(line for line in expected if line.startswith("summary:")))
    shown_counts = expected[expected.index(actual[summary]) + 1:][:3]
    assert shown_counts == actual[summary + 1:summary + 4]  # the counts, all three
