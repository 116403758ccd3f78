"""Values the chat passes around: the user's answer options, one question in flight,
and where the index stands."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from assistant.retriever import Filters
from assistant.session import ChatSession



class IndexState(StrEnum):
    LOADING = "loading"  # the model and index are being opened
    READY = "ready"
    MISSING = "missing"  # no index yet (or it cannot be opened for another reason)
    BROKEN = "broken"  # damaged: a build must start from scratch
    BUILDING = "building"


@dataclass(frozen=True)
class ChatOptions:
    """What the next question is answered with; changed in the settings screen."""

    engine: str = "extractive"
    as_of: date | None = None  # None: today, read when the question is asked
    filters: Filters = field(default_factory=Filters)

    def as_of_date(self) -> date:
        return self.as_of or date.today()

    def describe(self) -> str:
        as_of = self.as_of.isoformat() if self.as_of else "today"
        text = f"as of {as_of} · {self.engine}"
        filters = self.filters.describe()
        return text if filters == "none" else f"{text} · {filters}"


_ids = itertools.count(1)


@dataclass
class AskRequest:
    """One question on its way through the answer worker. The id tells a late reply
    to a cancelled question from the reply to the current one."""

    question: str
    session: ChatSession
    options: ChatOptions
    cancel: threading.Event = field(default_factory=threading.Event)
    id: int = field(default_factory=lambda: next(_ids))

