"""The command line (contract section 3). Output only: every decision is the library's."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click

from .. import chain
from .._text import printable
from .._version import __version__
from ..bundle import MAX_BUNDLE_BYTES
from ..errors import InputError
from ..inputs.files import read_at_most
from ..inputs.subject import Digest
from ..inputs.trust import load_certificates, load_crls, load_ocsp_response
from ..policy import DEFAULT_MIN_CONFIRMATIONS, Policy
from ..report import Indication, Report
from ..verifier import Verifier
from ..verifier.verifier import load_bundle
from . import sync as sync_cli
from . import webhook as webhook_cli
from .text import render_text

if TYPE_CHECKING:
    from ..batch import BatchItem

# The batch engine, the evidence report (and Jinja2) and capsules are imported where a
# run needs them: a single verification's start-up pays for none of them.

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INDETERMINATE = 3

EXIT_CODES = {
    Indication.PASSED: EXIT_PASSED,
    Indication.FAILED: EXIT_FAILED,
    Indication.INDETERMINATE: EXIT_INDETERMINATE,
}

#: Files larger than this get a progress bar while hashing (when stderr is a terminal).
PROGRESS_THRESHOLD = 64 * 1024 * 1024


def _use_color(stream: Any) -> bool:
    """Colour only on a terminal that has it: not with NO_COLOR set, nor TERM=dumb."""
    if os.environ.get("NO_COLOR", "") != "" or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class _Progress:
    """Hashing a large file, drawn on stderr by the batch's progress line (one
    implementation: only on a terminal that can erase a line), created once the size
    is known."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.size = 0
        self.done = 0

    def on_size(self, size: int) -> None:
        if size <= PROGRESS_THRESHOLD:
            return
        from .batch import Progress, progress_wanted

        if progress_wanted(sys.stderr):
            self.size = size
            self.bar = Progress(sys.stderr, enabled=True)
            self.bar.count("hashing", 0, size, as_bytes=True, force=True)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.done += n
            self.bar.count("hashing", self.done, self.size, as_bytes=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.clear()
            self.bar = None


def _check_output(path: str, inputs: Iterable[str | None]) -> None:
    """The evidence report's rule for an output path (it and Jinja2 load only when a run
    names an output)."""
    from ..evidence_report import check_output_path as check

    check(path, inputs)


def _fail_usage(message: str) -> None:
    raise click.UsageError(message)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, metavar="FILE PROOF", type=click.Path(dir_okay=False))
@click.option("--digest", metavar="HEX", help="Verify a known SHA-256 digest instead of a file.")
@click.option("--tsa-roots", "tsa_roots", multiple=True, metavar="PATH",
              type=click.Path(exists=False),
              help="Trusted roots for TSA paths: PEM or DER file, or a folder. Repeatable.")
@click.option("--system-roots", is_flag=True,
              help="Also trust the operating system's root store for TSA paths.")
@click.option("--bitcoin-node", metavar="URL", help="Bitcoin Core JSON-RPC endpoint.")
@click.option("--rpc-cookie", metavar="PATH", type=click.Path(),
              help="Bitcoin Core cookie file for --bitcoin-node.")
@click.option("--esplora", multiple=True, metavar="URL",
              help="Esplora REST API base URL. Repeatable.")
@click.option("--electrum", multiple=True, metavar="ADDRESS",
              help="Electrum server, HOST:PORT (plain TCP) or ssl://HOST:PORT (TLS, the "
                   "certificate checked). Repeatable.")
@click.option("--electrum-cafile", "electrum_cafile", metavar="PATH",
              type=click.Path(dir_okay=False),
              help="Trust this certificate (PEM) for --electrum ssl:// servers, e.g. a "
                   "self-signed one, instead of the system's roots.")
@click.option("--headers", "headers_path", metavar="PATH", type=click.Path(),
              help="File of consecutive raw 80-byte block headers (offline chain source).")
