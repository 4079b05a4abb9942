"""A cache of TSA path results, held by a :class:`~provelio_verify.verifier.verifier.Verifier`.

A batch of tokens from one TSA shares one certificate path: validating it once per
token would dominate the cost of a batch. A valid path stays valid for any instant
between the latest notBefore and the earliest notAfter on it (nothing else in the
validation depends on time), so a result is keyed by the certificates involved (the
TSA certificate, the helper certificates, the roots) and reused for every token whose
interval genTime ± accuracy falls inside that window. Refusals are kept per exact
interval. The cache never changes a verdict, only how fast it is reached.

Thread-safe (one lock around the tables; validation itself runs outside it).
Picklable: it pickles empty and refills after unpickling (the parsed cryptography
objects it holds cannot cross a process boundary), so a Verifier can be sent to
worker processes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from ..core.timestamp.certpath import VALID, Interval, PathOutcome, evaluate_path, valid_outcome
from ..core.timestamp.certs import Cert, load_all
from ..core.timestamp.x509path import PathValidator

#: Entries kept in each table; past it the least recently used entry goes (a few MiB
#: at most), so a batch of a million items from ever new TSAs holds bounded memory.
DEFAULT_MAX_ENTRIES = 4096

#: A path's identity: the leaf's DER, the helpers' DER, the roots' DER. Exact bytes,
#: never a digest or a name: two different certificates never share an entry.
_Key = tuple[bytes, frozenset[bytes], frozenset[bytes]]
K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A dict that keeps its ``cap`` most recently used entries (callers hold the lock)."""

    def __init__(self, cap: int) -> None:
        self.cap = max(1, cap)
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.cap:
            self._data.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._data)


class PathCache:
    """Path outcomes per certificates and time window, the parsed trust roots, and
    parsed certificates by their bytes; each table an LRU of ``max_entries``."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._valid: _Lru[_Key, list[tuple[datetime, datetime, tuple[Cert, ...]]]] = \
            _Lru(max_entries)
        self._refused: _Lru[tuple[_Key, Interval], PathOutcome] = _Lru(max_entries)
        self._roots: _Lru[tuple[bytes, ...], tuple[tuple[Cert, ...], PathValidator | None]] = \
            _Lru(64)
        self._certs: _Lru[bytes, Cert | str] = _Lru(max_entries)  # str: why it does not parse
        self.hits = 0
        self.misses = 0

    def certificate(self, der: bytes) -> Cert:
        """The parsed certificate (parsed once per Verifier, its key loaded once: a
        batch from one TSA carries the same few certificates in every token).

        Raises:
            ValueError: the bytes are not a usable certificate.
        """
        der = bytes(der)
        with self._lock:
            known = self._certs.get(der)
        if known is None:
            try:
                known = Cert.load(der)
                _ = known.public_key  # the key, loaded once with the certificate
            except ValueError as exc:
                known = str(exc)
            with self._lock:
                self._certs.put(der, known)
        if isinstance(known, str):
            raise ValueError(known)
        return known

    def known(self, der: bytes) -> Cert | None:
        """The certificate already parsed from exactly these bytes, without parsing."""
        with self._lock:
            found = self._certs.get(bytes(der))
        return found if isinstance(found, Cert) else None

    def __getstate__(self) -> dict[str, Any]:
        return {"max_entries": self.max_entries}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["max_entries"])  # type: ignore[misc]

    def roots(self, ders: Sequence[bytes]) -> tuple[tuple[Cert, ...], PathValidator | None]:
        """The parsed roots and a validator on them (``None`` without roots), made once
        per distinct set of roots (by their exact bytes, in order)."""
        key = tuple(bytes(d) for d in ders)
        with self._lock:
            found = self._roots.get(key)
        if found is not None:
            return found
        certs, _ = load_all(ders, self.certificate)  # roots parsed when loaded: none dropped
        made = (tuple(certs), PathValidator([c.crypto for c in certs]) if certs else None)
        with self._lock:
            return self._roots.get(key) or self._roots.put(key, made)

    def evaluate(
        self,
        leaf: Cert,
        helpers: Sequence[Cert],
        roots: Sequence[Cert],
        validator: PathValidator | None,
        interval: Interval,
    ) -> PathOutcome:
        """The path outcome for ``leaf`` over ``interval``, from the cache when a
        validated path's window covers it, else computed and remembered."""
        key: _Key = (leaf.der, frozenset(c.der for c in helpers if c != leaf),
                     frozenset(r.der for r in roots))
        with self._lock:
            for low, high, chain in self._valid.get(key) or ():
                if low <= interval.start and interval.end <= high:
                    self.hits += 1
                    return valid_outcome(chain, interval)
            refused = self._refused.get((key, interval))
            if refused is not None:
                self.hits += 1
                return refused
            self.misses += 1
        outcome = evaluate_path(leaf, helpers, roots, validator, interval)
        with self._lock:
            if outcome.status == VALID:
                assert outcome.window is not None
                windows = self._valid.get(key) or self._valid.put(key, [])
                if len(windows) < self.max_entries:
                    windows.append((*outcome.window, outcome.chain))
            else:
                self._refused.put((key, interval), outcome)
        return outcome
