"""``provelio-verify --webhook BODY_FILE --signature HEX``: check one Provelio webhook
delivery with the library's :func:`~provelio_verify.webhooks.verify_webhook`.

The secret comes only from the environment (``PROVELIO_WEBHOOK_SECRET``, several
separated by commas during a rotation), never from an argument (a process list shows
arguments) and is never printed. Exit 0 and the event; 1 and the reason the delivery
was refused; 2 for a usage fault (no secret, unreadable body file, options that do not
go together).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta

import click

from ..errors import InputError, WebhookError, WebhookSecretError
from ..inputs.files import read_at_most
from ..webhooks import (
    MAX_WEBHOOK_BYTES,
    SECRET_ENV,
    describe,
    event_to_json,
    secrets_from_env,
    verify_webhook,
)
from . import options

#: The options that go with --webhook; any other one given is a usage error.
WITH_WEBHOOK = frozenset({"webhook_path", "signature", "tolerance", "as_json", "verbose"})
#: The options that only go with --webhook.
ONLY_WITH_WEBHOOK = ("signature", "tolerance")


def check_combination(ctx: click.Context) -> None:
    """--signature and --tolerance need --webhook; --webhook takes none of the
    verification's arguments or options.

    Raises:
        click.UsageError: they do not go together.
    """
    if ctx.params.get("webhook_path") is None:
        alone = [p for p in options.given(ctx) if p.name in ONLY_WITH_WEBHOOK]
        if alone:
            raise click.UsageError(f"only with --webhook BODY_FILE: {options.names(alone)}")
        return
    options.refuse_others(ctx, "--webhook", WITH_WEBHOOK,
                          "it checks one delivery and verifies nothing")
    if ctx.params.get("signature") is None:
        raise click.UsageError("--webhook needs --signature HEX (the X-Provelio-Signature "
                               "header of the delivery)")


def run(path: str, signature: str, tolerance: float, *, as_json: bool) -> None:
    """Check the delivery in ``path`` (``-``: standard input) and exit.

    Raises:
        click.UsageError: no usable secret in the environment, or the body cannot be read.
    """
    try:
        secrets = secrets_from_env(os.environ.get(SECRET_ENV))
        body = _read_body(path)
    except (WebhookSecretError, InputError) as exc:
        raise click.UsageError(str(exc)) from None
    try:
        event = verify_webhook(body, signature, secrets,
                               tolerance=timedelta(seconds=tolerance))
    except WebhookSecretError as exc:
        raise click.UsageError(f"{SECRET_ENV}: {exc}") from None
    except WebhookError as exc:
        click.echo(f"webhook refused: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(event_to_json(event), indent=2, ensure_ascii=False))
    else:
        click.echo(describe(event))
    sys.exit(0)


def _read_body(path: str) -> bytes:
    """The raw body, one byte past the limit at most (so an over-size body is refused
    as such by the library, without reading all of it).

    Raises:
        InputError: the file cannot be read.
    """
    if path == "-":
        return sys.stdin.buffer.read(MAX_WEBHOOK_BYTES + 1)
    return read_at_most(path, MAX_WEBHOOK_BYTES)

