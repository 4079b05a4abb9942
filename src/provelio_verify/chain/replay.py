"""A source rebuilt from recorded answers, so a saved report re-verifies offline.

Every ``anchor.*`` check that asked a source lists, under ``details.sources``, each
source with the answers it gave (``{"question": ..., ..., "answer": ...}``).
:func:`replay_sources` turns those back into sources. A replayed source answers only
what was asked before, and its answers pass the same checks as live ones: every header
is hashed again and compared with the hash asked for, every transaction with its txid,
the headers above the anchor block must link again. What a replay cannot do is show
that the source told the truth at the time: it re-checks the evidence, not the source.

That is why an evidence capsule (:mod:`provelio_verify.capsule`) does not let recorded
answers settle the chain: :class:`CapsuleChainSource` takes block hashes, tips and
headers only from the capsule's run of headers (judged as a headers file is), and
recorded answers only for :data:`MATERIAL_QUESTIONS`, whose answers are hashed against
what the bundle names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ..errors import SourceError, SourceUnavailable
from .base import ChainSource, Question, Reply

#: What a recorded answer may supply in an evidence capsule: a transaction (hashed
#: again to the bundle's txid) and a Merkle branch (folded again to the header's
#: Merkle root). Never a block hash, tip, header or status: those would vouch for the
#: chain, and anyone can write them.
MATERIAL_QUESTIONS: Final = ("transaction", "merkleProof")


class ReplaySource(ChainSource):
    """Answers from records; a question not recorded is unavailable.

    Raises:
        ValueError: a record is malformed, or two records answer one question
            differently.
    """

    kind = "replay"
    remote = False

    def __init__(self, label: str, records: Iterable[Mapping[str, Any]], *,
                 kinds: Sequence[str] | None = None) -> None:
        super().__init__(label)
        self._recorded: dict[Question, Any] = {}
        #: The questions answered (all when ``None``); any other is unavailable.
        self._kinds = None if kinds is None else tuple(kinds)
        if not isinstance(records, list | tuple):
            raise ValueError(f"{label}: the records are {type(records).__name__}, not a list")
        for number, record in enumerate(records, start=1):
            if not isinstance(record, Mapping):
                raise ValueError(f"{label}: record {number} is {type(record).__name__}, "
                                 "not an object")
            if "answer" not in record:
                continue  # an error: nothing to replay
            question = _question(label, number, record)
            answer = record["answer"]
            if question in self._recorded and self._recorded[question] != answer:
                raise ValueError(f"{label}: two recorded answers to {question.describe()}")
            self._recorded[question] = answer

    def _answer(self, question: Question) -> Reply:
        if self._kinds is not None and question.kind not in self._kinds:
            raise SourceUnavailable(f"a recorded answer to {question.kind} is not used here")
        if question not in self._recorded:
            raise SourceUnavailable(f"no recorded answer to {question.describe()}")
        return Reply(self._recorded[question])


def _question(label: str, number: int, record: Mapping[str, Any]) -> Question:
    """The question of record ``number``, its fields of the right types.

    Raises:
        ValueError: an unknown question, or a field of the wrong type.
    """
    height = record.get("height")
    if height is not None and (isinstance(height, bool) or not isinstance(height, int)
                               or height < 0):
        raise ValueError(f"{label}: record {number} has height {height!r}, not a height")
    for name in ("block", "txid"):
        if not isinstance(record.get(name), str | None):
            raise ValueError(f"{label}: record {number} has {name} {record.get(name)!r}, "
                             "not a hash")
    try:
        return Question.from_json(record)
    except ValueError as exc:
        raise ValueError(f"{label}: record {number}: {exc}") from None


class CapsuleChainSource(ChainSource):
    """An evidence capsule's chain evidence as one source.

    Block hashes, tips, headers and statuses come only from ``headers`` (the capsule's
    ``chain/headers.bin``, a :class:`~provelio_verify.chain.headers_file.HeadersFileSource`),
    judged exactly as a headers file the user gives; without it they are unavailable,
    with ``lacking`` as the reason. Transactions and Merkle branches may come from the
    recorded answers (``material``), since each is hashed again against the bundle.
    """

    kind = "capsule"
    remote = False

    def __init__(self, label: str, headers: ChainSource | None,
                 material: Sequence[ChainSource], lacking: str) -> None:
        super().__init__(label)
        self._headers = headers
        self._material = tuple(material)
        self._lacking = lacking

    def _answer(self, question: Question) -> Reply:
        if question.kind in MATERIAL_QUESTIONS:
            reasons = []
            for source in self._material:
                try:
                    return Reply(source.ask(question))
                except SourceError as exc:
                    reasons.append(f"{source.label}: {exc.reason}")
            raise SourceUnavailable(f"the capsule records no usable answer to "
                                    f"{question.describe()}"
                                    + (f" ({'; '.join(reasons)})" if reasons else ""))
        if self._headers is None:
            raise SourceUnavailable(self._lacking)
        return Reply(self._headers.ask(question))


def replay_sources(report: Mapping[str, Any]) -> list[ReplaySource]:
    """One :class:`ReplaySource` per source named in a report (its JSON object, as
    ``Report.to_dict()`` gives it), holding every answer that source gave.

    Raises:
        ValueError: the report's records are malformed or contradict each other.
    """
    records: dict[str, list[Mapping[str, Any]]] = {}
    for check in report.get("checks", []):
        if not str(check.get("id", "")).startswith("anchor."):
            continue
        for entry in (check.get("details") or {}).get("sources", []):
            records.setdefault(str(entry["source"]), []).extend(entry.get("answers", []))
    return [ReplaySource(f"replay of {label}", answers) for label, answers in records.items()]
