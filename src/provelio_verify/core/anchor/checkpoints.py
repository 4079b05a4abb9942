"""Mainnet checkpoints: for each 2016-block period, the hash of its last block and the
target in force for the next period.

With them a mainnet header's target can be checked offline against the one its
height demands, and a headers file can start at a period's last block. The data ship
in the package (``provelio_verify/data/mainnet-checkpoints.json``, loaded by
:func:`provelio_verify.inputs.checkpoints.mainnet_checkpoints`); this module only parses
and queries it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .bitcoin import RETARGET_INTERVAL, InvalidBits, Network, decode_compact

_HASH = re.compile(r"[0-9a-f]{64}")
_BITS = re.compile(r"[0-9a-f]{8}")


@dataclass(frozen=True)
class Checkpoints:
    """Checkpoint ``p`` (from 0) names block ``2016 p + 2015``, the last of period
    ``p``, by its hash (display order), and the nBits in force for period ``p + 1``.

    Raises:
        ValueError: the two lists differ in length, or an entry is malformed.
    """

    network: Network
    block_hashes: tuple[str, ...]
    next_bits: tuple[int, ...]
    _by_hash: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.block_hashes) != len(self.next_bits):
            raise ValueError("checkpoints: as many hashes as nBits values are needed")
        for i, (block_hash, bits) in enumerate(zip(self.block_hashes, self.next_bits,
                                                   strict=True)):
            if not _HASH.fullmatch(block_hash):
                raise ValueError(f"checkpoint {i}: {block_hash!r} is not a lowercase hash")
            try:
                decode_compact(bits)
            except InvalidBits as exc:
                raise ValueError(f"checkpoint {i}: {exc}") from None
        object.__setattr__(self, "_by_hash",
                           {h: self.height_of_checkpoint(i)
                            for i, h in enumerate(self.block_hashes)})

    @classmethod
    def from_json(cls, data: bytes) -> Checkpoints:
        """Parse the shipped format: ``{"network": ..., "checkpoints": [[hash, bits], ...]}``
        with ``bits`` as 8 hex digits.

        Raises:
            ValueError: the document is not in that format.
        """
        try:
            document: Any = json.loads(data)
            network = Network(document["network"])
            rows = document["checkpoints"]
            if not isinstance(rows, list):
                raise TypeError("checkpoints is not a list")
            hashes, bits = [], []
            for row in rows:
                block_hash, bits_hex = row
                if not isinstance(bits_hex, str) or not _BITS.fullmatch(bits_hex):
                    raise ValueError(f"{bits_hex!r} is not 8 lowercase hex digits")
                hashes.append(block_hash)
                bits.append(int(bits_hex, 16))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"checkpoints file is malformed: {exc}") from None
        return cls(network, tuple(hashes), tuple(bits))

    def __len__(self) -> int:
        return len(self.block_hashes)

    @staticmethod
    def height_of_checkpoint(index: int) -> int:
        """The height of the block checkpoint ``index`` names: the last of its period."""
        return RETARGET_INTERVAL * index + RETARGET_INTERVAL - 1

    @property
    def last_height(self) -> int:
        """The height of the last checkpointed block."""
        return self.height_of_checkpoint(len(self) - 1) if len(self) else -1

    @property
    def last_period(self) -> int:
        """The last period whose target the checkpoints give (the one after the last
        checkpointed block)."""
        return len(self)

    @property
    def covered_until(self) -> int:
        """The last height whose period target the checkpoints give."""
        return RETARGET_INTERVAL * (self.last_period + 1) - 1

    def period_bits(self, period: int, genesis_bits: int) -> int | None:
        """The nBits in force during ``period``: the genesis block's for period 0, the
        checkpoint's for the periods after; ``None`` past the checkpoints."""
        if period == 0:
            return genesis_bits
        if 1 <= period <= len(self):
            return self.next_bits[period - 1]
        return None

    def vouching_height(self, height: int) -> int | None:
        """The checkpoint a run of headers must pass through for its block at
        ``height`` to count as the best chain's: the first checkpointed block at or
        above ``height``, or the last one for a height above every checkpoint
        (``None`` when there are no checkpoints).

        Below a checkpoint, headers are cheap to invent (every period before height
        32,256 has difficulty 1): only reaching the checkpointed block, whose hash
        commits to every header under it, shows that a run is the real chain. Above
        the last checkpoint the run's headers descend from it at the targets the
        retarget rule allows from its known one, which is what makes them costly.
        """
        if not len(self):
            return None
        index = max(0, -(-(height - RETARGET_INTERVAL + 1) // RETARGET_INTERVAL))
        return self.height_of_checkpoint(min(index, len(self) - 1))

    def hash_at(self, height: int) -> str | None:
        """The checkpointed block hash at ``height``, if that height is checkpointed."""
        if height % RETARGET_INTERVAL != RETARGET_INTERVAL - 1:
            return None
        index = height // RETARGET_INTERVAL
        return self.block_hashes[index] if index < len(self) else None

    def height_of(self, block_hash: str) -> int | None:
        """The height of a checkpointed block by its hash (display order)."""
        return self._by_hash.get(block_hash)
