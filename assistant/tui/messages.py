"""Messages the workers and widgets send; small, typed and named for what happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.message import Message

from assistant.answer.types import Answer, Citation
from assistant.session import ChatSession
from assistant.answer.sources import SourceText


@dataclass(eq=False)
class EncoderExportStarted(Message):
    """The int8 model's export has started (once per install or upgrade, about 10 s)."""


@dataclass(eq=False)
class EmbedderLoaded(Message):
    """The embedding model is in memory; the index is being opened next."""

    notice: str | None = None  # why the int8 encoder fell back to fp32, if it did


@dataclass(eq=False)
class IndexOpened(Message):
    info: dict[str, Any]
    pending: dict[str, int] | None  # added/changed/removed articles; None if unknown
    outlets: list[str]
    warning: str | None = None  # e.g. the article folder could not be scanned


@dataclass(eq=False)
class IndexMissing(Message):
    message: str


@dataclass(eq=False)
class BuildProgressed(Message):
    stage: str
    done: int
    total: int


@dataclass(eq=False)
class IndexBuilt(Message):
    report: Any  # index.builder.BuildReport
    info: dict[str, Any]
    outlets: list[str]


@dataclass(eq=False)
class FolderActivity(Message):
    """What the folder watcher is doing (an `index.watch.WatchEvent` other than a publish)."""

    event: Any


@dataclass(eq=False)
class FolderUpdated(Message):
    """The watcher published a new generation; the next question reads it."""

    event: Any  # index.watch.WatchEvent, kind "updated"
    info: dict[str, Any]
    outlets: list[str]


@dataclass(eq=False)
class TimelineReady(Message):
    answer: Answer  # the answer whose story it is
    timeline: Any  # assistant.timeline.Timeline
    texts: dict[str, SourceText]  # per article id, for opening a line's article


@dataclass(eq=False)
class TimelineLineOpened(Message):
    citation: Citation  # the line's sentence
    source: SourceText | None  # its article


@dataclass(eq=False)
class AnswerCompleted(Message):
    request_id: int
    answer: Answer
    sources: dict[int, SourceText]
    saved_to: Path | None = None
    save_error: str | None = None


@dataclass(eq=False)
class ConversationReopened(Message):
    session: ChatSession
    sources: list[dict[int, SourceText]] = field(default_factory=list)  # per turn


@dataclass(eq=False)
class AnswerChosen(Message):
    """The user picked an earlier answer: show its sources."""

    answer: Answer
    sources: dict[int, SourceText]


@dataclass(eq=False)
class SourceOpened(Message):
    citation: Citation
    source: SourceText | None
