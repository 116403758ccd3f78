"""Chat sessions: follow-up questions become standalone searches (on the seed, with the
real model), and conversations save and reopen intact."""

from __future__ import annotations

import json
import os
import time
from datetime import date

import pytest

try:
    from answer_fixtures import PRESS_BRIEFING_MARK, SHERMAN_MARK, seed_index
except ImportError:  # tests/ made a package
    from tests.answer_fixtures import PRESS_BRIEFING_MARK, SHERMAN_MARK, seed_index

from assistant.session import (ChatSession, carry_over_terms, is_followup, list_sessions, load_session,
                               rewrite_followup, save_session)
from index.errors import NewsAssistantError

AS_OF = date(2022, 2, 1)
FIRST = "How did Grushko describe the differences?"


# -- rewriting without a model ---------------------------------------------------------


@pytest.mark.parametrize("question, expected", [
    ("What did he say after that?", True),
    ("And the Americans?", True),
    ("What about Sherman?", True),
    ("Why?", True),
    ("What did the NATO secretary general say about missiles in Europe?", False),
    ("How did Grushko describe the differences?", False),
])
def test_is_followup(question, expected):
    assert is_followup(question) is expected


def test_a_short_question_naming_a_new_topic_is_not_a_follow_up():
    harbour = "When did the harbour of Saltmarsh reopen?"
    assert not is_followup("What did Grushko say about the talks?", harbour)
    assert rewrite_followup("What did Grushko say about the talks?", [harbour]) == "What did Grushko say about the talks?"
    # Naming what the last search named, or nothing at all, still leans on it.
    assert is_followup("What did Grushko say?", FIRST) and is_followup("Why?", FIRST)
    assert is_followup("What about Sherman?", FIRST)  # "what about": a continuation


def test_rewrite_carries_names_and_topic_of_the_last_search():
    q = rewrite_followup("What did he say after that?", [FIRST])
    assert q.startswith("What did he say after that?")
    assert "Grushko" in q and "differences" in q
    # Nothing is added twice, and pronouns or stopwords are never carried.
    assert carry_over_terms("How did Grushko describe the differences?", "What did Grushko say?") == [
        "describe", "differences"]
    assert carry_over_terms("What did he say about that?", "And then?") == []


def test_standalone_question_is_left_alone():
    q = "What did Wendy Sherman tell the Europeans in Brussels?"
    assert rewrite_followup(q, [FIRST]) == q
    assert rewrite_followup("What did he say?", []) == "What did he say?"


# -- follow-ups on the seed ------------------------------------------------------------



@pytest.fixture(scope="module")
def seed_idx(tmp_path_factory, minilm):
    return seed_index(tmp_path_factory, minilm)


@pytest.fixture(scope="module")
def conversation(seed_idx):
    na = seed_idx.assistant()
    session = ChatSession()
    answers = [na.ask(q, session=session, as_of=AS_OF)
               for q in (FIRST, "What did he say after that?", "And the Americans?")]
    return na, session, answers


@pytest.mark.slow
def test_followup_searches_carry_the_subject(conversation):
    na, session, (first, second, third) = conversation
    assert [t.question for t in session.turns] == [FIRST, "What did he say after that?", "And the Americans?"]
    assert first.search_query == FIRST
    assert second.search_query != second.question and "Grushko" in second.search_query
    assert "Americans" in third.search_query


@pytest.mark.slow
def test_what_did_he_say_after_that_finds_the_press_briefing(conversation):
    _, _, (_, second, _) = conversation
    assert any(PRESS_BRIEFING_MARK in h.text for h in second.hits), [h.text[:60] for h in second.hits]


@pytest.mark.slow
def test_and_the_americans_finds_wendy_sherman(conversation):
    _, _, (_, _, third) = conversation
    assert any(SHERMAN_MARK in h.text for h in third.hits), [h.text[:60] for h in third.hits]


@pytest.mark.slow
def test_followups_are_grounded_and_verbatim(conversation):
    from assistant.answer.checker import check_answer

    na, _, answers = conversation
    for a in answers:
        assert a.citations and check_answer(a, na.store()) == []


@pytest.mark.slow
def test_model_rewrite_is_used_when_an_engine_is_given(seed_idx):
    class Rewriter:
        name = "rewriter"

        def __init__(self):
            self.prompts = []

        def generate(self, prompt, on_token=None, cancel=None):
            self.prompts.append(prompt)
            return '"What did Wendy Sherman say after the NATO-Russia Council?"\nextra line'

    na = seed_idx.assistant()
    session = ChatSession()
    na.ask(FIRST, session=session, as_of=AS_OF)
    engine = Rewriter()
    query, notices = na.standalone_query("And the Americans?", session, engine)
    assert query == "What did Wendy Sherman say after the NATO-Russia Council?" and notices == []
    assert "User: " + FIRST in engine.prompts[0] and "And the Americans?" in engine.prompts[0]


def test_failing_model_rewrite_falls_back_with_a_notice(tmp_path):
    from assistant.api import NewsAssistant
    from stand_in import HashingEmbedder
    from assistant.errors import EngineError

    try:
        from answer_fixtures import make_hit
    except ImportError:
        from tests.answer_fixtures import make_hit
    from assistant.answer.types import Answer
    from assistant.session import Turn

    class Broken:
        name = "broken"

        def generate(self, prompt, on_token=None, cancel=None):
            raise EngineError("server down")

    na = NewsAssistant.from_settings(embedder=HashingEmbedder(), corpus=tmp_path, store=tmp_path / "s")
    session = ChatSession(turns=[Turn(FIRST, Answer(FIRST, (), (), (make_hit("x"),), "extractive",
                                                    search_query=FIRST))])
    query, notices = na.standalone_query("What did he say after that?", session, Broken())
    assert "Grushko" in query
    assert len(notices) == 1 and "server down" in notices[0]


# -- saving and reopening ---------------------------------------------------------------


@pytest.mark.slow
def test_save_and_load_round_trip(conversation, tmp_path):
    _, session, _ = conversation
    folder = tmp_path / "conversations"
    path = save_session(session, folder)
    assert path == folder / f"{session.id}.json"
    assert list_sessions(folder) == [path]
    assert not list(folder.glob("*.tmp"))
    loaded = load_session(path)
    assert loaded.id == session.id and loaded.created == session.created
    assert json.loads(json.dumps(loaded.as_json())) == json.loads(json.dumps(session.as_json()))
    a, b = session.turns[0].answer, loaded.turns[0].answer
    assert b.citations == a.citations and b.sentences == a.sentences
    assert [h.as_json() for h in b.hits] == [h.as_json() for h in a.hits]
    assert b.store == a.store and b.generation == a.generation >= 1
    # A reopened conversation goes on where it stopped.
    assert loaded.previous_queries() == session.previous_queries()


def test_default_folder_and_order(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWS_ASSISTANT_HOME", str(tmp_path))
    assert list_sessions() == []
    first = save_session(ChatSession(id="b-first"))
    second = save_session(ChatSession(id="a-second"))
    os.utime(first, (time.time() - 100, time.time() - 100))
    assert list_sessions() == [first, second]  # oldest first, whatever the names
    assert first.parent == tmp_path / "conversations"
    assert load_session(second).turns == [] and load_session(second).title == "(empty)"


@pytest.mark.parametrize("content", ["{not json", '{"id": "x"}', '{"id": "x", "created": "c", "turns": [{}]}', "[]"])
def test_damaged_conversation_is_a_friendly_error(tmp_path, content):
    p = tmp_path / "bad.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(NewsAssistantError) as e:
        load_session(p)
    assert "cannot reopen" in e.value.message and e.value.hint
