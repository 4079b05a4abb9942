"""``anchor.transaction``, ``anchor.op-return`` and ``anchor.inclusion``: the
transaction is the one named, carries the root, and is in the block.

Byte order: ``txid``, block hashes and Merkle branch entries arrive in display order
(as the bundle writes them) and are reversed here before any hashing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bitcoin.core import CTransaction
from bitcoin.core.serialize import DeserializationExtraDataError, SerializationError

from ...outcome import CheckFailure, SubIndication
from .bitcoin import BlockHeader, dsha256

#: A transaction whose serialization without witness is 64 bytes could pose as an
#: inner node of a Merkle tree (two 32-byte hashes): Bitcoin Core refuses them since
#: the Consensus Cleanup, and a proof of one proves nothing.
MERKLE_NODE_SIZE = 64
#: OP_RETURN followed by a push of exactly 32 bytes.
ANCHOR_SCRIPT_PREFIX = b"\x6a\x20"
#: 2^32 transactions cannot fit in a block, so no branch is longer.
MAX_BRANCH_LENGTH = 32


@dataclass(frozen=True)
class ParsedTransaction:
    """A raw transaction, parsed, with its txid recomputed."""

    tx: CTransaction
    stripped: bytes  # serialization without witness: what the txid hashes
    txid: bytes  # internal order
    has_witness: bool

    @property
    def output_scripts(self) -> list[bytes]:
        return [bytes(out.scriptPubKey) for out in self.tx.vout]


def parse_transaction(raw: bytes) -> ParsedTransaction:
    """Parse ``raw`` with python-bitcoinlib, with or without witness, and recompute the
    txid from the serialization without witness.

    Raises:
        CheckFailure: FORMAT_FAILURE when the bytes are not exactly one transaction in
            canonical encoding, or strip to 64 bytes.
    """
    try:
        tx = CTransaction.deserialize(raw)
    except DeserializationExtraDataError as exc:
        raise CheckFailure(SubIndication.FORMAT_FAILURE,
                           f"transaction hex holds {len(exc.padding)} bytes after the "
                           "transaction", {"size": len(raw)}) from None
    except (SerializationError, ValueError, IndexError, EOFError) as exc:
        raise CheckFailure(SubIndication.FORMAT_FAILURE,
                           f"transaction hex does not parse as a transaction ({exc})",
                           {"size": len(raw)}) from None
    # (1) Canonical encoding: re-serializing gives the same bytes (refuses non-minimal
    # length prefixes and a witness marker with empty witnesses, as Bitcoin Core does).
    if tx.serialize() != raw:
        raise CheckFailure(SubIndication.FORMAT_FAILURE,
                           "transaction hex is not in canonical encoding: it does not "
                           "re-serialize to the same bytes", {"size": len(raw)})
    stripped = CTransaction(tx.vin, tx.vout, tx.nLockTime, tx.nVersion).serialize()
    # (2) Refuse a transaction that could be an inner Merkle node.
    if len(stripped) == MERKLE_NODE_SIZE:
        raise CheckFailure(SubIndication.FORMAT_FAILURE,
                           f"transaction is {MERKLE_NODE_SIZE} bytes without witness: it could "
                           "pose as an inner Merkle node, so it proves nothing",
                           {"size": len(stripped)})
    return ParsedTransaction(tx, stripped, dsha256(stripped), len(stripped) != len(raw))


def check_txid(parsed: ParsedTransaction, txid_display: bytes) -> dict[str, Any]:
    """(3) The txid is the double SHA-256 of the serialization without witness,
    reversed for display, and equals ``transaction.txid``.

    Raises:
        CheckFailure: HASH_FAILURE with both values.
    """
    computed = parsed.txid[::-1]
    if computed != txid_display:
        raise CheckFailure(
            SubIndication.HASH_FAILURE,
            f"transaction hashes to txid {computed.hex()}, not to transaction.txid "
            f"{txid_display.hex()}",
            {"computed": computed.hex(), "txid": txid_display.hex()})
    return {"txid": computed.hex(), "size": len(parsed.stripped),
            "witness": parsed.has_witness, "outputs": len(parsed.tx.vout)}


def anchor_script(merkle_root: bytes) -> bytes:
    """The only script that anchors ``merkle_root``: ``6a 20 ‖ root``, root bytes as
    written in the bundle (not reversed)."""
    return ANCHOR_SCRIPT_PREFIX + merkle_root


def check_op_return(parsed: ParsedTransaction, merkle_root: bytes,
                    output_index: int | None) -> int:
    """(1) Contract section 2: the output at ``output_index``, or else exactly one
    output, has the script ``6a 20 ‖ merkleRoot``. Returns the output's index.

    Raises:
        CheckFailure: FORMAT_FAILURE for an index past the last output; HASH_FAILURE
            when the script is not the anchor script (or not exactly one output has it).
    """
    want = anchor_script(merkle_root)
    scripts = parsed.output_scripts
    listing = {"expectedScript": want.hex(), "outputs": [s.hex() for s in scripts]}
    if output_index is not None:
        if output_index >= len(scripts):
            raise CheckFailure(
                SubIndication.FORMAT_FAILURE,
                f"transaction.outputIndex {output_index} is past the last output "
                f"(the transaction has {len(scripts)})", listing)
        script = scripts[output_index]
        if script != want:
            raise CheckFailure(
                SubIndication.HASH_FAILURE,
                f"output {output_index} has script {_abbrev(script)}, not OP_RETURN "
                f"<merkleRoot> ({want.hex()})", listing)
        return output_index
    matches = [i for i, script in enumerate(scripts) if script == want]
    if len(matches) != 1:
        found = "no output" if not matches else f"{len(matches)} outputs ({matches})"
        raise CheckFailure(
            SubIndication.HASH_FAILURE,
            f"{found} of the transaction's {len(scripts)} has the script OP_RETURN "
            f"<merkleRoot> ({want.hex()}); without transaction.outputIndex exactly one must",
            listing)
    return matches[0]


def _abbrev(script: bytes) -> str:
    text = script.hex() or "(empty)"
    return text if len(text) <= 80 else f"{text[:76]}…"


def tree_depth(tx_count: int) -> int:
    """The length of every Merkle branch in a block of ``tx_count`` transactions.

    Bitcoin's tree pairs the last node of an odd level with a copy of itself, so each
    level halves the width rounding up and every leaf sits at the same depth:
    ceil(log2(n)) levels, 0 for a block holding only its coinbase.

    Raises:
        ValueError: ``tx_count`` is below 1 (every block has a coinbase).
    """
    if tx_count < 1:
        raise ValueError(f"a block holds at least one transaction, not {tx_count}")
    return (tx_count - 1).bit_length()


def check_tree_shape(tx_index: int, branch_length: int, tx_count: int) -> None:
    """(5) CVE-2017-12842: with the block's transaction count known, ``txIndex`` names
    one of its transactions and the branch is exactly as long as the tree is deep. A
    shorter branch would prove an inner node (64 bytes that parse as a transaction); a
    longer one would descend below the leaves (a 64-byte transaction read as two
    hashes). Either way the "transaction" proven is not one of the block's.

    Raises:
        CheckFailure: FORMAT_FAILURE naming the count, the index and both lengths.
    """
    depth = tree_depth(tx_count)
    details = {"txIndex": tx_index, "branchLength": branch_length, "txCount": tx_count,
               "treeDepth": depth}
    if branch_length != depth:
        raise CheckFailure(
            SubIndication.FORMAT_FAILURE,
            f"Merkle branch has {branch_length} levels, but the Merkle tree of a block of "
            f"{tx_count} transactions is {depth} deep: the branch proves "
            + ("an inner node of the tree" if branch_length < depth
               else "something below its leaves") + ", not a transaction (CVE-2017-12842)",
            details)
    if tx_index >= tx_count:
        raise CheckFailure(
            SubIndication.FORMAT_FAILURE,
            f"txIndex {tx_index} is past the last transaction of a block of {tx_count}",
            details)


def check_inclusion(header: BlockHeader, block_hash_display: bytes, txid_display: bytes,
                    tx_index: int, branch_display: Sequence[bytes]) -> dict[str, Any]:
    """(1) The header hashes to ``block.hash``. (2) The branch is at most 32 long and
    ``txIndex`` fits it. (3) No level puts the node on the right of a copy of itself
    (that position is Bitcoin's padding of an odd level, not a transaction).
    (4) Folding the txid with the branch gives the header's Merkle root.

    Raises:
        CheckFailure: HASH_FAILURE for a hash that does not match (both values);
            FORMAT_FAILURE for a branch or index that cannot describe a position.
    """
    if header.hash[::-1] != block_hash_display:
        raise CheckFailure(
            SubIndication.HASH_FAILURE,
            f"header hashes to {header.display_hash}, not to block.hash "
            f"{block_hash_display.hex()}",
            {"headerHash": header.display_hash, "blockHash": block_hash_display.hex()})
    if len(branch_display) > MAX_BRANCH_LENGTH:
        raise CheckFailure(SubIndication.FORMAT_FAILURE,
                           f"Merkle branch has {len(branch_display)} entries, over the "
                           f"limit of {MAX_BRANCH_LENGTH}", {"length": len(branch_display)})
    if tx_index >> len(branch_display):
        raise CheckFailure(
            SubIndication.FORMAT_FAILURE,
            f"txIndex {tx_index} needs more than the branch's {len(branch_display)} levels",
            {"txIndex": tx_index, "branchLength": len(branch_display)})
    cur = txid_display[::-1]
    for level, sibling_display in enumerate(branch_display):
        sibling = sibling_display[::-1]
        on_right = (tx_index >> level) & 1
        if on_right and sibling == cur:
            raise CheckFailure(
                SubIndication.FORMAT_FAILURE,
                f"at level {level} the branch pairs the node with a copy of itself on its "
                f"left: txIndex {tx_index} names the padding of an odd level, not a "
                "transaction", {"txIndex": tx_index, "level": level})
        cur = dsha256(sibling + cur if on_right else cur + sibling)
    if cur != header.merkle_root:
        raise CheckFailure(
            SubIndication.HASH_FAILURE,
            f"txid {txid_display.hex()} with the Merkle branch at txIndex {tx_index} folds "
            f"to {cur[::-1].hex()}, not to the header's Merkle root "
            f"{header.merkle_root[::-1].hex()}",
            {"computedRoot": cur[::-1].hex(), "headerRoot": header.merkle_root[::-1].hex(),
             "txIndex": tx_index, "branchLength": len(branch_display)})
    return {"blockHash": header.display_hash, "merkleRoot": header.merkle_root[::-1].hex(),
            "txIndex": tx_index, "branchLength": len(branch_display)}
