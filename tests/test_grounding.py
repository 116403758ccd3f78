"""Grounding: every sentence of a model's answer is tied to a verbatim span of a
passage; invented quotes, wrong and invented citations and unsupported sentences are
caught. Runs on passages of the real seed index so offsets can be checked against the
stored article text."""

from __future__ import annotations

import pytest

try:
    from answer_fixtures import PRESS_BRIEFING_MARK, chunk_with, seed_index, store_hits
except ImportError:  # tests/ made a package
    from tests.answer_fixtures import PRESS_BRIEFING_MARK, chunk_with, seed_index, store_hits

from assistant.answer.checker import check_answer
from assistant.answer.grounding import ground, split_answer
from assistant.answer.text import normalize_for_quote, quoted_segments
from assistant.answer.types import Answer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory, minilm):
    return seed_index(tmp_path_factory, minilm).assistant().store()


@pytest.fixture(scope="module")
def hits(store):
    """[1] = the Grushko / press-briefing passage, [2] = the Stoltenberg-on-missiles
    passage; they do not overlap, so each sentence below has exactly one right answer."""
    grushko = chunk_with(store, "Alexander Grushko", PRESS_BRIEFING_MARK)
    missiles = chunk_with(store, "missiles", exclude=("Alexander Grushko",))
    got = store_hits(store, [grushko, missiles])
    assert got[0].end <= got[1].start
    return got


def as_answer(text: str, hits) -> Answer:
    g = ground(text, hits)
    return Answer(question="q", sentences=g.sentences, citations=g.citations, hits=tuple(hits), engine="test")


def assert_verbatim(answer: Answer, store) -> None:
    assert check_answer(answer, store) == []
    for c in answer.citations:
        assert store.article_text(c.article_id)[c.start : c.end] == c.quote


def test_fabricated_quote_is_unverified(hits, store):
    ans = as_answer('Grushko called the talks "a total betrayal of Europe" [1].', hits)
    (s,) = ans.sentences
    assert s.status == "unverified"
    assert "a total betrayal of Europe" in s.note
    assert_verbatim(ans, store)


def test_real_quote_with_other_quote_marks_and_whitespace_is_verified(hits, store):
    # The article prints “Frank and clear as ever” with curly quotes and single spaces.
    for text in ('Grushko spoke of an exchange "Frank and  clear\n as ever" [1].',
                 "Grushko spoke of an exchange \u201cFrank and clear as ever\u201d [1].",
                 "Grushko spoke of an exchange \u00abFrank   and clear as ever\u00bb [1]."):
        ans = as_answer(text, hits)
        (s,) = ans.sentences
        assert s.status == "supported", (text, s)
        (c,) = ans.citations
        assert PRESS_BRIEFING_MARK in c.quote
        assert c.chunk_id == hits[0].chunk_id
        assert_verbatim(ans, store)


def test_quote_check_is_exact_apart_from_spacing_and_quote_marks(hits):
    # A changed word inside the quotation marks is not the article's text.
    ans = as_answer('Grushko spoke of an exchange "Frank and honest as ever" [1].', hits)
    assert ans.sentences[0].status == "unverified"


def test_wrong_passage_is_corrected(hits, store):
    ans = as_answer("Stoltenberg suggested further discussions on missiles and their use on European soil [1].", hits)
    (s,) = ans.sentences
    assert s.status == "supported"
    assert "corrected" in s.note
    (c,) = ans.citations
    assert c.chunk_id == hits[1].chunk_id and "missiles" in c.quote
    assert s.citations == (c.n,)
    assert_verbatim(ans, store)


def test_model_citing_the_wrong_passage_two_is_corrected(hits, store):
    ans = as_answer("At a press briefing Grushko described a frank and clear exchange without progress [2].", hits)
    (s,) = ans.sentences
    assert s.status == "supported" and "[2]" in s.note
    (c,) = ans.citations
    assert c.chunk_id == hits[0].chunk_id and PRESS_BRIEFING_MARK in c.quote
    assert_verbatim(ans, store)