@click.option("--min-confirmations", type=click.IntRange(min=1),
              default=DEFAULT_MIN_CONFIRMATIONS, show_default=True,
              help="Depth needed for the anchor block.")
@click.option("--require-anchor", is_flag=True,
              help="A bundle without a confirmed anchor cannot pass.")
@click.option("--require-revocation", is_flag=True,
              help="The TSA certificate's revocation status must be established.")
@click.option("--allow-test-mode", is_flag=True,
              help="Accept test-mode certificates (integration testing; not evidence).")
@click.option("--allow-legacy-sha1", is_flag=True,
              help="Accept a SHA-1 signer digest in the timestamp token (with a warning).")
@click.option("--crl", "crl_paths", multiple=True, metavar="PATH", type=click.Path(),
              help="A CRL (PEM or DER) for the TSA certificate's revocation. Repeatable.")
@click.option("--ocsp", "ocsp_paths", multiple=True, metavar="PATH", type=click.Path(),
              help="A DER OCSP response for the TSA certificate. Repeatable.")
@click.option("--fetch-revocation", is_flag=True,
              help="Allow fetching the TSA certificate's CRLs and OCSP over the network.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option("--batch", "batch_source", metavar="SOURCE", type=click.Path(),
              help="Verify many certificates: a folder (NAME beside NAME.proof.json) or a "
                   "manifest (.csv or .jsonl with file, proof, optional digest).")
@click.option("--jsonl", "jsonl_path", metavar="PATH", type=click.Path(dir_okay=False),
              help="With --batch: write one JSON report per line to PATH.")
@click.option("--resume", is_flag=True,
              help="With --batch and --jsonl PATH: continue an interrupted batch after the "
                   "complete reports already in PATH (same source and options).")
