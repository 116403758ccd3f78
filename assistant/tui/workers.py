"""The chat's slow work, in named thread workers that report back by message.

Nothing here touches a widget: results go out with `post_message` (thread-safe), and
streamed tokens through `call_from_thread`. A worker that raises is not caught here;
the app's single `Worker.StateChanged` handler turns the failure into a notification.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

from textual import work
from textual.worker import get_current_worker

from assistant.tui.messages import (
    AnswerCompleted, BuildProgressed, ConversationReopened, EmbedderLoaded, EncoderExportStarted, FolderActivity,
    FolderUpdated, IndexBuilt, IndexMissing, IndexOpened, TimelineReady,
)
from assistant.answer.sources import source_texts
from assistant.answer.types import Answer, Draft
from assistant.retriever import Filters
from assistant.tui.state import AskRequest
from index.errors import NewsAssistantError, StoreMissingError, WriteError

if TYPE_CHECKING:
    from assistant.api import NewsAssistant

T = TypeVar("T")

# At most this many progress messages a second: a corpus of thousands of files would
# otherwise flood the message queue during the reading stage.
PROGRESS_INTERVAL = 0.1


def abandonable(fn: Callable[[], T]) -> T | None:
    """Run `fn` in a daemon thread and wait for it, from inside a thread worker.

    The index build and the model load have no cancel hook. Run in the worker's own
    (executor) thread, quitting the app mid-way would wait for them to finish: the
    executor's threads are joined at exit. A daemon thread is left to die with the
    process instead, which is safe: a build publishes its generation atomically, so
    one killed at any point leaves the live index intact. Returns None once the
    worker is cancelled (the app cancels every worker when it closes)."""
    worker = get_current_worker()
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as e:  # handed to the worker, which reports it
            outcome["error"] = e

    thread = threading.Thread(target=target, name=f"news-assistant-{worker.group}", daemon=True)
    thread.start()
    while thread.is_alive():
        if worker.cancelled_event.wait(0.1):
            return None
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")  # type: ignore[return-value]


def _outlets(store) -> list[str]:
    return sorted({a.source for a in store.articles() if a.source}, key=str.lower)


if TYPE_CHECKING:
    from textual.app import App

    class _AppBase(App[None]):
        def show_draft(self, request_id: int, draft: Draft) -> object: ...
else:
    _AppBase = object


class ChatWorkers(_AppBase):
    """Mixed into the App; `self` is the App."""

    na: "NewsAssistant"

    @work(thread=True, exclusive=True, group="index", exit_on_error=False, description="load model and index")
    def load_index(self) -> None:
        abandonable(self._load_index)

    def _load_index(self) -> None:
        started = False

        def preparing(stage: str, done: int, total: int) -> None:
            nonlocal started
            if not started:  # the status line says how long; the steps are not shown
                started = True
                self.post_message(EncoderExportStarted())

        notice = self.na.prepare_encoder(preparing)
        load = getattr(self.na.embedder, "load", None)
        if load is not None:
            load()
        self.post_message(EmbedderLoaded(notice))
        try:
            store = self.na.store()
        except StoreMissingError as e:
            self.post_message(IndexMissing(e.message))
            return
        pending, warning = None, None
        try:
            pending = self.na.pending_changes()
        except NewsAssistantError as e:  # e.g. the article folder is gone; the index still works
            warning = f"{e.message}. {e.hint or ''}".strip()
        self.post_message(IndexOpened(store.describe(), pending, _outlets(store), warning))

    @work(thread=True, exclusive=True, group="build", exit_on_error=False, description="build the index")
    def run_build(self, rebuild: bool) -> None:
        last_at, last_stage = 0.0, ""

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal last_at, last_stage
            now = time.monotonic()
            if stage != last_stage or done >= total or now - last_at >= PROGRESS_INTERVAL:
                last_at, last_stage = now, stage
                self.post_message(BuildProgressed(stage, done, total))

        def build() -> None:
            report = self.na.build_index(rebuild=rebuild, progress=progress)
            store = self.na.store()  # the new generation, opened here rather than on the UI thread
            self.post_message(IndexBuilt(report, store.describe(), _outlets(store)))

        abandonable(build)

    @work(thread=True, exclusive=True, group="watch", exit_on_error=False, description="watch the article folder")
    def watch_folder(self, first_build: bool) -> None:
        """Index what changes in the article folder while the chat is open. Its builds
        publish new generations beside the live one, so answers go on meanwhile and
        the next question reads the new one."""
        stop = threading.Event()

        def on_event(event) -> None:
            if event.kind == "updated":
                store = self.na.store()  # opened here rather than on the UI thread
                self.post_message(FolderUpdated(event, store.describe(), _outlets(store)))
            else:
                self.post_message(FolderActivity(event))

        try:
            abandonable(lambda: self.na.watch(on_event, stop, first_build=first_build))
        finally:
            stop.set()  # cancelled (the app closes): the watch thread ends at its next tick

    @work(thread=True, exclusive=True, group="timeline", exit_on_error=False, description="make a timeline")
    def make_timeline(self, answer: Answer, filters: Filters) -> None:
        from datetime import date

        # The story as of the answer's date, searched as the answer was (a follow-up's
        # standalone search), with the chat's current filters.
        as_of = date.fromisoformat(answer.as_of) if answer.as_of else None
        timeline = self.na.timeline(answer.search_query or answer.question, as_of=as_of, filters=filters)
        # Each line's article (with its flagged text, marked in the article view) as sources are.
        by_line = source_texts(self.na.store(), (e.citation(i + 1) for i, e in enumerate(timeline.entries)))
        self.post_message(TimelineReady(answer, timeline, {t.article_id: t for t in by_line.values()}))

    @work(thread=True, exclusive=True, group="answer", exit_on_error=False, description="answer a question")
    def answer_question(self, request: AskRequest) -> None:
        worker = get_current_worker()

        def on_draft(draft: Draft) -> None:
            if worker.is_cancelled:  # the app is closing: stop the model at its next sentence
                request.cancel.set()
            if request.cancel.is_set():
                return
            try:
                self.call_from_thread(self.show_draft, request.id, draft)
            except Exception:  # the app closed under us (RuntimeError, or the call was cancelled)
                request.cancel.set()

        options = request.options
        answer = self.na.ask(
            request.question, session=request.session, engine=options.engine, as_of=options.as_of_date(),
            filters=options.filters, on_draft=on_draft, cancel=request.cancel,
        )
        if request.cancel.is_set():
            # Cancelled after the engine had finished: drop the turn ask() just added.
            turns = request.session.turns
            if turns and turns[-1].answer is answer:
                turns.pop()
            return
        sources = self.na.sources(answer)
        saved, save_error = None, None
        try:
            saved = self.na.save(request.session)
        except WriteError as e:  # the chat goes on; the answer is on screen
            save_error = f"{e.message}. {e.hint or ''}".strip()
        self.post_message(AnswerCompleted(request.id, answer, sources, saved, save_error))

    @work(thread=True, exclusive=True, group="session", exit_on_error=False, description="reopen a conversation")
    def reopen_conversation(self, path: Path | None = None) -> None:
        from assistant.session import list_sessions, load_session

        if path is None:
            saved = list_sessions()
            if not saved:
                raise NewsAssistantError("no saved conversation yet",
                                         hint="Conversations are saved after every answer; ask something first.")
            path = saved[-1]
        session = load_session(path)
        # Each answer's sources from its own generation while it is kept, else from the
        # live one, where the pane says which quotes no longer stand.
        self.post_message(ConversationReopened(session, [self.na.sources(t.answer) for t in session.turns]))
