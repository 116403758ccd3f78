"""The conversation pane: questions and answers as Markdown, an answer streaming in
while it is produced, and the question input with its history.

All article-derived text goes through `assistant.untrusted` (via `assistant.render`)
before it becomes Markdown, and
the Markdown parser itself has raw HTML and link detection turned off."""

from __future__ import annotations

from markdown_it import MarkdownIt
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Markdown, Static

from assistant.answer.types import Answer, Draft
from assistant.tui.messages import AnswerChosen
from assistant.answer.sources import SourceText
from assistant.render import answer_body_markdown, count, difference_line, sentences_markdown
from assistant.untrusted import for_markdown, one_line

WELCOME = (
    "Ask a question about your articles and press Enter. Answers quote the articles; "
    "each [n] is a source on the right (or below). F1 lists every key, Ctrl+P every command."
)


def safe_parser() -> MarkdownIt:
    """CommonMark without raw HTML and without turning bare URLs into links."""
    return MarkdownIt("commonmark", {"html": False})


class AnswerMarkdown(Markdown):
    DEFAULT_CSS = """
    AnswerMarkdown {
        padding: 0 1;
        margin: 0;
        MarkdownBlock > .em { color: $text-warning !important; }
        MarkdownBlock > .strong { color: $text-error !important; }
        MarkdownBlock > .code_inline { color: $text-accent !important; background: transparent !important; text-style: bold; }
        & > MarkdownParagraph { margin: 0 !important; }
    }
    """

    def __init__(self, markdown: str | None = None, **kwargs) -> None:
        super().__init__(markdown, parser_factory=safe_parser, open_links=False, **kwargs)


class QuestionView(AnswerMarkdown):
    DEFAULT_CSS = """
    QuestionView {
        background: $boost;
        border-left: outer $primary;
        margin: 1 0 0 0;
        text-style: bold;
    }
    """


class AnswerView(Vertical):
    """One answer: a status line until the first words arrive, the streamed text, then
    the verified answer with its notices and a line saying how it was made."""

    DEFAULT_CSS = """
    AnswerView {
        height: auto;
        border-left: outer $secondary 50%;
        margin: 0 0 1 0;
        &:hover { border-left: outer $secondary; }
        &.-current { border-left: outer $secondary; }
        .answer-status { color: $text-muted; padding: 0 1; }
        .answer-notices { color: $text-warning; padding: 0 1; }
        .answer-differences { color: $text-accent; text-style: bold; padding: 0 1; }
        .answer-meta { color: $text-muted; padding: 0 1; }
    }
    """

    def __init__(self, request_id: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.request_id = request_id
        self.answer: Answer | None = None
        self.sources: dict[int, SourceText] = {}

    def compose(self):
        yield Static("Searching the articles…", classes="answer-status")
        yield AnswerMarkdown(classes="answer-body")
        yield Static(classes="answer-differences")
        yield Static(classes="answer-notices")
        yield Static(classes="answer-meta")

    def on_mount(self) -> None:
        self.query_one(".answer-differences").display = False
        self.query_one(".answer-notices").display = False
        self.query_one(".answer-meta").display = False

    async def show_draft(self, draft: Draft) -> None:
        """The answer so far: its grounded sentences, already in their final numbering."""
        status = self.query_one(".answer-status", Static)
        if not draft.sentences:
            n = draft.passages
            status.update(f"Reading {count(n, 'passage')}…")
            status.display = True
        else:
            status.display = False
        await self.query_one(AnswerMarkdown).update(sentences_markdown(draft.sentences))

    async def finish(self, answer: Answer, sources: dict[int, SourceText]) -> None:
        self.answer, self.sources = answer, sources
        self.query_one(".answer-status", Static).display = False
        await self.query_one(AnswerMarkdown).update(answer_body_markdown(answer))
        differences = self.query_one(".answer-differences", Static)
        if answer.differences:
            differences.update(Content("\n".join("≠ " + one_line(difference_line(d)) for d in answer.differences)))
            differences.display = True
        notices = self.query_one(".answer-notices", Static)
        if answer.notices:
            notices.update(Content("\n".join("⚠ " + one_line(n) for n in answer.notices)))
            notices.display = True
        meta = self.query_one(".answer-meta", Static)
        n = len(answer.citations)
        cited = count(n, "source") if answer.answerable else "not answered by the articles"
        parts = [answer.engine, f"as of {answer.as_of}" if answer.as_of else "", cited]
        meta.update(Content(" · ".join(p for p in parts if p)))
        meta.display = True

    def on_click(self) -> None:
        if self.answer is not None:
            for other in self.screen.query(AnswerView):
                other.set_class(other is self, "-current")
            self.post_message(AnswerChosen(self.answer, self.sources))


class Conversation(VerticalScroll):
    """The questions and answers of this conversation, newest at the bottom."""

    DEFAULT_CSS = """
    Conversation {
        height: 1fr;
        padding: 0 1 1 1;
        #welcome { color: $text-muted; padding: 1 1; }
    }
    """

    def compose(self):
        yield Static(WELCOME, id="welcome", markup=False)

    def _at_end(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1

    async def show_draft(self, view: AnswerView, draft: Draft) -> None:
        """Show an answer as it grows, following it if the reader is at the end."""
        follow = self._at_end()
        await view.show_draft(draft)
        if follow:
            self.scroll_end(animate=False)

    async def add_exchange(self, request_id: int, question: str) -> AnswerView:
        self.query_one("#welcome").display = False
        view = AnswerView(request_id, id=f"answer-{request_id}")
        await self.mount_all([QuestionView(for_markdown(question), id=f"question-{request_id}"), view])
        self.scroll_end(animate=False)
        return view

    def answer_view(self, request_id: int) -> AnswerView | None:
        found = self.query(f"#answer-{request_id}")
        return found.first(AnswerView) if found else None

    async def drop(self, request_id: int) -> None:
        """Take a cancelled exchange off the screen."""
        await self.query(f"#question-{request_id}, #answer-{request_id}").remove()
        if not self.query(AnswerView):
            self.query_one("#welcome").display = True

    def mark_current(self, view: AnswerView) -> None:
        for other in self.query(AnswerView):
            other.set_class(other is view, "-current")

    async def clear(self) -> None:
        await self.query("QuestionView, AnswerView").remove()
        self.query_one("#welcome").display = True

    async def show_turns(self, turns: list[tuple[str, Answer, dict[int, SourceText]]]) -> AnswerView | None:
        """A reopened conversation: every turn, finished."""
        await self.clear()
        last = None
        for question, answer, sources in turns:
            self.query_one("#welcome").display = False
            last = AnswerView()
            await self.mount_all([QuestionView(for_markdown(question)), last])
            await last.finish(answer, sources)
        self.scroll_end(animate=False)
        return last


class HistoryInput(Input):
    """The question box. Up and down recall earlier questions, like a shell."""

    BINDINGS = [
        Binding("up", "history(-1)", "Earlier question", show=False),
        Binding("down", "history(1)", "Later question", show=False),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.history: list[str] = []
        self._position: int | None = None  # index into history while recalling
        self._draft = ""

    def remember(self, question: str) -> None:
        if question and (not self.history or self.history[-1] != question):
            self.history.append(question)
        self._position = None

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._position is None:
            if step > 0:
                return
            self._draft, self._position = self.value, len(self.history)
        self._position = max(0, min(len(self.history), self._position + step))
        if self._position == len(self.history):
            self.value, self._position = self._draft, None
        else:
            self.value = self.history[self._position]
        self.cursor_position = len(self.value)
