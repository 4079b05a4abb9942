"""The ``anchor.*`` checks, in order, on the recorder of ``verifier.py``.

(1) ``anchor.merkle-path``: sha256Hash leads to merkleRoot.
(2) ``anchor.transaction``: the raw transaction hashes to txid.
(3) ``anchor.op-return``: an output is exactly ``OP_RETURN <merkleRoot>``.
(4) ``anchor.inclusion``: the header hashes to block.hash and the branch folds the
    txid to its Merkle root; where a source gives the block's transaction count, the
    branch is as long as its tree is deep and txIndex below the count.
(5) ``anchor.proof-of-work``: the header meets its target, the one in force.
(6) ``anchor.chain``: the block is in the chosen sources' best chain, deep enough.

Where the bundle lacks the transaction or the header group, a chosen source may
supply them; they are then checked exactly as if the bundle held them. A source is
asked about the txid only then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ..bundle import Anchor, Block, Bundle, Network, Status
from ..chain.base import ChainSource
from ..chain.survey import SourceState, SourceView, survey
from ..core.anchor.bitcoin import NETWORKS, BlockHeader, NetworkParams, short
from ..core.anchor.checkpoints import Checkpoints
from ..core.anchor.merkle import check_path
from ..core.anchor.pow import PowFacts, above_checkpoints, check_header_work
from ..core.anchor.transaction import (
    ParsedTransaction,
    check_inclusion,
    check_op_return,
    check_tree_shape,
    check_txid,
    tree_depth,
)
from ..core.anchor.transaction import parse_transaction as parse_tx
from ..errors import SourceError
from ..howto import DEFAULT_PROOF_NAME, anchor_commands
from ..inputs.checkpoints import mainnet_checkpoints
from ..outcome import CheckFailure, CheckIndeterminate, Passed
from ..policy import Policy
from ..report import ANCHOR_CHECKS, SubIndication
from .anchor_chain import (
    SYNC_HEADERS,
    beyond_checkpoints,
    checkpoint_details,
    combine,
    manual_check,
    stands,
)

if TYPE_CHECKING:
    from .recorder import Recorder


@dataclass(frozen=True)
class AnchorFacts:
    """What the anchor established, for ``existence`` and the report."""

    block_time: datetime | None


def anchor_required(bundle: Bundle, policy: Policy) -> bool:
    """Contract section 4: the anchor is required for a confirmed certificate, and
    always under ``--require-anchor``."""
    return bundle.certificate.status is Status.CONFIRMED or policy.require_anchor


def _pending_reason(bundle: Bundle) -> str:
    status = bundle.certificate.status
    if status is Status.FAILED:
        return "certificate status is failed: anchoring failed, no anchor will follow"
    if status is Status.CREATED:
        return "certificate status is created: not yet batched for anchoring"
    return f"certificate status is {status.value}: the anchor is not complete yet"


def run(
    rec: Recorder, bundle: Bundle, policy: Policy, sources: Sequence[ChainSource],
    proof: str = DEFAULT_PROOF_NAME,
) -> AnchorFacts | None:
    required = anchor_required(bundle, policy)
    anchor = bundle.anchor
    if anchor is None or anchor.merkle_root is None or anchor.path is None:
        for check_id in ANCHOR_CHECKS:
            rec.skip(check_id, SubIndication.ANCHOR_PENDING, _pending_reason(bundle),
                     required=required)
        return None
    root, path = anchor.merkle_root, anchor.path
    leaf = bundle.certificate.sha256_hash

    def merkle() -> Passed[None]:
        replay = check_path(leaf, path, root)
        return Passed(
            f"path of {len(path)} steps leads from sha256Hash to merkleRoot {root.hex()}",
            {"steps": len(path), "merkleRoot": root.hex(),
             "intermediates": [h.hex() for h in replay.intermediates]},
        )

    rec.run("anchor.merkle-path", merkle, required=required)
    if anchor.transaction is None:
        for check_id in ANCHOR_CHECKS[1:]:
            rec.skip(check_id, SubIndication.ANCHOR_PENDING, _pending_reason(bundle),
                     required=required)
        return None
    steps = _Steps(anchor, NETWORKS[anchor.network],
                   mainnet_checkpoints() if anchor.network is Network.MAINNET else None,
                   tuple(sources), policy.min_confirmations)
    rec.run("anchor.transaction", steps.transaction, required=required)
    rec.run("anchor.op-return", steps.op_return, required=required)
    if anchor.block is None:
        for check_id in ("anchor.inclusion", "anchor.proof-of-work", "anchor.chain"):
            rec.skip(check_id, SubIndication.ANCHOR_PENDING, _pending_reason(bundle),
                     required=required)
        _annotate(rec, anchor, steps.params, policy.min_confirmations, proof)
        return None
    header = rec.run("anchor.inclusion", steps.inclusion, required=required)
    pow_facts = rec.run("anchor.proof-of-work", steps.proof_of_work, required=required)
    rec.run("anchor.chain", lambda: steps.chain(pow_facts), required=required)
    _annotate(rec, anchor, steps.params, policy.min_confirmations, proof)
    if header is None or pow_facts is None:
        return AnchorFacts(None)
    return AnchorFacts(datetime.fromtimestamp(header.time, UTC))


def _annotate(rec: Recorder, anchor: Anchor, params: NetworkParams, min_conf: int,
              proof: str) -> None:
    for check_id, commands in anchor_commands(anchor, params, min_conf, proof).items():
        rec.annotate(check_id, commands)


def _sources_details(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"sources": entries} if entries else {}


_T = TypeVar("_T")
#: A question to one source, its answers logged; raises SourceError or CheckFailure.
_Ask = Callable[[ChainSource, list[dict[str, Any]]], _T]


@dataclass
class _Steps:
    """One anchor's checks; material a source supplies is fetched once and shared."""

    anchor: Anchor
    params: NetworkParams
    checkpoints: Checkpoints | None
    sources: tuple[ChainSource, ...]
    min_conf: int
    _parsed: ParsedTransaction | CheckFailure | CheckIndeterminate | None = None
    _header: BlockHeader | CheckIndeterminate | None = None
    _views: list[SourceView] | None = None
    #: Each source asked for material, with its answers: for the transaction, and for
    #: the header group (header and branch).
    _tx_asked: list[dict[str, Any]] = field(default_factory=list)
    _group_asked: list[dict[str, Any]] = field(default_factory=list)

    @property
    def txid(self) -> str:
        assert self.anchor.transaction is not None
        return self.anchor.transaction.txid.hex()

    @property
    def block(self) -> Block:
        assert self.anchor.block is not None
        return self.anchor.block

    @property
    def block_hash(self) -> str:
        return self.block.hash.hex()

    def _by_hand(self, what: str) -> str:
        return f"settle it with a chain source (--bitcoin-node, --esplora), or by hand: {what}"

    def _txoutproof(self) -> str:
        txids = "'[\"" + self.txid + "\"]'"
        return f"`{self.params.cli(f'gettxoutproof {txids} {self.block_hash}')}`"

    def _first_answer(self, asked: list[dict[str, Any]],
                      ask: _Ask[_T]) -> tuple[_T, ChainSource] | list[str]:
        """Ask each source in turn until one gives material that passes ``ask``'s
        checks; log every source asked into ``asked``. Returns the material and its
        source, or why each source failed."""
        reasons = []
        for source in self.sources:
            log: list[dict[str, Any]] = []
            try:
                return ask(source, log), source
            except SourceError as exc:
                reasons.append(f"{source.label}: {exc.reason}")
            except CheckFailure as exc:
                reasons.append(f"{source.label}: {exc.message}")
            finally:
                asked.append({**source.describe(), "answers": log})
        return reasons

    # (2), (3) The transaction ---------------------------------------------------------

    def _transaction(self) -> ParsedTransaction:
        """The parsed transaction, from the bundle or a source (once).

        Raises:
            CheckFailure: the bundle's hex is not a transaction.
            CheckIndeterminate: no hex in the bundle and no source supplied it.
        """
        if self._parsed is None:
            try:
                self._parsed = parse_tx(self._transaction_bytes())
            except (CheckFailure, CheckIndeterminate) as exc:
                self._parsed = exc
        if isinstance(self._parsed, Exception):
            raise self._parsed
        return self._parsed

    def _transaction_bytes(self) -> bytes:
        assert self.anchor.transaction is not None
        if self.anchor.transaction.raw is not None:
            return self.anchor.transaction.raw
        block = self.anchor.block.hash.hex() if self.anchor.block else None
        flag = f" 0 {block}" if block else ""
        by_hand = self._by_hand(f"`{self.params.cli(f'getrawtransaction {self.txid}{flag}')}`")
        if not self.sources:
            raise CheckIndeterminate(SubIndication.NO_CHAIN_SOURCE,
                                     f"the bundle holds no transaction hex and no chain source "
                                     f"was chosen to supply it; {by_hand}")
        got = self._first_answer(self._tx_asked,
                                 lambda source, log: source.transaction(self.txid, block, log))
        if isinstance(got, tuple):
            return got[0]
        raise CheckIndeterminate(SubIndication.TRY_LATER,
                                 f"no chain source supplied transaction {self.txid} ("
                                 + "; ".join(got) + f"); try again later, or {by_hand}",
                                 _sources_details(self._tx_asked))

    def transaction(self) -> Passed[ParsedTransaction]:
        assert self.anchor.transaction is not None
        parsed = self._transaction()
        facts = check_txid(parsed, self.anchor.transaction.txid)
        origin = "" if self.anchor.transaction.raw is not None else \
            f" (supplied by {self._tx_asked[-1]['source']})"
        witness = ", witness data excluded" if parsed.has_witness else ""
        return Passed(f"transaction{origin} hashes to txid {self.txid} "
                      f"({len(parsed.stripped)} bytes without witness{witness})",
                      {**facts, **_sources_details(self._tx_asked)}, value=parsed)

    def op_return(self) -> Passed[None]:
        assert self.anchor.transaction is not None and self.anchor.merkle_root is not None
        try:
            parsed = self._transaction()
        except CheckFailure:
            raise CheckIndeterminate(SubIndication.NOT_EVALUATED,
                                     "not evaluated: the transaction hex is not a transaction "
                                     "(see anchor.transaction)") from None
        index = check_op_return(parsed, self.anchor.merkle_root,
                                self.anchor.transaction.output_index)
        script = "6a20" + self.anchor.merkle_root.hex()
        return Passed(f"output {index} has the script OP_RETURN <merkleRoot> ({script})",
                      {"outputIndex": index, "script": script,
                       "outputs": len(parsed.tx.vout)})

    # (4) Inclusion --------------------------------------------------------------------

    def _block_header(self) -> BlockHeader:
        """The header: the bundle's, or one a source supplied (hashed to block.hash).

        Raises:
            CheckIndeterminate: neither.
        """
        if self.block.header is not None:
            return BlockHeader.parse(self.block.header)
        if self._header is None:
            self._header = self._supply_header()
        if isinstance(self._header, CheckIndeterminate):
            raise self._header
        return self._header

    def _supply_header(self) -> BlockHeader | CheckIndeterminate:
        header_cli = self.params.cli(f"getblockheader {self.block_hash} false")
        by_hand = self._by_hand(f"`{header_cli}` and {self._txoutproof()}")
        if not self.sources:
            return CheckIndeterminate(SubIndication.NO_CHAIN_SOURCE,
                                      "the bundle holds no header, txIndex and merkleBranch, and "
                                      f"no chain source was chosen to supply them; {by_hand}")
        got = self._first_answer(self._group_asked, self._header_from)
        if isinstance(got, tuple):
            return got[0]
        return CheckIndeterminate(SubIndication.TRY_LATER,
                                  f"no chain source supplied the header of block "
                                  f"{self.block_hash} (" + "; ".join(got)
                                  + f"); try again later, or {by_hand}",
                                  _sources_details(self._group_asked))

    def _header_from(self, source: ChainSource, log: list[dict[str, Any]]) -> BlockHeader:
        # The claimed height is asked first: a source that finds headers by height only
        # (Electrum) learns where to look, and the others answer it from the cache when
        # anchor.chain's survey asks it again. The header found is still hashed against
        # the bundle's block hash before it is believed.
        source.block_hash(self.block.height, log)
        return BlockHeader.parse(source.header(self.block_hash, log))

    def inclusion(self) -> Passed[BlockHeader]:
        assert self.anchor.transaction is not None
        txid = self.anchor.transaction.txid
        header = self._block_header()
        if self.block.header is not None:
            assert self.block.tx_index is not None and self.block.merkle_branch is not None
            facts = check_inclusion(header, self.block.hash, txid, self.block.tx_index,
                                    self.block.merkle_branch)
            return self._shaped(facts, header, None)
        def proven(source: ChainSource, log: list[dict[str, Any]]) -> dict[str, Any]:
            # A supplied branch is checked exactly as the bundle's would be; one that
            # does not fold is that source's failure, not the evidence's.
            proof = source.merkle_proof(self.txid, self.block_hash, self.block.height, log)
            return check_inclusion(header, self.block.hash, txid, proof.tx_index, proof.branch)

        got = self._first_answer(self._group_asked, proven)
        if isinstance(got, tuple):
            return self._shaped(got[0], header, got[1])
        raise CheckIndeterminate(
            SubIndication.TRY_LATER,
            f"no chain source supplied a Merkle branch for {self.txid} in block "
            f"{self.block_hash} that folds to its Merkle root (" + "; ".join(got)
            + "); try again later, or " + self._by_hand(self._txoutproof()),
            _sources_details(self._group_asked))

    def _tx_counts(self) -> tuple[dict[str, int], list[str]]:
        """(5) The block's transaction count from each source that put the block at its
        height in its best chain, on the bundle's network (the survey anchor.chain
        judges, asked once; its answers are recorded there), and why the others gave
        none."""
        counts: dict[str, int] = {}
        notes: list[str] = []
        for view in self.survey() or ():
            if view.state is not SourceState.ANSWERED or view.block_at_height != self.block_hash:
                notes.append(f"{view.label} does not have the block at height "
                             f"{self.block.height} in its best chain (see anchor.chain)")
            elif view.tx_count is None:
                notes.append(f"{view.label} does not say how many transactions it holds")
            else:
                counts[view.label] = view.tx_count
        return counts, notes

    def _shaped(self, facts: dict[str, Any], header: BlockHeader,
                supplier: ChainSource | None) -> Passed[BlockHeader]:
        """(5) The branch folds; now its length against the tree's depth, where a
        source gives the block's transaction count (CVE-2017-12842).

        Raises:
            CheckFailure: every count given contradicts the bundle's own branch.
            CheckIndeterminate: SOURCES_DISAGREE when some counts fit the branch and
                others do not, or the branch a source supplied contradicts another's.
        """
        origin = "" if supplier is None else \
            f" (header and branch supplied by {supplier.label})"
        counts, notes = self._tx_counts()
        index, length = facts["txIndex"], facts["branchLength"]
        details = {**facts, "txCount": None, "treeDepth": None,
                   **({"suppliedBy": supplier.label} if supplier else {})}
        if not counts:
            why = "; ".join(notes) if notes else "no chain source was chosen to say it"
            return Passed(
                self._included(facts) + origin + "; the block's transaction count was not "
                f"known ({why}), so the branch's length was not checked against the "
                "tree's depth", {**details, **_sources_details(self._group_asked)},
                value=header)
        wrong: dict[str, CheckFailure] = {}
        for label, count in counts.items():
            try:
                check_tree_shape(index, length, count)
            except CheckFailure as exc:
                wrong[label] = exc
        details = {**details, "txCounts": dict(counts),
                   **_sources_details(self._group_asked)}
        if not wrong:
            said = ", ".join(f"{n} by {label}" for label, n in counts.items())
            depth = tree_depth(next(iter(counts.values())))
            return Passed(
                self._included(facts) + origin + f"; the block's transaction count ({said}) "
                f"makes its tree {depth} levels deep, as long as the branch, and position "
                f"{index} one of its transactions",
                {**details, "txCount": next(iter(counts.values())), "treeDepth": depth},
                value=header)
        first_label, first = next(iter(wrong.items()))
        by = ", ".join(wrong)
        if len(wrong) == len(counts) and supplier is None:
            raise CheckFailure(first.sub_indication,
                               f"{first.message} (the count given by {by})",
                               {**details, **first.details})
        settle = (f"settle it with your own node: "
                  f"`{self.params.cli(f'getblockheader {self.block_hash}')}` shows nTx")
        # A supplied branch that no count fits is a source's fault, not the evidence's.
        if supplier is not None and set(counts) == {supplier.label}:
            raise CheckIndeterminate(
                SubIndication.TRY_LATER,
                f"{supplier.label} supplied a branch that its own count refutes: "
                f"{first.message}; try again later, or {settle}", {**details, **first.details})
        fitting = [label for label in counts if label not in wrong]
        fits = (f"the branch fits the count of {', '.join(fitting)}" if fitting else
                f"{supplier.label if supplier else 'a source'} supplied the branch")
        raise CheckIndeterminate(
            SubIndication.SOURCES_DISAGREE,
            f"chain sources disagree on block {self.block_hash}: {fits}, but "
            f"{first_label} says: {first.message}; {settle}", {**details, **first.details})

    def _included(self, facts: dict[str, Any]) -> str:
        return (f"transaction {short(self.txid)} is at position {facts['txIndex']} of block "
                f"{short(self.block_hash)}: its {facts['branchLength']}-level Merkle branch "
                f"folds to the header's Merkle root {facts['merkleRoot']}")

    # (5), (6) Work and chain ----------------------------------------------------------

    def survey(self) -> list[SourceView] | None:
        """What each source holds at the block's height (asked once, for both checks
        that need it); ``None`` without sources."""
        if not self.sources:
            return None
        if self._views is None:
            self._views = survey(self.sources, self.params, self.block_hash,
                                 self.block.height, self.min_conf, self.checkpoints)
        return self._views

    def proof_of_work(self) -> Passed[PowFacts]:
        try:
            header = self._block_header()
        except CheckIndeterminate as exc:
            raise CheckIndeterminate(exc.sub_indication,
                                     f"no header to check: {exc.message}") from None
        height = self.block.height
        facts = check_header_work(header, height, self.params, self.checkpoints)
        head = (f"header {short(header.display_hash)} meets its target (nBits "
                f"{header.bits:08x}), {facts.summary()}")
        if facts.rule.exact:
            return Passed(f"{head}; that target is the one in force at height {height}: "
                          f"{facts.rule.basis}", facts.details(), value=facts)
        views = self.survey() if header.display_hash == self.block_hash else None
        if views is not None and stands(views, self.block_hash):
            agreeing = ", ".join(v.label for v in views if v.block_at_height == self.block_hash)
            return Passed(f"{head}; offline only bounds are known ({facts.rule.basis}), but "
                          f"the block is at height {height} in the best chain of {agreeing}, "
                          "whose validation fixes its target", facts.details(), value=facts)
        sub = SubIndication.TRY_LATER if self.sources else SubIndication.NO_CHAIN_SOURCE
        cli = self.params.cli(f"getblockheader {self.block_hash}")
        by_hand = self._by_hand(f"`{cli}` must show height {height} and bits "
                                f"{header.bits:08x}")
        above = above_checkpoints(self.checkpoints, height)
        if above is not None:
            raise CheckIndeterminate(
                sub, f"{head}; block {beyond_checkpoints(above, height)}, so offline its "
                     f"target is known only within bounds ({facts.rule.basis}), and no chain "
                     f"source placed the block in its best chain; {SYNC_HEADERS}; or "
                     + by_hand, facts.details())
        raise CheckIndeterminate(
            sub, f"{head}, but the target in force at height {height} is not known offline "
                 f"({facts.rule.basis}) and no chain source placed the block in its best chain; "
                 + by_hand,
            facts.details())

    def chain(self, pow_facts: PowFacts | None) -> Passed[int]:
        height = self.block.height
        views = self.survey()
        if views is not None:
            return combine(views, self.params, self.block_hash, height, self.min_conf,
                           self.checkpoints)
        if pow_facts is not None and pow_facts.rule.exact:
            established = (f"the header's proof-of-work at height {height} "
                           f"({pow_facts.summary()}, at the target in force there)")
        else:
            established = ("nothing about the header's work at the target in force at its "
                           "height (see anchor.proof-of-work)")
        by_hand = manual_check(self.params, self.block_hash, height, self.min_conf)
        above = above_checkpoints(self.checkpoints, height)
        settle = (f"block {beyond_checkpoints(above, height)}, so no shipped data vouches "
                  f"for it: {SYNC_HEADERS}; or name a chain source, or check by hand: "
                  if above else "settle it with a chain source, or by hand: ")
        raise CheckIndeterminate(
            SubIndication.NO_CHAIN_SOURCE,
            "no chain source was chosen (--headers, --bitcoin-node, --esplora, --electrum): "
            f"offline verification established {established}, but not that block "
            f"{self.block_hash} is in the best chain, nor how deep; {settle}{by_hand}",
            {"blockHash": self.block_hash, "height": height,
             "minConfirmations": self.min_conf,
             "offline": {"established": established,
                         "notEstablished": ["best-chain membership", "depth"]},
             **checkpoint_details(self.checkpoints, height)})
