"""The chat shows what the articles cannot answer, and where they differ: an
unanswerable question lists the nearest articles under a label that says they do not
answer it; a "sources differ" note is visible under the answer."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from conftest import ask, screen_text

from assistant.tui.widgets.conversation import AnswerView

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_honest_answers import DEATHS, FLOODS_AS_OF, WORLD_CUP, write_stories  # noqa: E402


async def test_an_unanswerable_question_shows_the_nearest_articles(make_app):
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await ask(pilot, WORLD_CUP)
        text = " ".join(screen_text(app).split())
        assert "don't say who won the 2022 World Cup" in text
        assert "Nearest articles · they do not answer the question" in text
        assert app.chat.sources.prompts(), "the nearest articles are listed"
        view = app.chat.conversation.query(AnswerView).last()
        assert view.answer is not None and not view.answer.answerable


async def test_sources_that_differ_are_noted_under_the_answer(minilm, tmp_path):
    from assistant.api import NewsAssistant
    from assistant.config import Settings
    from assistant.tui.app import NewsApp
    from assistant.tui.state import ChatOptions

    corpus = write_stories(tmp_path / "articles")
    na = NewsAssistant(Settings(corpus=corpus, store=tmp_path / "store"), minilm)
    na.build_index()
    app = NewsApp(na, ChatOptions(as_of=FLOODS_AS_OF if isinstance(FLOODS_AS_OF, date) else None))
    async with app.run_test(size=(160, 45)) as pilot:
        await ask(pilot, DEATHS)
        text = " ".join(screen_text(app).split())
        assert "Sources differ on people:" in text and "says 30" in text and "says 23" in text
