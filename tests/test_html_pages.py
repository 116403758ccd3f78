"""Web pages through the HTML reader: pages written in the shape of real news CMS
layouts (tests/fixtures/web/, labelled in labels.json), what is kept and dropped, the
metadata, pages that are not articles, and pages the extractor cannot take."""

from __future__ import annotations

import json
from collections import Counter
import shutil
import threading
import time
from pathlib import Path

import pytest

import index
import index.readers.html as html_reader
from index.chunker import chunk_text
from index.corpus import scan_corpus
from index.errors import ArticleReadError
from index.readers import read_article_file
from index.readers.deadline import DeadlineExceeded, deadline

WEB = Path(__file__).parent / "fixtures" / "web"
LABELS = {k: v for k, v in json.loads((WEB / "labels.json").read_text(encoding="utf-8")).items() if k[0] != "_"}
ARTICLES = sorted(k for k, v in LABELS.items() if "skip" not in v)
NOT_ARTICLES = sorted(k for k, v in LABELS.items() if "skip" in v)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", ARTICLES)
def test_each_page_keeps_the_article_and_drops_the_rest(name):
    label = LABELS[name]
    result = read_article_file(WEB / name, name)
    assert result.warnings == []
    (article,) = result.articles
    text = flat(article.text)
    for sentence in label["with"]:
        assert flat(sentence) in text, sentence
    for junk in label["without"]:
        # A known leak must still be one: when it is fixed, move it out of known_leaks.
        assert (junk in article.text) == (junk in label.get("known_leaks", [])), junk
    assert (article.title, article.date, article.source, article.author, article.url) == (
        label["title"], label["date"], label["source"], label["author"], label["url"])
    # Paragraphs are single-spaced lines; every chunk is an exact span of the text.
    assert all(p == flat(p) for p in article.text.split("\n\n"))
    for chunk in chunk_text(article.text):
        assert article.text[chunk.start:chunk.end] == chunk.text


@pytest.mark.parametrize("name", NOT_ARTICLES)
def test_pages_that_are_not_articles_are_skipped_with_a_reason(name):
    with pytest.raises(ArticleReadError) as info:
        read_article_file(WEB / name, name)
    assert info.value.reason.startswith(LABELS[name]["skip"])


def test_the_date_is_the_pages_own_not_the_files(tmp_path):
    """The file was saved years after publication; the page's JSON-LD and Open Graph
    dates win, and a page with no date in its markup has none (not the file time)."""
    page = tmp_path / "saved-later.html"
    shutil.copy(WEB / "de-regionalzeitung.html", page)
    assert index.read_article(page).date == "2024-08-05"
    undated = tmp_path / "undated.html"
    undated.write_text("<html><head><title>Undated notice</title></head><body><article>"
                       "<p>The library will be closed for stocktaking, the council said in a notice.</p>"
                       "<p>It reopens after the work is done, with longer opening hours on Saturdays.</p>"
                       "</article></body></html>", encoding="utf-8")
    assert index.read_article(undated).date is None


def test_read_article_is_the_indexers_reading(tmp_path):
    corpus = tmp_path / "web"
    shutil.copytree(WEB, corpus, ignore=shutil.ignore_patterns("*.json"))
    scan = scan_corpus(corpus)
    assert sorted(scan.articles) == ARTICLES
    assert {s.path: s.reason.split(":")[0] for s in scan.skipped} == {n: "not an article" for n in NOT_ARTICLES}
    for name in ARTICLES:
        one = index.read_article(corpus / name)
        assert (one.text, one.title, one.date, one.source, one.author, one.url) == (
            lambda a: (a.text, a.title, a.date, a.source, a.author, a.url))(scan.articles[name])
        assert one.path == str(corpus / name)
    with pytest.raises(ArticleReadError, match="a login page"):
        index.read_article(corpus / "en-login-wall.html")


def test_links_keep_their_words_in_place(tmp_path):
    """Link text stays where it is, with no space added; a paragraph that is only a
    link stays too (dropping those lost more article text than boilerplate on real
    pages: see the comment in index/readers/html.py)."""
    page = tmp_path / "links.html"
    page.write_text(
        "<html><body><article><h1>Bridge reopens</h1>"
        "<p>The <a href='/bridge'>Elm Street bridge</a> reopened on Monday after repairs, the city said.</p>"
        "<p><a href='/report.pdf'>The engineers' report is published in full on the city's website.</a></p>"
        "<p>Traffic was light in the morning, and cyclists returned to the (<a href='/lane'>lane</a>).</p>"
        "</article></body></html>", encoding="utf-8")
    assert index.read_article(page).text == (
        "The Elm Street bridge reopened on Monday after repairs, the city said.\n\n"
        "The engineers' report is published in full on the city's website.\n\n"
        "Traffic was light in the morning, and cyclists returned to the (lane).")


