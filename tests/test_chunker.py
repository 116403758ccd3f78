"""Sentences and chunks: exact spans, sentence boundaries, token budgets, and chunk
sizes measured with the real model's tokenizer."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from index.articles import read_article_file
from index.chunker import ChunkerSettings, chunk_text, count_tokens
from index.embedder import embedding_input
from index.sentences import sentence_spans

# -- sentences ---------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("Mr. Stoltenberg spoke. Dr. Who did not.", ["Mr. Stoltenberg spoke.", "Dr. Who did not."]),
        ("J. K. Rowling wrote it. Then she left.", ["J. K. Rowling wrote it.", "Then she left."]),
        ("He moved to the U.S. in May. It rained.", ["He moved to the U.S. in May.", "It rained."]),
        ("It grew 5.5 percent. “Good,” he said. (Really.) Next", ["It grew 5.5 percent.", "“Good,” he said.", "(Really.)", "Next"]),
        ("She said: “It is over.” Then she left.", ["She said: “It is over.”", "Then she left."]),
        ("no capital after. so one sentence", ["no capital after. so one sentence"]),
        ("A heading\n\nThe body starts here.", ["A heading", "The body starts here."]),
        ("Wait... What? 2022 was hard.", ["Wait...", "What?", "2022 was hard."]),
        ("  \n padded.  \n\n  ", ["padded."]),
        ("", []),
    ],
)
def test_sentence_spans_examples(text, expected):
    assert sentences(text) == expected


def test_sentence_spans_of_the_seed(seed_article):
    got = sentences(seed_article.text)
    assert len(got) == 17
    assert got[0].startswith("It was necessary") and got[0].endswith("held on Wednesday January 12 in Brussels.")
    assert "It all depends on Putin" in got  # the subheading is its own sentence
    assert "Everything now depends on Vladimir Putin, suggested – rightly – Mr.me Sherman." in got


TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from(list("ab AZ.!?\n\t,;:\"'“”«»()[]…09éÀ中\u2028\u00a0\r")), max_size=300),
    st.lists(
        st.sampled_from(["Mr.", "U.S.", "Hello world.", "It is. ", "A", "\n\n", " ", "x" * 40, "中文。", "? ", "J. K.", "“Yes.” "]),
        max_size=40,
    ).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_sentence_spans_properties(text):
    spans = sentence_spans(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)  # ordered, non-overlapping, non-empty
        assert not text[start].isspace() and not text[end - 1].isspace()  # stripped
        previous_end = end
    covered = {i for s, e in spans for i in range(s, e)}
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())  # nothing lost


# -- chunks of the seed --------------------------------------------------------------

# (start, end) of the seed's chunks with the default settings (160 tokens, 1 sentence overlap).
SEED_CHUNKS = [(0, 410), (237, 816), (412, 1173), (1049, 1838), (1662, 2375), (2297, 2912)]


def test_seed_chunks(seed_article, seed):
    text = seed_article.text
    chunks = chunk_text(text)
    assert [(c.start, c.end) for c in chunks] == SEED_CHUNKS
    assert [c.ordinal for c in chunks] == list(range(len(SEED_CHUNKS)))
    spans = sentence_spans(text)
    starts, ends = [s for s, _ in spans], [e for _, e in spans]
    for prev, c in zip([None] + chunks, chunks):
        assert text[c.start : c.end] == c.text
        assert c.start in starts and c.end in ends  # whole sentences only
        assert c.tokens == count_tokens(c.text) <= 160
        for line in seed.boilerplate:
            assert line not in c.text
        if prev is not None:  # one sentence of overlap, then new text
            last_of_prev = max(s for s in starts if s < prev.end)
            assert c.start == last_of_prev and c.end > prev.end
    assert chunks[0].start == 0 and chunks[-1].end == len(text)


def test_seed_chunks_with_other_settings(seed_article):
    text = seed_article.text
    no_overlap = chunk_text(text, ChunkerSettings(max_tokens=100, overlap_sentences=0))
    assert all(a.end < b.start for a, b in zip(no_overlap, no_overlap[1:]))
    assert "".join(c.text for c in no_overlap).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
    assert all(c.tokens <= 100 for c in no_overlap)
    assert len(no_overlap) > len(SEED_CHUNKS)


# -- chunk properties ------------------------------------------------------------------


def check_chunks(text: str, max_tokens: int, overlap: int) -> None:
    chunks = chunk_text(text, ChunkerSettings(max_tokens=max_tokens, overlap_sentences=overlap))
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.tokens <= max_tokens and count_tokens(c.text) <= max_tokens, c
        assert c.text == c.text.strip() and c.text
    for a, b in zip(chunks, chunks[1:]):
        assert a.start < b.start and a.end < b.end  # in order, each adds new text
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for s, e in sentence_spans(text):
        for i in range(s, e):
            if not text[i].isspace():
                assert any(c.start <= i < c.end for c in chunks), (i, text[s:e])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, st.integers(4, 60), st.integers(0, 2))
def test_chunk_properties(text, max_tokens, overlap):
    check_chunks(text, max_tokens, overlap)


WORDS = st.sampled_from(["the", "minister", "said", "NATO", "talks", "2022", "Mr.", "résumé", "—", "“quoted”", "x" * 30])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(WORDS, min_size=1, max_size=80).map(" ".join), min_size=1, max_size=12),
       st.sampled_from([". ", "! ", ".\n\n", "? "]), st.integers(16, 120), st.integers(0, 2))
def test_chunk_properties_on_prose(sentence_words, sep, max_tokens, overlap):
    text = sep.join(s[:1].upper() + s[1:] for s in sentence_words) + "."
    check_chunks(text, max_tokens, overlap)


def test_sentence_longer_than_the_budget_is_split_at_words():
    words = [f"word{i}" for i in range(600)]
    text = " ".join(words)  # one 1,000+ token "sentence"
    chunks = chunk_text(text, ChunkerSettings(max_tokens=50, overlap_sentences=0))
    assert len(chunks) > 10
    assert all(c.tokens <= 50 for c in chunks)
    assert " ".join(c.text for c in chunks) == text  # cut between words only


def test_giant_word_is_cut_by_characters():
    text = "Start. " + "a1b2" * 2000 + " end."
    chunks = chunk_text(text, ChunkerSettings(max_tokens=40, overlap_sentences=1))
    check_chunks(text, 40, 1)
    assert "".join(c.text for c in chunks[1:]).replace(" ", "") == ("a1b2" * 2000 + "end.")


def test_a_sentence_of_exactly_max_tokens_reports_max_tokens():
    # The one-token-per-sentence separator budget used to report max_tokens + 1.
    text = "Short one. Alpha " + " ".join(["alpha"] * 28) + "."
    sentence = text[len("Short one. "):]
    n = count_tokens(sentence)
    chunks = chunk_text(text, ChunkerSettings(max_tokens=n, overlap_sentences=0))
    assert [c.text for c in chunks] == ["Short one.", sentence]
    assert chunks[1].tokens == n


def test_no_chunk_is_just_the_previous_chunks_tail():
    # Two short sentences, then one that fills a chunk alone: the overlap sentence used
    # to become a chunk of its own, a duplicate of text already in the first chunk.
    long = "Gamma " + " ".join(["gamma"] * 44) + "."
    text = "Alpha is first. Beta is second. " + long
    budget = count_tokens(long) + 2
    chunks = chunk_text(text, ChunkerSettings(max_tokens=budget, overlap_sentences=1))
    assert [c.text for c in chunks] == ["Alpha is first. Beta is second.", long]


def test_unusual_whitespace_between_sentences_is_counted():
    # Separators were budgeted at one token; U+2028 costs more and chunks overflowed.
    text = "\u2028\u2028".join(["Ab."] * 40)
    check_chunks(text, 32, 0)  # the old estimate gave chunks of 56 tokens here


# -- chunk sizes against the real model --------------------------------------------


def assert_model_reads_every_chunk_whole(embedder, articles) -> int:
    inputs = [embedding_input(a.title, c.text) for a in articles for c in chunk_text(a.text)]
    lengths = embedder.input_lengths(inputs)
    too_long = [(n, t[:80]) for n, t in zip(lengths, inputs) if n > 256]
    assert not too_long, too_long
    assert embedder.max_input_tokens == 256
    return max(lengths)


def test_seed_chunks_fit_the_model(minilm, seed_article):
    longest = assert_model_reads_every_chunk_whole(minilm, [seed_article])
    assert 150 < longest <= 256  # the inputs are real, near-full chunks


def test_eval_articles_chunks_fit_the_model(minilm, eval_articles: Path):
    paths = sorted(eval_articles.glob("*.txt"))
    assert len(paths) > 100
    sample = random.Random(20220123).sample(paths, 100)
    articles = [a for p in sample for a in read_article_file(p, p.name).articles]
    assert len(articles) == 100
    assert all(a.date and a.title for a in articles)
    assert_model_reads_every_chunk_whole(minilm, articles)
