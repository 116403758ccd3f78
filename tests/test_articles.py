"""Reading article files: the seed, each format, and files that must be skipped."""

from __future__ import annotations

import codecs
import json
import os
from pathlib import Path

import pytest

from index.articles import read_article_file
from index.errors import ArticleReadError


def read(path: Path, max_bytes: int | None = None):
    kwargs = {} if max_bytes is None else {"max_bytes": max_bytes}
    return read_article_file(path, path.name, **kwargs)


def read_one(path: Path):
    result = read(path)
    assert len(result.articles) == 1, result
    return result.articles[0]


def error_of(path: Path, **kwargs) -> ArticleReadError:
    with pytest.raises(ArticleReadError) as info:
        read(path, **kwargs)
    assert info.value.path == path.name
    return info.value


# -- the seed ----------------------------------------------------------------------


def test_seed_title_date_and_text(seed_article, seed):
    a = seed_article
    assert a.id == a.path == seed.id
    assert a.title == seed.title
    assert a.date == seed.date
    assert a.text.startswith("It was necessary to look for it with attention")
    assert a.text.endswith("“The Russian side made it clear that they were not ready”, did he declare.")
    # 7 paragraphs of body (the subheading "It all depends on Putin" is one); 3 boilerplate gone.
    paragraphs = a.text.split("\n\n")
    assert len(paragraphs) == 7
    assert "It all depends on Putin" in paragraphs
    assert "January 23, 2022" not in a.text and seed.title not in a.text


def test_seed_boilerplate_is_gone(seed_article, seed):
    for line in seed.boilerplate:
        assert line in seed.path.read_text(encoding="utf-8")  # the fixture is what we think
        assert line not in seed_article.text
    for marker in ("Read also", "Article reserved for our subscribers", "49.79%", "for subscribers only"):
        assert marker not in seed_article.text


def test_content_hash_is_stable_and_tracks_content(seed_article, tmp_path, seed):
    again = read_one(_copy(seed.path, tmp_path / seed.id))
    assert again.content_hash == seed_article.content_hash and len(again.content_hash) == 32
    edited = tmp_path / seed.id
    edited.write_text(seed.path.read_text(encoding="utf-8").replace("Brussels", "Bruxelles"), encoding="utf-8")
    assert read_one(edited).content_hash != seed_article.content_hash
    # Boilerplate is not content: changing only the paywall line leaves the hash alone.
    edited.write_text(seed.path.read_text(encoding="utf-8").replace("49.79%", "12.5%"), encoding="utf-8")
    assert read_one(edited).content_hash == seed_article.content_hash


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


# -- .txt --------------------------------------------------------------------------

BODY = [
    "The city council approved the new budget on Tuesday after a long debate about "
    "school funding and road repairs that lasted well into the night.",
    "The mayor said the vote was a fair compromise.",
]


@pytest.mark.parametrize(
    "date_line, expected",
    [
        ("2022-03-08", "2022-03-08"),
        ("2022-03-08T09:30:00Z", "2022-03-08"),
        ("March 8, 2022", "2022-03-08"),
        ("Tuesday, March 8, 2022", "2022-03-08"),
        ("8 March 2022", "2022-03-08"),
        ("Published Mar. 8, 2022 at 10:00 ET", "2022-03-08"),
        ("2022/03/08", "2022-03-08"),
    ],
)
def test_txt_date_forms(tmp_path, write_article, date_line, expected):
    a = read_one(write_article(tmp_path, "a.txt", "Council passes budget", BODY, date=date_line))
    assert (a.date, a.title) == (expected, "Council passes budget")
    assert a.text == "\n\n".join(BODY)


