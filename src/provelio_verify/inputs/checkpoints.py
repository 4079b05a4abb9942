"""The mainnet checkpoints shipped in the package (``data/mainnet-checkpoints.json``).

Where they come from: Electrum 4.3.4's checkpoint list, Electrum's of 2026-07-01 and
bitcoinj's, merged and cross-checked by ``scripts/make_checkpoints.py`` (see
``docs/anchor.md``); each row records which lists hold it, and rows that one source
only (one project) vouches for are marked. They are trusted data of this release, as a
node's own checkpoints are: a header at a height they cover must carry exactly the
target they give for its period.
"""

from __future__ import annotations

import functools
from importlib import resources

from ..core.anchor.checkpoints import Checkpoints

RESOURCE = "data/mainnet-checkpoints.json"


@functools.cache
def mainnet_checkpoints() -> Checkpoints:
    """The shipped mainnet checkpoints (read once; the value is immutable).

    Raises:
        ValueError: the shipped file is damaged (a broken installation).
    """
    return Checkpoints.from_json(resources.files("provelio_verify").joinpath(RESOURCE).read_bytes())
