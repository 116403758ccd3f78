"""Every key, read from the bindings themselves so the list cannot go stale."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

_NAMES = {"question_mark": "?", "escape": "Esc", "up": "↑", "down": "↓", "enter": "Enter", "tab": "Tab",
          "shift+tab": "Shift+Tab"}


def key_label(keys: str) -> str:
    """"ctrl+n,f2" -> "Ctrl+N / F2"."""
    out = []
    for key in keys.split(","):
        key = key.strip()
        if key in _NAMES:
            out.append(_NAMES[key])
        else:
            out.append("+".join(p.upper() if len(p) == 1 or (p[0] == "f" and p[1:].isdigit()) else p.capitalize()
                                for p in key.split("+")))
    return " / ".join(out)


def _rows(bindings) -> list[tuple[str, str]]:
    return [(key_label(b.key), b.tooltip or b.description) for b in bindings
            if isinstance(b, Binding) and (b.tooltip or b.description)]


def help_sections(app_bindings) -> list[tuple[str, list[tuple[str, str]]]]:
    """The key table; `app_bindings` are the running app's own (passed in: this module
    must not import the app, which imports it)."""
    # Imported here, not at the top: these modules import the screens package.
    from assistant.tui.screens.article import ArticleScreen
    from assistant.tui.screens.chat import ChatScreen
    from assistant.tui.widgets.conversation import HistoryInput

    return [
        ("Chat", [("Enter", "Ask the question in the input"), *_rows(HistoryInput.BINDINGS),
                  *_rows(ChatScreen.BINDINGS),
                  ("Tab / Shift+Tab", "Move between input, conversation and sources"),
                  ("Enter on a source", "Open the article, scrolled to the quote"),
                  ("Enter on a timeline line", "Open the article, scrolled to that line's sentence"),
                  ("Click an answer", "Show that answer's sources")]),
        ("Anywhere", [*_rows(app_bindings), ("Ctrl+P", "Command palette: every action by name, including "
                                                          "rebuilding the index from scratch"),
                      ("Ctrl+Q", "Quit")]),
        ("Article view", _rows(ArticleScreen.BINDINGS)),
        ("Dialogs", [("Enter", "Confirm"), ("Esc", "Cancel")]),
    ]


def help_widgets(app_bindings):
    """Per section a title, then a grid of (key, what it does) rows; the grid keeps
    long descriptions wrapped inside their column."""
    for title, rows in help_sections(app_bindings):
        yield Static(Content.styled(title, "bold"), classes="section")
        yield Grid(*(w for key, what in rows for w in (Static(Content(key), classes="key"),
                                                      Static(Content(what), classes="what"))), classes="keys")


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        #help-box { width: 86; max-width: 100%; height: auto; max-height: 100%;
                    border: thick $primary; background: $surface; padding: 0 1; }
        #help-title { text-style: bold; color: $text-accent; }
        .keys { grid-size: 2; grid-columns: 22 1fr; grid-rows: auto; height: auto; }
        .section { margin-top: 1; }
        .key { color: $text-accent; padding-left: 2; }
    }
    """

    def compose(self):
        with VerticalScroll(id="help-box"):
            yield Static("Keys", id="help-title")
            yield from help_widgets(type(self.app).BINDINGS)

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()
