"""The certificate's Merkle path (contract section 2, Chainpoint v2 rule)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ...outcome import CheckFailure, SubIndication


@dataclass(frozen=True)
class PathStep:
    """One step of a certificate's Merkle path: the sibling and the side it is on."""

    side: Literal["left", "right"]
    sibling: bytes


@dataclass(frozen=True)
class PathReplay:
    root: bytes
    #: The value after each step, for a person replaying the path by hand.
    intermediates: tuple[bytes, ...]


def replay_path(leaf: bytes, steps: Sequence[PathStep]) -> PathReplay:
    """Fold ``leaf`` with the steps: ``left`` gives SHA-256(sibling ‖ cur), ``right``
    gives SHA-256(cur ‖ sibling); single SHA-256 over raw bytes, no prefixes."""
    cur = leaf
    seen = []
    for step in steps:
        pair = step.sibling + cur if step.side == "left" else cur + step.sibling
        cur = hashlib.sha256(pair).digest()
        seen.append(cur)
    return PathReplay(root=cur, intermediates=tuple(seen))


def check_path(leaf: bytes, steps: Sequence[PathStep], merkle_root: bytes) -> PathReplay:
    """(1) Contract section 2, ``anchor.path``: the path leads from ``sha256Hash`` to
    ``merkleRoot``.

    Raises:
        CheckFailure: HASH_FAILURE, with the root the path gives and the claimed one.
    """
    replay = replay_path(leaf, steps)
    if replay.root != merkle_root:
        raise CheckFailure(
            SubIndication.HASH_FAILURE,
            f"path of {len(steps)} steps from sha256Hash leads to {replay.root.hex()}, "
            f"not to merkleRoot {merkle_root.hex()}",
            {"computedRoot": replay.root.hex(), "merkleRoot": merkle_root.hex(),
             "steps": len(steps)},
        )
    return replay
