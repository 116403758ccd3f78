"""Where and how to export the conversation. The dialog only chooses; the app writes
the file, and asks before replacing one that exists."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from assistant.tui.screens.confirm import DIALOG_CSS

SUFFIX = {"md": ".md", "json": ".json"}


@dataclass(frozen=True)
class ExportChoice:
    path: Path
    fmt: str  # "md" or "json"


class ExportScreen(ModalScreen[ExportChoice | None]):
    DEFAULT_CSS = "ExportScreen {" + DIALOG_CSS + """
        RadioSet { width: auto; layout: horizontal; border: none; padding: 0; }
        RadioButton { width: auto; margin-right: 3; }
        Label { margin-top: 1; color: $text-muted; }
        #export-error { color: $text-error; height: auto; }
    }"""
    BINDINGS = [Binding("escape", "dismiss", "Cancel")]

    def __init__(self, default_path: Path, turns: int) -> None:
        super().__init__()
        self.default_path = default_path
        self.turns = turns

    def compose(self):
        with Vertical(id="dialog"):
            yield Static("Export the conversation", classes="title")
            yield Static(Content(f"{self.turns} question(s), with every answer's quotes and sources."))
            yield Label("Format")
            with RadioSet(id="export-format", compact=True):
                yield RadioButton("Markdown", value=True, id="fmt-md")
                yield RadioButton("JSON", id="fmt-json")
            yield Label("File")
            yield Input(str(self.default_path), id="export-path", compact=True)
            yield Static(id="export-error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Export", id="do-export", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @property
    def fmt(self) -> str:
        return "json" if self.query_one("#fmt-json", RadioButton).value else "md"

    @on(RadioSet.Changed)
    def format_changed(self) -> None:
        field = self.query_one("#export-path", Input)
        path = Path(field.value)
        if path.suffix.lower() in (".md", ".json"):
            field.value = str(path.with_suffix(SUFFIX[self.fmt]))

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#do-export")
    def chosen(self) -> None:
        value = self.query_one("#export-path", Input).value.strip()
        if not value or value.endswith("/"):
            self.query_one("#export-error", Static).update("Give a file name.")
            return
        self.dismiss(ExportChoice(Path(value).expanduser(), self.fmt))

    @on(Button.Pressed, "#cancel")
    def cancelled(self) -> None:
        self.dismiss(None)
