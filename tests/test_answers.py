"""Answers on the seed with the real model: the Grushko question is answered with a
verbatim, correctly placed quote; the answerer's engines, fallbacks and cancel."""

from __future__ import annotations

import threading
from datetime import date

import pytest

try:
    from answer_fixtures import (GRUSHKO_PARAGRAPH_MARK, PRESS_BRIEFING_MARK, SEED_DATE, chunk_with, paragraph_at,
                                 seed_index, store_hits)
except ImportError:  # tests/ made a package
    from tests.answer_fixtures import (GRUSHKO_PARAGRAPH_MARK, PRESS_BRIEFING_MARK, SEED_DATE, chunk_with,
                                       paragraph_at, seed_index, store_hits)

from assistant.answer.answerability import Assessment
from assistant.answer.answerer import Answerer
from assistant.answer.checker import check_answer
from assistant.answer.extractive import ExtractiveEngine
from assistant.answer.types import Draft
from assistant.errors import EngineError
from assistant.timecues import TimeWindow

pytestmark = pytest.mark.slow
AS_OF = date(2022, 2, 1)
QUESTION = "How did Grushko describe the differences?"


@pytest.fixture(scope="module")
def seed_idx(tmp_path_factory, minilm):
    return seed_index(tmp_path_factory, minilm)


@pytest.fixture(scope="module")
def na(seed_idx):
    return seed_idx.assistant()


@pytest.fixture(scope="module")
def grushko_answer(na):
    return na.ask(QUESTION, as_of=AS_OF)


def test_grushko_question_cites_fundamental_in_the_right_paragraph(na, grushko_answer):
    ans = grushko_answer
    store = na.store()
    assert ans.engine == "extractive" and ans.notices == ()
    assert ans.hits, "the seed passage was not retrieved"
    fundamental = [c for c in ans.citations if "Fundamental" in c.quote]
    assert fundamental, [c.quote for c in ans.citations]
    c = fundamental[0]
    text = store.article_text(c.article_id)
    assert text[c.start : c.end] == c.quote
    assert GRUSHKO_PARAGRAPH_MARK in paragraph_at(text, c.start, c.end)
    assert c.file == c.article_id == "000_5e6fe0b14c7628e6.txt"
    assert c.date == SEED_DATE and c.title.startswith("Russia and NATO")
    # The sentence that carries it is shown as supported, with its number in the text.
    carrying = [s for s in ans.sentences if c.n in s.citations]
    assert carrying and all(s.status == "supported" for s in carrying)
    assert f"[{c.n}]" in ans.text
    assert check_answer(ans, store) == []


def test_answer_records_what_answered(na, grushko_answer):
    info = grushko_answer.store
    manifest = na.store().manifest
    assert grushko_answer.generation == manifest.generation >= 1
    assert grushko_answer.as_json()["store"]["generation"] == manifest.generation
    assert info["model"] == "all-MiniLM-L6-v2"
    assert grushko_answer.as_of == "2022-02-01" and grushko_answer.search_query == QUESTION


def test_as_of_before_the_article_leaves_it_out(na):
    ans = na.ask(QUESTION, as_of=date(2022, 1, 22))
    assert ans.hits == () and ans.citations == () and ans.text == ""
    assert any("No passage" in n for n in ans.notices)
    assert any("1 article(s) dated after 2022-01-22" in n for n in ans.notices)


def test_extractive_sentences_are_verbatim_and_supported(na, grushko_answer):
    for s in grushko_answer.sentences:
        assert s.status == "supported"
        assert any(s.text in h.text for h in grushko_answer.hits)
    sel = ExtractiveEngine(na.embedder).select(QUESTION, grushko_answer.hits)
    assert any("Fundamental" in span.text for span in sel)


# -- the answerer with stand-in engines --------------------------------------------------


class ScriptedEngine:
    name = "scripted"

    def __init__(self, pieces, error: EngineError | None = None, cancel_after: int | None = None):
        self.pieces = pieces
        self.error = error
        self.cancel_after = cancel_after
        self.prompts: list[str] = []

    def generate(self, prompt, on_token=None, cancel=None):
        self.prompts.append(prompt)
        out = []
        for i, p in enumerate(self.pieces):
            if cancel is not None and self.cancel_after is not None and i == self.cancel_after:
                cancel.set()
            if cancel is not None and cancel.is_set():
                return "".join(out)
            out.append(p)
            if on_token:
                on_token(p)
        if self.error:
            raise self.error
        return "".join(out)


@pytest.fixture(scope="module")
def two_hits(na):
    store = na.store()
    return store_hits(store, [chunk_with(store, "Alexander Grushko", PRESS_BRIEFING_MARK),
                              chunk_with(store, "missiles", exclude=("Alexander Grushko",))])


def test_model_answer_is_grounded_and_streamed(na, two_hits):
    pieces = ["Grushko spoke of an exchange ", '"Frank and clear as ever" [2]. ',
              'He called the talks "a total betrayal of Europe" [1].']
    engine = ScriptedEngine(pieces)
    drafts: list[Draft] = []
    ans = Answerer(na.embedder, engine).answer("What did Grushko say?", two_hits, as_of=AS_OF, on_draft=drafts.append)
    # First "reading 2 passages", then each sentence once it is grounded, in the
    # numbering of the finished answer.
    assert drafts[0].sentences == () and drafts[0].passages == 2 and drafts[0].engine == "scripted"
    assert [len(d.sentences) for d in drafts] == [0, 1, 2]
    assert drafts[-1].sentences == ans.sentences and drafts[-1].citations == ans.citations
    assert ans.engine == "scripted" and ans.notices == ()
    first, second = ans.sentences
    assert first.status == "supported" and "corrected" in first.note
    assert second.status == "unverified"
    assert ans.citations[0].chunk_id == two_hits[0].chunk_id
    assert check_answer(ans, na.store()) == []
    # The prompt fences the passages and carries the question and the as-of date.
    prompt = engine.prompts[0]
    assert '<passage n="1">' in prompt and '<passage n="2">' in prompt
    assert "What did Grushko say?" in prompt and "2022-02-01" in prompt


