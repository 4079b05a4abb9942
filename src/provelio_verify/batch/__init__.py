"""Many verifications in one run: discovery of the items (a folder or a manifest) and
the run itself (in this process, a pool of workers, or any executor). ``provelio_verify.batch``
keeps its names.

- ``discover.py``: :func:`discover` (folders of ``X`` + ``X.proof.json``, CSV/JSONL
  manifests) into :class:`BatchItem`; :func:`stream`, the same one item at a time
- ``run.py``: :func:`run_batch`, :func:`iter_batch`, :func:`verify_item`,
  :func:`verify_chunk`, :class:`BatchSummary`
- ``resume.py``: :func:`resume`, reading back an interrupted batch's JSONL
"""

from .discover import BatchItem, discover, stream
from .resume import Resumed, resume
from .run import (
    DEFAULT_CHUNK_SIZE,
    BatchSummary,
    ItemOutcome,
    iter_batch,
    run_batch,
    verify_chunk,
    verify_item,
)

__all__ = ["DEFAULT_CHUNK_SIZE", "BatchItem", "BatchSummary", "ItemOutcome", "Resumed",
           "discover", "iter_batch", "resume", "run_batch", "stream", "verify_chunk",
           "verify_item"]