@click.option("--dask-scheduler", "dask_scheduler", metavar="ADDRESS",
              help="With --batch: verify on the Dask cluster whose scheduler is at ADDRESS "
                   "(tcp://HOST:PORT; needs the [dask] extra).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="With --batch: items verified in parallel (default: the number of cores).")
@click.option("--html", "html_path", metavar="PATH", type=click.Path(),
              help="Also write the evidence report as one self-contained HTML file.")
@click.option("--pdf", "pdf_path", metavar="PATH", type=click.Path(),
              help="Also write the evidence report as PDF (needs the [pdf] extra).")
@click.option("--full-details", is_flag=True,
              help="With --batch and --html/--pdf: full sections for every item, not only "
                   "for those that did not PASS.")
@click.option("--save-evidence", "save_dir", metavar="DIR", type=click.Path(),
              help="Also store everything this verification relied on in a new folder DIR "
                   "(an evidence capsule), to re-verify offline later with --evidence.")
@click.option("--evidence", "evidence_dir", metavar="DIR", type=click.Path(),
              help="Re-verify an evidence capsule under your own --tsa-roots and policy "
                   "(give FILE to hash the file again).")
@click.option("--sync-headers", "sync_path", metavar="PATH", type=click.Path(dir_okay=False),
              help="Create or extend the headers file PATH from one chain source, validating "
                   "every header; then verify offline with --headers PATH.")
@click.option("--sync-from", "sync_from", metavar="HEIGHT", type=click.IntRange(min=0),
              help="With --sync-headers, for a new file: start at the checkpoint at or "
                   "below HEIGHT (default: the last shipped checkpoint).")
@click.option("--webhook", "webhook_path", metavar="BODY_FILE",
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Check one Provelio webhook delivery (the raw body; - for standard input) "
                   "with --signature HEX; the secret comes from $PROVELIO_WEBHOOK_SECRET.")
@click.option("--signature", metavar="HEX",
              help="With --webhook: the delivery's X-Provelio-Signature header.")
@click.option("--tolerance", metavar="SECONDS", type=click.FloatRange(min=0), default=300,
              show_default=True,
              help="With --webhook: how far the delivery's timestamp may be from now.")
@click.option("-q", "--quiet", is_flag=True,
              help="Print no report: the exit status tells the verdict (errors still go "
                   "to stderr). With --batch: only the lines of items that did not PASS.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks of internal errors.")
@click.version_option(__version__, prog_name="provelio-verify")
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[str, ...],
    digest: str | None,
    tsa_roots: tuple[str, ...],
    system_roots: bool,
    bitcoin_node: str | None,
    rpc_cookie: str | None,
    esplora: tuple[str, ...],
    electrum: tuple[str, ...],
    electrum_cafile: str | None,
    headers_path: str | None,
    min_confirmations: int,
    require_anchor: bool,
    require_revocation: bool,
    allow_test_mode: bool,
    allow_legacy_sha1: bool,
    crl_paths: tuple[str, ...],
    ocsp_paths: tuple[str, ...],
    fetch_revocation: bool,
    as_json: bool,
    batch_source: str | None,
    jsonl_path: str | None,
    resume: bool,
    dask_scheduler: str | None,
    jobs: int | None,
    html_path: str | None,
    pdf_path: str | None,
    full_details: bool,
    save_dir: str | None,
    evidence_dir: str | None,
    sync_path: str | None,
    sync_from: int | None,
    webhook_path: str | None,
    signature: str | None,
    tolerance: float,
    quiet: bool,
    verbose: bool,
) -> None:
    """Verify FILE (or --digest HEX) against the proof bundle PROOF (default:
    FILE.proof.json, when it exists). Either may be - for standard input.

    \b
    Also:  provelio-verify --batch SOURCE [--jsonl PATH] [OPTIONS]
           provelio-verify --evidence DIR [FILE]
           provelio-verify --sync-headers PATH (--bitcoin-node URL | --esplora URL |
                                                --electrum ADDRESS)
           provelio-verify --webhook BODY_FILE --signature HEX [--json]

    Without --bitcoin-node, --esplora, --electrum or --fetch-revocation no network connection
    is made.
    Exit status: 0 PASSED, 1 FAILED, 2 usage error, 3 INDETERMINATE.
    """
    webhook_cli.check_combination(ctx)
    sync_cli.check_combination(ctx)
    if sync_path is not None:
        sync_cli.run(ctx)
        return
    if webhook_path is not None and signature is not None:
        webhook_cli.run(webhook_path, signature, tolerance, as_json=as_json)
        return
    if quiet and as_json:
        _fail_usage("-q prints no report and --json prints one: give one of them")
    if evidence_dir is not None:
        _evidence(ctx, evidence_dir, paths, as_json=as_json, html_path=html_path,
                  pdf_path=pdf_path, verbose=verbose, quiet=quiet)
        return
    subject: Any = None
    proof = ""
    if save_dir is not None and (batch_source is not None or digest is None and not paths):
        _fail_usage("--save-evidence goes with a single verification (FILE PROOF or "
                    "--digest HEX PROOF)")
    if batch_source is not None:
        if paths or digest:
            _fail_usage("--batch takes no FILE, PROOF or --digest")
        if dask_scheduler and jobs:
            _fail_usage("--jobs sizes a pool on this machine and --dask-scheduler runs on a "
                        "cluster's workers: give one of them")
        if resume and not jsonl_path:
            _fail_usage("--resume continues the batch whose reports are in --jsonl PATH: "
                        "give --jsonl")
    elif jsonl_path or jobs or resume or dask_scheduler:
        given = [name for name, value in (("--jsonl", jsonl_path), ("--jobs", jobs),
                                          ("--resume", resume),
                                          ("--dask-scheduler", dask_scheduler)) if value]
        _fail_usage(f"{' and '.join(given)} {'goes' if len(given) == 1 else 'go'} with "
                    "--batch (a folder or manifest of items)")
    elif digest is not None:
        if len(paths) != 1:
            _fail_usage("with --digest give only PROOF (no FILE)")
        try:
            subject = Digest(digest)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--digest") from None
        proof = paths[0]
    else:
        subject, proof = _file_and_proof(paths)
    if rpc_cookie and not bitcoin_node:
        _fail_usage("--rpc-cookie goes with --bitcoin-node")
    try:
        # Before anything is read or written: no output may be an input (nor another).
        inputs = input_paths(ctx)
        _check_report_paths(html_path, pdf_path, inputs=inputs)
        if jsonl_path:
            _check_output(jsonl_path, [*inputs, html_path, pdf_path])
        if save_dir:
            _check_capsule_dir(save_dir, [*inputs, html_path, pdf_path])
        policy, sources = _policy_and_sources(ctx)
        # Loads the system store when asked: no store is a usage error.
        verifier = Verifier(policy, sources)
    except (InputError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None

    if batch_source is not None:
        _batch(verifier, batch_source, jsonl_path, jobs, as_json, html_path, pdf_path,
               quiet=quiet, resume=resume, dask_scheduler=dask_scheduler)
        return
    progress = _Progress()
    try:
        verification = verifier.verify_detailed(_stdin_or(subject),
                                                _stdin_bundle_or(proof),
                                                progress=progress.update,
                                                on_size=progress.on_size)
    except InputError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        progress.close()
    report = verification.report
    if isinstance(subject, str):
        _check_order(report, subject, proof)
    _write_reports(report, html_path, pdf_path)
    if save_dir:
        try:
            from ..capsule import save_capsule
            from ..evidence_report import render_html

            save_capsule(save_dir, verification, verifier,
                         html=render_html(report.to_dict()))
        except InputError as exc:
            raise click.UsageError(str(exc)) from None
    _emit(report, as_json=as_json, verbose=verbose, quiet=quiet)
    if save_dir and not as_json and not quiet:
        click.echo(f"evidence capsule written to {save_dir} "
                   f"(re-verify offline: provelio-verify --evidence {save_dir} "
                   "--tsa-roots YOUR-ROOTS)")
    sys.exit(EXIT_CODES[report.indication])


def _policy_and_sources(ctx: click.Context) -> tuple[Policy, list[chain.ChainSource]]:
    """The user's policy and chain sources, from the options (also for --evidence: trust
    only ever comes from the person verifying).

    Raises:
        InputError, ValueError: an option's file cannot be read or is not what it must be.
    """
    p = ctx.params
    roots: list[bytes] = []
    for root_path in p["tsa_roots"]:
        roots.extend(load_certificates(root_path))
    for path in filter(None, (p["headers_path"], p["rpc_cookie"])):
        _check_readable(path)
    policy = Policy(
        tsa_roots=tuple(dict.fromkeys(roots)),
        use_system_roots=p["system_roots"],
        min_confirmations=p["min_confirmations"],
        require_anchor=p["require_anchor"],
        require_revocation=p["require_revocation"],
        allow_test_mode=p["allow_test_mode"],
        allow_legacy_sha1=p["allow_legacy_sha1"],
        crls=tuple(der for path in p["crl_paths"] for der in load_crls(path)),
        ocsp_responses=tuple(load_ocsp_response(path) for path in p["ocsp_paths"]),
        fetch_revocation=p["fetch_revocation"],
    )
    # A headers file that does not validate is a failed source, not a usage error.
    if p["electrum_cafile"] and not p["electrum"]:
        raise InputError("--electrum-cafile goes with --electrum ssl://HOST:PORT")
    sources = chain.from_options(headers=p["headers_path"], bitcoin_node=p["bitcoin_node"],
                                 rpc_cookie=p["rpc_cookie"], esplora=p["esplora"],
                                 electrum=p["electrum"],
                                 electrum_cafile=p["electrum_cafile"])
    return policy, list(sources)


#: The options naming what a run writes. Every other path option names something the
#: run reads (see :func:`input_paths`).
OUTPUT_OPTIONS = ("jsonl_path", "html_path", "pdf_path", "save_dir")


def input_paths(ctx: click.Context) -> list[str | None]:
    """Every path this run reads: the value of each path argument and option that is
    not an output. Taken from the command's own parameters, so an input option added
    later is covered without being listed here."""
    found: list[str | None] = []
    for param in ctx.command.params:
        if param.name in OUTPUT_OPTIONS or not isinstance(param.type, click.Path):
            continue
        value = ctx.params.get(param.name or "")
        found.extend(v for v in (value if isinstance(value, tuple) else (value,)) if v)
    return found


def _write_reports(report: Report, html_path: str | None, pdf_path: str | None) -> None:
    if not (html_path or pdf_path):
        return
    # The evidence report's modules (and Jinja2) load only for a run that writes one.
    from ..evidence_report import write_html, write_pdf

    try:
        if html_path:
            write_html(html_path, report)
        if pdf_path:
            write_pdf(pdf_path, report)
    except InputError as exc:
        raise click.UsageError(str(exc)) from None


#: Options that do not go with --evidence (one capsule, re-verified, nothing saved).
#: Trust, policy and chain sources do: they are the re-verifier's own, never the
#: capsule's.
_NOT_WITH_EVIDENCE = ("digest", "batch_source", "jsonl_path", "resume", "dask_scheduler", "jobs",
                      "save_dir")


def _evidence(ctx: click.Context, folder: str, paths: tuple[str, ...], *, as_json: bool,
              html_path: str | None, pdf_path: str | None, verbose: bool,
              quiet: bool) -> None:
    given = [name for name in _NOT_WITH_EVIDENCE
             if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
    if given:
        names = ", ".join("--" + n.removesuffix("_path").removesuffix("_paths")
                          .removesuffix("_dir").removesuffix("_source").replace("_", "-")
                          for n in given)
        _fail_usage(f"--evidence re-verifies one capsule and saves nothing; {names} "
                    "do not go with it")
    if len(paths) > 1:
        _fail_usage("with --evidence give at most FILE (to hash it again)")
    if ctx.params["rpc_cookie"] and not ctx.params["bitcoin_node"]:
        _fail_usage("--rpc-cookie goes with --bitcoin-node")
    file = paths[0] if paths else None
    try:
        _check_report_paths(html_path, pdf_path, inputs=input_paths(ctx))
        policy, sources = _policy_and_sources(ctx)
    except (InputError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    try:
        from ..capsule import load_capsule, reverify

        capsule = load_capsule(folder)
        report = reverify(capsule, file, policy=policy, sources=sources)
    except InputError as exc:
        raise click.UsageError(str(exc)) from None
    _write_reports(report, html_path, pdf_path)
    _emit(report, as_json=as_json, verbose=verbose, quiet=quiet)
    sys.exit(EXIT_CODES[report.indication])


def _check_capsule_dir(folder: str, inputs: list[str | None]) -> None:
    """A capsule goes into a new (or empty) folder that is none of the inputs and is not
    inside an input folder.

    Raises:
        InputError: the folder is refused.
    """
    if os.path.exists(folder) and (not os.path.isdir(folder) or os.listdir(folder)):
        raise InputError(f"--save-evidence {folder}: exists and is not an empty folder")
    real = os.path.realpath(folder)
    for item in filter(None, inputs):
        source = os.path.realpath(item)
        if real == source or real.startswith(source.rstrip(os.sep) + os.sep) \
                or source.startswith(real.rstrip(os.sep) + os.sep):
            raise InputError(f"--save-evidence {folder}: refusing a folder that is, holds "
                             f"or lies inside the input {item}")


def _full_details() -> bool:
    return bool(click.get_current_context().params.get("full_details"))


def _batch(verifier: Verifier, source: str, jsonl_path: str | None, jobs: int | None,
           as_json: bool, html_path: str | None, pdf_path: str | None, *,
           quiet: bool = False, resume: bool = False,
           dask_scheduler: str | None = None) -> None:
    from ..batch import BatchSummary, discover, stream
    from ..batch.cluster import absolute_items, dask_executor
    from ..batch.resume import resume as resume_batch
    from . import batch as batch_cli

    try:
        items: Iterable[BatchItem]
        if os.path.isdir(source):
            # A folder's names are listed (and held) to be sorted anyway: its items are
            # made up front, so progress knows the total and the bytes (an ETA).
            items, notes = discover(source)
        else:
            # A manifest is streamed: a million rows start at once, and only the items
            # in work are held.
            items, notes = stream(source)
        if dask_scheduler:
            # The workers run elsewhere: each item's files by their absolute names (also
            # in the reports, so a resumed cluster batch matches its earlier lines).
            items = absolute_items(items)
        for output in filter(None, (jsonl_path, html_path, pdf_path)):
            _check_batch_output(output, source)
    except InputError as exc:
        raise click.UsageError(str(exc)) from None
    reports: list[dict[str, Any]] | None = [] if (html_path or pdf_path) else None
    summary = BatchSummary(notes=list(notes))
    previous = None
    if resume and jsonl_path:
        try:
            resumed = resume_batch(jsonl_path, items, verifier, summary,
                                   keep_reports=reports is not None, keep_verdicts=as_json)
        except InputError as exc:
            raise click.UsageError(str(exc)) from None
        items, reports, previous = resumed.remaining, resumed.reports, resumed.verdicts
        if not quiet:
            click.echo(f"resuming: {resumed.kept} item(s) already reported in {jsonl_path}"
                       + (f"; {resumed.dropped_bytes} byte(s) after them (a line cut "
                          "short) cut off" if resumed.dropped_bytes else ""), err=True)
    jsonl = None
    try:
        if jsonl_path:
            try:
                jsonl = open(jsonl_path, "a" if resume else "w",  # noqa: SIM115
                             encoding="utf-8")
            except OSError as exc:
                raise click.UsageError(
                    f"cannot write {jsonl_path}: {exc.strerror or exc}") from None
        color = _use_color(sys.stdout)
        with contextlib.ExitStack() as stack:
            executor = None
            if dask_scheduler:
                try:
                    executor = stack.enter_context(dask_executor(dask_scheduler))
                except InputError as exc:
                    raise click.UsageError(str(exc)) from None
            summary = batch_cli.run(items, notes, verifier, jobs=jobs or os.cpu_count() or 1,
                                    jsonl=jsonl, as_json=as_json, color=color,
                                    reports=reports, quiet=quiet, summary=summary,
                                    previous=previous, executor=executor)
    finally:
        if jsonl is not None:
            jsonl.close()
    if summary.interrupted:
        click.echo(f"interrupted: {summary.done} of {summary.total} item(s) verified"
                   + (f"; their reports are in {jsonl_path}" if jsonl_path else "")
                   + ("; no HTML/PDF report was written" if reports is not None else ""),
                   err=True)
        sys.exit(130)
    if reports is not None and (html_path or pdf_path):
        from ..evidence_report import write_html, write_pdf  # only for a run that writes one

        try:
            if html_path:
                write_html(html_path, reports, passed_in_full=_full_details())
            if pdf_path:
                write_pdf(pdf_path, reports, passed_in_full=_full_details())
        except InputError as exc:
            raise click.UsageError(str(exc)) from None
    sys.exit(EXIT_CODES[summary.worst()])


def _check_batch_output(output: str, source: str) -> None:
    """A manifest may name files anywhere: an output that exists (and would be
    overwritten) may be none of them, which one more streamed pass over the items
    establishes before anything is written. An output that does not exist yet cannot be
    an item's file: an item naming that path finds nothing and fails on its own.

    Raises:
        InputError: the output is an item's file or proof, or cannot be written.
    """
    if not os.path.lexists(output):
        _check_output(output, ())
        return
    from ..batch import stream

    items, _ = stream(source)
    _check_output(output, (p for i in items for p in (i.file, i.proof) if p))


def _file_and_proof(paths: tuple[str, ...]) -> tuple[str, str]:
    """FILE and PROOF from the arguments; PROOF defaults to FILE.proof.json when that
    exists (as ``ots verify`` finds FILE.ots).

    Raises:
        click.UsageError: not one or two paths, or both standard input.
    """
    if len(paths) == 1 and paths[0] != "-":
        guess = paths[0] + ".proof.json"
        if not os.path.isfile(guess):
            _fail_usage(f"give FILE and PROOF (or --digest HEX and PROOF): no PROOF given, "
                        f"and {guess} does not exist")
        paths = (paths[0], guess)
    if len(paths) != 2:
        _fail_usage("give FILE and PROOF (or --digest HEX and PROOF)")
    if paths == ("-", "-"):
        _fail_usage("FILE and PROOF cannot both be - (standard input)")
    return paths[0], paths[1]


def _stdin_or(subject: Any) -> Any:
    """The subject, or standard input (hashed as it streams) for FILE ``-``."""
    return sys.stdin.buffer if subject == "-" else subject


def _stdin_bundle_or(proof: str) -> str | bytes:
    """PROOF, or the bundle read from standard input for ``-`` (one byte past the
    bundle limit at most, so an over-size bundle is refused as such)."""
    if proof != "-":
        return proof
    return sys.stdin.buffer.read(MAX_BUNDLE_BYTES + 1)


def _check_order(report: Report, file: str, proof: str) -> None:
    """``provelio-verify proof.json document.pdf`` (the order gpg and ots use): when
    PROOF is no bundle but FILE is one, a usage hint, not "FAILED".

    Raises:
        click.UsageError: the two look swapped.
    """
    if file == "-" or report.check("bundle.format").indication is not Indication.FAILED:
        return
    try:
        parsed, _, _ = load_bundle(file)
    except InputError:
        return
    if parsed is not None:
        _fail_usage(f"{file} is a proof bundle and {proof} is not: FILE comes first, then "
                    f"PROOF (provelio-verify {shlex.quote(proof)} {shlex.quote(file)})")


def _check_readable(path: str) -> None:
    read_at_most(path, 0)


def _check_report_paths(
    html_path: str | None, pdf_path: str | None, inputs: list[str | None]
) -> None:
    """Before the verification (which may hash a large file): the report paths must not
    be inputs nor each other, and --pdf must find WeasyPrint.

    Raises:
        InputError: a path is refused, or WeasyPrint is unavailable.
    """
    if html_path:
        _check_output(html_path, inputs)
    if pdf_path:
        _check_output(pdf_path, [*inputs, html_path])
        from ..evidence_report import load_weasyprint

        load_weasyprint()


def _emit(report: Report, *, as_json: bool, verbose: bool, quiet: bool = False) -> None:
    if verbose:
        for check in report.checks:
            if check.traceback:
                click.echo(f"traceback of {check.id}:\n{check.traceback}", err=True)
    if quiet:
        return
    if as_json:
        click.echo(report.to_json())
    else:
        click.echo(render_text(report, color=_use_color(sys.stdout)), color=_use_color(sys.stdout))


def main(argv: list[str] | None = None) -> None:
    """Entry point: never lets a traceback reach the user unless ``-v`` asks for it."""
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    _guarded(lambda: _click_main(argv), verbose)


def _click_main(argv: list[str] | None) -> None:
    """click's main without its own handling of Ctrl-C (which exits 1, FAILED's status):
    an interrupt exits 130, as the shell's convention and the README say."""
    try:
        status = command.main(args=argv, prog_name="provelio-verify", standalone_mode=False)
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(status if isinstance(status, int) else 0)


def _guarded(run: Callable[[], Any], verbose: bool) -> None:
    try:
        run()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last line of defence: no tracebacks
        if verbose:
            traceback.print_exc()
        click.echo(
            f"provelio-verify: internal error ({type(exc).__name__}: {printable(str(exc))}); "
            "run with -v for the traceback and please report it",
            err=True,
        )
        sys.exit(EXIT_INDETERMINATE)
