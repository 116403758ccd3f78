"""Property tests (hypothesis) with hostile inputs: the file readers, the date reader
and the chunker's offsets. (tests/test_chunker.py and tests/test_dates.py hold the
everyday properties; these push bytes, encodings and odd Unicode through them.)"""

from __future__ import annotations

import codecs
import json
import tempfile
import warnings
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings, strategies as st

from index.readers.base import decode_bytes
from index.readers.html import read_html
from index.readers.html_simple import parse_html_simple
from index.readers.json import parse_json, parse_jsonl
from index.readers.md import parse_markdown
from index.readers.txt import parse_plain
from index.chunker import ChunkerSettings, chunk_text, count_tokens
from index.corpus import scan_corpus
from index.dates import parse_date
from index.errors import ArticleReadError
from index.sentences import sentence_spans

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Unicode a corpus really contains, and what a hostile one adds: controls, escapes,
# bidi overrides, NBSP and line separators, combining marks, emoji, CJK, RTL scripts.
HOSTILE_CHARS = st.sampled_from(
    list("abc XYZ.,!?;:'\"()[]{}<>/\\#*_`|-—“”‘’…\n\n\t\r")
    + ["\x00", "\x1b", "\x1b[31m", "\x07", "\x9b", "\u202e", "\u2066", "\u00a0", "\u2028", "\u2029", "\ufeff",
       "e\u0301", "\U0001f600", "\U0001f1eb\U0001f1f7", "中文", "العربية", "עברית", "ß", "İ", "\ufffd", "\x85",
       "Mr.", "U.S.", "2022", "3.5", "http://x.example/a?b=c"]
)
HOSTILE_TEXT = st.lists(HOSTILE_CHARS, max_size=120).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=400), HOSTILE_TEXT)


def words(text: str) -> list[str]:
    return text.split()


# -- bytes to text --------------------------------------------------------------------


@SETTINGS
@given(st.one_of(
    st.binary(max_size=600),
    ANY_TEXT.map(lambda t: t.encode("utf-8")),
    ANY_TEXT.map(lambda t: t.encode("utf-16")),
    ANY_TEXT.map(lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be", "surrogatepass")),
    ANY_TEXT.map(lambda t: codecs.BOM_UTF8 + t.encode("utf-8")),
))
@example(codecs.BOM_UTF16_LE + b"\x00\xd8")  # BOM then half a surrogate pair
@example(b"\r\n\r\n")
@example(codecs.BOM_UTF8 * 2)  # a file of BOMs is empty, not an invisible article
@example(codecs.BOM_UTF8 + "\ufeffTitle\n\nBody.".encode())
def test_decoding_any_bytes_gives_text_without_carriage_returns_or_a_reason(data):
    try:
        text = decode_bytes(data, "f.txt")
    except ArticleReadError as e:
        assert e.path == "f.txt" and e.reason
        return
    assert text.strip() and "\r" not in text and not text.startswith("\ufeff")


# -- every reader, any content: an article or a reason, nothing else ---------------------

READERS = {
    ".txt": lambda t: [parse_plain(t, "f.txt")],
    ".md": lambda t: [parse_markdown(t, "f.md")],
    ".html": lambda t: read_html(t, "f.html").articles,
    ".json": lambda t: parse_json(t, "f.json").articles,
    ".jsonl": lambda t: parse_jsonl(t, "f.jsonl").articles,
}
TAGS = st.sampled_from(["<p>", "</p>", "<div>", "</div>", "<br>", "<script>", "</script>", "<b>", "</b>", "<li>",
                        "<article>", "</article>", "<nav>", "</nav>", "<h1>", "</h1>", "<!--", "-->", "<![CDATA[",
                        "<meta property='og:title' content='T'>", "<time datetime='2022-01-02'>", "&amp;", "&#0;"])
HTMLISH = st.lists(st.one_of(TAGS, HOSTILE_CHARS), max_size=80).map("".join)
JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["title", "text", "body", "date", "id", "url", "x"]),
                                            inner, max_size=5)),
    max_leaves=12,
).map(json.dumps)
FRONT = st.tuples(st.text(max_size=60), ANY_TEXT).map(lambda p: f"---\n{p[0]}\n---\n{p[1]}")


@SETTINGS
@given(st.sampled_from(sorted(READERS)), st.one_of(ANY_TEXT, HTMLISH, JSONISH, FRONT,
                                                   st.lists(JSONISH, max_size=5).map("\n".join)))
