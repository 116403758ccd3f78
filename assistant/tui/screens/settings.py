"""Answer settings: engine and its model, the as-of date, and filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from textual import on
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from assistant.retriever import Filters
from assistant.tui.screens.confirm import DIALOG_CSS
from assistant.config import ENGINES
from assistant.tui.state import ChatOptions
from index.errors import NewsAssistantError


@dataclass(frozen=True)
class SettingsChoice:
    options: ChatOptions
    openai_model: str
    llama_model_path: str


class SettingsScreen(ModalScreen[SettingsChoice | None]):
    DEFAULT_CSS = "SettingsScreen {" + DIALOG_CSS + """
        #form { grid-size: 2; grid-columns: 16 1fr; grid-rows: auto; grid-gutter: 0 1; height: auto; }
        #form Label { color: $text-muted; }
        #settings-error { color: $text-error; height: auto; margin-top: 1; }
    }"""
    BINDINGS = [Binding("escape", "dismiss", "Cancel")]

    def __init__(self, options: ChatOptions, openai_model: str, llama_model_path: str, outlets: list[str]) -> None:
        super().__init__()
        self.options = options
        self.openai_model = openai_model
        self.llama_model_path = llama_model_path
        self.outlets = outlets

    def compose(self):
        o = self.options
        f = o.filters
        with Vertical(id="dialog"):
            yield Static("Answer settings", classes="title")
            with Grid(id="form"):
                yield Label("Engine")
                yield Select([(e, e) for e in ENGINES], value=o.engine, allow_blank=False, id="engine", compact=True)
                yield Label("OpenAI model")
                yield Input(self.openai_model, placeholder="e.g. llama3.2 (the server's model name)", id="openai-model", compact=True)
                yield Label("GGUF file")
                yield Input(self.llama_model_path, placeholder="path to a .gguf model for llama-cpp", id="llama-path", compact=True)
                yield Label("As of")
                yield Input(o.as_of.isoformat() if o.as_of else "", placeholder="today (or a date: 2022-06-16)", id="as-of", compact=True)
                yield Label("From date")
                yield Input(f.date_from.isoformat() if f.date_from else "", placeholder="any", id="date-from", compact=True)
                yield Label("To date")
                yield Input(f.date_to.isoformat() if f.date_to else "", placeholder="any", id="date-to", compact=True)
                yield Label("Outlets")
                known = ", ".join(self.outlets[:4]) + ("…" if len(self.outlets) > 4 else "")
                yield Input(", ".join(f.sources), placeholder=f"any (comma-separated{'; e.g. ' + known if known else ''})",
                            id="outlets", compact=True)
            yield Static(id="settings-error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Apply", id="apply", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#engine").focus()

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def _date(self, widget_id: str, label: str) -> date | None:
        from assistant.timecues import parse_as_of

        text = self._value(widget_id)
        if not text:
            return None
        try:
            return parse_as_of(text)
        except NewsAssistantError as e:
            raise ValueError(f"{label}: {e.message}. {e.hint or ''}".strip()) from None

    @on(Input.Submitted)
    @on(Button.Pressed, "#apply")
    def apply(self) -> None:
        error = self.query_one("#settings-error", Static)
        try:
            as_of = self._date("as-of", "As of")
            date_from = self._date("date-from", "From date")
            date_to = self._date("date-to", "To date")
        except ValueError as e:
            error.update(str(e))
            return
        if date_from and date_to and date_from > date_to:
            error.update("The 'from' date is after the 'to' date.")
            return
        engine = str(self.query_one("#engine", Select).value)
        if engine == "llama-cpp" and not self._value("llama-path"):
            error.update("The llama-cpp engine needs a GGUF model file.")
            return
        outlets = tuple(s.strip() for s in self._value("outlets").split(",") if s.strip())
        filters = Filters(date_from=date_from, date_to=date_to, sources=outlets,
                          path_glob=self.options.filters.path_glob)
        self.dismiss(SettingsChoice(ChatOptions(engine, as_of, filters), self._value("openai-model"),
                                    self._value("llama-path")))

    @on(Button.Pressed, "#cancel")
    def cancelled(self) -> None:
        self.dismiss(None)
