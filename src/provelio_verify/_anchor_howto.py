"""Commands a person can run, without this tool, to re-check each ``anchor.*`` step
(the ``howToCheck`` lists of the evidence report; ``#`` lines are comments)."""

from __future__ import annotations

import shlex

from .bundle import Anchor
from .core.bitcoin import NetworkParams

#: The bundle's name in the commands (the evidence report's own steps use it too).
PROOF = "proof.json"


def anchor_commands(anchor: Anchor, params: NetworkParams, min_conf: int,
                    proof: str = PROOF) -> dict[str, list[str]]:
    """The commands per check id for ``anchor``'s transaction and block."""
    out: dict[str, list[str]] = {}
    tx = anchor.transaction
    if tx is None or anchor.merkle_root is None:
        return out
    q = shlex.quote(proof)
    txid = tx.txid.hex()
    cli = params.cli
    if tx.raw is not None:
        decode = [f"{cli('decoderawtransaction')} \"$(jq -r .anchor.transaction.hex {q})\""]
    else:
        where = f" {anchor.block.hash.hex()}" if anchor.block is not None else ""
        decode = [f"{cli(f'getrawtransaction {txid} true{where}')}"]
    out["anchor.transaction"] = [
        *decode, f"# its \"txid\" must be {txid}"]
    index = "outputIndex" if tx.output_index is not None else "the one output"
    out["anchor.op-return"] = [
        *decode,
        f"# vout[{tx.output_index if tx.output_index is not None else 'n'}] ({index}) must "
        f"have scriptPubKey.hex 6a20{anchor.merkle_root.hex()}: OP_RETURN, a 32-byte push "
        "and merkleRoot"]
    block = anchor.block
    if block is None:
        return out
    bhash = block.hash.hex()
    out["anchor.inclusion"] = [
        cli(f"getblockheader {bhash} false"),
        "# must print block.header; and the transaction must be in that block:",
        f"{cli(f'getblock {bhash} 1')} | jq '.tx | index(\"{txid}\")'",
        "# prints the transaction's position (block.txIndex)",
    ]
    if block.header is not None:
        header_hash = ("printf %s \"$(jq -r .anchor.block.header " + q + ")\" | xxd -r -p | "
                       "sha256sum | xxd -r -p -l 32 | sha256sum | cut -c1-64 | "
                       "fold -w2 | tac | tr -d '\\n'; echo")
        pow_lines = [header_hash,
                     f"# prints {bhash} (the header's double SHA-256, byte-reversed): the "
                     "leading zeros are its proof-of-work",
                     cli(f"getblockheader {bhash}"),
                     "# shows the header's \"bits\" (its target) and \"chainwork\""]
    else:
        pow_lines = [cli(f"getblockheader {bhash}"),
                     "# shows the header's \"bits\" (its target) and \"chainwork\""]
    out["anchor.proof-of-work"] = pow_lines
    chain = [cli(f"getblockhash {block.height}"),
             f"# must print {bhash}",
             cli("getblockcount"),
             f"# must be at least {block.height + min_conf - 1} for {min_conf} confirmations"]
    url = params.explorer_url(bhash)
    if url:
        chain.append(url)
    out["anchor.chain"] = chain
    return out
