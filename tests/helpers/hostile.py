"""Hostile bundles for the evidence-report tests: every string a bundle carries set to
an injection attempt or a right-to-left override, verified for real."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers.common import SCENARIOS
from provelio_verify import Policy, load_certificates, verify

OK = SCENARIOS / "ok-created"
RLO = "\u202e"
#: What a hostile bundle puts in its strings: markup that would run, markup that breaks
#: out of an attribute, and a right-to-left override ("report.pdf" shown as "fdp.troper").
HOSTILE = {
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "rlo": f"{RLO}fdp.exe",
}
#: The certificate record's free-text fields (status is checked against its list: a
#: hostile status makes the bundle malformed, and its message echoes it).
FREE_TEXT = ("certificateId", "publicId", "fileName", "fileType", "createdAt")


def hostile_report(tmp_path: Path, text: str, *, status: bool = False) -> dict[str, Any]:
    """The JSON report of ok-created's bundle with ``text`` in every free-text field of
    the certificate, as metadata keys and values (nested too), as an unknown top-level
    key (echoed in a warning) and in the file's name; with ``status``, as the status."""
    bundle = json.loads((OK / "proof.json").read_text())
    cert = bundle["certificate"]
    if status:
        cert["status"] = text
    else:
        for field in FREE_TEXT:
            cert[field] = text
    cert["metadata"] = {text: text, "nested": {text: [text, {"deeper": text}]}}
    bundle[text] = 1
    name = text.replace("/", "_") + ".txt"  # a file name cannot hold "/"
    (tmp_path / name).write_bytes((OK / "document.txt").read_bytes())
    (tmp_path / "proof.json").write_text(json.dumps(bundle))
    return verify(tmp_path / name, tmp_path / "proof.json",
                  policy=Policy(tsa_roots=load_certificates(OK / "roots.pem"))).to_dict()