def test_citation_to_nonexistent_passage_is_dropped(hits, store):
    ans = as_answer("Grushko judged the differences fundamental [7].", hits)
    (s,) = ans.sentences
    assert "[7]" not in ans.text
    assert "does not exist" in s.note
    # The sentence is still supported by the real passage, under a real number.
    assert s.status == "supported" and s.citations == (1,)
    assert ans.citations[0].chunk_id == hits[0].chunk_id
    assert_verbatim(ans, store)


def test_sentence_without_support_is_unsupported(hits, store):
    ans = as_answer("The weather in Paris was sunny and warm all week [1]. "
                    "Grushko judged the differences fundamental [1].", hits)
    first, second = ans.sentences
    assert first.status == "unsupported" and first.citations == ()
    assert second.status == "supported"
    assert "[1]" not in ans.text.split(".")[0]  # no number on the unsupported sentence
    assert_verbatim(ans, store)


def test_citation_numbers_follow_the_quotes(hits, store):
    ans = as_answer('Grushko judged the differences fundamental [2]. He spoke of "Frank and clear as ever" [2]. '
                    "Stoltenberg wants talks on missiles on European soil [1].", hits)
    assert [s.status for s in ans.sentences] == ["supported"] * 3
    assert [c.n for c in ans.citations] == [1, 2, 3]
    assert [s.citations for s in ans.sentences] == [(1,), (2,), (3,)]
    assert ans.text.count("[") == 3
    assert_verbatim(ans, store)


def test_checker_catches_a_quote_that_is_not_the_article_text(hits, store):
    from dataclasses import replace

    ans = as_answer("Grushko judged the differences fundamental [1].", hits)
    assert check_answer(ans, store) == []
    (c,) = ans.citations
    problems = check_answer(replace(ans, citations=(replace(c, start=c.start + 1),)), store)
    assert [p.n for p in problems] == [c.n]
    gone = replace(ans, citations=(replace(c, article_id="gone.txt"),))
    assert "no longer in the index" in check_answer(gone, store)[0].reason


def test_a_quote_that_fails_the_check_takes_its_marker_with_it(hits, store):
    """The check runs before a citation is numbered: a failing quote leaves no [n]
    behind in the text, and later citations are numbered without a gap."""
    from assistant.answer.checker import verifier

    real = verifier(store)
    g = ground("Grushko judged the differences fundamental [1]. "
               "Stoltenberg wants talks on missiles on European soil [2].", hits,
               verify=lambda c: c.chunk_id != hits[0].chunk_id and real(c))
    first, second = g.sentences
    assert first.status == "unverified" and first.citations == () and "check" in first.note
    assert second.status == "supported" and second.citations == (1,)
    assert [c.n for c in g.citations] == [1] and g.citations[0].chunk_id == hits[1].chunk_id


def test_streamed_text_is_grounded_sentence_by_sentence_in_the_final_numbering(hits, store):
    """Fed token by token, a sentence is final once the next has begun: the numbers
    shown while the model writes are the numbers of the finished answer."""
    from assistant.answer.grounding import Grounder

    text = ("Stoltenberg wants talks on missiles on European soil [2]. "
            'Grushko spoke of an exchange "Frank and clear as ever" [1]. Mr. Grushko judged the differences fundamental [1].')
    g = Grounder(hits)
    seen: list[tuple[str, tuple[int, ...]]] = []
    for i in range(0, len(text), 3):
        seen += [(s.text, s.citations) for s in g.feed(text[i : i + 3])]
        # Nothing is emitted before the sentence after it has a few words.
        assert len(seen) <= text[: i + 3].count(". ")
    seen += [(s.text, s.citations) for s in g.finish()]
    whole = ground(text, hits)
    assert seen == [(s.text, s.citations) for s in whole.sentences]
    assert [n for _, c in seen for n in c] == [1, 2, 2] or [n for _, c in seen for n in c] == [1, 2, 3]
    assert seen[2][0].startswith("Mr. Grushko")


def test_no_passages_means_everything_unsupported():
    g = ground("Something happened [1].", [])
    assert [s.status for s in g.sentences] == ["unsupported"] and g.citations == ()


