"""The chat app: owns the conversation, the answer options and the workers, and turns
what the workers report into what the screen shows.

The first frame is painted before anything slow happens: the embedding model and
the index load in a worker started on `Ready`, and every later slow step (building,
answering, reopening) is a worker too (see `workers.py`). Failures of any of them
reach `worker_state_changed`, which shows them as notifications; the app keeps going.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from assistant.render import count
from assistant.session import ChatSession
from assistant.tui.commands import ChatCommands
from assistant.tui.messages import (
    AnswerChosen, AnswerCompleted, BuildProgressed, ConversationReopened, EmbedderLoaded, EncoderExportStarted,
    FolderActivity, FolderUpdated, IndexBuilt, IndexMissing, IndexOpened, SourceOpened, TimelineLineOpened, TimelineReady,
)
from assistant.untrusted import escape_controls, file_name
from assistant.tui.screens.chat import ChatScreen
from assistant.tui.state import AskRequest, ChatOptions, IndexState
from assistant.tui.workers import ChatWorkers
from index.errors import NewsAssistantError, StoreError, StoreLockedError, StoreMissingError, WriteError

if TYPE_CHECKING:
    from assistant.answer.sources import SourceText
    from assistant.answer.types import Citation, Draft
    from assistant.api import NewsAssistant


REMEDIES = {"build": "Press Ctrl+R to build it.", "rebuild": "Press Ctrl+R to rebuild it from the articles."}


def user_hint(error: NewsAssistantError) -> str:
    """The error's hint, or the chat's way of doing a store error's remedy."""
    if isinstance(error, StoreError) and error.remedy and not error.hint:
        return REMEDIES[error.remedy]
    return error.hint or ""


