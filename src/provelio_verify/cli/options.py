"""Which of the command's options a run was given, for the modes that take only a few
of them (``--webhook``, ``--sync-headers``)."""

from __future__ import annotations

from collections.abc import Collection

import click


def given(ctx: click.Context) -> list[click.Parameter]:
    """The parameters the user gave (on the command line or from the environment)."""
    return [param for param in ctx.command.params
            if ctx.get_parameter_source(param.name or "")
            not in (None, click.core.ParameterSource.DEFAULT)]


def refuse_others(ctx: click.Context, mode: str, allowed: Collection[str],
                  why: str) -> None:
    """A usage error naming every given parameter of ``ctx`` not in ``allowed``.

    Raises:
        click.UsageError: one was given.
    """
    others = [p for p in given(ctx) if p.name not in allowed]
    if others:
        raise click.UsageError(f"not with {mode} ({why}): {names(others)}")


def names(params: list[click.Parameter]) -> str:
    """The parameters as the user writes them: ``--digest``, ``FILE PROOF``."""
    return ", ".join(p.opts[0] if isinstance(p, click.Option) else p.human_readable_name
                     for p in params)