def test_split_answer_moves_trailing_markers_to_their_sentence():
    assert split_answer("One thing happened. [1] Another thing [2, 3].") == [
        ("One thing happened.", (1,)), ("Another thing.", (2, 3)),
    ]


def test_the_fences_attribute_copied_as_a_citation_is_read_as_one():
    # A small model sometimes cites with the fence's own attribute, `<passage n="1">`.
    assert split_answer('Truss resigned (n=1). She said “no” (passage n="2").') == [
        ("Truss resigned.", (1,)), ("She said “no”.", (2,)),
    ]
    # Seen with the real model: in brackets, with or without "=", beside a marker, and as
    # a sentence's opening.
    assert split_answer('Brazil goes to a run-off. [n=1] [1] It cost $50 billion [n1]. N=1, The show drew 10 million.') == [
        ("Brazil goes to a run-off.", (1,)), ("It cost $50 billion.", (1,)), ("The show drew 10 million.", ()),
    ]
    assert split_answer('According to the passage from n=1, "House of the Dragon" drew 10 million viewers.') == [
        ('"House of the Dragon" drew 10 million viewers.', (1,)),
    ]
    assert split_answer("A poll of n=1,000 adults found 60% opposed. [2]") == [
        ("A poll of n=1,000 adults found 60% opposed.", (2,)),
    ]
    # A sentence that only points at a passage is dropped, its marker kept by the one before.
    assert split_answer('It is Squid Game. This can be confirmed from passage 1, which states: "Netflix said so." [1]') == [
        ("It is Squid Game.", (1,)),
    ]


def test_a_name_is_the_same_with_any_apostrophe_possessive_or_in_the_title():
    # Seen with the real model over the dev set: "Coeur d'Alene" against "Coeur d’Alene",
    # "Tesla's AI Day" against "Tesla’s AI Day", and a number only the title states.
    from assistant.retriever import Hit

    text = ("Police arrested 31 men near a Pride event in Coeur d’Alene on Saturday. The robot walked on stage "
            "at Tesla’s AI Day in Palo Alto.")
    hit = Hit(chunk_id=1, article_id="a", file="a.md", title="The 10 arrests of the weekend", date="2022-06-13",
              source="Wire", url="", start=0, end=len(text), text=text, score=1.0)
    for sentence in ("Police arrested 31 men near a Pride event in Coeur d'Alene. [1]",
                     "The robot walked on stage at Tesla's AI Day in Palo Alto. [1]",
                     "Police made 10 arrests near a Pride event. [1]"):
        (s,) = ground(sentence, [hit]).sentences
        assert s.status == "supported", (sentence, s)
    # A name or number neither the passage nor its title holds is still caught.
    for sentence, missing in (("The robot walked on stage at Apple's AI Day in Palo Alto. [1]", "apple"),
                              ("Police arrested 41 men near a Pride event in Coeur d'Alene. [1]", "41")):
        (s,) = ground(sentence, [hit]).sentences
        assert s.status == "contradicted" and missing in s.note, (sentence, s)


def test_quote_helpers():
    assert normalize_for_quote("\u201cA  b\n c\u201d \u2018d\u2019") == "\"A b c\" 'd'"
    assert quoted_segments('He said "two words" and "one" and \u201cthree more words\u201d.') == [
        "two words", "three more words"]


def test_marker_glued_to_the_period_still_ends_the_sentence(hits, store):
    # Models often write "...”.[1] Mr. X": no space, and "Mr." right after.
    parts = split_answer("Grushko judged the differences “Fundamental”.[1] Mr. Grouchko spoke of an exchange [1].")
    assert [claimed for _, claimed in parts] == [(1,), (1,)]
    assert parts[1][0].startswith("Mr. Grouchko")


def test_quote_woven_into_a_sentence_may_lowercase_its_first_letter(hits, store):
    ans = as_answer('Grouchko described an exchange that was "frank and clear as ever" [1].', hits)
    assert ans.sentences[0].status == "supported"
    assert_verbatim(ans, store)
    # ...but only the first letter: any other change is not verbatim.
    ans = as_answer('Grouchko described an exchange that was "Frank and Clear as ever" [1].', hits)
    assert ans.sentences[0].status == "unverified"
