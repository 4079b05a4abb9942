"""The evidence report: one self-contained HTML page (or PDF) that a person can file,
for one verification or a batch, built from reports' JSON objects (``Report.to_dict()``).

    >>> from provelio_verify.evidence_report import render_html, write_html, write_pdf
    >>> page = render_html(report.to_dict())           # one verification
    >>> page = render_html([r.to_dict() for r in rs])  # a batch
    >>> write_html("report.html", report)              # Report or dict, or a list of them
    >>> write_pdf("report.pdf", reports)               # needs the [pdf] extra (WeasyPrint)

The page shows the verdict in plain words; the subject; the certificate record and
its metadata; every check with its indication, sub-indication, message and details
(any JSON, shown as nested tables, so new detail keys need no change here); the
trust anchors; what each chain source answered; genTime, block time,
``existence.notAfter`` and the moment of verification; the tool's and its
dependencies' versions; and "verify it yourself": commands a person runs without
this tool. It holds no script and loads nothing. Its HTML is written by the Jinja2
templates in ``templates/`` (autoescape on, every value made printable first: see
:mod:`.templating` and docs/evidence-report.md, "Editing the layout").

The JSON report carries what the page shows, under added top-level keys (computed
by ``provelio_verify.verifier.assemble``; this package only shows them):
``environment`` (tool, Python, platform, package and OpenSSL versions),
``trustAnchors`` (subject, issuer, serial, validity and SHA-256 fingerprint of each
configured root) and ``howToCheck``.

The ``howToCheck`` convention
-----------------------------
A check that knows how a person could settle it by hand puts the commands in its
``details`` under the key ``howToCheck``: a list of strings, each one line that is
either a POSIX shell command (``openssl ts -verify …``, ``bitcoin-cli getblockhash
840000``), a comment starting with ``#`` (say what to expect there), or an
``http(s)`` URL (a block explorer page; shown as a link, never fetched). Commands
may use the files that earlier steps write: ``token.der`` (the bundle's timestamp
token, DER, as written: a TimeStampResp or a bare token) and ``extra-certs.pem`` (the
bundle's extraCerts, when it has any); file and bundle paths are absolute (a relative
path the verification was given joined to the folder it ran in), quoted with
:func:`shlex.quote`, so the commands run from any folder.

The report's top-level ``howToCheck`` is a list of steps, in the order of the
contract's check table, each ``{"check", "title", "commands", "expect"}``: this
package's own steps (``sha256sum``/``stat`` of the file against ``sha256Hash`` and
``fileSize``; extracting the token and showing it with ``openssl ts -reply -text``;
replaying the Merkle path with ``printf | xxd -r -p | sha256sum``), each followed by
the commands the check of the same id gave. On the page, a check's ``howToCheck`` is
shown under "Verify it yourself" rather than among its details.
"""

from __future__ import annotations

from ..errors import PdfUnavailable
from ..howto import HOW_TO_CHECK, how_to_check
from .output import (
    PAPER_SIZES,
    check_output_path,
    load_weasyprint,
    write_atomic,
    write_html,
    write_pdf,
)
from .page import render_html

__all__ = [
    "HOW_TO_CHECK",
    "PAPER_SIZES",
    "PdfUnavailable",
    "check_output_path",
    "how_to_check",
    "load_weasyprint",
    "render_html",
    "write_atomic",
    "write_html",
    "write_pdf",
]
