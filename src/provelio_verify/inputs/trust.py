"""Reading what the user names for the TSA checks: trust anchors and other certificates
(PEM, DER, or a folder), the system root store, CRLs and OCSP responses."""

from __future__ import annotations

import base64
import binascii
import os
import re
import ssl
import warnings
from collections.abc import Callable

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import ocsp

from ..errors import InputError
from .files import read_bounded

PEM_CERT = re.compile(
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
            # Subfolders and hidden files are not looked at; anything else must be a
            # regular file of certificates (a FIFO or device there is refused, not
            # skipped: the user may have meant it as a root).
            if not entry.startswith(".") and not os.path.isdir(full):
                found.extend(_load_file(full))
        if not found:
            raise InputError(f"{name}: no certificate in this folder")
        return tuple(dict.fromkeys(found))
    return tuple(dict.fromkeys(_load_file(name)))


def _load_file(name: str) -> list[bytes]:
    data = read_bounded(name, MAX_CERT_FILE_BYTES)
    return pem_or_der(name, data, PEM_CERT, "CERTIFICATE", "certificate",
                       x509.load_der_x509_certificate)


def _pem_der(block: re.Match[bytes]) -> bytes:
    """The DER inside one PEM block (the bytes as issued, not a re-encoding).

    Raises:
        binascii.Error: the block's base64 is broken.
    """
    return base64.b64decode(b"".join(block.group(1).split()), validate=True)


def pem_or_der(name: str, data: bytes, pattern: re.Pattern[bytes], label: str, kind: str,
                load: Callable[[bytes], object]) -> list[bytes]:
    """DER of every object in a PEM file (blocks ``label``) or of a DER file, each
    checked with ``load``.

    Raises:
        InputError: a block or the file does not parse, or a PEM file has no block.
    """
    if b"-----BEGIN" in data:
        ders = []
        for block in pattern.finditer(data):
            try:
                der = _pem_der(block)
                load(der)
            except (ValueError, binascii.Error) as exc:
                raise InputError(f"{name}: a PEM {kind} does not parse ({exc})") from None
            ders.append(der)
        if not ders:
            raise InputError(f"{name}: PEM file holds no {label} block")
        return ders
    try:
        load(data)
    except ValueError:
        raise InputError(f"{name}: neither a PEM nor a DER {kind}") from None
    return [data]


def load_system_roots() -> tuple[bytes, ...]:
    """DER of the operating system's trusted roots (``--system-roots``): the bundle
    file or folder OpenSSL is configured with. A certificate in it that does not parse
    is left out; an unreadable store is an error.

    Raises:
        InputError: no readable root store was found.
    """
    paths = ssl.get_default_verify_paths()
    for name in filter(None, (paths.cafile, paths.openssl_cafile)):
        if os.path.isfile(name):
            return _lenient_pem(name)
    for name in filter(None, (paths.capath, paths.openssl_capath)):
        if os.path.isdir(name):
            found: list[bytes] = []
            for entry in sorted(os.listdir(name)):
                full = os.path.join(name, entry)
                if os.path.isfile(full) and entry.endswith((".pem", ".crt", ".0")):
                    found.extend(_lenient_pem(full))
            if found:
                return tuple(dict.fromkeys(found))
    raise InputError("--system-roots: no root store found (looked for "
                     f"{paths.cafile or paths.openssl_cafile} and {paths.capath})")


def _lenient_pem(name: str) -> tuple[bytes, ...]:
    data = read_bounded(name, MAX_CERT_FILE_BYTES)
    ders = []
    for block in PEM_CERT.finditer(data):
        with warnings.catch_warnings():
            # A root cryptography parses only with a deprecation warning (e.g. a
            # non-positive serial) breaks RFC 5280 and is left out like an unparsable one.
            warnings.simplefilter("error", CryptographyDeprecationWarning)
            try:
                der = _pem_der(block)
                x509.load_der_x509_certificate(der)
            except (ValueError, binascii.Error, CryptographyDeprecationWarning):
                continue
        ders.append(der)
    return tuple(dict.fromkeys(ders))


_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----\s*(.+?)\s*-----END X509 CRL-----", re.DOTALL)
#: Largest CRL or OCSP file read: the CRLs of large CAs run to a few MiB.
MAX_REVOCATION_FILE_BYTES = 64 * 1024 * 1024


def load_crls(path: str | os.PathLike[str]) -> tuple[bytes, ...]:
    """DER of every CRL in a PEM or DER file (``--crl``).

    Raises:
        InputError: the file cannot be read or holds no CRL.
    """
    name = os.fspath(path)
    data = read_bounded(name, MAX_REVOCATION_FILE_BYTES)
    return tuple(pem_or_der(name, data, _PEM_CRL, "X509 CRL", "CRL", x509.load_der_x509_crl))


def load_ocsp_response(path: str | os.PathLike[str]) -> bytes:
    """DER of an OCSP response (``--ocsp``), as ``openssl ocsp -respout`` writes it.

    Raises:
        InputError: the file cannot be read or is not an OCSP response.
    """
    name = os.fspath(path)
    data = read_bounded(name, MAX_REVOCATION_FILE_BYTES)
    try:
        ocsp.load_der_ocsp_response(data)
    except ValueError:
        raise InputError(f"{name}: not a DER OCSP response") from None
    return data
