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

import hashlib
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..core.timestamp.certpath import VALID, Interval, PathOutcome, evaluate_path, valid_outcome
from ..core.timestamp.certs import Cert, load_all
from ..core.timestamp.x509path import PathValidator

#: Entries kept; when full the tables are emptied and refill (a few MiB at most).
DEFAULT_MAX_ENTRIES = 4096

_Key = tuple[bytes, frozenset[bytes], frozenset[bytes]]


class PathCache:
    """Path outcomes per certificates and time window, the parsed trust roots, and
    parsed certificates by their bytes."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._valid: dict[_Key, list[tuple[datetime, datetime, tuple[Cert, ...]]]] = {}
        self._refused: dict[tuple[_Key, Interval], PathOutcome] = {}
        self._roots: dict[bytes, tuple[tuple[Cert, ...], PathValidator | None]] = {}
        self._certs: dict[bytes, Cert | str] = {}  # by DER; str: why it does not parse
        self.hits = 0
        self.misses = 0

    def certificate(self, der: bytes) -> Cert:
        """The parsed certificate (parsed once per Verifier: a batch from one TSA
        carries the same few certificates in every token).

        Raises:
            ValueError: the bytes are not a usable certificate.
        """
        with self._lock:
            known = self._certs.get(der)
        if known is None:
            try:
                known = Cert.load(der)
            except ValueError as exc:
                known = str(exc)
            with self._lock:
                if len(self._certs) >= self.max_entries:
                    self._certs.clear()
                self._certs[der] = known
        if isinstance(known, str):
            raise ValueError(known)
        return known

    def __getstate__(self) -> dict[str, Any]:
        return {"max_entries": self.max_entries}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["max_entries"])  # type: ignore[misc]

    def roots(self, ders: Sequence[bytes]) -> tuple[tuple[Cert, ...], PathValidator | None]:
        """The parsed roots and a validator on them (``None`` without roots), made once
        per distinct set of roots."""
        key = hashlib.sha256(b"".join(hashlib.sha256(d).digest() for d in ders)).digest()
        with self._lock:
            found = self._roots.get(key)
        if found is not None:
            return found
        certs, _ = load_all(ders, self.certificate)  # roots parsed when loaded: none dropped
        made = (tuple(certs), PathValidator([c.crypto for c in certs]) if certs else None)
        with self._lock:
            return self._roots.setdefault(key, made)

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
        key: _Key = (leaf.sha256, frozenset(c.sha256 for c in helpers if c != leaf),
                     frozenset(r.sha256 for r in roots))
        with self._lock:
            for low, high, chain in self._valid.get(key, ()):
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
            if len(self._valid) + len(self._refused) >= self.max_entries:
                self._valid.clear()
                self._refused.clear()
            if outcome.status == VALID:
                assert outcome.window is not None
                self._valid.setdefault(key, []).append((*outcome.window, outcome.chain))
            else:
                self._refused[(key, interval)] = outcome
        return outcome
