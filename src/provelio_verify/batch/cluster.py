"""Running a batch on a Dask distributed cluster (the ``dask`` extra).

:func:`dask_executor` connects to a scheduler and gives a
:class:`concurrent.futures.Executor` over the cluster's workers, which
:func:`~provelio_verify.batch.run_batch` takes like any other: chunks of items go out as
tasks, outcomes come back in item order, and the Verifier (roots, policy, the chain
sources' answers) travels to each worker once per batch. Dask re-runs the tasks of a
worker that died on another worker, so a lost worker loses no item and doubles none; a
chunk Dask gives up on is verified again one item at a time (see ``run.py``).

What every worker needs is in ``docs/scale.md``: the same ``provelio-verify`` version,
and every file an item names readable under the same name (absolute paths, shared
storage, or digest-only manifests).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from typing import Any

from ..errors import InputError
from .discover import BatchItem

#: How long connecting to a scheduler may take (seconds).
CONNECT_TIMEOUT = 10.0

EXTRA_HINT = ("--dask-scheduler needs Dask's distributed scheduler: "
              "pip install 'provelio-verify[dask]'")


class ClusterExecutor(Executor):
    """A Dask client's executor, with the number of worker threads the batch engine
    sizes its chunks and the chunks in flight by (``max_workers``)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        # pure=False: two chunks are never one task, however alike their arguments.
        self._executor = client.get_executor(pure=False)
        self.max_workers = max(1, sum(client.nthreads().values()))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = self._executor.submit(fn, *args, **kwargs)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._executor.shutdown(wait=wait)


def absolute_items(items: Iterable[BatchItem]) -> Iterable[BatchItem]:
    """``items`` with their file and proof named by absolute paths (as this process
    resolves them), for workers whose working folder is not this one's. A list stays a
    list (its length sizes the chunks); a stream stays a stream."""
    def absolute(item: BatchItem) -> BatchItem:
        return dataclasses.replace(
            item, file=os.path.abspath(item.file) if item.file else item.file,
            proof=os.path.abspath(item.proof) if item.proof else item.proof)

    if isinstance(items, Sequence):
        return [absolute(item) for item in items]
    return (absolute(item) for item in items)


@contextlib.contextmanager
def dask_executor(address: str, *, timeout: float = CONNECT_TIMEOUT
                  ) -> Iterator[ClusterExecutor]:
    """An executor over the Dask cluster whose scheduler is at ``address``
    (``tcp://HOST:PORT``), closed (the client, not the cluster) on leaving.

    Raises:
        InputError: Dask's distributed package is not installed, the scheduler cannot be
            reached within ``timeout``, or it has no worker.
    """
    try:
        distributed: Any = importlib.import_module("distributed")  # an optional extra
    except ImportError:
        raise InputError(EXTRA_HINT) from None
    try:
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address}: "
                         f"{exc or type(exc).__name__}") from None
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise InputError(f"the Dask scheduler at {address} has no worker (waited "
                             f"{timeout:g} s)") from None
        yield ClusterExecutor(client)
    finally:
        client.close()


__all__ = ["CONNECT_TIMEOUT", "ClusterExecutor", "absolute_items", "dask_executor"]
