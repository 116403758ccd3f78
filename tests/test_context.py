"""The answerer's context (assistant/context.py): the answering passage of each
article, neighbouring sentences at a passage's edge, a token budget, and stories not
crowding it. Logic on tmp corpora with the fast HashingEmbedder (passage choice is
lexical); one behaviour test over the seed with the real model and FAISS."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

try:
    from answer_fixtures import GRUSHKO_PARAGRAPH_MARK, make_assistant, seed_index, write_txt
except ImportError:  # tests/ made a package
    from tests.answer_fixtures import GRUSHKO_PARAGRAPH_MARK, make_assistant, seed_index, write_txt

from assistant.context import build_context, widen_passage
from assistant.retriever import Retriever
from assistant.timecues import TimeWindow
from index.chunker import count_tokens
from stand_in import HashingEmbedder

AS_OF = date(2022, 7, 1)

LEAD = ("The basketball star appeared in court near the capital on Monday, her lawyers said, in a case "
        "followed closely by fans of her club and by diplomats of both countries.")
FILLER = [
    "Her club said it was in daily contact with her family and with officials, and asked fans for patience "
    "while talks went on behind closed doors between the two governments. " * 3,
    "Analysts said the case had become part of a wider dispute between the two governments over prisoners, "
    "sanctions and the expulsion of diplomats from both embassies earlier in the spring. " * 2,
    "Supporters gathered outside the building holding signs, and several players from the league sent "
    "messages of support on social media, calling for her quick return home. " * 3,
]
ANSWER = "The Khimki court extended her detention by six months pending the trial."
TAIL = "Her lawyers said they would appeal the decision to a higher court within days."


def build(tmp_path: Path, write) -> Retriever:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write(corpus)
    na = make_assistant(HashingEmbedder(), corpus, tmp_path / "store", tmp_path / "home")
    assert na.build_index().published
    return na.retriever()


@pytest.fixture(scope="module")
def court(tmp_path_factory) -> Retriever:
    def write(c: Path) -> None:
        # The answer sits deep in the article, in a chunk of its own; the lead does not
        # name the court or the months.
        write_txt(c, "griner.txt", "Basketball star appears in court", [LEAD, *FILLER, ANSWER + " " + TAIL], "2022-06-27")
        for name, text in (("other.txt", "The basketball league opened its season with a game on Monday night."),
                           ("other2.txt", "A basketball arena in the capital reopened after repairs."),
                           ("other3.txt", "The basketball club signed a new coach for the season.")):
            write_txt(c, name, "Basketball news", [text], "2022-06-28")
    return build(tmp_path_factory.mktemp("court"), write)


QUESTION = "By how many months did the Khimki court extend the detention?"


def exact(retriever: Retriever, hits) -> bool:
    return all(retriever.store.article_text(h.article_id)[h.start : h.end] == h.text for h in hits)


def test_the_passage_with_the_questions_specific_terms_is_handed_over(court):
    chunks = court.chunks_of_article("griner.txt")
    assert len(chunks) >= 3 and ANSWER not in chunks[0].text + chunks[1].text
    res = court.search(QUESTION, k=5, as_of=AS_OF)
    ctx = build_context(QUESTION, res, court, budget_tokens=1000)
    first = ctx[0]
    assert first.file == "griner.txt" and ANSWER in first.text
    assert first.chunk_id == next(c.id for c in chunks if ANSWER in c.text)
    assert exact(court, ctx)


def test_the_lead_is_preferred_when_it_matches_about_as_well(court):
    # Only the lead and the title speak of a basketball star in court on Monday.
    q = "Which basketball star appeared in court near the capital on Monday?"
    res = court.search(q, k=5, as_of=AS_OF)
    ctx = build_context(q, res, court, budget_tokens=1000)
    assert ctx[0].file == "griner.txt" and ctx[0].text.startswith(LEAD[:40])
    # Without the share for the lead, the best keyword chunk alone decides.
    plain = build_context(q, res, court, budget_tokens=1000, lead_share=0.0)
    assert plain[0].start >= ctx[0].start


def test_an_answer_sentence_at_a_passage_edge_gets_its_neighbour(court):
    text = court.store.article_text("griner.txt")
    res = court.search(QUESTION, k=5, as_of=AS_OF)
    hit = next(h for h in res.hits if h.file == "griner.txt")
    a = text.index(ANSWER)
    # A passage that opens with the answer sentence gets the sentence before it; one that
    # ends with it, the sentence after it; one with the answer inside stays as it is.
    opens = replace(hit, start=a, end=len(text), text=text[a:])
    w = widen_passage(opens, QUESTION, court)
    assert w.start < a and w.end == len(text) and w.text == text[w.start : w.end]
    assert text[w.start : a].strip().endswith("return home.")
    ends = replace(hit, start=a - 200, end=a + len(ANSWER), text=text[a - 200 : a + len(ANSWER)])
    ends = replace(ends, start=text.rfind(". ", 0, a - 100) + 2, text=text[text.rfind(". ", 0, a - 100) + 2 : a + len(ANSWER)])
    w = widen_passage(ends, QUESTION, court)
    assert w.start == ends.start and text[w.start : w.end].endswith(TAIL)
    inside = replace(ends, end=len(text), text=text[ends.start :])
    assert widen_passage(inside, QUESTION, court) == inside
    assert widen_passage(opens, "unrelated words entirely", court) == opens


def test_the_budget_holds_and_the_first_passage_is_always_given(court):
    res = court.search("basketball court capital Monday", k=5, as_of=AS_OF)
    small = build_context("basketball court capital Monday", res, court, budget_tokens=5)
    assert len(small) == 1 and count_tokens(small[0].text) > 5
    for budget in (150, 300, 2000):
        ctx = build_context("basketball court capital Monday", res, court, budget_tokens=budget)
        assert sum(count_tokens(h.text) for h in ctx) <= budget or len(ctx) == 1
        assert exact(court, ctx)
        for i, a in enumerate(ctx):  # no text twice
            assert all(a.article_id != b.article_id or min(a.end, b.end) <= max(a.start, b.start) for b in ctx[i + 1:])
    assert len(build_context("basketball court capital Monday", res, court, budget_tokens=2000)) > len(
        build_context("basketball court capital Monday", res, court, budget_tokens=150))


def test_a_story_does_not_crowd_the_context(court):
    res = court.search("basketball", k=10, as_of=AS_OF)
    by_file = {h.file: h for h in res.hits}
    # Three reports of story 0 ranked above one of story 1.
    hits = [replace(by_file[f], story=n) for f, n in
            (("griner.txt", 0), ("other.txt", 0), ("other2.txt", 0), ("other3.txt", 1))]
    ctx = build_context("basketball", hits, court, budget_tokens=5000, per_story=2)
    assert [h.file for h in ctx[:4]] == ["griner.txt", "other.txt", "other3.txt", "other2.txt"]
    ctx = build_context("basketball", hits, court, budget_tokens=5000, per_story=None)
    assert [h.file for h in ctx[:4]] == ["griner.txt", "other.txt", "other2.txt", "other3.txt"]


def test_one_article_fills_the_budget_with_its_best_passages(court):
    # A folder of one long article: the context is that article's best passages while the
    # budget lasts (not its best one alone), each sentence once.
    res = court.search(QUESTION, k=5, as_of=AS_OF)
    only = [h for h in res.hits if h.file == "griner.txt"][:1]
    chunks = court.chunks_of_article("griner.txt")
    text = court.store.article_text("griner.txt")
    ctx = build_context(QUESTION, only, court, budget_tokens=2000)
    assert ANSWER in ctx[0].text and exact(court, ctx)
    # All of it, the answering chunk first, and no text twice.
    spans = sorted((h.start, h.end) for h in ctx)
    assert spans[0][0] == chunks[0].start and spans[-1][1] == chunks[-1].end
    assert all(not text[e:s].strip() for (_, e), (s, _) in zip(spans, spans[1:]))
    assert all(e <= s for (_, e), (s, _) in zip(spans, spans[1:]))
    # A budget of about two chunks: the answering chunk first, then more of the article.
    answering = next(c for c in chunks if ANSWER in c.text)
    budget = 2 * max(count_tokens(c.text) for c in chunks)
    small = build_context(QUESTION, only, court, budget_tokens=budget)
    assert ANSWER in small[0].text and exact(court, small)
    assert sum(len(h.text) for h in small) > len(answering.text)
    assert sum(count_tokens(h.text) for h in small) <= budget
    for i, a in enumerate(small):  # no text twice
        assert all(min(a.end, b.end) <= max(a.start, b.start) for b in small[i + 1:])


def test_a_question_bound_to_a_time_gets_that_times_reports_first(court):
    res = court.search(QUESTION, k=5, as_of=AS_OF)
    assert res.hits[0].file == "griner.txt"  # 2022-06-27; the others are from 2022-06-28
    # "yesterday" as of 2022-07-01 reaches back to 2022-06-28 with the window's slack.
    bound = TimeWindow(date(2022, 6, 30), date(2022, 7, 1), "yesterday")
    assert bound.earliest == date(2022, 6, 28) and bound.holds("2022-06-28") and not bound.holds("2022-06-27")
    ctx = build_context(QUESTION, replace(res, window=bound), court, budget_tokens=5000)
    firsts = list(dict.fromkeys(h.file for h in ctx))
    assert firsts[-1] == "griner.txt" and len(firsts) == 4  # still handed over, after the others
    # A window that guides retrieval without binding the answer leaves the rank order.
    guide = replace(bound, cue="the latest", strength="soft", binding=False)
    assert build_context(QUESTION, replace(res, window=guide), court, budget_tokens=5000)[0].file == "griner.txt"


def test_no_hits_no_context(court):
    assert build_context(QUESTION, [], court) == []


@pytest.mark.slow
def test_seed_context_with_the_real_model(tmp_path_factory, minilm):
    na = seed_index(tmp_path_factory, minilm).assistant()
    retriever = na.retriever()
    q = "How did Grushko describe the differences?"
    res = retriever.search(q, k=5, as_of=date(2022, 2, 1))
    ctx = build_context(q, res, retriever, budget_tokens=400)
    assert ctx and GRUSHKO_PARAGRAPH_MARK in ctx[0].text and "Fundamental" in ctx[0].text
    assert exact(retriever, ctx)
    assert sum(count_tokens(h.text) for h in ctx) <= 400


def test_the_budget_is_the_engines_unless_set(monkeypatch):
    from assistant.config import EXTRACTIVE_CONTEXT_TOKENS, MODEL_CONTEXT_TOKENS, load_settings

    settings = load_settings({})
    assert settings.context_budget(model=False) == EXTRACTIVE_CONTEXT_TOKENS == 600
    assert settings.context_budget(model=True) == MODEL_CONTEXT_TOKENS == 1000
    monkeypatch.setenv("NEWS_ASSISTANT_CONTEXT_TOKENS", "800")
    settings = load_settings({})
    assert settings.context_budget(model=False) == settings.context_budget(model=True) == 800
