"""A chat session: turns, follow-up questions rewritten into standalone searches,
and saving/reopening conversations."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from assistant.answer.text import STOPWORDS
from assistant.answer.types import Answer
from assistant.timeline import Timeline
from index import locations
from index.writes import write_file_atomic, writing

_ANAPHORA = re.compile(
    r"\b(he|she|they|him|her|his|hers|their|theirs|them|it|its|that|this|those|these|there|then|"
    r"the same|the other|the former|the latter)\b",
    re.IGNORECASE,
)
_CONTINUATION = re.compile(r"^\s*(and|what about|how about|also|but|so|or|why|what else)\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’.-]*[A-Za-z]|[A-Za-z]")


def is_followup(question: str, previous_query: str | None = None) -> bool:
    """A question that leans on the last one: it points back ("he", "that"), continues
    ("And the Americans?"), or is too short to stand alone, unless it names someone or
    something the last search did not (a new topic: "What did Grushko say about the
    talks?" after a question about a harbour)."""
    if _ANAPHORA.search(question) or _CONTINUATION.search(question):
        return True
    words = _WORD.findall(question)
    content = [w for w in words if w.lower() not in STOPWORDS]
    if len(content) > 2:
        return False
    if previous_query is None:
        return True
    before = {w.lower() for w in _WORD.findall(previous_query)}
    names = [w for w in words[1:] if w[0].isupper() and w.lower() not in STOPWORDS]
    return not any(n.lower() not in before for n in names)


def carry_over_terms(previous_query: str, question: str) -> list[str]:
    """Names and topic words of the previous search that the new question lacks."""
    have = {w.lower() for w in _WORD.findall(question)}
    out: list[str] = []
    for w in _WORD.findall(previous_query):
        lw = w.lower()
        if lw in STOPWORDS or lw in have or len(w) < 3 or lw in {x.lower() for x in out}:
            continue
        if _ANAPHORA.fullmatch(lw):
            continue
        out.append(w)
    return out


def rewrite_followup(question: str, previous_queries: list[str]) -> str:
    """Without a model: a follow-up keeps the names and topic of the last search."""
    if not previous_queries or not is_followup(question, previous_queries[-1]):
        return question
    extra = carry_over_terms(previous_queries[-1], question)
    return f"{question} {' '.join(extra)}".strip() if extra else question


@dataclass
class Turn:
    question: str
    answer: Answer
    timeline: Timeline | None = None  # the story's timeline, when the chat showed it


@dataclass
class ChatSession:
    id: str = field(default_factory=lambda: datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6])
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    turns: list[Turn] = field(default_factory=list)

    def previous_queries(self) -> list[str]:
        return [t.answer.search_query or t.question for t in self.turns]

    def history_text(self, last: int = 4) -> str:
        lines = []
        for t in self.turns[-last:]:
            lines.append(f"User: {t.question}")
            lines.append(f"Assistant: {t.answer.text[:600]}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "created": self.created,
                "turns": [{"question": t.question, "answer": t.answer.as_json(),
                           **({"timeline": t.timeline.as_json()} if t.timeline else {})} for t in self.turns]}

    @property
    def title(self) -> str:
        return self.turns[0].question[:60] if self.turns else "(empty)"


def save_session(session: ChatSession, folder: Path | None = None) -> Path:
    """Saved whole or not at all; a failure is a WriteError (the conversation goes on)."""
    folder = folder or locations.conversations_dir()
    path = folder / f"{session.id}.json"
    with writing("the conversation", path, "set NEWS_ASSISTANT_HOME to a writable folder"):
        folder.mkdir(parents=True, exist_ok=True)
        write_file_atomic(path, json.dumps(session.as_json(), ensure_ascii=False, indent=1))
    return path


def list_sessions(folder: Path | None = None) -> list[Path]:
    folder = folder or locations.conversations_dir()
    if not folder.exists():
        return []
    return sorted(folder.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name))


def load_session(path: Path) -> ChatSession:
    from assistant.answer.serialize import answer_from_json
    from index.errors import NewsAssistantError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        turns = [Turn(t["question"], answer_from_json(t["answer"]),
                      Timeline.from_json(t["timeline"]) if t.get("timeline") else None) for t in data["turns"]]
        return ChatSession(id=data["id"], created=data["created"], turns=turns)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise NewsAssistantError(f"cannot reopen the conversation {path} ({e.__class__.__name__})",
                                 hint="It may be damaged; start a new one.") from None
