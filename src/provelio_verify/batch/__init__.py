"""Many verifications in one run: discovery of the items (a folder or a manifest) and
the run itself (in this process or a pool of workers). ``provelio_verify.batch`` keeps
its names.

- ``discover.py``: :func:`discover` (folders of ``X`` + ``X.proof.json``, CSV/JSONL
  manifests) into :class:`BatchItem`
- ``run.py``: :func:`run_batch`, :func:`verify_item`, :class:`BatchSummary`
"""

from .discover import BatchItem, discover
from .run import BatchSummary, ItemOutcome, run_batch, verify_item

__all__ = ["BatchItem", "BatchSummary", "ItemOutcome", "discover", "run_batch",
           "verify_item"]