class NewsApp(ChatWorkers, App[None]):
    TITLE = "news-assistant"
    COMMANDS = App.COMMANDS | {ChatCommands}
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help (outside the input)", show=False),
    ]

    def __init__(self, na: "NewsAssistant", options: ChatOptions | None = None, *,
                 session: ChatSession | None = None, resume: bool = False) -> None:
        super().__init__()
        self.na = na
        self.options = options or ChatOptions(engine=na.settings.engine)
        self.session = session or ChatSession()
        self.resume = resume
        self.outlets: list[str] = []
        self.index_state = IndexState.LOADING
        self._state_before_build = IndexState.LOADING
        self.ready_text = ""
        self.pending: AskRequest | None = None
        self._answer_worker: Worker | None = None
        self.last_export: Path | None = None  # path of the last export, for the user and for tests
        self.watching = False  # the folder watcher runs (setting `watch`, once an index is open)
        self.watch_note = ""  # what it is doing, on the status line
        self.chat = ChatScreen()

    def get_default_screen(self) -> ChatScreen:
        return self.chat

    def on_ready(self) -> None:
        self.chat.status.set_options(self.options.describe())
        self.load_index()
        if self.resume:
            self.reopen_conversation()

    # -- errors ------------------------------------------------------------------------
    def report_error(self, error: BaseException | None) -> None:
        if isinstance(error, NewsAssistantError):
            text = f"{error.message.rstrip('.')}.\n{user_hint(error)}".strip()
            self.notify(text, title=error.title, severity="error", timeout=20, markup=False)
        else:
            self.notify(f"{type(error).__name__}: {error}", title="Unexpected error", severity="error",
                        timeout=20, markup=False)

    @on(Worker.StateChanged)
    async def worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        worker, error = event.worker, event.worker.error
        if worker.group == "answer" and worker is self._answer_worker and self.pending is not None:
            await self._give_back_question(self.pending)
        elif worker.group == "build":
            # A failed build publishes nothing: whatever was live before still is.
            self.chat.build_bar.finish()
            self.index_state = self._state_before_build
            self.restore_status()
        elif worker.group == "index":
            broken = isinstance(error, StoreError) and not isinstance(error, StoreLockedError)
            if self._settle_state(IndexState.BROKEN if broken else IndexState.MISSING):
                title = getattr(error, "title", "Error")
                self.set_status("Index damaged · press Ctrl+R to rebuild it" if broken else f"Not ready · {title}", "error")
        self.report_error(error)

    def set_status(self, text: str, level: str = "info") -> None:
        self.chat.status.set_status(text, level)

    def restore_status(self, note: str = "") -> None:
        """The status line for the index's state, once a passing message is over."""
        if self.index_state == IndexState.BUILDING:
            text, level = ("Building the index · you can keep asking meanwhile"
                           if self._state_before_build == IndexState.READY else "Building the index…"), "info"
        elif self.index_state == IndexState.READY:
            text, level = self.ready_text, ("warning" if "out of date" in self.ready_text else "info")
            if self.watch_note:
                text = f"{text} · {self.watch_note}"
        elif self.index_state == IndexState.LOADING:
            text, level = "Loading…", "info"
        else:
            text, level = "No usable index · press Ctrl+R to build it", "error"
        self.set_status(f"{text} · {note}" if note else text, level)

    # -- the index -----------------------------------------------------------------
    def on_encoder_export_started(self, _: EncoderExportStarted) -> None:
        if self.index_state == IndexState.LOADING:
            self.set_status("Preparing the int8 encoder (once, about 10 s)…")

    def on_embedder_loaded(self, message: EmbedderLoaded) -> None:
        if message.notice:
            self.notify(message.notice, title="Encoder", severity="warning", timeout=15, markup=False)
        if self.index_state == IndexState.LOADING:
            self.set_status("Opening the index…")

    def _settle_state(self, state: IndexState) -> bool:
        """Record what the index is; False while a build runs (it will say so itself)."""
        if self.index_state == IndexState.BUILDING:
            self._state_before_build = state
            return False
        self.index_state = state
        return True

    def _index_ready(self, info: dict[str, Any], outlets: list[str]) -> None:
        self.index_state, self.outlets = IndexState.READY, outlets
        n_art, n_chunks = info.get("articles", 0), info.get("chunks", 0)
        self.ready_text = f"Ready · {count(n_art, 'article')} · {count(n_chunks, 'passage')}"
        self.set_status(self.ready_text)

    def on_index_opened(self, message: IndexOpened) -> None:
        if self.index_state == IndexState.BUILDING:  # Ctrl+R came first; its result will follow
            self._state_before_build = IndexState.READY
            return
        self._index_ready(message.info, message.outlets)
        if message.warning:
            self.notify(message.warning, title="Article folder", severity="warning", timeout=15, markup=False)
        pending = message.pending or {}
        if self.na.settings.watch:
            # Changes made while the chat was closed are indexed in the background too.
            self.start_watching(first_build=any(pending.values()))
        elif any(pending.values()):
            self.ready_text += " · out of date (Ctrl+R)"
            self.restore_status()
            self.notify(
                f"The article folder has changed since the index was built: {pending.get('added', 0)} added, "
                f"{pending.get('changed', 0)} changed, {pending.get('removed', 0)} removed.\n"
                "Press Ctrl+R to update the index.", title="Index out of date", severity="warning", timeout=30,
                markup=False)

    def start_watching(self, first_build: bool) -> None:
        if self.watching or not self.na.settings.watch:
            return
        self.watching = True
        self.watch_folder(first_build)

    def on_folder_activity(self, message: FolderActivity) -> None:
        from assistant.render import watch_notice

        event = message.event
        if event.kind == "building":
            n = len(event.paths)
            self.watch_note = (f"indexing {count(n, 'changed file')} in the background" if n
                               else "bringing the index up to date in the background")
        elif event.kind == "waiting":
            self.watch_note = "waiting for another build of the index"
        elif event.kind in ("unchanged", "failed"):
            self.watch_note = ""
        if event.kind in ("skipped", "failed"):  # each unreadable file is reported once
            self.notify(watch_notice(event), title="Article folder", severity="warning" if event.kind == "skipped"
                        else "error", timeout=15, markup=False)
        self.restore_status()

    def on_folder_updated(self, message: FolderUpdated) -> None:
        from assistant.render import changes_summary

        self.watch_note = ""
        r = message.event.report
        if self.index_state == IndexState.BUILDING:  # Ctrl+R runs after it and will say so itself
            return
        self._index_ready(message.info, message.outlets)
        names = ", ".join(file_name(f) for f in (r.added + r.changed + r.removed)[:3])
        self.notify(f"{changes_summary(len(r.added), len(r.changed), len(r.removed))} ({names}).",
                    title="Index updated", timeout=5, markup=False)

    def on_index_missing(self, message: IndexMissing) -> None:
        if not self._settle_state(IndexState.MISSING):
            return
        if self.na.settings.watch:
            # The chat follows the folder: with no index yet, that starts with building it.
            self.notify(f"{message.message}; building it from {self.na.corpus}.", title="No index yet",
                        timeout=10, markup=False)
            self.action_build_index()
            return
        self.set_status("No index yet · press Ctrl+R to build it", "warning")
        self.notify(f"{message.message}.\nPress Ctrl+R to build it from {self.na.corpus}.",
                    title="No index", severity="warning", timeout=60, markup=False)

    def action_build_index(self, rebuild: bool = False) -> None:
        if self.index_state == IndexState.BUILDING:
            self.notify("The index is already being built.", severity="warning")
            return
        # A damaged index cannot be updated in place: build it again from scratch.
        rebuild = rebuild or self.index_state == IndexState.BROKEN
        self._state_before_build, self.index_state = self.index_state, IndexState.BUILDING
        self.chat.build_bar.start("Rebuilding the index…" if rebuild else "Updating the index…")
        self.restore_status()
        self.run_build(rebuild)

    def action_rebuild_index(self) -> None:
        self.action_build_index(rebuild=True)

    def on_build_progressed(self, message: BuildProgressed) -> None:
        self.chat.build_bar.progress(message.stage, message.done, message.total)

    def on_index_built(self, message: IndexBuilt) -> None:
        self.chat.build_bar.finish()
        self.clear_notifications()  # "no index" / "out of date" no longer hold
        self._index_ready(message.info, message.outlets)
        r = message.report
        held = f"{count(r.articles, 'article')} in {count(r.chunks, 'passage')}"
        if r.published:
            text = f"{len(r.added)} added, {len(r.changed)} changed, {len(r.removed)} removed; {held}."
        else:
            text = f"Already up to date: {held}."
        if r.skipped:
            text += f"\n{len(r.skipped)} file(s) skipped: " + ", ".join(file_name(s.path) for s in r.skipped[:3])
        self.notify(text, title="Index built", timeout=10, markup=False)
        self.start_watching(first_build=False)

    # -- questions and answers ---------------------------------------------------------
    @on(Input.Submitted, "#question")
    async def question_submitted(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            return
        if self.pending is not None:
            self.notify("Still answering the last question; Esc cancels it.", severity="warning")
            return
        if self.index_state == IndexState.BUILDING and self._state_before_build != IndexState.READY:
            self.notify("The index is being built; ask again when it is ready.", severity="warning")
            return
        field = self.chat.question
        field.value = ""
        field.remember(question)
        request = AskRequest(question, self.session, self.options)
        self.pending = request
        await self.chat.conversation.add_exchange(request.id, question)
        self.set_status("Answering…")
        self._answer_worker = self.answer_question(request)

    def show_draft(self, request_id: int, draft: "Draft"):
        """Called from the answer worker (via call_from_thread) as the answer grows."""
        if self.pending is None or self.pending.id != request_id:
            return None
        conversation = self.chat.conversation
        view = conversation.answer_view(request_id)
        return conversation.show_draft(view, draft) if view is not None else None

    async def on_answer_completed(self, message: AnswerCompleted) -> None:
        if self.pending is None or self.pending.id != message.request_id:
            return  # the user cancelled it meanwhile
        self.pending = None
        view = self.chat.conversation.answer_view(message.request_id)
        if view is not None:
            await view.finish(message.answer, message.sources)
            self.chat.conversation.mark_current(view)
            self.chat.conversation.scroll_end(animate=False)
        self.chat.sources.show(message.answer, message.sources)
        self.chat.show_timeline(False)  # a shown timeline was the previous question's story
        self.restore_status()
        if message.save_error:
            self.notify(message.save_error, title="Conversation not saved", severity="warning", timeout=20, markup=False)

    async def action_cancel_answer(self) -> None:
        request = self.pending
        if request is None:
            return
        request.cancel.set()
        await self._give_back_question(request)
        self.restore_status("answer cancelled")

    async def _give_back_question(self, request: AskRequest) -> None:
        """Take the unanswered exchange off the screen and put the question back."""
        self.pending = None
        await self.chat.conversation.drop(request.id)
        field = self.chat.question
        field.value = request.question
        field.cursor_position = len(field.value)
        field.focus()
        self.restore_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_answer":
            return self.pending is not None  # Esc shows (and works) only while answering
        return True

    def on_answer_chosen(self, message: AnswerChosen) -> None:
        self.chat.sources.show(message.answer, message.sources)
        self.chat.show_timeline(False)

    # -- the timeline --------------------------------------------------------------------
    def action_timeline(self) -> None:
        """Show the current answer's story over time beside it; again, the sources."""
        if self.chat.showing_timeline:
            self.chat.show_timeline(False)
            self.chat.question.focus()
            return
        answer = self.chat.sources.answer
        if answer is None:
            self.notify("Ask a question first: the timeline shows its story.", severity="warning")
            return
        self.chat.timeline.start(answer.question)
        self.chat.show_timeline(True)
        self.make_timeline(answer, self.options.filters)

    def on_timeline_ready(self, message: TimelineReady) -> None:
        if self.chat.sources.answer is not message.answer:
            return  # another answer is shown by now
        self.chat.timeline.show(message.timeline, message.texts)
        # Kept with its turn: saved with the conversation and exported after the answer.
        turn = next((t for t in self.session.turns if t.answer is message.answer), None)
        if turn is not None:
            turn.timeline = message.timeline
            try:
                self.na.save(self.session)
            except WriteError as e:  # the timeline is on screen; the next save may succeed
                self.notify(f"{e.message}. {e.hint or ''}".strip(), title="Conversation not saved", severity="warning",
                            timeout=20, markup=False)

    def on_timeline_line_opened(self, message: TimelineLineOpened) -> None:
        self._open_article(message.citation, message.source)

    def on_source_opened(self, message: SourceOpened) -> None:
        self._open_article(message.citation, message.source)

    def _open_article(self, citation: "Citation", source: "SourceText | None") -> None:
        from assistant.tui.screens.article import ArticleScreen

        self.push_screen(ArticleScreen(citation, source.text if source else None,
                                       source.flagged if source else (), source.hidden if source else ()))

    # -- conversations -----------------------------------------------------------------
    async def action_new_conversation(self) -> None:
        await self.action_cancel_answer()
        self.session = ChatSession()
        await self.chat.conversation.clear()
        self.chat.sources.clear()
        self.chat.question.focus()
        self.notify("New conversation.", timeout=3)

    async def action_reopen_last(self) -> None:
        await self.action_cancel_answer()
        self.reopen_conversation()

    async def on_conversation_reopened(self, message: ConversationReopened) -> None:
        self.session = message.session
        turns = [(t.question, t.answer, s) for t, s in zip(message.session.turns, message.sources)]
        last = await self.chat.conversation.show_turns(turns)
        field = self.chat.question
        field.history = [t.question for t in message.session.turns]
        if last is not None and last.answer is not None:
            self.chat.sources.show(last.answer, last.sources)
            self.chat.conversation.mark_current(last)
        else:
            self.chat.sources.clear()
        self.notify(f"Reopened the conversation of {message.session.created} ({len(turns)} turns).",
                    timeout=5, markup=False)

    # -- export, settings, small actions -------------------------------------------------
    def action_export(self) -> None:
        from assistant.tui.screens.export import ExportScreen
        from index.locations import exports_dir

        if not self.session.turns:
            self.notify("Nothing to export yet: ask a question first.", severity="warning")
            return
        default = exports_dir() / f"{self.session.id}.md"
        self.push_screen(ExportScreen(default, len(self.session.turns)), self._export_chosen)

    def _export_chosen(self, choice) -> None:
        from assistant.tui.screens.confirm import ConfirmScreen

        if choice is None:
            return
        if choice.path.exists():
            def confirmed(replace: bool | None) -> None:
                if replace:
                    self._write_export(choice, overwrite=True)
                else:
                    self.notify("Not exported; the existing file was kept.", markup=False)

            self.push_screen(ConfirmScreen(f"{choice.path} already exists. Replace it?", "Replace", "Keep it"), confirmed)
        else:
            self._write_export(choice, overwrite=False)

    def _write_export(self, choice, overwrite: bool) -> None:
        try:
            path = self.na.export(self.session, choice.path, choice.fmt, overwrite=overwrite)
        except (NewsAssistantError, OSError) as e:
            self.report_error(e)
            return
        self.last_export = path
        self.notify(f"Saved to {path}", title="Exported", timeout=10, markup=False)

    def action_settings(self) -> None:
        from assistant.tui.screens.settings import SettingsScreen

        s = self.na.settings
        self.push_screen(SettingsScreen(self.options, s.openai_model, str(s.llama_model_path or ""), self.outlets),
                         self._settings_chosen)

    def _settings_chosen(self, choice) -> None:
        from pydantic import ValidationError

        from assistant.api import replace_settings

        if choice is None:
            return
        try:
            self.na.settings = replace_settings(
                self.na.settings, engine=choice.options.engine,
                openai_model=choice.openai_model or self.na.settings.openai_model,
                llama_model_path=choice.llama_model_path or None,
            )
        except ValidationError as e:
            self.notify(f"Settings not applied: {e.errors()[0]['msg']}", severity="error", markup=False)
            return
        self.options = choice.options
        self.chat.status.set_options(self.options.describe())
        self.notify(f"Next answers: {self.options.describe()}.", title="Settings", timeout=5, markup=False)

    def action_copy_quote(self) -> None:
        citation = self.chat.sources.current()
        if citation is None:
            self.notify("No quote to copy yet.", severity="warning")
            return
        self.copy_to_clipboard(escape_controls(citation.quote))
        self.notify(f"Copied quote [{citation.n}] to the clipboard.", timeout=3, markup=False)

    def action_toggle_sources(self) -> None:
        self.chat.toggle_sources()

    def action_help(self) -> None:
        from assistant.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def run_chat(args) -> int:
    """`assistant chat`: open the app. Settings errors (bad flags, bad config) raise
    before the terminal is taken over, so the CLI prints them as one line."""
    from assistant.api import NewsAssistant
    from assistant.timecues import parse_as_of

    na = NewsAssistant.from_settings(corpus=args.corpus, store=args.store, engine=getattr(args, "engine", None))
    as_of = parse_as_of(args.as_of) if getattr(args, "as_of", None) else None
    app = NewsApp(na, ChatOptions(engine=na.settings.engine, as_of=as_of), resume=bool(getattr(args, "resume", False)))
    app.run()
    return 0