def test_every_reader_gives_articles_or_a_reason(suffix, text):
    try:
        articles = READERS[suffix](text)
    except ArticleReadError as e:
        assert e.reason
        return
    assert articles
    for a in articles:
        assert a.text.strip() == a.text and a.text
        assert "\n\n\n" not in a.text
        assert a.content_hash and len(a.content_hash) == 32
        assert a.date is None or date.fromisoformat(a.date)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(READERS)), st.one_of(st.binary(max_size=400), ANY_TEXT.map(str.encode), HTMLISH.map(str.encode)))
def test_a_scan_never_fails_on_file_contents(suffix, data):
    """Whatever one file holds, the scan ends with it indexed or skipped with a reason."""
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / f"f{suffix}").write_bytes(data)
        (Path(d) / "good.txt").write_text("2022-01-01\n\nGood\n\nA good article.\n", encoding="utf-8")
        scan = scan_corpus(Path(d))
    assert "good.txt" in scan.articles
    ours = [i for i in scan.articles if i.startswith("f")]
    assert bool(ours) != bool(scan.skipped), (ours, scan.skipped)
    assert all(s.reason for s in scan.skipped)


# -- round trips: what was written is what is read ----------------------------------------

VOCAB = st.sampled_from("harbor ferry council budget river vote storm market school player minister said "
                        "Monday percent “quoted” résumé 中文 naïve 42 3.5 U.S. Mr. (aside) — e-mail".split())
SENTENCE = st.lists(VOCAB, min_size=1, max_size=15).map(lambda ws: " ".join(ws))
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=4).map(lambda ss: ". ".join(ss) + ".")
TITLE = st.lists(VOCAB, min_size=1, max_size=10).map(" ".join).filter(lambda t: parse_date(t) is None)
DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2039, 12, 31))
DATE_FORMATS = ["%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%A, %B %d, %Y", "Published %B %d, %Y",
                "Updated: %b. %d, %Y at 10:00 ET", "%m/%d/%Y"]


