"""The chat follows the article folder by itself, and shows a story over time beside
an answer (Pilot, the real model, real files and a real folder watcher)."""

from __future__ import annotations

import shutil
from pathlib import Path

from assistant.tui.messages import AnswerCompleted, FolderActivity, FolderUpdated
from assistant.tui.screens.article import ArticleScreen
from assistant.tui.screens.export import ExportScreen
from assistant.tui.widgets.sources import QUOTE_STYLE
from index.locations import exports_dir
from tui.conftest import QUESTION, SEEDS, Messages, ask, settle, wait_until

ZEBRA = ("2022-01-30\n\nZebra escapes from the city zoo\n\n"
         "A zebra named Marty escaped from the city zoo on Saturday and trotted down Harbour Street "
         "before keepers caught it near the old lighthouse with a bucket of carrots.\n")


async def test_a_file_dropped_into_the_folder_becomes_answerable_without_a_key(make_app, store_copy, tmp_path: Path):
    corpus = tmp_path / "articles"
    shutil.copytree(SEEDS, corpus)
    app = make_app(store=store_copy, corpus=corpus, watch=True)
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await wait_until(pilot, lambda: app.index_state == "ready" and app.watching, what="the index and the watcher")
        await pilot.pause(0.5)  # the watcher's first (timeout) round: it is live
        (corpus / "zebra.txt").write_text(ZEBRA, encoding="utf-8")
        await wait_until(pilot, lambda: messages.of(FolderUpdated), timeout=60, what="the background update")
        building = [m.event for m in messages.of(FolderActivity) if m.event.kind == "building"]
        assert building and building[-1].paths == [str((corpus / "zebra.txt").resolve())]
        assert "2 articles" in app.chat.status.status
        assert any("1 added, 0 changed, 0 removed (zebra.txt)" in n.message for n in messages.notifications())

        await ask(pilot, "Where did the keepers catch the zebra that escaped from the zoo?", wait=False)
        await wait_until(pilot, lambda: messages.of(AnswerCompleted), timeout=60, what="the answer")
        [done] = messages.of(AnswerCompleted)
        assert done.answer.answerable, done.answer.abstention
        assert "zebra.txt" in [c.file for c in done.answer.citations]
        assert "lighthouse" in done.answer.text
        assert not messages.notifications("error")


async def test_the_timeline_key_shows_the_story_and_opens_the_article_at_its_sentence(make_app):
    app = make_app()
    messages = Messages()
    async with app.run_test(size=(120, 30), message_hook=messages) as pilot:
        await ask(pilot)
        assert not app.chat.showing_timeline
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert app.chat.showing_timeline
        pane = app.chat.timeline
        [line] = pane.prompts()  # the seed folder holds one article
        entry = pane.timeline.entries[0]
        assert line.startswith("2022-01-23 · Russia and NATO note their disagreements")
        assert entry.sentence in line and len(entry.sentence) > 40
        assert app.session.turns[-1].timeline is pane.timeline  # kept with its turn

        await pilot.press("enter")  # the list has the focus
        await wait_until(pilot, lambda: isinstance(app.screen, ArticleScreen), what="the article view")
        await pilot.pause()
        [para] = app.screen.query(".paragraph.-quote")
        content = para.content
        assert [content.plain[s.start:s.end] for s in content.spans if s.style == QUOTE_STYLE] == [entry.sentence]
        await pilot.press("escape")

        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.press("enter")
        await pilot.pause()
        text = (exports_dir() / "test-session.md").read_text()
        assert f"### Timeline: {QUESTION}" in text and entry.sentence in text
        assert text.index("### Timeline") > text.index("Fundamental")  # after its answer

        await pilot.press("ctrl+l")  # back to the sources
        assert not app.chat.showing_timeline
        assert not messages.notifications("error")


async def test_the_timeline_key_before_any_answer_says_what_to_do(make_app):
    app = make_app()
    messages = Messages()
    async with app.run_test(message_hook=messages) as pilot:
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert not app.chat.showing_timeline
        assert any("Ask a question first" in n.message for n in messages.notifications("warning"))
