"""The one door to the network: the only part of the package that imports ``requests``
or opens a socket to another machine, and it imports nothing of the package but
``errors``.

- ``http.py``: :class:`HttpClient` (bounded timeouts, retries, ``Retry-After``, a size
  cap, a wall-clock deadline per request and a budget per verification); every foreign
  exception becomes :class:`~provelio_verify.errors.NetworkError`.
- ``electrum.py``: :class:`~provelio_verify.net.electrum.LineRpcClient`, the Electrum
  protocol's line-delimited JSON-RPC over TCP or TLS (bounded lines, deadlines,
  ``server.version`` first), for :class:`~provelio_verify.chain.ElectrumSource`.
- ``revocation.py``: fetching the CRLs and OCSP answers a TSA certificate names (under
  ``--fetch-revocation`` only, and only once the path to a user root is established).

Nothing constructs an ``HttpClient`` unless the user named a source (a node, an
explorer, an Electrum server, or ``--fetch-revocation``); a default verification opens no socket.
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
