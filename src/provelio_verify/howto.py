"""Every by-hand command, per check id: the "verify it yourself" steps and each
check's own ``howToCheck`` lines (commands a person runs without this tool), in one
place. Imports only ``bundle``, ``core`` and ``outcome`` (layout rule 7).

Each step is a plain JSON object, so the same list goes into the JSON report (key
``howToCheck``) and onto the evidence report's page::

    {"check": "file.sha256", "title": "…", "commands": ["sha256sum -- document.pdf"],
     "expect": "…"}

``check`` names the check the step helps settle, ``commands`` are POSIX shell lines
(a line starting with ``#`` is a comment) or ``http(s)`` URLs, ``expect`` says in
words what a person should see (or ``None``).

The commands run as printed from any folder (issue 10, item 1): the file and the bundle
are named by absolute paths, each relative path the user gave joined to the folder the
verification ran in (:func:`command_path`); only the files the commands write themselves
(:data:`TOKEN_FILE`, :data:`EXTRA_CERTS_FILE`) and ``ROOTS.pem``, the person's own trust
anchors, are names in the folder where the commands are run.
See the package docstring for the ``howToCheck`` convention of checks' details.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from .bundle import Anchor, Bundle, PathStep
from .core.anchor.bitcoin import NetworkParams
from .core.timestamp.token import Token
from .outcome import CHECK_IDS

#: The key under which a check's ``details`` carry its own commands (a list of strings).
HOW_TO_CHECK = "howToCheck"

#: File the token-extraction step writes; checks' commands may refer to it.
TOKEN_FILE = "token.der"
#: File the extraCerts-extraction step writes (PEM), when the bundle has extraCerts.
EXTRA_CERTS_FILE = "extra-certs.pem"
#: The bundle's name in commands when the report does not know its path.
DEFAULT_PROOF_NAME = "proof.json"

_DER_SEQUENCE = 0x30
_DER_OID = 0x06


def how_to_check(report: Mapping[str, Any], bundle: Bundle | None = None,
                 cwd: str | None = None) -> list[dict[str, Any]]:
    """Every step a person can run by hand for ``report`` (a ``Report.to_dict()``), in the
    order of the contract's check table. ``cwd`` is the folder the verification ran in:
    relative paths in the report are joined to it (:func:`command_path`); without it
    (a report read back from JSON) they are shown as given.

    Always, when the bundle parsed: recompute the file's SHA-256 (and size) with
    ``sha256sum``. With ``bundle``: extract the timestamp token (and extraCerts) into
    files, and replay the Merkle path with ``printf | xxd -r -p | sha256sum``. Then, for
    each check whose ``details`` hold a ``howToCheck`` list of strings, those commands,
    after this module's own step for that check.
    """
    if not isinstance(report.get("certificate"), Mapping):
        return []  # a malformed bundle claims nothing that could be checked by hand
    own: dict[str, list[dict[str, Any]]] = {}
    for step in _own_steps(report, bundle, cwd):
        own.setdefault(step["check"], []).append(step)
    steps: list[dict[str, Any]] = []
    by_id: dict[Any, list[Mapping[str, Any]]] = {}
    for check in _list(report.get("checks")):
        if isinstance(check, Mapping):
            by_id.setdefault(check.get("id"), []).append(check)
    for check_id in CHECK_IDS:
        steps.extend(own.pop(check_id, []))
        for check in by_id.get(check_id, []):
            if commands := check_commands(check):
                steps.append(_step(check_id, f"check {check_id} by hand", commands, None))
    return steps


def check_commands(check: Mapping[str, Any]) -> list[str]:
    """The commands a check put in its details under ``howToCheck`` (strings only)."""
    details = check.get("details")
    if not isinstance(details, Mapping):
        return []
    return [c for c in _list(details.get(HOW_TO_CHECK)) if isinstance(c, str) and c.strip()]


def _step(check: str, title: str, commands: list[str], expect: str | None) -> dict[str, Any]:
    return {"check": check, "title": title, "commands": commands, "expect": expect}


def _own_steps(report: Mapping[str, Any], bundle: Bundle | None,
               cwd: str | None) -> list[dict[str, Any]]:
    steps = [_file_step(report, cwd)]
    if bundle is not None:
        proof = _proof_path(report, cwd)
        steps.append(_token_step(bundle, proof))
        if bundle.anchor is not None and bundle.anchor.merkle_root is not None \
                and bundle.anchor.path is not None:
            steps.append(_merkle_step(bundle.certificate.sha256_hash, bundle.anchor.path,
                                      bundle.anchor.merkle_root))
    return [s for s in steps if s is not None]


def _file_step(report: Mapping[str, Any], cwd: str | None) -> dict[str, Any] | None:
    """(1) file.sha256: the file's SHA-256 (and size) equal the certificate's claims."""
    cert = report["certificate"]
    expected = cert.get("sha256Hash")
    if not isinstance(expected, str):
        return None
    subject = report.get("subject")
    path = subject.get("path") if isinstance(subject, Mapping) else None
    if isinstance(path, str) and path:
        path = command_path(path, cwd)
        title = "recompute the file's SHA-256"
    else:
        name = cert.get("fileName")
        path = name if isinstance(name, str) and name else "FILE"
        title = ("recompute the SHA-256 of your copy of the file (this verification was "
                 "given the digest only)")
    commands = [f"sha256sum -- {shlex.quote(path)}"]
    expect = f"sha256sum prints {expected.lower()} (sha256Hash in the certificate)"
    size = cert.get("fileSize")
    if isinstance(size, int) and not isinstance(size, bool):
        commands.append(f"stat -c %s -- {shlex.quote(path)}")
        expect += f"; stat prints {size} (fileSize)"
    return _step("file.sha256", title, commands, expect)


def _proof_path(report: Mapping[str, Any], cwd: str | None) -> str:
    bundle_info = report.get("bundle")
    path = bundle_info.get("path") if isinstance(bundle_info, Mapping) else None
    return proof_name(path if isinstance(path, str) else None, cwd)


def working_directory() -> str | None:
    """The folder relative paths are read from now, or ``None`` when it is gone."""
    try:
        return os.getcwd()
    except OSError:
        return None


def command_path(path: str, cwd: str | None) -> str:
    """``path`` as the by-hand commands name it: as given when absolute (or when ``cwd``
    is not known), else joined to ``cwd``, the folder it was read from, so that the
    command runs from any folder. The join is not normalised: ``a/../b`` stays, and the
    shell resolves it as the verifier's ``open()`` did. ``-`` and a stream's pseudo-name
    such as ``<stdin>`` are not paths and stay as they are."""
    if cwd is None or not path or os.path.isabs(path) or path == "-" \
            or (path.startswith("<") and path.endswith(">")):
        return path
    while path.startswith("./"):
        path = path[2:]
    return os.path.join(cwd, path)


def proof_name(source: str | None, cwd: str | None = None) -> str:
    """The bundle's name in commands: its path as :func:`command_path` gives it (joined
    to ``cwd``, by default the current folder: call this when the bundle is read), or
    :data:`DEFAULT_PROOF_NAME` when it was not read from a path."""
    if not source:
        return DEFAULT_PROOF_NAME
    return command_path(source, cwd if cwd is not None else working_directory())


def extract_commands(bundle: Bundle, proof: str) -> list[str]:
    """The one producer of the files other commands use: the token into
    :data:`TOKEN_FILE` and, when the bundle has extraCerts, those into
    :data:`EXTRA_CERTS_FILE` (PEM)."""
    q = shlex.quote(proof)
    commands = [f"jq -r .timestamp.token {q} | base64 -d > {TOKEN_FILE}"]
    if bundle.timestamp.extra_certs:
        commands.append(
            f"jq -r '.timestamp.extraCerts[]' {q} | while read -r c; do "
            "printf -- '-----BEGIN CERTIFICATE-----\\n%s\\n-----END CERTIFICATE-----\\n' "
            f"\"$(printf %s \"$c\" | fold -w 64)\"; done > {EXTRA_CERTS_FILE}"
        )
    return commands


def _token_step(bundle: Bundle, proof: str) -> dict[str, Any]:
    """(2) timestamp.token: the token as a DER file, and what it says, shown by OpenSSL."""
    commands = extract_commands(bundle, proof)
    token_in = " -token_in" if _is_bare_token(bundle.timestamp.token) else ""
    commands.append(f"openssl ts -reply -in {TOKEN_FILE}{token_in} -text")
    digest = bundle.certificate.sha256_hash.hex()
    return _step(
        "timestamp.token",
        f"extract the RFC 3161 token from the bundle into {TOKEN_FILE} and show its content",
        commands,
        f"'Message data' shows the 32 bytes of sha256Hash {digest}; 'Time stamp' is the "
        "token's genTime",
    )


def _is_bare_token(der: bytes) -> bool:
    """A bare TimeStampToken is a CMS ContentInfo, SEQUENCE { OID, [0] … }; a
    TimeStampResp is SEQUENCE { PKIStatusInfo SEQUENCE, … } (RFC 3161 §2.4.2).
    ``openssl ts -reply`` needs ``-token_in`` for the former."""
    if len(der) < 2 or der[0] != _DER_SEQUENCE:
        return True
    length_octets = der[1] & 0x7F if der[1] & 0x80 else 0
    first_inner = 2 + length_octets
    return len(der) <= first_inner or der[first_inner] != _DER_SEQUENCE


def _merkle_step(leaf: bytes, path: Sequence[PathStep], root: bytes) -> dict[str, Any]:
    """(3) anchor.merkle-path, contract section 2: left gives SHA-256(sibling ‖ cur),
    right gives SHA-256(cur ‖ sibling), over raw bytes."""
    commands = [f"h={leaf.hex()}  # sha256Hash"]
    for number, step in enumerate(path, start=1):
        sibling = step.sibling.hex()
        pair = f"{sibling} \"$h\"" if step.side == "left" else f"\"$h\" {sibling}"
        commands.append(f"h=$(printf '%s%s' {pair} | xxd -r -p | sha256sum | cut -c1-64)"
                        f"  # step {number}: {step.side}")
    commands.append('echo "$h"')
    return _step(
        "anchor.merkle-path",
        f"replay the Merkle path ({len(path)} steps) from sha256Hash to merkleRoot",
        commands,
        f"the last line printed is {root.hex()} (merkleRoot)",
    )


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


# --------------------------------------------------------------- anchor.* commands

def anchor_commands(anchor: Anchor, params: NetworkParams, min_conf: int,
                    proof: str = DEFAULT_PROOF_NAME) -> dict[str, list[str]]:
    """The commands per check id for ``anchor``'s transaction and block."""
    out: dict[str, list[str]] = {}
    tx = anchor.transaction
    if tx is None or anchor.merkle_root is None:
        return out
    q = shlex.quote(proof)
    txid = tx.txid.hex()
    cli = params.cli
    if tx.raw is not None:
        decode = [f"{cli('decoderawtransaction')} \"$(jq -r .anchor.transaction.hex {q})\""]
    else:
        where = f" {anchor.block.hash.hex()}" if anchor.block is not None else ""
        decode = [f"{cli(f'getrawtransaction {txid} true{where}')}"]
    out["anchor.transaction"] = [
        *decode, f"# its \"txid\" must be {txid}"]
    index = "outputIndex" if tx.output_index is not None else "the one output"
    out["anchor.op-return"] = [
        f"# in the transaction decoded for anchor.transaction, "
        f"vout[{tx.output_index if tx.output_index is not None else 'n'}] ({index}) must "
        f"have scriptPubKey.hex 6a20{anchor.merkle_root.hex()}: OP_RETURN, a 32-byte push "
        "and merkleRoot"]
    block = anchor.block
    if block is None:
        return out
    bhash = block.hash.hex()
    out["anchor.inclusion"] = [
        cli(f"getblockheader {bhash} false"),
        "# must print block.header; and the transaction must be in that block:",
        f"{cli(f'getblock {bhash} 1')} | jq '.tx | index(\"{txid}\")'",
        "# prints the transaction's position (block.txIndex)",
    ]
    if block.header is not None:
        header_hash = ("printf %s \"$(jq -r .anchor.block.header " + q + ")\" | xxd -r -p | "
                       "sha256sum | xxd -r -p -l 32 | sha256sum | cut -c1-64 | "
                       "fold -w2 | tac | tr -d '\\n'; echo")
        pow_lines = [header_hash,
                     f"# prints {bhash} (the header's double SHA-256, byte-reversed): the "
                     "leading zeros are its proof-of-work",
                     cli(f"getblockheader {bhash}"),
                     "# shows the header's \"bits\" (its target) and \"chainwork\""]
    else:
        pow_lines = [cli(f"getblockheader {bhash}"),
                     "# shows the header's \"bits\" (its target) and \"chainwork\""]
    out["anchor.proof-of-work"] = pow_lines
    chain = [cli(f"getblockhash {block.height}"),
             f"# must print {bhash}",
             cli("getblockcount"),
             f"# must be at least {block.height + min_conf - 1} for {min_conf} confirmations"]
    url = params.explorer_url(bhash)
    if url:
        chain.append(url)
    out["anchor.chain"] = chain
    return out


