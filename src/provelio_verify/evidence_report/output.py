"""Writing the evidence report to a file: HTML always, PDF with WeasyPrint (optional).

Files are written atomically (a temporary file beside the target, then a rename), so a
reader never sees half a report, and never over one of the verification's inputs.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

from ..errors import InputError, PdfUnavailable
from ..report import Report
from .page import render_html

ReportLike = Report | Mapping[str, Any]

#: Paper sizes for ``write_pdf`` (the HTML page itself takes the printer's paper).
PAPER_SIZES = ("A4", "Letter")

PDF_INSTALL_HINT = "pip install 'provelio-verify[pdf]'"


def write_html(
    path: str | os.PathLike[str],
    reports: ReportLike | Sequence[ReportLike],
    *,
    passed_in_full: bool = False,
) -> None:
    """Write the evidence report page for one report or a batch to ``path``, atomically.

    Raises:
        InputError: the file cannot be written.
    """
    page = render_html(_as_dicts(reports), passed_in_full=passed_in_full)
    write_atomic(path, page.encode("utf-8"))


def write_pdf(
    path: str | os.PathLike[str],
    reports: ReportLike | Sequence[ReportLike],
    *,
    paper: str = "A4",
    passed_in_full: bool = False,
) -> None:
    """Write the same report as PDF (WeasyPrint), atomically. WeasyPrint may fetch
    nothing: any attempt to load a resource stops the rendering. The JSON report (or,
    for a batch, the list of them) is attached to the PDF as ``report.json``.

    Raises:
        PdfUnavailable: WeasyPrint is missing or cannot load its system libraries.
        InputError: the file cannot be written.
        ValueError: ``paper`` is not one of :data:`PAPER_SIZES`.
        RuntimeError: the page asked WeasyPrint to load a resource (a defect here).
    """
    if paper not in PAPER_SIZES:
        raise ValueError(f"paper is one of {', '.join(PAPER_SIZES)}, not {paper!r}")
    weasyprint = load_weasyprint()
    dicts = _as_dicts(reports)
    page = render_html(dicts, passed_in_full=passed_in_full)
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=(), fail_on_errors=True)
    document = weasyprint.HTML(string=page, base_url=None, url_fetcher=fetcher)
    attachment = weasyprint.Attachment(
        string=json.dumps(dicts, indent=2, ensure_ascii=False), base_url=None,
        url_fetcher=fetcher, name="report.json",
        description="the JSON report(s) this PDF shows")
    try:
        data = document.write_pdf(
            stylesheets=[weasyprint.CSS(string=f"@page {{ size: {paper}; }}", base_url=None,
                                        url_fetcher=fetcher)],
            attachments=[attachment],
        )
    except weasyprint.urls.FatalURLFetchingError as exc:
        # The page loads nothing; a request for a resource is a defect of this package.
        raise RuntimeError(f"the report page asked to load a resource: {exc}") from None
    write_atomic(path, data)


def load_weasyprint() -> ModuleType:
    """Import WeasyPrint, or say what is missing.

    Raises:
        PdfUnavailable: the package is not installed, or its system libraries
            (Pango, HarfBuzz) fail to load.
    """
    try:
        weasyprint = importlib.import_module("weasyprint")
    except ImportError as exc:
        raise PdfUnavailable(
            f"--pdf needs WeasyPrint, which is not installed ({exc}); install it with "
            f"{PDF_INSTALL_HINT}"
        ) from None
    except OSError as exc:  # cffi's dlopen of libpango / libgobject failed
        raise PdfUnavailable(
            f"--pdf needs WeasyPrint, which is installed but cannot load its system "
            f"libraries ({exc}); install Pango (Debian/Ubuntu: apt-get install "
            "libpango-1.0-0 libpangoft2-1.0-0; see WeasyPrint's installation guide)"
        ) from None
    return weasyprint


def check_output_path(
    path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None]
) -> None:
    """Refuse an output path that would overwrite or land among the verification's
    inputs (FILE, PROOF, a roots file or folder, …), or that cannot be created.

    Raises:
        InputError: ``path`` is an input, inside an input folder, a folder itself, or
            its folder does not exist.
    """
    target = os.fspath(path)
    if "\0" in target:
        raise InputError(f"cannot write {target!r}: a file name holds no NUL character")
    if os.path.isdir(target):
        raise InputError(f"{target} is a folder; give a file name for the report")
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise InputError(f"cannot write {target}: folder {folder} does not exist")
    # Compared by resolved path (symlinks, "./x" against "x") and, for what exists, by
    # device and inode (hard links, bind mounts, a folder reached another way).
    real = os.path.realpath(target)
    target_id = _file_id(target)
    folders = _folder_ids(folder)
    for item in inputs:
        if item is None:
            continue
        source = os.fspath(item)
        if "\0" in source:
            continue  # names no file (a manifest row may say anything): cannot be the output
        source_real = os.path.realpath(source)
        source_id = _file_id(source)
        if real == source_real or (target_id is not None and target_id == source_id):
            raise InputError(f"refusing to write the report to {target}: it is the same "
                             f"file as {source}, which this verification reads or writes")
        if os.path.isdir(source_real) and (
                real.startswith(source_real.rstrip(os.sep) + os.sep) or source_id in folders):
            raise InputError(f"refusing to write the report {target} into the input "
                             f"folder {source}")


def _file_id(path: str) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of what ``path`` names, None when it does not exist."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def _folder_ids(folder: str) -> set[tuple[int, int]]:
    """``(st_dev, st_ino)`` of ``folder`` and of every folder above it."""
    found: set[tuple[int, int]] = set()
    current = os.path.realpath(folder)
    while True:
        at = _file_id(current)
        if at is not None:
            found.add(at)
        parent = os.path.dirname(current)
        if parent == current:
            return found
        current = parent


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to a new file beside ``path``, then rename it over ``path``.

    Raises:
        InputError: the file cannot be written.
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    temp = os.path.join(folder, f".{os.path.basename(target)}.{secrets.token_hex(6)}.tmp")
    try:
        # 0o666 less the umask, as any new file the user creates; O_EXCL: never follow
        # or reuse something already there.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, target)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None


def _as_dicts(reports: ReportLike | Sequence[ReportLike]
              ) -> Mapping[str, Any] | list[Mapping[str, Any]]:
    if isinstance(reports, Report):
        return reports.to_dict()
    if isinstance(reports, Mapping):
        return reports
    return [r.to_dict() if isinstance(r, Report) else r for r in reports]