def test_txt_date_and_title_without_blank_line_between(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("2022-03-08\nCouncil passes budget\n\n" + "\n\n".join(BODY), encoding="utf-8")
    a = read_one(p)
    assert (a.date, a.title, a.text) == ("2022-03-08", "Council passes budget", "\n\n".join(BODY))


def test_txt_without_date_keeps_a_title_that_contains_a_year(tmp_path, write_article):
    # Used to be read as the date 2022-01-01, losing the title.
    a = read_one(write_article(tmp_path, "a.txt", "World Cup 2022 opens in Qatar", BODY, date=None))
    assert a.date is None
    assert a.title == "World Cup 2022 opens in Qatar"
    assert a.text == "\n\n".join(BODY)
    b = read_one(write_article(tmp_path, "b.txt", "10 things these cicadas have missed since 1996", BODY, date=None))
    assert (b.date, b.title) == (None, "10 things these cicadas have missed since 1996")


def test_txt_without_title(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("2022-03-08\n\n" + BODY[0] + "\n", encoding="utf-8")
    a = read_one(p)
    assert (a.date, a.title, a.text) == ("2022-03-08", "", BODY[0])
    q = tmp_path / "b.txt"
    q.write_text(BODY[0] + "\n", encoding="utf-8")
    assert (read_one(q).date, read_one(q).title, read_one(q).text) == (None, "", BODY[0])


def test_txt_crlf_bom_and_utf16(tmp_path):
    text = "2022-03-08\r\n\r\nCouncil passes budget\r\n\r\n" + "\r\n\r\n".join(BODY) + "\r\n"
    (tmp_path / "crlf.txt").write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    (tmp_path / "utf16.txt").write_bytes(text.encode("utf-16"))  # with BOM
    for name in ("crlf.txt", "utf16.txt"):
        a = read_one(tmp_path / name)
        assert (a.date, a.title, a.text) == ("2022-03-08", "Council passes budget", "\n\n".join(BODY)), name
        assert "\r" not in a.text and "\ufeff" not in a.title


# -- .md ---------------------------------------------------------------------------


def test_markdown_with_front_matter(tmp_path):
    p = tmp_path / "a.md"
    p.write_text(
        "---\ntitle: \"NATO summit ends\"\ndate: 2022-06-30\nsource: Example News\n"
        "url: https://example.com/nato\nauthor: Jane Doe\n---\n\n"
        "The **summit** ended with a [joint statement](https://example.com/s) on _Thursday_.\n\n"
        "## Next steps\n\n- Allies agreed to meet again.\n",
        encoding="utf-8",
    )
    a = read_one(p)
    assert (a.title, a.date, a.source, a.url, a.author) == (
        "NATO summit ends", "2022-06-30", "Example News", "https://example.com/nato", "Jane Doe")
    assert a.text == "The summit ended with a joint statement on Thursday.\n\nNext steps\n\n- Allies agreed to meet again."


def test_markdown_heading_title_and_datetime_front_matter(tmp_path):
    p = tmp_path / "a.md"
    p.write_text("---\ndate: 2022-06-30T18:45:00Z\n---\n# The heading is the title\n\nBody text here.\n", encoding="utf-8")
    a = read_one(p)
    assert (a.title, a.date, a.text) == ("The heading is the title", "2022-06-30", "Body text here.")


def test_markdown_empty_front_matter_and_list_body(tmp_path):
    p = tmp_path / "a.md"
    p.write_text("---\n---\nBody text here.\n", encoding="utf-8")
    assert read_one(p).text == "Body text here."  # was kept as "---\n---\nBody..."
    q = tmp_path / "b.md"
    q.write_text("---\ntitle: List\n---\n- first item\n- second item\n", encoding="utf-8")
    assert read_one(q).text == "- first item\n- second item"  # the first dash was stripped


def test_markdown_malformed_front_matter(tmp_path):
    p = tmp_path / "a.md"
    p.write_text("---\ntitle: [unclosed\n---\nBody.\n", encoding="utf-8")
    assert "malformed front matter" in error_of(p).reason


# -- .html -------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><title>Valley Times | Floods</title>
<meta property="og:title" content="Floods hit the valley">
<meta property="og:site_name" content="Valley Times">
<meta name="author" content="Sam Reporter">
<link rel="canonical" href="https://valley.example/floods">
<script>var tracking = "SCRIPT_TEXT";</script><style>.x{color:red}</style></head>
<body><nav><ul><li>Home</li><li>NAV_TEXT</li></ul></nav>
<header><h1>Floods hit the valley</h1><time datetime="2022-07-04T08:00:00Z">July 4</time></header>
<article><h1>Floods hit the valley</h1>
<p>Heavy rain flooded the valley on <b>Monday</b>, officials said.</p>
<script>document.write("INLINE_SCRIPT")</script>
<p>Residents were evacuated from   low-lying areas.</p>
<aside>ASIDE_TEXT</aside><figure><figcaption>CAPTION_TEXT</figcaption></figure>
<ul><li>Schools are closed.</li></ul>
<p>Subscribe now to our newsletter for free</p>
</article>
<footer>FOOTER_TEXT &copy; 2022</footer></body></html>"""


def test_html_main_text_and_metadata(tmp_path):
    p = tmp_path / "floods.html"
    p.write_text(PAGE, encoding="utf-8")
    a = read_one(p)
    assert a.title == "Floods hit the valley"
    assert a.date == "2022-07-04"
    assert (a.source, a.url, a.author) == ("Valley Times", "https://valley.example/floods", "Sam Reporter")
    assert a.text == (
        "Heavy rain flooded the valley on Monday, officials said.\n\n"
        "Residents were evacuated from low-lying areas.\n\nSchools are closed."
    )
    for junk in ("SCRIPT_TEXT", "INLINE_SCRIPT", "NAV_TEXT", "ASIDE_TEXT", "CAPTION_TEXT", "FOOTER_TEXT", "color:red"):
        assert junk not in a.text


def test_html_fallbacks(tmp_path):
    p = tmp_path / "plain.htm"
    p.write_text(
        "<html><head><title>Only a title</title>"
        '<meta property="article:published_time" content="2021-11-02T10:00:00+01:00"></head>'
        "<body><div>Text straight in a div, with no paragraph tags at all.</div></body></html>",
        encoding="utf-8",
    )
    a = read_one(p)
    assert (a.title, a.date) == ("Only a title", "2021-11-02")
    assert a.text == "Text straight in a div, with no paragraph tags at all."


def test_html_inline_markup_adds_no_spaces(tmp_path):
    # get_text(" ") used to give "Monday , officials" and "the ( NATO ) chief": text no
    # quote of the article would match.
    p = tmp_path / "inline.html"
    p.write_text(
        "<html><body><main><p>On <b>Monday</b>, the (<a href='/n'>NATO</a>) chief spoke"
        "<br>in Brussels.</p><p>Second<i>half</i> of a word.</p></main></body></html>",
        encoding="utf-8",
    )
    assert read_one(p).text == "On Monday, the (NATO) chief spoke in Brussels.\n\nSecondhalf of a word."


def test_html_with_only_scripts_is_an_error(tmp_path):
    p = tmp_path / "empty.html"
    p.write_text("<html><head><script>var a = 1;</script></head><body><nav>menu</nav></body></html>", encoding="utf-8")
    assert "no article text" in error_of(p).reason


# -- .json / .jsonl ----------------------------------------------------------------


def obj(n: int, **extra) -> dict:
    return {"title": f"Story {n}", "date": "2022-05-0%d" % n, "text": f"Body of story {n}. It has two sentences.", **extra}


def test_json_object(tmp_path):
    p = tmp_path / "one.json"
    p.write_text(json.dumps(obj(1, url="https://x.example/1", source="Wire", author="A. Writer")), encoding="utf-8")
    a = read_one(p)
    assert (a.id, a.title, a.date, a.text) == ("one.json", "Story 1", "2022-05-01", "Body of story 1. It has two sentences.")
    assert (a.url, a.source, a.author) == ("https://x.example/1", "Wire", "A. Writer")


def test_json_list_and_articles_key(tmp_path):
    p = tmp_path / "many.json"
    p.write_text(json.dumps([obj(1, id="first"), obj(2), {"title": "no body"}, "not an object"]), encoding="utf-8")
    r = read(p)
    assert [a.id for a in r.articles] == ["many.json#first", "many.json#1"]
    assert [a.title for a in r.articles] == ["Story 1", "Story 2"]
    assert len(r.warnings) == 2
    assert "item 2" in r.warnings[0] and "text" in r.warnings[0]
    assert "item 3" in r.warnings[1] and "expected a JSON object" in r.warnings[1]
    q = tmp_path / "wrapped.json"
    q.write_text(json.dumps({"articles": [obj(3, body=None)]}), encoding="utf-8")
    assert [a.title for a in read(q).articles] == ["Story 3"]


def test_json_malformed(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"title": "x",\n "text": }', encoding="utf-8")
    reason = error_of(p).reason
    assert reason.startswith("malformed JSON at line 2, column")


def test_jsonl_bad_line_among_good_ones(tmp_path):
    p = tmp_path / "feed.jsonl"
    lines = [json.dumps(obj(1, id=7)), "{not json", "", json.dumps(obj(2)), json.dumps({"title": "empty", "text": "  "})]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = read(p)
    assert [(a.id, a.title) for a in r.articles] == [("feed.jsonl#7", "Story 1"), ("feed.jsonl#4", "Story 2")]
    assert len(r.warnings) == 2
    assert r.warnings[0].startswith("feed.jsonl: line 2: malformed JSON") and r.warnings[0].endswith("line skipped")
    assert r.warnings[1].startswith("feed.jsonl: line 5:")


def test_jsonl_with_no_good_line_is_an_error(tmp_path):
    p = tmp_path / "feed.jsonl"
    p.write_text("{oops\n[1, 2]\n", encoding="utf-8")
    assert "no valid article objects" in error_of(p).reason


# -- files that cannot be articles -------------------------------------------------


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b" \n\t\n", "empty file"),
        ("binary.txt", b"GIF89a\x00\x01\x02\x00", "binary file (contains NUL bytes)"),
        ("latin1.txt", "Caf\u00e9 au lait, 2022.".encode("latin-1"), "not valid UTF-8 (byte 0xe9 at offset 3)"),
        ("only-boilerplate.txt", b"Advertisement\n\nShare this article\n", "no article text left"),
        ("image.png", b"\x89PNG", "unsupported file type .png"),
    ],
)
def test_unreadable_content(tmp_path, name, data, reason):
    p = tmp_path / name
    p.write_bytes(data)
    assert reason in error_of(p).reason


def test_oversize_file(tmp_path, write_article):
    p = write_article(tmp_path, "big.txt", "Big", ["word " * 400])
    assert read(p, max_bytes=10_000).articles  # within the limit
    reason = error_of(p, max_bytes=1000).reason
    assert reason.startswith("too large") and "max_file_mb" in reason


def test_permission_denied_is_reported(tmp_path, write_article, monkeypatch):
    # Tests run as root, where chmod 000 does not stop a read: simulate the kernel's answer.
    p = write_article(tmp_path, "locked.txt", "Locked", BODY)
    real = Path.read_bytes

    def read_bytes(self):
        if self == p:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert error_of(p).reason == "permission denied; make it readable to index it"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_permission_denied_for_real(tmp_path, write_article):
    p = write_article(tmp_path, "locked.txt", "Locked", BODY)
    p.chmod(0)
    try:
        assert "permission denied" in error_of(p).reason
    finally:
        p.chmod(0o644)


# -- scanning a folder -------------------------------------------------------------


def test_scan_skips_hidden_and_odd_files_and_never_follows_folder_links(tmp_path, seed):
    from index.corpus import scan_corpus

    c = tmp_path / "c"
    c.mkdir()
    (c / "a.txt").write_bytes(seed.path.read_bytes())
    (c / ".git").mkdir()
    (c / ".git" / "x.txt").write_text("Title\n\nIn a hidden folder.", encoding="utf-8")
    (c / "notes.docx").write_bytes(b"PK")
    os.symlink(c / "a.txt", c / "link.txt")
    os.symlink(c / "nope.txt", c / "broken.txt")
    os.symlink(c / "loop1.txt", c / "loop2.txt")
    os.symlink(c / "loop2.txt", c / "loop1.txt")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "o.txt").write_text("T\n\nOutside the corpus.", encoding="utf-8")
    os.symlink(tmp_path / "elsewhere", c / "linkdir")
    (c / "dup.jsonl").write_text('{"id": 1, "text": "One."}\n{"id": 1, "text": "Two."}\n', encoding="utf-8")
    r = scan_corpus(c)
    assert sorted(r.articles) == ["a.txt", "dup.jsonl#1", "link.txt"]
    assert r.articles["dup.jsonl#1"].text == "One."
    assert sorted((s.path, s.reason) for s in r.skipped) == [
        ("broken.txt", "broken symlink"), ("linkdir", "symlinked folder, not followed"),
        ("loop1.txt", "symlink loop"), ("loop2.txt", "symlink loop")]
    assert r.warnings == ["dup.jsonl: duplicate article id dup.jsonl#1; later copy skipped"]
    assert (r.ignored, r.files) == (1, 6)


def test_read_article_reads_one_file_as_the_indexer_does(tmp_path):
    import index

    p = tmp_path / "one.json"
    p.write_text(json.dumps(obj(1, source="Wire")), encoding="utf-8")
    a = index.read_article(p)
    assert (a.id, a.path, a.title, a.date, a.source) == (str(p), str(p), "Story 1", "2022-05-01", "Wire")
    assert a.text == read_one(p).text
    many = tmp_path / "many.json"
    many.write_text(json.dumps([obj(1), obj(2)]), encoding="utf-8")
    with pytest.raises(ArticleReadError, match="holds 2 articles; index.readers.read_article_file"):
        index.read_article(many)
    with pytest.raises(ArticleReadError, match="empty file"):
        (tmp_path / "empty.md").write_text("", encoding="utf-8")
        index.read_article(tmp_path / "empty.md")
