"""Reports for the evidence-report tests: real ones from the scenarios, made-up ones
with any verdict, and a parser that lists what a page holds."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from helpers.common import SCENARIOS
from provelio_verify import CHECK_IDS, CheckResult, Indication, Report, SubIndication
from provelio_verify.cli.command import command


def cli_report(directory: Path, args: list[str]) -> dict[str, Any]:
    """The JSON report of the real command line, run in ``directory`` (in-process)."""
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        result = CliRunner().invoke(command, [*args, "--json"])
    finally:
        os.chdir(cwd)
    assert result.exit_code in (0, 1, 3), result.output
    return dict(json.loads(result.stdout))


def scenario_report(name: str, args: list[str]) -> dict[str, Any]:
    return cli_report(SCENARIOS / name, args)


def made_up(
    overrides: Mapping[str, tuple[Indication, SubIndication | None]] | None = None,
    *,
    details: Mapping[str, Mapping[str, Any]] | None = None,
    path: str = "document.pdf",
    sha256: str = "ab" * 32,
) -> Report:
    """A report whose checks all PASSED except ``overrides``; ``details`` by check id."""
    checks = []
    for check_id in CHECK_IDS:
        indication, sub = (overrides or {}).get(check_id, (Indication.PASSED, None))
        checks.append(CheckResult(check_id, indication, sub, f"{check_id} said so",
                                  dict((details or {}).get(check_id, {}))))
    return Report.build(
        checks,
        subject={"sha256": sha256, "path": path, "size": 12},
        certificate={"certificateId": "c-1", "status": "confirmed", "testMode": False,
                     "sha256Hash": sha256, "metadata": {}},
        existence={"notAfter": "2026-04-19T10:12:00Z", "evidence": ["rfc3161", "bitcoin"]},
        extra={"verifiedAt": "2026-04-20T00:00:00Z"},
    )


class PageParts(HTMLParser):
    """Every element with its attributes, the text, ids, links and style sheets."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)
        else:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def tags(self) -> set[str]:
        return {tag for tag, _ in self.elements}

    @property
    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.elements if a.get("id")]

    def attribute_values(self, name: str) -> list[str]:
        return [str(a[name]) for _, a in self.elements if name in a]
