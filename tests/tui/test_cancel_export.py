"""Cancelling an answer with Escape, and exporting the conversation."""

from __future__ import annotations

import json
import time

from conftest import QUESTION, Messages, ask, screen_text, settle, wait_until

from assistant.tui.screens.confirm import ConfirmScreen
from assistant.tui.screens.export import ExportScreen
from assistant.tui.widgets.conversation import AnswerView
from index.locations import exports_dir


class SlowEngine:
    """A model that says a few words, then thinks until it is cancelled."""

    name = "slow-test"

    def __init__(self) -> None:
        self.cancelled = False

    def generate(self, prompt, on_token=None, cancel=None):
        if on_token:
            on_token("Thinking it over")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if cancel is not None and cancel.is_set():
                self.cancelled = True
                return "Thinking it over"
            time.sleep(0.02)
        raise AssertionError("never cancelled")


async def test_escape_cancels_the_answer_and_gives_the_question_back(make_app):
    app = make_app()
    engine = SlowEngine()
    app.na.engine = lambda name=None: engine
    async with app.run_test() as pilot:
        await ask(pilot, wait=False)
        assert app.chat.question.value == ""
        # The chat says the model is reading; a sentence is shown only once grounded.
        await wait_until(pilot, lambda: "Reading" in screen_text(app) and "passage" in screen_text(app), what="the reading status")
        await pilot.press("escape")
        await pilot.pause()
        assert app.chat.question.value == QUESTION  # back in the input, ready to edit
        assert not app.chat.conversation.query(AnswerView) and app.pending is None
        await settle(pilot)
        assert engine.cancelled
        assert app.session.turns == []  # a cancelled answer is not part of the conversation
        assert app.chat.sources.prompts() == []
        assert "cancelled" in app.chat.status.status


async def test_escape_does_nothing_when_no_answer_is_in_progress(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await ask(pilot)
        app.chat.question.value = "half typed"
        await pilot.press("escape")
        assert app.chat.question.value == "half typed"
        assert len(app.chat.conversation.query(AnswerView)) == 1


async def test_export_markdown_then_json_and_never_overwrite_silently(make_app):
    app = make_app()
    messages = Messages()
    async with app.run_test(size=(100, 30), message_hook=messages) as pilot:
        await ask(pilot)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.press("enter")
        await pilot.pause()
        md = exports_dir() / "test-session.md"
        assert app.last_export == md and md.exists()
        text = md.read_text()
        assert QUESTION in text and "Fundamental" in text and "[1]" in text
        assert any(str(md) in n.message for n in messages.notifications())

        # Same name again: asked first, and "keep it" keeps it.
        md.write_text("mine")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause()
        assert md.read_text() == "mine" and app.screen is app.chat

        # "Replace" replaces it.
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await pilot.pause()
        assert "Fundamental" in md.read_text()

        # JSON: the format switch changes the suggested name.
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.click("#fmt-json")
        await pilot.pause()
        assert app.screen.query_one("#export-path").value.endswith("test-session.json")
        await pilot.click("#do-export")
        await pilot.pause()
        data = json.loads((exports_dir() / "test-session.json").read_text())
        [turn] = data["turns"]
        assert turn["question"] == QUESTION
        assert "Fundamental" in turn["answer"]["citations"][0]["quote"]


async def test_export_with_nothing_to_export_says_so(make_app):
    app = make_app()
    messages = Messages()
    async with app.run_test(message_hook=messages) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is app.chat
        assert any("Nothing to export" in n.message for n in messages.notifications("warning"))
