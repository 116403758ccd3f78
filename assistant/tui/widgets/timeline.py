"""The timeline pane: the current answer's story in date order, beside the answer (in
the sources pane's place). Enter (or a click) on a line opens the article at the
sentence the line shows."""

from __future__ import annotations

from textual import on
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from assistant.answer.sources import SourceText
from assistant.render import TIMELINE_EMPTY, entry_head, timeline_heading
from assistant.timeline import Timeline, TimelineEntry
from assistant.tui.messages import TimelineLineOpened
from assistant.untrusted import file_name, one_line


def entry_prompt(e: TimelineEntry) -> Content:
    """One line of the pane, built from Content parts so nothing in it is read as markup."""
    parts: list = [(entry_head(e), "bold"), "\n", one_line(e.sentence)]
    if e.duplicates:
        parts += ["\n", ("also in: " + ", ".join(file_name(d) for d in e.duplicates), "$text-muted")]
    return Content.assemble(*parts)


class TimelinePane(Vertical):
    DEFAULT_CSS = """
    TimelinePane {
        height: 1fr;
        #timeline-title { background: $panel; color: $text; text-style: bold; padding: 0 1; }
        #timeline-note { color: $text-muted; padding: 0 1; }
        #timeline-list { height: 1fr; border: none; padding: 0; }
        #timeline-list > .option-list--option { padding: 0 1; }
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.timeline: Timeline | None = None
        self.texts: dict[str, SourceText] = {}

    def compose(self):
        yield Static("Timeline", id="timeline-title")
        yield Static(id="timeline-note", markup=False)
        yield OptionList(id="timeline-list", markup=False)

    def start(self, question: str) -> None:
        self.timeline, self.texts = None, {}
        self.query_one("#timeline-title", Static).update(Content(f"Timeline · {one_line(question)}"))
        self.query_one("#timeline-note", Static).update(Content("Finding the articles on this story…"))
        self.query_one("#timeline-list", OptionList).clear_options()

    def show(self, timeline: Timeline, texts: dict[str, SourceText]) -> None:
        self.timeline, self.texts = timeline, texts
        self.query_one("#timeline-title", Static).update(Content(f"Timeline · {one_line(timeline.query)}"))
        note = timeline_heading(timeline) if timeline.entries else TIMELINE_EMPTY
        self.query_one("#timeline-note", Static).update(Content(note))
        options = self.query_one("#timeline-list", OptionList)
        options.clear_options()
        entries: list[Option | None] = []
        for i, e in enumerate(timeline.entries):
            if entries:
                entries.append(None)
            entries.append(Option(entry_prompt(e), id=f"line-{i}"))
        options.add_options(entries)
        if timeline.entries:
            options.highlighted = 0

    def prompts(self) -> list[str]:
        """The plain text of every line (for tests and screen readers)."""
        options = self.query_one("#timeline-list", OptionList)
        return [o.prompt.plain if isinstance(o.prompt, Content) else str(o.prompt) for o in options.options]

    @on(OptionList.OptionSelected, "#timeline-list")
    def line_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.timeline is None or not event.option.id:
            return
        i = int(event.option.id.removeprefix("line-"))
        entry = self.timeline.entries[i]
        self.post_message(TimelineLineOpened(entry.citation(i + 1), self.texts.get(entry.article_id)))
