"""Mainnet checkpoints: for each 2016-block period, the hash of its last block and the
target in force for the next period.

With them a mainnet header's target can be checked offline against the one its
height demands, and a headers file can start at a period's last block. The data ship
in the package (``provelio_verify/data/mainnet-checkpoints.json``, loaded by
:func:`provelio_verify.inputs.checkpoints.mainnet_checkpoints`); this module only parses
and queries it.

Each row may also say which of the lists it was made from vouch for it (format 2).
Lists of one project (two Electrum releases) are one source, not two: a row vouched by
a single project's lists is *one list only*, and the report says so where it uses it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .bitcoin import RETARGET_INTERVAL, InvalidBits, Network, decode_compact

_HASH = re.compile(r"[0-9a-f]{64}")
_BITS = re.compile(r"[0-9a-f]{8}")
_KEY = re.compile(r"[a-z0-9][a-z0-9.@-]{0,63}")
#: The formats :meth:`Checkpoints.from_json` reads: 1 has ``[hash, bits]`` rows and no
#: ``format`` key; 2 adds ``lists`` and ``[hash, bits, sources, [list, ...]]`` rows.
FORMATS = (1, 2)


@dataclass(frozen=True)
class CheckpointList:
    """A list the checkpoints were made from: ``key`` as rows name it, the ``project``
    that published it (lists of one project are one source), a ``title`` for reports."""

    key: str
    project: str
    title: str


@dataclass(frozen=True)
class Checkpoints:
    """Checkpoint ``p`` (from 0) names block ``2016 p + 2015``, the last of period
    ``p``, by its hash (display order), and the nBits in force for period ``p + 1``.

    ``vouched_by[p]``, when given, holds the keys of the ``lists`` that contain row
    ``p`` (empty ``vouched_by``: not recorded).

    Raises:
        ValueError: the two lists differ in length, or an entry is malformed.
    """

    network: Network
    block_hashes: tuple[str, ...]
    next_bits: tuple[int, ...]
    vouched_by: tuple[tuple[str, ...], ...] = ()
    lists: tuple[CheckpointList, ...] = ()
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
        self._check_vouching()
        object.__setattr__(self, "_by_hash",
                           {h: self.height_of_checkpoint(i)
                            for i, h in enumerate(self.block_hashes)})

    def _check_vouching(self) -> None:
        keys = [entry.key for entry in self.lists]
        if len(set(keys)) != len(keys):
            raise ValueError("checkpoints: two lists share a key")
        for entry in self.lists:
            if not _KEY.fullmatch(entry.key) or not entry.project or not entry.title:
                raise ValueError(f"checkpoints: list {entry.key!r} is not named properly")
        if not self.vouched_by:
            return
        if len(self.vouched_by) != len(self.block_hashes):
            raise ValueError("checkpoints: as many vouching records as rows are needed")
        order = {key: n for n, key in enumerate(keys)}
        for i, row in enumerate(self.vouched_by):
            if not row:
                raise ValueError(f"checkpoint {i}: no list vouches for it")
            unknown = [key for key in row if key not in order]
            if unknown:
                raise ValueError(f"checkpoint {i}: vouched by unknown list {unknown[0]!r}")
            if [order[key] for key in row] != sorted({order[key] for key in row}):
                raise ValueError(f"checkpoint {i}: its lists are repeated or out of order")

    @classmethod
    def from_json(cls, data: bytes) -> Checkpoints:
        """Parse the shipped format: ``{"network": ..., "checkpoints": [[hash, bits], ...]}``
        with ``bits`` as 8 hex digits (format 1), or, with ``"format": 2``, also
        ``"lists": {key: {"project": ..., "title": ...}}`` and rows
        ``[hash, bits, sources, [key, ...]]``, where ``sources`` is the number of
        distinct projects among the row's lists.

        Raises:
            ValueError: the document is not in that format.
        """
        try:
            document: Any = json.loads(data)
            network = Network(document["network"])
            version = document.get("format", 1)
            if type(version) is not int or version not in FORMATS:
                raise ValueError(f"format {version!r} is not one of {FORMATS}")
            lists = _parse_lists(document["lists"]) if version == 2 else ()
            projects = {entry.key: entry.project for entry in lists}
            rows = document["checkpoints"]
            if not isinstance(rows, list):
                raise TypeError("checkpoints is not a list")
            hashes, bits, vouched = [], [], []
            for i, row in enumerate(rows):
                if not isinstance(row, list) or len(row) != (2 if version == 1 else 4):
                    raise ValueError(f"row {i} does not have the fields of format {version}")
                block_hash, bits_hex = row[0], row[1]
                if not isinstance(bits_hex, str) or not _BITS.fullmatch(bits_hex):
                    raise ValueError(f"{bits_hex!r} is not 8 lowercase hex digits")
                hashes.append(block_hash)
                bits.append(int(bits_hex, 16))
                if version == 2:
                    vouched.append(_parse_vouch(i, row[2], row[3], projects))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"checkpoints file is malformed: {exc}") from None
        return cls(network, tuple(hashes), tuple(bits), tuple(vouched), lists)

    def sources_of(self, index: int) -> int | None:
        """How many independent sources (distinct projects) vouch for row ``index``;
        ``None`` when the data do not record it."""
        if not self.vouched_by:
            return None
        projects = {entry.key: entry.project for entry in self.lists}
        return len({projects[key] for key in self.vouched_by[index]})

    def single_source(self, index: int) -> str | None:
        """For a row vouched by one source only, the lists that hold it, for a report
        (``"Electrum 2026-07-01"``, or two lists of one project named as such);
        ``None`` for a row that more than one source vouches for, or when vouching is
        not recorded."""
        if self.sources_of(index) != 1:
            return None
        by_key = {entry.key: entry for entry in self.lists}
        held = [by_key[key] for key in self.vouched_by[index]]
        if len(held) == 1:
            return held[0].title
        return (", ".join(entry.title for entry in held[:-1]) + f" and {held[-1].title}, "
                f"all {held[0].project}'s")

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


def _parse_lists(value: Any) -> tuple[CheckpointList, ...]:
    if not isinstance(value, dict) or not value:
        raise TypeError("lists is not a non-empty object")
    out = []
    for key, about in value.items():
        if not isinstance(about, dict) or not isinstance(about.get("project"), str) \
                or not isinstance(about.get("title"), str):
            raise TypeError(f"list {key!r} lacks a project or a title")
        out.append(CheckpointList(key, about["project"], about["title"]))
    return tuple(out)


def _parse_vouch(index: int, count: Any, keys: Any,
                 projects: dict[str, str]) -> tuple[str, ...]:
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise TypeError(f"row {index}: its lists are not a list of names")
    unknown = [k for k in keys if k not in projects]
    if unknown:
        raise ValueError(f"row {index}: vouched by unknown list {unknown[0]!r}")
    independent = len({projects[k] for k in keys})
    if type(count) is not int or count != independent or count < 1:
        raise ValueError(f"row {index}: says {count!r} independent sources, but its lists "
                         f"{keys} come from {independent}")
    return tuple(keys)
