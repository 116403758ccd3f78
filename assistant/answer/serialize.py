"""Answers back from their JSON form (saved conversations)."""

from __future__ import annotations

from typing import Any

from assistant.answer.types import Answer, AnswerSentence, Citation
from assistant.retriever import Hit

_HIT_FIELDS = set(Hit.__dataclass_fields__)


def answer_from_json(d: dict[str, Any]) -> Answer:
    hits = []
    for h in d.get("hits", []):
        h = {k: v for k, v in h.items() if k in _HIT_FIELDS}
        h["duplicates"] = tuple(h.get("duplicates", ()))
        hits.append(Hit(**h))
    return Answer(
        question=d["question"], text=d["answer"],
        sentences=[AnswerSentence(s["text"], tuple(s["citations"]), s["status"], s["support"], s.get("note", "")) for s in d["sentences"]],
        citations=[Citation(**c) for c in d["citations"]], hits=hits, engine=d["engine"],
        search_query=d.get("search_query", ""), as_of=d.get("as_of", ""), notices=d.get("notices", []),
        store=d.get("store", {}), cancelled=d.get("cancelled", False),
    )
