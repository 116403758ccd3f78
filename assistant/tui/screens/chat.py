"""The main screen: conversation and input on the left, sources on the right (below,
and hidden until there is an answer, on narrow terminals)."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalGroup
from textual.screen import Screen
from textual.widgets import Footer

from assistant.tui.widgets.conversation import Conversation, HistoryInput
from assistant.tui.widgets.sources import SourcesPane
from assistant.tui.widgets.status import BuildBar, StatusBar
from assistant.tui.widgets.timeline import TimelinePane

# Width from which sources sit beside the conversation instead of below it.
WIDE = 110


class ChatScreen(Screen):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]

    # The actions live on the app, which owns the session and the workers; the keys
    # live here so that dialogs on top of this screen do not react to them.
    BINDINGS = [
        Binding("escape", "app.cancel_answer", "Cancel answer",
                tooltip="Stop the answer in progress and put the question back in the input"),
        Binding("ctrl+n", "app.new_conversation", "New", tooltip="Start a new conversation"),
        Binding("ctrl+o", "app.reopen_last", "Reopen last", show=False,
                tooltip="Reopen the last saved conversation"),
        Binding("ctrl+r", "app.build_index", "Update index",
                tooltip="Build or update the index from the article folder (progress above)"),
        Binding("ctrl+s", "app.export", "Export", tooltip="Export the conversation to Markdown or JSON"),
        Binding("f2", "app.settings", "Settings",
                tooltip="Answer engine and model, as-of date, date and outlet filters"),
        Binding("ctrl+y", "app.copy_quote", "Copy quote", show=False,
                tooltip="Copy the highlighted source's quote to the clipboard"),
        Binding("ctrl+t", "app.toggle_sources", "Sources", show=False, tooltip="Show or hide the sources pane"),
        # Not in the footer, which is full at 80 columns: F1 and Ctrl+P list it.
        Binding("ctrl+l", "app.timeline", "Timeline", show=False,
                tooltip="Show the current answer's story over time beside it (again: back to the sources)"),
    ]

    DEFAULT_CSS = """
    ChatScreen {
        #top { dock: top; }
        #main { height: 1fr; }
        #chat { width: 1fr; height: 1fr; }
        #question { dock: bottom; margin: 0 1; }
        SourcesPane, TimelinePane { width: 42%; border-left: tall $panel-lighten-2; }
        TimelinePane { display: none; }
        #main.-timeline SourcesPane { display: none; }
        #main.-timeline TimelinePane { display: block; }
        #main.-no-sources SourcesPane, #main.-no-sources TimelinePane { display: none; }
    }
    ChatScreen.-narrow {
        #main { layout: vertical; }
        SourcesPane, TimelinePane { width: 1fr; height: 40%; border-left: none; border-top: tall $panel-lighten-2; }
        SourcesPane.-empty { display: none; }
    }
    """

    def compose(self):
        with VerticalGroup(id="top"):
            yield StatusBar()
            yield BuildBar()
        with Horizontal(id="main"):
            with Vertical(id="chat"):
                yield Conversation(id="conversation")
                yield HistoryInput(placeholder="Ask about the articles… (Enter sends, ↑ recalls)", id="question")
            yield SourcesPane(id="sources")
            yield TimelinePane(id="timeline")
        yield Footer()

    def on_mount(self) -> None:
        self.status.set_status("Loading the embedding model…")
        self.question.focus()

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def build_bar(self) -> BuildBar:
        return self.query_one(BuildBar)

    @property
    def conversation(self) -> Conversation:
        return self.query_one(Conversation)

    @property
    def sources(self) -> SourcesPane:
        return self.query_one(SourcesPane)

    @property
    def question(self) -> HistoryInput:
        return self.query_one(HistoryInput)

    @property
    def timeline(self) -> TimelinePane:
        return self.query_one(TimelinePane)

    @property
    def showing_timeline(self) -> bool:
        return self.query_one("#main").has_class("-timeline")

    def show_timeline(self, show: bool) -> None:
        """The timeline in the sources pane's place, or the sources back."""
        main = self.query_one("#main")
        main.set_class(show, "-timeline")
        if show:
            main.remove_class("-no-sources")
            self.timeline.query_one("#timeline-list").focus()

    def toggle_sources(self) -> None:
        self.query_one("#main").toggle_class("-no-sources")
