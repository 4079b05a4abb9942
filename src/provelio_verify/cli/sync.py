"""``provelio-verify --sync-headers PATH`` with one chain source: create or extend a
local headers file (:func:`provelio_verify.chain.sync.sync_headers`), then verify
offline with ``--headers PATH``.

Exit 0: the file reached the source's tip (or already held it). 2: usage (no source or
more than one, options of a verification, a PATH that is not a headers file that
validates). 3: stopped short (the source failed, sent headers that do not validate,
or serves a branch with no more work than the file's); what the file holds then is
said, and every header of it validates. 130: interrupted, after keeping what was
validated.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .. import chain
from ..chain.sync import SyncResult, sync_headers
from ..errors import HeadersSyncError, InputError
from . import options

#: What goes with --sync-headers: one chain source, and how to show the result.
WITH_SYNC = frozenset({"sync_path", "sync_from", "bitcoin_node", "rpc_cookie", "esplora",
                       "electrum", "electrum_cafile", "as_json", "verbose"})
SOURCE_OPTIONS = ("bitcoin_node", "esplora", "electrum")


def check_combination(ctx: click.Context) -> None:
    """--sync-from needs --sync-headers; --sync-headers takes exactly one chain source
    and nothing of a verification.

    Raises:
        click.UsageError: they do not go together.
    """
    p = ctx.params
    if p.get("sync_path") is None:
        if p.get("sync_from") is not None:
            raise click.UsageError("only with --sync-headers PATH: --sync-from")
        return
    options.refuse_others(ctx, "--sync-headers", WITH_SYNC,
                          "it builds a headers file and verifies nothing")
    count = sum(1 if isinstance(p.get(name), str) else len(p.get(name) or ())
                for name in SOURCE_OPTIONS)
    if count != 1:
        raise click.UsageError(
            f"--sync-headers takes exactly one chain source (--bitcoin-node URL, "
            f"--esplora URL or --electrum ADDRESS); {count} given")
    if p.get("rpc_cookie") and not p.get("bitcoin_node"):
        raise click.UsageError("--rpc-cookie goes with --bitcoin-node")


def run(ctx: click.Context) -> None:
    """Sync and exit.

    Raises:
        click.UsageError: the source's address or PATH is refused.
    """
    p = ctx.params
    try:
        source = _the_source(p)
    except (InputError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    bar = _Bar()
    try:
        result = sync_headers(p["sync_path"], source, start_height=p["sync_from"],
                              progress=bar.update)
    except InputError as exc:
        raise click.UsageError(str(exc)) from None
    except HeadersSyncError as exc:
        bar.close()
        _emit(exc.result, as_json=p["as_json"], error=exc.reason)
        sys.exit(3)
    except KeyboardInterrupt:
        bar.close()
        click.echo(f"interrupted: {p['sync_path']} keeps the headers validated so far; "
                   "run the same command again to continue", err=True)
        sys.exit(130)
    finally:
        bar.close()
    _emit(result, as_json=p["as_json"])
    sys.exit(0 if result.complete else 3)


def _the_source(p: dict[str, Any]) -> chain.ChainSource:
    """The one source the options name.

    Raises:
        ValueError, InputError: its address or credentials are refused.
    """
    (source,) = chain.from_options(bitcoin_node=p["bitcoin_node"], rpc_cookie=p["rpc_cookie"],
                                   esplora=p["esplora"], electrum=p["electrum"],
                                   electrum_cafile=p["electrum_cafile"])
    return source


def _emit(result: SyncResult | None, *, as_json: bool, error: str | None = None) -> None:
    if as_json:
        out: dict[str, Any] = {"written": None if result is None else result.to_json()}
        if error is not None:
            out["error"] = error
        click.echo(json.dumps(out, indent=2))
        return
    if result is not None:
        click.echo(result.describe())
    if error is not None:
        click.echo(f"sync stopped: {error}", err=True)


class _Bar:
    """Headers fetched against the source's tip, drawn on stderr by the batch's
    progress line (one implementation: only on a terminal that can erase a line)."""

    def __init__(self) -> None:
        from .batch import Progress, progress_wanted

        self.bar = Progress(sys.stderr, enabled=progress_wanted(sys.stderr))

    def update(self, done: int, total: int) -> None:
        if total > 0:
            self.bar.count("headers", done, total, force=done >= total)

    def close(self) -> None:
        self.bar.clear()
