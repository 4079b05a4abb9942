"""Reading what the user names for the TSA checks: trust anchors and other certificates
(PEM, DER, or a folder), the system root store, CRLs and OCSP responses."""

from __future__ import annotations

import base64
import binascii
import os
import re
import ssl
import warnings

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import ocsp

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
    try:
        with open(name, "rb") as stream:
            data = stream.read(MAX_CERT_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    ders = []
    for block in _PEM_CERT.finditer(data):
        with warnings.catch_warnings():
            # A root cryptography parses only with a deprecation warning (e.g. a
            # non-positive serial) breaks RFC 5280 and is left out like an unparsable one.
            warnings.simplefilter("error", CryptographyDeprecationWarning)
            try:
                der = base64.b64decode(b"".join(block.group(1).split()), validate=True)
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
    name, data = _read_revocation_file(path)
    if b"-----BEGIN" in data:
        ders = []
        for block in _PEM_CRL.finditer(data):
            try:
                der = base64.b64decode(b"".join(block.group(1).split()), validate=True)
                x509.load_der_x509_crl(der)
            except (ValueError, binascii.Error) as exc:
                raise InputError(f"{name}: a PEM CRL does not parse ({exc})") from None
            ders.append(der)
        if not ders:
            raise InputError(f"{name}: PEM file holds no X509 CRL block")
        return tuple(ders)
    try:
        x509.load_der_x509_crl(data)
    except ValueError:
        raise InputError(f"{name}: neither a PEM nor a DER CRL") from None
    return (data,)


def load_ocsp_response(path: str | os.PathLike[str]) -> bytes:
    """DER of an OCSP response (``--ocsp``), as ``openssl ocsp -respout`` writes it.

    Raises:
        InputError: the file cannot be read or is not an OCSP response.
    """
    name, data = _read_revocation_file(path)
    try:
        ocsp.load_der_ocsp_response(data)
    except ValueError:
        raise InputError(f"{name}: not a DER OCSP response") from None
    return data


def _read_revocation_file(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    name = os.fspath(path)
    try:
        with open(name, "rb") as stream:
            data = stream.read(MAX_REVOCATION_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    if len(data) > MAX_REVOCATION_FILE_BYTES:
        raise InputError(f"{name}: over {MAX_REVOCATION_FILE_BYTES} bytes")
    return name, data
