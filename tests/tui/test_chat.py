"""Asking over the real seed index: the answer, its sources, the article view, and
the conversation keys."""

from __future__ import annotations

import json

from conftest import QUESTION, Messages, ask, settle, wait_until

from assistant.tui.messages import AnswerCompleted
from assistant.tui.screens.article import ArticleScreen
from assistant.tui.widgets.conversation import AnswerMarkdown, AnswerView
from assistant.tui.widgets.sources import QUOTE_STYLE


def highlighted(content) -> list[str]:
    """The parts of a Content drawn with the quote style."""
    return [content.plain[s.start:s.end] for s in content.spans if s.style == QUOTE_STYLE]


async def test_answer_cites_and_sources_show_the_quote_in_context(make_app):
    app = make_app()
    messages = Messages()
    async with app.run_test(message_hook=messages) as pilot:
        await ask(pilot)
        [view] = app.chat.conversation.query(AnswerView)
        body = view.query_one(AnswerMarkdown)
        assert "Grushko" in body.source and "`[1]`" in body.source
        shown = " ".join(block.content.plain for block in body.query("MarkdownBlock") if hasattr(block, "content"))
        assert "[1]" in shown
        [entry] = app.chat.sources.prompts()
        assert entry.startswith("[1] Russia and NATO note their disagreements")
        option = app.chat.sources.query_one("#source-list").get_option_at_index(0)
        [quote] = highlighted(option.prompt)
        assert "Fundamental" in quote
        before, _, after = option.prompt.plain.partition(quote)
        assert "after the meeting" in before and "Russian diplomacy" in after  # context around it
        [done] = messages.of(AnswerCompleted)
        assert done.saved_to is not None and done.saved_to.exists()  # saved after the answer
        assert json.loads(done.saved_to.read_text())["turns"][0]["question"] == QUESTION
        assert not messages.notifications("error")


async def test_selecting_a_source_opens_the_article_at_the_quote(make_app):
    app = make_app()
    async with app.run_test(size=(80, 16)) as pilot:
        await ask(pilot)
        app.chat.sources.query_one("#source-list").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ArticleScreen), what="the article view")
        await pilot.pause()
        screen = app.screen
        [para] = screen.query(".paragraph.-quote")
        assert "Fundamental" in "".join(highlighted(para.content))
        body = screen.query_one("#article-body")
        assert body.scroll_y > 0  # the quote is further down than one screen
        assert para.region.overlaps(body.region)  # and it is on screen
        await pilot.press("c")
        assert "Fundamental" in app.clipboard
        await pilot.press("escape")
        assert app.screen is app.chat


async def test_up_and_down_recall_earlier_questions(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await ask(pilot, "What did Stoltenberg say?")
        await ask(pilot, QUESTION)
        field = app.chat.question
        field.value = "draft"
        await pilot.press("up")
        assert field.value == QUESTION
        await pilot.press("up")
        assert field.value == "What did Stoltenberg say?"
        await pilot.press("up")
        assert field.value == "What did Stoltenberg say?"
        await pilot.press("down", "down")
        assert field.value == "draft"


async def test_copy_quote_new_conversation_and_reopen(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await ask(pilot)
        await pilot.press("ctrl+y")
        assert "Fundamental" in app.clipboard
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not app.chat.conversation.query(AnswerView)
        assert app.session.turns == [] and app.chat.sources.prompts() == []
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert app.session.id == "test-session" and len(app.session.turns) == 1
        assert "Fundamental" in app.chat.sources.prompts()[0]


async def test_resume_flag_reopens_the_last_conversation(make_app):
    first = make_app()
    async with first.run_test() as pilot:
        await ask(pilot)
    app = make_app(resume=True, session=None)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert [t.question for t in app.session.turns] == [QUESTION]
        [view] = app.chat.conversation.query(AnswerView)
        assert "Fundamental" in view.query_one(AnswerMarkdown).source
        assert "Fundamental" in app.chat.sources.prompts()[0]
        assert app.chat.question.history == [QUESTION]


async def test_model_server_down_falls_back_with_a_notice(make_app):
    from assistant.api import replace_settings

    app = make_app()
    app.na.settings = replace_settings(app.na.settings, openai_base_url="http://127.0.0.1:9/v1", timeout_seconds=3)
    app.options = type(app.options)(engine="openai", as_of=app.options.as_of)
    async with app.run_test() as pilot:
        await ask(pilot)
        [view] = app.chat.conversation.query(AnswerView)
        notices = str(view.query_one(".answer-notices").content)
        assert "cannot connect to the model server" in notices and "extractive" in notices
        assert "Fundamental" in view.query_one(AnswerMarkdown).source


async def test_settings_screen_sets_engine_as_of_and_filters(make_app):
    from textual.widgets import Input

    from assistant.tui.screens.settings import SettingsScreen

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        screen = app.screen
        screen.query_one("#as-of", Input).value = "2022-01-20"
        screen.query_one("#outlets", Input).value = "Le Monde"
        screen.query_one("#openai-model", Input).value = "qwen2.5"
        await pilot.click("#apply")
        await pilot.pause()
        assert app.screen is app.chat
        assert app.options.as_of.isoformat() == "2022-01-20"
        assert app.options.filters.sources == ("Le Monde",)
        assert app.na.settings.openai_model == "qwen2.5"
        assert "2022-01-20" in str(app.chat.status.query_one("#options-text").content)
        # The seed article is dated after the new as-of date: nothing to answer from.
        await ask(pilot)
        [view] = app.chat.conversation.query(AnswerView)
        assert "No answer found" in view.query_one(AnswerMarkdown).source


async def test_bad_date_in_settings_is_explained_not_applied(make_app):
    from textual.widgets import Input

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await pilot.pause()
        app.screen.query_one("#as-of", Input).value = "not a date"
        await pilot.click("#apply")
        await pilot.pause()
        assert "cannot read the date" in str(app.screen.query_one("#settings-error").content)
        await pilot.press("escape")
        assert app.options.as_of.isoformat() == "2022-02-01"


async def test_command_palette_runs_chat_commands(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await ask(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"new conversation")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.session.turns, what="the new conversation")


async def test_layout_stacks_sources_when_narrow_and_puts_them_beside_when_wide(make_app):
    for size, beside in (((80, 24), False), ((140, 40), True)):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await ask(pilot)
            chat, sources = app.chat.query_one("#chat").region, app.chat.sources.region
            assert sources.height > 3 and sources.width > 30
            if beside:
                assert sources.x >= chat.right and sources.y == chat.y
            else:
                assert sources.y >= chat.bottom and sources.width == chat.width
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert not app.chat.sources.display or app.chat.sources.region.height == 0


async def test_clicking_a_source_opens_it_and_clicking_an_answer_shows_its_sources(make_app):
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await ask(pilot, "What did Stoltenberg say about the differences?")
        first_sources = app.chat.sources.prompts()
        await ask(pilot, QUESTION)
        assert app.chat.sources.prompts() != first_sources
        first, second = app.chat.conversation.query(AnswerView)
        assert second.has_class("-current")
        await pilot.click(first)
        await pilot.pause()
        assert app.chat.sources.prompts() == first_sources and first.has_class("-current")
        await pilot.click("#source-list", offset=(4, 1))
        await wait_until(pilot, lambda: isinstance(app.screen, ArticleScreen), what="the article view")
        assert "difficult to overcome" in app.screen.citation.quote
