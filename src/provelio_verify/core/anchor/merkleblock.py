"""Bitcoin Core's ``gettxoutproof`` answer (a serialized ``CMerkleBlock``): a header
and a partial Merkle tree, turned into a position and a branch.

Nothing read here is trusted: the caller checks the branch against the header (and
the header against the block hash) exactly as it checks a bundle's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from .bitcoin import HEADER_SIZE, dsha256

#: The most transactions a block can hold (``MAX_BLOCK_WEIGHT / MIN_TRANSACTION_WEIGHT``).
MAX_BLOCK_TRANSACTIONS = 4_000_000 // 240


class MerkleBlockError(ValueError):
    """The bytes are not a well-formed partial Merkle tree."""


@dataclass(frozen=True)
class MerkleBlock:
    header: bytes
    transactions: int
    #: Each matched txid (internal order) with its position and branch (internal order).
    matches: dict[bytes, tuple[int, tuple[bytes, ...]]]
    root: bytes


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise MerkleBlockError("merkle block is truncated")
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    def compact_size(self) -> int:
        first = self.take(1)[0]
        width = {0xFD: 2, 0xFE: 4, 0xFF: 8}.get(first)
        if width is None:
            return first
        value = int.from_bytes(self.take(width), "little")
        if value < (0xFD if width == 2 else 1 << (8 * width // 2)):
            raise MerkleBlockError("merkle block has a non-canonical length")
        return value


def _width(transactions: int, height: int) -> int:
    return (transactions + (1 << height) - 1) >> height


def parse_merkle_block(data: bytes) -> MerkleBlock:
    """Parse and walk the partial tree as ``CPartialMerkleTree::ExtractMatches`` does.

    Raises:
        MerkleBlockError: malformed, with unused hashes or flag bits, or a node paired
            with a copy of itself (CVE-2012-2459).
    """
    reader = _Reader(data)
    header = reader.take(HEADER_SIZE)
    transactions = int.from_bytes(reader.take(4), "little")
    if not 0 < transactions <= MAX_BLOCK_TRANSACTIONS:
        raise MerkleBlockError(f"merkle block claims {transactions} transactions")
    count = reader.compact_size()
    if count > transactions:
        raise MerkleBlockError(f"{count} hashes for {transactions} transactions")
    hashes = [reader.take(32) for _ in range(count)]
    flag_bytes = reader.take(reader.compact_size())
    if reader.at != len(data):
        raise MerkleBlockError("merkle block has bytes after its flags")
    flags = [(byte >> bit) & 1 for byte in flag_bytes for bit in range(8)]
    if len(flags) < len(hashes):
        raise MerkleBlockError("merkle block has fewer flag bits than hashes")
    height = 0
    while _width(transactions, height) > 1:
        height += 1
    nodes: dict[tuple[int, int], bytes] = {}
    matched: list[int] = []
    used = [0, 0]  # flag bits, hashes

    def walk(level: int, pos: int) -> bytes:
        if used[0] >= len(flags):
            raise MerkleBlockError("merkle block runs out of flag bits")
        parent_of_match = flags[used[0]]
        used[0] += 1
        if level == 0 or not parent_of_match:
            if used[1] >= len(hashes):
                raise MerkleBlockError("merkle block runs out of hashes")
            node = hashes[used[1]]
            used[1] += 1
            if level == 0 and parent_of_match:
                matched.append(pos)
        else:
            left = walk(level - 1, pos * 2)
            if pos * 2 + 1 < _width(transactions, level - 1):
                right = walk(level - 1, pos * 2 + 1)
                if right == left:
                    raise MerkleBlockError("merkle block pairs a node with a copy of itself")
            else:
                right = left
            node = dsha256(left + right)
        nodes[(level, pos)] = node
        return node

    root = walk(height, 0)
    if (used[0] + 7) // 8 != len(flag_bytes) or used[1] != len(hashes):
        raise MerkleBlockError("merkle block leaves flag bits or hashes unused")
    matches = {}
    for pos in matched:
        branch = []
        for level in range(height):
            here = pos >> level
            sibling = here ^ 1
            if sibling >= _width(transactions, level):
                sibling = here
            branch.append(nodes[(level, sibling)])
        matches[nodes[(0, pos)]] = (pos, tuple(branch))
    return MerkleBlock(header, transactions, matches, root)