def test_a_page_in_its_own_declared_charset(tmp_path):
    page = tmp_path / "latin.html"
    page.write_bytes(
        '<html><head><meta charset="windows-1252"><title>Caf\u00e9 ferm\u00e9</title></head><body><article>'
        "<p>Le caf\u00e9 de la place ferme ses portes apr\u00e8s quarante ans, a annonc\u00e9 son g\u00e9rant.</p>"
        "</article></body></html>".encode("windows-1252"))
    assert "Le caf\u00e9 de la place ferme ses portes apr\u00e8s quarante ans" in index.read_article(page).text
    # Without a declared charset it is still refused with the UTF-8 reason.
    page.write_bytes("<html><body><p>Caf\u00e9</p></body></html>".encode("latin-1"))
    with pytest.raises(ArticleReadError, match="not valid UTF-8"):
        index.read_article(page)


def test_an_extractor_that_runs_out_of_time_is_one_warning_and_loses_nothing(tmp_path, monkeypatch):
    """A page the extractor takes too long over is read by the simple reader: the build
    gets the article and one warning line, and the time is bounded by the limit."""
    n = 4000
    page = tmp_path / "long.html"
    page.write_text("<html><body><article>" + "".join(
        f"<p>Paragraph {i} of a very long page about the harbour.</p>" for i in range(n)) + "</article></body></html>",
        encoding="utf-8")
    text = page.read_text(encoding="utf-8")

    def fastest(run) -> float:
        """The least of three wall times: the suite's other worker shares the cores."""
        times = []
        for _ in range(3):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        return min(times)

    full = fastest(lambda: html_reader.read_html(text, "long.html"))
    simple = fastest(lambda: html_reader.parse_html_simple(text, "long.html"))
    monkeypatch.setattr(html_reader, "EXTRACT_SECONDS", 0.05)
    result = read_article_file(page, "long.html")
    took = fastest(lambda: read_article_file(page, "long.html"))
    (article,) = result.articles
    assert article.text.count("of a very long page about the harbour.") == n
    assert result.warnings == ["long.html: the HTML extractor gave up after 0.05 s; read with the simple HTML reader instead"]
    # The extractor's share of the time was cut to about the limit.
    assert full > 0.2, f"the page is too quick ({full:.2f}s) to show the limit"
    assert took - simple < 0.05 + 0.5 * full, (took, simple, full)


def test_an_extractor_that_raises_is_one_warning(tmp_path, monkeypatch):
    import trafilatura

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the extractor")

    monkeypatch.setattr(trafilatura, "bare_extraction", broken)
    page = tmp_path / "a.html"
    page.write_text("<html><body><main><p>The market reopens on Monday, traders said.</p></main></body></html>",
                    encoding="utf-8")
    result = read_article_file(page, "a.html")
    assert result.articles[0].text == "The market reopens on Monday, traders said."
    assert result.warnings == ["a.html: the HTML extractor failed (RuntimeError); read with the simple HTML reader instead"]


# -- the time limit itself ---------------------------------------------------------------


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@pytest.mark.parametrize("in_thread", [False, True])
def test_deadline_stops_a_busy_loop_in_any_thread(in_thread):
    outcome: dict[str, object] = {}

    def work() -> None:
        started = time.monotonic()
        try:
            with deadline(0.1):
                _spin(5)
        except DeadlineExceeded:
            outcome["stopped_after"] = time.monotonic() - started

    if in_thread:  # the chat builds the index in a worker thread
        t = threading.Thread(target=work)
        t.start()
        t.join(10)
    else:
        work()
    assert 0.09 < outcome["stopped_after"] < 1.0


def test_deadline_never_raises_after_its_with_statement():
    ends = Counter()
    for _ in range(300):  # the timer and the end of the body race
        try:
            with deadline(0.001):
                _spin(0.001)
            ends["in time"] += 1
        except DeadlineExceeded:
            ends["timed out"] += 1
        _spin(0.002)  # a time-out delivered late would be raised here and fail the test
    assert sum(ends.values()) == 300
    with deadline(1):
        _spin(0.01)
    _spin(1.1)  # the cancelled timer never fires later


def test_deadline_is_not_swallowed_by_except_exception():
    with pytest.raises(DeadlineExceeded):
        with deadline(0.05):
            while True:
                try:
                    _spin(0.01)
                except Exception:  # what the extractor does around each element
                    pass
