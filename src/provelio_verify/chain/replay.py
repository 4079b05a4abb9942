"""A source rebuilt from recorded answers, so a saved report re-verifies offline.

Every ``anchor.*`` check that asked a source lists, under ``details.sources``, each
source with the answers it gave (``{"question": ..., ..., "answer": ...}``).
:func:`replay_sources` turns those back into sources. A replayed source answers only
what was asked before, and its answers pass the same checks as live ones: every header
is hashed again and compared with the hash asked for, every transaction with its txid,
the headers above the anchor block must link again. What a replay cannot do is show
that the source told the truth at the time: it re-checks the evidence, not the source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .base import ChainSource, Question, Reply, SourceUnavailable


class ReplaySource(ChainSource):
    """Answers from records; a question not recorded is unavailable.

    Raises:
        ValueError: a record is malformed, or two records answer one question
            differently.
    """

    kind = "replay"
    remote = False

    def __init__(self, label: str, records: Iterable[Mapping[str, Any]]) -> None:
        super().__init__(label)
        self._recorded: dict[Question, Any] = {}
        for record in records:
            if "answer" not in record:
                continue  # an error: nothing to replay
            question = Question.from_json(record)
            answer = record["answer"]
            if question in self._recorded and self._recorded[question] != answer:
                raise ValueError(f"{label}: two recorded answers to {question.describe()}")
            self._recorded[question] = answer

    def _answer(self, question: Question) -> Reply:
        if question not in self._recorded:
            raise SourceUnavailable(f"no recorded answer to {question.describe()}")
        return Reply(self._recorded[question])


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