@SETTINGS
@given(TITLE, DATES, st.sampled_from(DATE_FORMATS), st.lists(PARAGRAPH, min_size=1, max_size=5),
       st.sampled_from(["\n", "\r\n", "\r"]), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_plain_text_round_trip_in_any_encoding_and_line_ending(title, day, fmt, paras, newline, encoding):
    written = newline.join([day.strftime(fmt), "", title, "", *sum(([p, ""] for p in paras), [])])
    a = READERS[".txt"](decode_bytes(written.encode(encoding), "f.txt"))[0]
    assert (a.title, a.date) == (title, day.isoformat())
    assert a.text == "\n\n".join(paras)


@SETTINGS
@given(st.lists(st.fixed_dictionaries({"title": st.text(max_size=80), "text": ANY_TEXT, "date": DATES.map(str)}),
                min_size=1, max_size=6), st.sampled_from([".json", ".jsonl"]))
def test_json_round_trip_keeps_every_word(objs, suffix):
    from index.readers.base import paragraphs_of
    from index.boilerplate import strip_boilerplate

    def has_body(o: dict) -> bool:  # text left once boilerplate ("Advertisement"...) goes
        return bool(strip_boilerplate(paragraphs_of(o["text"].replace("\r\n", "\n"))))

    text = json.dumps(objs) if suffix == ".json" else "\n".join(json.dumps(o) for o in objs)
    try:
        articles = READERS[suffix](text)
    except ArticleReadError:
        assert not any(has_body(o) for o in objs)
        return
    by_title = {}
    for a in articles:
        by_title.setdefault(a.title, []).append(a)
    kept = [o for o in objs if has_body(o)]
    assert len(articles) <= len(kept)
    for a in articles:  # nothing invented: the article's words are its object's words, in order
        assert any(words(a.text) == words(o["text"].replace("\r\n", "\n")) or
                   set(words(a.text)) <= set(words(o["text"])) for o in kept if o["title"].strip() == a.title)
        assert a.date in {o["date"] for o in kept}


@SETTINGS
@given(st.lists(PARAGRAPH, min_size=1, max_size=6), st.sampled_from(["p", "li", "blockquote", "h2"]),
       st.sampled_from(["", "<b>", "<span>", "<a href='x'>"]))
def test_html_round_trip_keeps_every_paragraph(paras, block, inline):
    """The simple HTML reader (the fallback of the extractor) keeps every block."""
    closing = inline.replace("<", "</").split(" ")[0].rstrip(">") + ">" if inline else ""
    body = "".join(f"<{block}>{inline}{p}{closing}</{block}><script>var x = '{p}';</script>" for p in paras)
    a = parse_html_simple(f"<html><body><nav><p>Menu</p></nav><article>{body}</article></body></html>", "f.html")
    expected = [" ".join(p.split()) for p in paras]
    assert a.text.split("\n\n") == [p for p in expected if p != a.title]


@SETTINGS
@given(st.lists(PARAGRAPH, min_size=1, max_size=6), st.sampled_from(["p", "li", "blockquote", "h2"]),
       st.sampled_from(["", "<b>", "<span>", "<a href='x'>"]))
def test_html_extraction_invents_and_glues_nothing(paras, block, inline):
    """The extractor decides what is article text, so it may leave out a short block
    (a one-item list, a paragraph that is only a link: the shapes of menus and related
    links); but every paragraph it gives is one of the page's own blocks, whole, with
    its words in place, never two glued together or the menu."""
    closing = inline.replace("<", "</").split(" ")[0].rstrip(">") + ">" if inline else ""
    body = "".join(f"<{block}>{inline}{p}{closing}</{block}><script>var x = '{p}';</script>" for p in paras)
    (a,) = read_html(f"<html><body><nav><p>Menu</p></nav><article>{body}</article></body></html>", "f.html").articles
    expected = {" ".join(p.split()) for p in paras}
    assert a.text and set(a.text.split("\n\n")) <= expected, (a.text, expected)


# -- the date reader ----------------------------------------------------------------------


@SETTINGS
@given(DATES, st.sampled_from(DATE_FORMATS), st.sampled_from(["", " ", "  ", "\t"]))
def test_dates_in_the_forms_news_sites_print(day, fmt, pad):
    assert parse_date(pad + day.strftime(fmt) + pad) == day


@SETTINGS
# Words, not dashes: "harbor — — on 2000-01-01 — — — —" is one word and a date, which a
# dateline ("Updated on ...") also is.
@given(DATES, st.sampled_from(DATE_FORMATS), st.lists(VOCAB.filter(lambda w: any(c.isalnum() for c in w)),
                                                      min_size=7, max_size=20))
# Found by this test in CI: words outside the Latin alphabet were not counted as words.
@example(date(2000, 1, 1), "%Y-%m-%d", ["harbor", "Monday", "中文", "中文", "中文", "中文", "中文"])
def test_a_sentence_that_mentions_a_date_is_not_a_date_line(day, fmt, words_):
    sentence = " ".join(words_[:3]) + " on " + day.strftime(fmt) + " " + " ".join(words_[3:])
    assert parse_date(sentence) is None


@SETTINGS
@given(ANY_TEXT)
def test_the_date_reader_never_raises_on_hostile_text(text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = parse_date(text)
    assert d is None or 1900 <= d.year


# -- the chunker's offsets ---------------------------------------------------------------


def check_offsets(text: str, max_tokens: int, overlap: int) -> None:
    chunks = chunk_text(text, ChunkerSettings(max_tokens, overlap))
    for c in chunks:
        assert text[c.start:c.end] == c.text  # an exact span of the article
        assert c.text == c.text.strip() and c.text
        assert c.tokens == count_tokens(c.text) <= max_tokens
    assert [c.start for c in chunks] == sorted({c.start for c in chunks})  # strictly increasing
    assert [c.end for c in chunks] == sorted({c.end for c in chunks})
    covered = [False] * len(text)
    for c in chunks:
        covered[c.start:c.end] = [True] * (c.end - c.start)
    lost = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not lost, [text[i] for i in lost[:10]]  # no character of the article is dropped
    for s, e in sentence_spans(text):
        assert text[s:e].strip() == text[s:e]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT, st.integers(4, 64), st.integers(0, 2))
@example("x" * 3000, 8, 1)  # one giant "word"
@example("\U0001f600" * 200, 4, 0)  # each character is several tokens
@example("a\u2028b\u2029c\u00a0d. " * 50, 6, 2)
def test_chunk_offsets_on_hostile_text(text, max_tokens, overlap):
    check_offsets(text, max_tokens, overlap)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PARAGRAPH, min_size=1, max_size=30).map("\n\n".join), st.integers(16, 160))
def test_chunk_offsets_on_long_prose(text, max_tokens):
    check_offsets(text, max_tokens, 1)
