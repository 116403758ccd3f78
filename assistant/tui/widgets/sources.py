"""The sources pane: one entry per citation of the answer shown, with the quote
highlighted in the article text around it. Enter (or a click) opens the article."""

from __future__ import annotations

import re

from textual import on
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from assistant.answer.types import Answer, Citation
from assistant.tui.messages import SourceOpened
from assistant.answer.sources import SourceText
from assistant.render import citation_meta, count
from assistant.tui.quotes import quote_context
from assistant.untrusted import one_line

QUOTE_STYLE = "bold $text-warning on $warning-muted"
# Text addressed to AI assistants near a quote: not shown in the pane, only said to be there.
FLAGGED_CONTEXT = "[text addressed to AI assistants]"
FLAGGED_CONTEXT_STYLE = "italic $text-error"
_MASK = "\ue000"  # a private-use character marks flagged text while the context is cut


def _masked(text: str | None, flagged: tuple[tuple[int, int], ...]) -> str | None:
    if text is None or not flagged:
        return text
    chars = list(text)
    for s, e in flagged:
        for k in range(max(0, s), min(len(chars), e)):
            if not chars[k].isspace():
                chars[k] = _MASK
    return "".join(chars)


def _context_parts(text: str) -> list:
    """Context text with each run of flagged characters replaced by one marker."""
    parts: list = []
    for i, piece in enumerate(re.split(f"{_MASK}(?:[{_MASK}\\s]*{_MASK})?", text)):
        if i:
            parts.append((FLAGGED_CONTEXT, FLAGGED_CONTEXT_STYLE))
        if piece:
            parts.append(piece)
    return parts


def citation_prompt(c: Citation, source: SourceText | None) -> Content:
    """The pane's entry for one citation; built from Content parts, so nothing in
    the article is read as markup."""
    text = _masked(source.text, source.flagged) if source else None
    before, quote, after, verbatim = quote_context(text, c.start, c.end, c.quote)
    parts: list = [
        (f"[{c.n}] ", "bold $text-accent"), (one_line(c.title or c.file), "bold"), "\n",
        (citation_meta(c), "$text-muted"), "\n",
        *_context_parts(before), (quote, QUOTE_STYLE), *_context_parts(after),
    ]
    if not verbatim:
        parts += ["\n", ("(the article has changed or left the index since this answer)", "italic $text-muted")]
    return Content.assemble(*parts)


class SourcesPane(Vertical):
    DEFAULT_CSS = """
    SourcesPane {
        height: 1fr;
        #sources-title { background: $panel; color: $text; text-style: bold; padding: 0 1; }
        #sources-empty { color: $text-muted; padding: 1 1; }
        #source-list { height: 1fr; border: none; padding: 0; }
        #source-list > .option-list--option { padding: 0 1; }
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.answer: Answer | None = None
        self.sources: dict[int, SourceText] = {}

    def compose(self):
        yield Static("Sources", id="sources-title")
        yield Static("The sources of an answer appear here.", id="sources-empty")
        yield OptionList(id="source-list", markup=False)

    def on_mount(self) -> None:
        self.add_class("-empty")
        self.query_one("#source-list").display = False

    def show(self, answer: Answer, sources: dict[int, SourceText]) -> None:
        self.answer, self.sources = answer, sources
        options = self.query_one("#source-list", OptionList)
        options.clear_options()
        entries: list[Option | None] = []
        listed = answer.citations or answer.nearest
        for c in listed:
            if entries:
                entries.append(None)  # a separator line between sources
            entries.append(Option(citation_prompt(c, sources.get(c.n)), id=f"cite-{c.n}"))
        options.add_options(entries)
        has = bool(listed)
        options.display = has
        n = len(listed)
        title = (f"Sources · {count(n, 'quote')}" if answer.answerable
                 else "Nearest articles · they do not answer the question")
        self.query_one("#sources-title", Static).update(Content(title))
        empty = self.query_one("#sources-empty", Static)
        empty.update("No article backs this answer." if not has else "")
        empty.display = not has
        self.set_class(False, "-empty")
        if has:
            options.highlighted = 0

    def clear(self) -> None:
        self.answer, self.sources = None, {}
        options = self.query_one("#source-list", OptionList)
        options.clear_options()
        options.display = False
        self.query_one("#sources-title", Static).update("Sources")
        empty = self.query_one("#sources-empty", Static)
        empty.update("The sources of an answer appear here.")
        empty.display = True
        self.add_class("-empty")

    def _citation(self, option_id: str | None) -> Citation | None:
        if self.answer is None or not option_id:
            return None
        n = int(option_id.removeprefix("cite-"))
        return next((c for c in self.answer.citations or self.answer.nearest if c.n == n), None)

    def current(self) -> Citation | None:
        """The highlighted citation (the first one until the user moves)."""
        option = self.query_one("#source-list", OptionList).highlighted_option
        return self._citation(option.id if option else None)

    def prompts(self) -> list[str]:
        """The plain text of every entry (for tests and screen readers)."""
        options = self.query_one("#source-list", OptionList)
        return [o.prompt.plain if isinstance(o.prompt, Content) else str(o.prompt) for o in options.options]

    @on(OptionList.OptionSelected, "#source-list")
    def source_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        citation = self._citation(event.option.id)
        if citation is not None:
            self.post_message(SourceOpened(citation, self.sources.get(citation.n)))