def test_engine_failure_falls_back_to_extractive_with_a_notice(na, two_hits):
    engine = ScriptedEngine(["Grushko said "], error=EngineError("the model server went away", hint="Check it."))
    drafts: list[Draft] = []
    ans = Answerer(na.embedder, engine).answer(QUESTION, two_hits, as_of=AS_OF, on_draft=drafts.append)
    assert ans.engine == "extractive"
    assert len(ans.notices) == 1 and "the model server went away" in ans.notices[0]
    assert "extractive" in ans.notices[0]
    assert ans.citations and all(s.status == "supported" for s in ans.sentences)
    assert drafts[-1].sentences == ans.sentences  # the extractive answer was shown too
    assert check_answer(ans, na.store()) == []


@pytest.mark.parametrize("error, expected", [
    (EngineError("cannot connect to the model server"), "cannot connect to the model server. Showing the extractive answer instead."),
    (EngineError("it broke", hint="Check its log."), "it broke. Check its log. Showing the extractive answer instead."),
])
def test_fallback_notice_reads_well(na, two_hits, error, expected):
    ans = Answerer(na.embedder, ScriptedEngine([], error=error)).answer(QUESTION, two_hits, as_of=AS_OF)
    assert ans.notices == (expected,)


def test_empty_model_output_falls_back_to_extractive(na, two_hits):
    ans = Answerer(na.embedder, ScriptedEngine(["  "])).answer(QUESTION, two_hits, as_of=AS_OF)
    assert ans.engine == "extractive" and ans.citations


def test_cancel_keeps_the_partial_answer_without_fallback(na, two_hits):
    cancel = threading.Event()
    engine = ScriptedEngine(["Grushko judged the differences fundamental [1]. ", "More text."], cancel_after=1)
    ans = Answerer(na.embedder, engine).answer(QUESTION, two_hits, as_of=AS_OF, cancel=cancel)
    assert ans.cancelled
    assert ans.engine == "scripted"
    assert [s.text for s in ans.sentences] == ["Grushko judged the differences fundamental."]


def test_cancelled_ask_is_not_added_to_the_session(na):
    from assistant.session import ChatSession

    cancel = threading.Event()
    cancel.set()
    session = ChatSession()
    ans = na.ask(QUESTION, session=session, as_of=AS_OF, cancel=cancel)
    assert ans.cancelled and session.turns == []


def test_a_model_reads_only_the_passages_from_the_questions_time(na, two_hits):
    # The assessment says only the second passage is from the question's time: the model
    # is handed that one alone, as passage 1, and the reader is told what was set aside.
    week = TimeWindow(date(2022, 1, 24), AS_OF, "this week")
    second = two_hits[1].text.split(".")[0]
    engine = ScriptedEngine([f'"{second}" [1].'])
    ans = Answerer(na.embedder, engine).answer(
        "What happened this week?", two_hits, as_of=AS_OF,
        assess=lambda q, hits: Assessment(True, 1.0, window=week, usable=(1,)))
    prompt = engine.prompts[0]
    assert '<passage n="1">' in prompt and '<passage n="2">' not in prompt
    assert two_hits[1].text[:60] in prompt and two_hits[0].text[:60] not in prompt
    assert ans.hits == (two_hits[1],) and [c.chunk_id for c in ans.citations] == [two_hits[1].chunk_id]
    assert ans.notices == ("Only reports dated 2022-01-22 to 2022-02-01 were read (“this week”); "
                           "1 passage from other times was set aside.",)
    # When no passage is from then, the answer says so, and all of them are the nearest.
    refused = Answerer(na.embedder, engine).answer(
        "What happened this week?", two_hits, as_of=AS_OF,
        assess=lambda q, hits: Assessment(False, 0.0, window=week, usable=()))
    assert not refused.answerable and refused.hits == tuple(two_hits)
    assert any("none of the nearest articles is dated then" in n for n in refused.notices)


def test_no_hits_gives_a_notice_not_an_error(na):
    ans = Answerer(na.embedder, ScriptedEngine(["never called"])).answer(QUESTION, [], as_of=AS_OF)
    assert ans.sentences == () and ans.citations == () and ans.notices


@pytest.mark.parametrize("model_path", [None, "missing.gguf", "present"])
def test_llama_cpp_engine_problems_end_in_a_notice_and_the_extractive_answer(seed_idx, tmp_path, model_path):
    """No model configured, a missing file, or llama-cpp-python not installed (it is
    an optional extra that compiles on install): each is a message, never a crash."""
    if model_path == "present":
        model_path = tmp_path / "model.gguf"
        model_path.write_bytes(b"GGUF not really")
    na = seed_idx.assistant(engine="llama-cpp", llama_model_path=str(model_path) if model_path else None)
    ans = na.ask(QUESTION, as_of=AS_OF)
    assert ans.engine == "extractive"
    assert ans.notices and "extractive answer instead" in ans.notices[0]
    if model_path is None:
        assert "no GGUF model file" in ans.notices[0]
    elif model_path == "missing.gguf":
        assert "does not exist" in ans.notices[0]
    else:  # a file that is no model: not installed here, or refused by llama.cpp
        assert "llama-cpp-python is not installed" in ans.notices[0] or "cannot load the model" in ans.notices[0]
    assert any("Fundamental" in c.quote for c in ans.citations)