# ------------------------------------------------------------ timestamp.* commands

def recheck_commands(token: Token, bundle: Bundle, subject_path: str | None,
                     digest_given: bool, proof: str = DEFAULT_PROOF_NAME) -> list[str]:
    """Commands a person can run to re-check the token with OpenSSL at genTime, for the
    subject at ``subject_path`` (or the bundle's digest when ``digest_given``).

    Called when the subject is read: a relative ``subject_path`` is joined to the
    current folder (:func:`command_path`); ``proof`` comes from :func:`proof_name`.
    """
    token_in = " -token_in" if token.form == "TimeStampToken" else ""
    lines = extract_commands(bundle, proof)
    if digest_given and token.imprint_algorithm == "sha256":
        data = f"-digest {bundle.certificate.sha256_hash.hex()}"
    elif digest_given:  # openssl needs the file's own digest, which was not given
        name = bundle.certificate.file_name or "FILE"
        lines.append(f"# the token is over the file's {token.imprint_algorithm.upper()}, "
                     f"not its SHA-256: give your copy of the file ({name}) to -data")
        data = f"-data {shlex.quote(name)}"
    else:
        path = command_path(subject_path, working_directory()) if subject_path else "FILE"
        data = f"-data {shlex.quote(path)}"
    untrusted = f" -untrusted {EXTRA_CERTS_FILE}" if bundle.timestamp.extra_certs else ""
    lines.append(f"openssl ts -verify -in {TOKEN_FILE}{token_in} {data} -CAfile ROOTS.pem"
                 f"{untrusted} -attime {int(token.gen_time.timestamp())}")
    return lines
