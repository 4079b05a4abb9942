"""Reading trust anchors and other certificates the user names (PEM, DER, or a folder)."""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography import x509

from .errors import InputError

_PEM_CERT = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.DOTALL
)
#: Largest certificate file read; real bundles of roots are well under this.
MAX_CERT_FILE_BYTES = 16 * 1024 * 1024


def load_certificates(path: str | os.PathLike[str]) -> tuple[bytes, ...]:
    """DER of every certificate in a PEM or DER file, or in each file of a folder.

    Raises:
        InputError: the path cannot be read, or holds no certificate, or a file in it
            is neither PEM nor DER certificates.
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        try:
            entries = sorted(os.listdir(name))
        except OSError as exc:
            raise InputError(f"cannot read folder {name}: {exc.strerror or exc}") from None
        found: list[bytes] = []
        for entry in entries:
            full = os.path.join(name, entry)
            if os.path.isfile(full) and not entry.startswith("."):
                found.extend(_load_file(full))
        if not found:
            raise InputError(f"{name}: no certificate in this folder")
        return tuple(dict.fromkeys(found))
    return tuple(dict.fromkeys(_load_file(name)))


def _load_file(name: str) -> list[bytes]:
    try:
        with open(name, "rb") as stream:
            data = stream.read(MAX_CERT_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    if len(data) > MAX_CERT_FILE_BYTES:
        raise InputError(f"{name}: over {MAX_CERT_FILE_BYTES} bytes, not a certificate file")
    if b"-----BEGIN" in data:
        ders = []
        for block in _PEM_CERT.finditer(data):
            try:
                der = base64.b64decode(b"".join(block.group(1).split()), validate=True)
                x509.load_der_x509_certificate(der)
            except (ValueError, binascii.Error) as exc:
                raise InputError(f"{name}: a PEM certificate does not parse ({exc})") from None
            ders.append(der)  # the bytes as issued, not a re-encoding
        if not ders:
            raise InputError(f"{name}: PEM file holds no CERTIFICATE block")
        return ders
    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        raise InputError(f"{name}: neither a PEM nor a DER certificate") from None
    return [data]

