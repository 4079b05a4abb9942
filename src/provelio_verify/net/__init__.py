"""The one door to the network: the only part of the package that imports ``requests``
or opens a socket to another machine, and it imports nothing of the package but
``errors``.

- ``http.py``: :class:`HttpClient` (bounded timeouts, retries, ``Retry-After``, a size
  cap, a wall-clock deadline per request and a budget per verification); every foreign
  exception becomes :class:`~provelio_verify.errors.NetworkError`.
- ``revocation.py``: fetching the CRLs and OCSP answers a TSA certificate names (under
  ``--fetch-revocation`` only, and only once the path to a user root is established).

Nothing constructs an ``HttpClient`` unless the user named a source (a node, an
explorer, or ``--fetch-revocation``); a default verification opens no socket.
"""

from ..errors import NetworkError
from .http import (
    DEFAULT_MAX_BYTES,
    VERIFICATION_NETWORK_BUDGET,
    HttpClient,
    HttpPolicy,
    Response,
    network_budget,
    redact,
    split_credentials,
)

__all__ = ["DEFAULT_MAX_BYTES", "VERIFICATION_NETWORK_BUDGET", "HttpClient",
           "HttpPolicy", "NetworkError", "Response", "network_budget", "redact",
           "split_credentials"]
