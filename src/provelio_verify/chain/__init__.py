"""Chain sources: the only place where the outside world comes in.

Nothing here is constructed unless the user names a source; without one, a
verification opens no socket and reads no file beyond the subject and the bundle.

    >>> from provelio_verify.chain import EsploraSource, BitcoinCoreSource, HeadersFileSource
    >>> node = BitcoinCoreSource("http://127.0.0.1:8332", cookie_path="/home/me/.bitcoin/.cookie")
    >>> verify("doc.pdf", "proof.json", policy=policy,
    ...        sources=[node, EsploraSource("https://blockstream.info/api")])
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..errors import SourceError, SourceInvalid, SourceUnavailable
from ..net import HttpClient, HttpPolicy
from .base import (
    BlockStatus,
    ChainSource,
    MerkleProof,
    Question,
)
from .bitcoind import BitcoinCoreSource
from .electrum import ElectrumSource
from .esplora import EsploraSource
from .headers_file import HeadersFileSource
from .replay import ReplaySource, replay_sources

__all__ = [
    "BitcoinCoreSource",
    "BlockStatus",
    "ChainSource",
    "ElectrumSource",
    "EsploraSource",
    "HeadersFileSource",
    "MerkleProof",
    "Question",
    "ReplaySource",
    "SourceError",
    "SourceInvalid",
    "SourceUnavailable",
    "from_options",
    "replay_sources",
]


def from_options(*, headers: str | os.PathLike[str] | None = None,
                 bitcoin_node: str | None = None,
                 rpc_cookie: str | os.PathLike[str] | None = None,
                 esplora: Sequence[str] = (),
                 http: HttpPolicy | None = None,
                 electrum: Sequence[str] = (),
                 electrum_cafile: str | None = None) -> list[ChainSource]:
    """The sources the command line names, in the order of contract section 3.

    ``electrum``: Electrum servers (``HOST:PORT``, ``ssl://HOST:PORT``), after the
    explorers; ``electrum_cafile`` pins the certificate(s) their TLS must present
    (``ssl://`` ones); each request within ``http``'s read timeout.

    Raises:
        ValueError: a URL is not http(s), credentials are given twice, or an Electrum
            address is not HOST:PORT or ssl://HOST:PORT.
        InputError: the cookie file cannot be read or is not a cookie.
    """
    sources: list[ChainSource] = []
    if headers is not None:
        sources.append(HeadersFileSource(headers))
    client = HttpClient(http) if bitcoin_node or esplora else None
    if bitcoin_node:
        sources.append(BitcoinCoreSource(bitcoin_node, cookie_path=rpc_cookie, client=client))
    for url in esplora:
        sources.append(EsploraSource(url, client=client))
    timeout = (http or HttpPolicy()).read_timeout
    for address in electrum:
        tls = address.startswith("ssl://")
        sources.append(ElectrumSource(address, cafile=electrum_cafile if tls else None,
                                      timeout=timeout))
    return sources
