"""The status line (what the app is doing, and the answer options) and the build
progress bar under it."""

from __future__ import annotations

from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import ProgressBar, Static

STAGES = {"reading": "Reading articles", "embedding": "Embedding passages", "writing": "Writing the index"}


class StatusBar(Horizontal):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        #status-text { width: 1fr; padding: 0 1; color: $text; }
        #status-text.-warning { color: $text-warning; }
        #status-text.-error { color: $text-error; }
        #options-text { width: auto; padding: 0 1; color: $text-muted; }
    }
    """

    def compose(self):
        yield Static(id="status-text", markup=False)
        yield Static(id="options-text", markup=False)

    def set_status(self, text: str, level: str = "info") -> None:
        label = self.query_one("#status-text", Static)
        label.update(Content(text))
        label.set_class(level == "warning", "-warning")
        label.set_class(level == "error", "-error")

    @property
    def status(self) -> str:
        return str(self.query_one("#status-text", Static).content)

    def set_options(self, text: str) -> None:
        self.query_one("#options-text", Static).update(Content(text))


class BuildBar(Horizontal):
    """Shown only while the index is being built."""

    DEFAULT_CSS = """
    BuildBar {
        height: 1;
        display: none;
        background: $panel;
        &.-active { display: block; }
        #build-label { width: auto; padding: 0 1; color: $text-accent; }
        #build-progress { width: 1fr; }
    }
    """

    def compose(self):
        yield Static(id="build-label", markup=False)
        yield ProgressBar(id="build-progress", show_eta=False)

    def start(self, label: str) -> None:
        self.add_class("-active")
        self.query_one("#build-label", Static).update(Content(label))
        self.query_one(ProgressBar).update(total=None, progress=0)

    def progress(self, stage: str, done: int, total: int) -> None:
        self.add_class("-active")
        self.query_one("#build-label", Static).update(Content(f"{STAGES.get(stage, stage)} {done}/{total}"))
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)

    def finish(self) -> None:
        self.remove_class("-active")
