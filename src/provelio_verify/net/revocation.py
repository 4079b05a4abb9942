"""Fetching the TSA certificate's CRLs and OCSP answers, only under ``--fetch-revocation``.

The only network access of the timestamp checks, and only through
:class:`~provelio_verify.net.HttpClient` (bounded timeouts, retries and sizes). What is
fetched is judged by ``core.revocation`` exactly like data the user supplied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..errors import NetworkError
from .http import HttpClient, HttpPolicy, Response

#: Limits for revocation requests: a TSA's CRL or OCSP responder that does not answer
#: within these is reported as unreachable rather than holding up a verification.
REVOCATION_HTTP = HttpPolicy(connect_timeout=5.0, read_timeout=15.0, retries=1, backoff=0.5,
                             max_retry_after=5.0, deadline=30.0, max_bytes=16 * 1024 * 1024)


def fetch_revocation(crl_urls: Sequence[str], ocsp_urls: Sequence[str],
                     ocsp_request: Callable[[], bytes],
                     http: HttpClient) -> tuple[list[tuple[str, str, bytes]], list[str]]:
    """Fetch every CRL at ``crl_urls`` and ask every responder at ``ocsp_urls`` with
    ``ocsp_request()`` (made only when there is a responder to ask).

    Returns what was fetched, as ``(kind, url, der)`` with kind ``crl`` or ``ocsp``, and
    a note for each URL that gave nothing usable.
    """
    found: list[tuple[str, str, bytes]] = []
    notes: list[str] = []
    for url in crl_urls:
        # No redirect is followed: a CRL distribution point that answers 3xx names a
        # third address nobody vetted (nor one on another scheme, file:// or ftp://).
        body = _answer(url, lambda u: http.get(u, allow_redirects=False), notes)
        if body is not None and body.lstrip().startswith(b"-----BEGIN"):
            try:
                body = x509.load_pem_x509_crl(body).public_bytes(serialization.Encoding.DER)
            except ValueError:
                notes.append(f"{url}: not a CRL")
                body = None
        if body is not None:
            found.append(("crl", url, body))
    if ocsp_urls:
        request = ocsp_request()
    for url in ocsp_urls:
        body = _answer(url, lambda u: http.post(
            u, request, headers={"Content-Type": "application/ocsp-request"}), notes)
        if body is not None:
            found.append(("ocsp", url, body))
    if not crl_urls and not ocsp_urls:
        notes.append("the TSA certificate names no http(s) CRL distribution point or OCSP "
                     "responder")
    return found, notes


def _answer(url: str, send: Callable[[str], Response], notes: list[str]) -> bytes | None:
    """The body of a 200 answer to ``send(url)``; otherwise a note of why not."""
    try:
        response = send(url)
    except NetworkError as exc:
        notes.append(f"{url}: {exc}")
        return None
    if 300 <= response.status < 400:
        notes.append(f"{url}: HTTP {response.status} redirect to "
                     f"{response.headers.get('Location', '(no Location)')!r}, not followed")
        return None
    if response.status != 200:
        notes.append(f"{url}: HTTP {response.status}")
        return None
    return response.body


def revocation_client() -> HttpClient:
    """The client used when ``--fetch-revocation`` is given and none was injected."""
    return HttpClient(REVOCATION_HTTP)
