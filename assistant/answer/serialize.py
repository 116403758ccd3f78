"""Answers back from their JSON form (saved conversations)."""

from __future__ import annotations

from typing import Any

from assistant.answer.types import Answer, AnswerSentence, Citation, Claim, Difference
from assistant.retriever import Hit

_HIT_FIELDS = set(Hit.__dataclass_fields__)
_CITATION_FIELDS = set(Citation.__dataclass_fields__)


def answer_from_json(d: dict[str, Any]) -> Answer:
    hits = []
    for h in d.get("hits", []):
        h = {k: v for k, v in h.items() if k in _HIT_FIELDS}
        h["duplicates"] = tuple(h.get("duplicates", ()))
        hits.append(Hit(**h))
    store = dict(d.get("store", {}))
    generation = store.pop("generation", None)
    return Answer(
        question=d["question"],
        sentences=tuple(AnswerSentence(s["text"], tuple(s["citations"]), s["status"], s["support"], s.get("note", ""))
                        for s in d["sentences"]),
        citations=tuple(Citation(**{k: v for k, v in c.items() if k in _CITATION_FIELDS}) for c in d["citations"]),
        hits=tuple(hits), engine=d["engine"], generation=generation if isinstance(generation, int) else None,
        search_query=d.get("search_query", ""), as_of=d.get("as_of", ""), notices=tuple(d.get("notices", [])),
        store=store, cancelled=d.get("cancelled", False), answerable=d.get("answerable", True),
        confidence=d.get("confidence", 1.0), abstention=d["answer"] if d.get("answerable", True) is False else "",
        differences=tuple(Difference(x["what"], tuple(Claim(**c) for c in x["claims"])) for x in d.get("differences", [])),
    )
