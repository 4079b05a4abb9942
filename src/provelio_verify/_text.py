"""Text that is safe to show: ground floor, imports nothing of the package."""

from __future__ import annotations

import unicodedata


def printable(text: str) -> str:
    """Escape control and format characters, so a hostile file name or message cannot
    move the cursor, recolour or rewrite a terminal line."""
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)
