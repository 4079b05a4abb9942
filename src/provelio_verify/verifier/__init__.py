"""The verifier: runs the checks in the contract's order, and is the only place where a
check's outcome becomes a result (through :class:`Recorder`).

- ``verifier.py``: :class:`Verifier` (the orchestration), :func:`verify`, :func:`verify_strict`
- ``recorder.py``: :class:`Recorder`
- ``mode.py``: ``certificate.mode``
- ``timestamp.py``: the ``timestamp.*`` steps; ``pathcache.py`` their TSA-path cache
- ``anchor.py``: the ``anchor.*`` steps; ``anchor_chain.py`` the ``anchor.chain`` verdict
  from the sources' views (contract section 4)
- ``assemble.py``: the report's added keys (existence, environment, trust anchors)

It never imports ``cli``, ``batch``, ``capsule`` or ``evidence_report``. The public path
``provelio_verify.verifier`` keeps its names.
"""

from .recorder import Recorder
from .verifier import BundleInput, Verification, Verifier, load_bundle, verify, verify_strict

__all__ = ["BundleInput", "Recorder", "Verification", "Verifier", "load_bundle", "verify",
           "verify_strict"]
