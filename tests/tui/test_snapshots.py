"""Snapshots of the main screen with an answer, the article view and the help screen.

Deterministic by construction: a fixed as-of date and session (make_app), no clock,
no spinner (the status line is text), the input's cursor not blinking. Update them
after an intended change with `pytest tests/tui --snapshot-update` and look at the
report before committing."""

from __future__ import annotations

from conftest import ask, settle, wait_until

from assistant.tui.screens.article import ArticleScreen


async def _answered(pilot) -> None:
    await ask(pilot)
    pilot.app.chat.question.cursor_blink = False
    await pilot.pause()


def test_main_screen_with_answer_wide(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=(120, 32), run_before=_answered)


def test_main_screen_with_answer_80x24(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_answered)


def test_article_view(snap_compare, make_app):
    async def open_article(pilot) -> None:
        await _answered(pilot)
        pilot.app.chat.sources.query_one("#source-list").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ArticleScreen))
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(100, 30), run_before=open_article)


def test_help_screen(snap_compare, make_app):
    async def open_help(pilot) -> None:
        await settle(pilot)
        pilot.app.chat.question.cursor_blink = False
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(100, 36), run_before=open_help)
