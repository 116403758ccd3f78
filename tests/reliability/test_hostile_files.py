"""Folders the user did not write: every kind of bad file gets its own clear warning,
the rest index, and the run's summary counts them.

The big case runs the real `assistant index` command in a child process (with the
stand-in embedder; the model adds nothing here), under a timeout so a file that makes
the reader hang fails the test instead of stalling it. As root the child drops the
capabilities that let root read anything, so chmod 000 really stops it.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import time
from datetime import date
from pathlib import Path

import pytest

from assistant.api import NewsAssistant
from assistant.cli import print_report
from index.builder import build_index
from index.chunker import DEFAULT_MAX_TOKENS, count_tokens
from stand_in import HashingEmbedder
from index.store import Store
from reliability_support import FakeMiniLM, can_drop_dac, proc_env, cli_with_fake_model

pytestmark = pytest.mark.slow

GOOD = "2022-03-04\n\nThe harbor reopens\n\nThe harbor authority reopened the north pier on Friday. Ferries resume next week.\n"
MB = 1024 * 1024


def hostile_folder(c: Path) -> tuple[dict[str, tuple[str, str | None]], dict[str, str], list[str]]:
    """Write the folder; return the articles expected (id -> title, date), the files
    expected to be skipped (path -> start of the reason), and expected warnings."""
    c.mkdir()
    good: dict[str, tuple[str, str | None]] = {}
    bad: dict[str, str] = {}

    def write(name: str, data: bytes) -> Path:
        p = c / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return p

    write("plain.txt", GOOD.encode())
    good["plain.txt"] = ("The harbor reopens", "2022-03-04")
    crlf = GOOD.replace("\n", "\r\n").replace("harbor reopens", "CRLF harbor")
    write("crlf.txt", crlf.encode())
    good["crlf.txt"] = ("The CRLF harbor", "2022-03-04")
    write("old-mac.txt", GOOD.replace("\n", "\r").replace("harbor reopens", "CR harbor").encode())
    good["old-mac.txt"] = ("The CR harbor", "2022-03-04")
    write("utf8-bom.txt", codecs.BOM_UTF8 + GOOD.replace("harbor reopens", "BOM harbor").encode())
    good["utf8-bom.txt"] = ("The BOM harbor", "2022-03-04")
    write("utf16le.txt", GOOD.replace("\n", "\r\n").replace("harbor reopens", "UTF-16 harbor").encode("utf-16"))
    good["utf16le.txt"] = ("The UTF-16 harbor", "2022-03-04")
    md = "---\ntitle: Big-endian café\ndate: 2021-12-01\n---\n\nA **bold** body in UTF-16 big-endian, with a [link](http://x.example).\n"
    write("utf16be.md", codecs.BOM_UTF16_BE + md.encode("utf-16-be"))
    good["utf16be.md"] = ("Big-endian café", "2021-12-01")
    bomb = "---\n" + "".join(
        f"{k}: &{k} [{', '.join(['*' + p] * 10 if p else ['x'] * 10)}]\n"
        for k, p in zip("abcdefgh", ["", "a", "b", "c", "d", "e", "f", "g"])
    ) + "title: *h\ndate: *h\n---\n\nA body after a billion-laughs front matter.\n"
    write("yaml-bomb.md", bomb.encode())
    good["yaml-bomb.md"] = ("", None)
    lines = [
        json.dumps({"id": "a", "title": "Line one", "date": "2022-01-02", "text": "First good line of the feed."}),
        '{"id": "b", "title": "Broken", "text": "no closing brace"',
        json.dumps({"id": "c", "title": "Line three", "text": "Third line, still good."}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "e", "title": "No text"}),
        json.dumps({"id": "f", "title": "Line six", "body": "Sixth line uses body."}),
    ]
    write("feed.jsonl", ("\n".join(lines) + "\n").encode())
    good.update({"feed.jsonl#a": ("Line one", "2022-01-02"), "feed.jsonl#c": ("Line three", None),
                 "feed.jsonl#f": ("Line six", None)})
    items = [{"title": "Item zero", "text": "Zero."}, {"title": "Item one"}, {"title": "Item two", "text": "Two."}]
    write("list.json", json.dumps(items).encode())
    good.update({"list.json#0": ("Item zero", None), "list.json#2": ("Item two", None)})
    warnings = [
        "feed.jsonl: line 2: malformed JSON",
        "feed.jsonl: line 4: expected a JSON object, found list",
        'feed.jsonl: line 5: no "text" or "body" field',
        'list.json: item 1: no "text" or "body" field',
    ]
    n = 20_000
    write("wide.html", ("<html><body><article>" + "<p>Paragraph of a very long page.</p>" * n
                        + "</article></body></html>").encode())
    good["wide.html"] = ("", None)
    write("deep.html", ("<html><body>" + "<div>" * n + "<p>Deep inside the page.</p>" + "</div>" * n
                        + "</body></html>").encode())
    good["deep.html"] = ("", None)
    write("evil\x1b]0;pwned\x07name.txt", GOOD.replace("harbor reopens", "Escape in the name").encode())
    good["evil\x1b]0;pwned\x07name.txt"] = ("The Escape in the name", "2022-03-04")
    (c / "link-to-plain.txt").symlink_to("plain.txt")
    good["link-to-plain.txt"] = ("The harbor reopens", "2022-03-04")

    write("empty.txt", b"")
    bad["empty.txt"] = "empty file"
    write("blank.md", b" \n\t\r\n  \n")
    bad["blank.md"] = "empty file"
    write("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2000))
    bad["binary.txt"] = "binary file (contains NUL bytes)"
    write("latin1.txt", "Café au lait, déjà vu.".encode("latin-1"))
    bad["latin1.txt"] = "not valid UTF-8 (byte 0xe9"
    write("broken-utf16.txt", codecs.BOM_UTF16_LE + "ok".encode("utf-16-le") + b"\x00\xd8")
    bad["broken-utf16.txt"] = "broken UTF-16 text"
    with open(c / "huge.txt", "wb") as f:
        block = (GOOD * 200).encode()
        while f.tell() < 50 * MB:
            f.write(block)
    bad["huge.txt"] = "too large (52."
    write("truncated.json", b'{"title": "Cut", "text": "The file ends in the middle of a str')
    bad["truncated.json"] = "malformed JSON at line 1"
    write("number.json", b"42")
    bad["number.json"] = "expected a JSON object or a list of objects"
    write("deep.json", b"[" * 200_000 + b"]" * 200_000)
    bad["deep.json"] = "could not be parsed (nested too deeply)"
    write("all-bad.jsonl", b"{nope\n[1, 2]\n")
    bad["all-bad.jsonl"] = "no valid article objects"
    write("scripts-only.html", b"<html><head><script>alert(1)</script><style>p{}</style></head>"
                               b"<body><script>document.write('x')</script><nav>Menu</nav></body></html>")
    bad["scripts-only.html"] = "no article text in this HTML page"
    write("bad-front-matter.md", b"---\ntitle: [unclosed\n---\n\nBody.\n")
    bad["bad-front-matter.md"] = "malformed front matter"
    write("surrogate.json", b'{"title": "Lone half", "text": "A lone \\ud800 surrogate."}')
    bad["surrogate.json"] = "holds text that is not valid Unicode"
    write(os.fsdecode(b"caf\xe9.txt"), GOOD.encode())
    bad["caf\ufffd.txt"] = "its name is not valid UTF-8"
    (c / "loop-a.txt").symlink_to("loop-b.txt")
    (c / "loop-b.txt").symlink_to("loop-a.txt")
    (c / "self.md").symlink_to("self.md")
    bad.update({"loop-a.txt": "symlink loop", "loop-b.txt": "symlink loop", "self.md": "symlink loop"})
    (c / "dangling.txt").symlink_to("nowhere.txt")
    bad["dangling.txt"] = "broken symlink"
    (c / "sub").mkdir()
    write("sub/nested.txt", GOOD.replace("harbor reopens", "nested harbor").encode())
    good["sub/nested.txt"] = ("The nested harbor", "2022-03-04")
    (c / "sub" / "loop").symlink_to("..")
    bad["sub/loop"] = "symlinked folder, not followed"
    os.mkfifo(c / "pipe.txt")
    bad["pipe.txt"] = "not a regular file (a named pipe)"
    (c / "zero.txt").symlink_to("/dev/zero")
    bad["zero.txt"] = "not a regular file (a device)"
    write("locked.txt", GOOD.encode()).chmod(0)
    bad["locked.txt"] = "permission denied"
    write("sealed/inside.txt", GOOD.encode())
    (c / "sealed").chmod(0)
    bad["sealed"] = "folder cannot be read (Permission denied)"

    write("photo.jpg", b"\xff\xd8\xff\xe0")  # other types are counted as ignored
    write(".hidden.txt", GOOD.encode())  # hidden files are not even counted
    return good, bad, warnings


@pytest.mark.skipif(not can_drop_dac(), reason="running as root without setpriv: chmod 000 cannot stop a read")
def test_a_folder_of_hostile_files_through_the_cli(tmp_path):
    corpus, store = tmp_path / "articles", tmp_path / "store"
    good, bad, warnings = hostile_folder(corpus)
    try:
        started = time.monotonic()
        proc = cli_with_fake_model("index", "--corpus", str(corpus), "--store", str(store), "--quiet",
                                   env=proc_env(tmp_path / "home", user_default=False), drop_dac=True)
        seconds = time.monotonic() - started
    finally:
        (corpus / "sealed").chmod(0o755)
        (corpus / "locked.txt").chmod(0o644)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]

    # One warning line per bad file, naming it and why; one per bad part of a file.
    skipped = dict(re.findall(r"^warning: skipped (.*?): (.*)$", proc.stderr, re.MULTILINE))
    shown = {k.replace("\x1b", "\\x1b").replace("\x07", "\\x07"): v for k, v in bad.items()}
    assert sorted(skipped) == sorted(shown), proc.stderr
    for path, reason in shown.items():
        assert skipped[path].startswith(reason), (path, skipped[path])
    assert "limit 5.2 MB" in skipped["huge.txt"] and "max_file_mb" in skipped["huge.txt"]
    part_warnings = [l for l in proc.stderr.splitlines() if l.startswith("warning: ") and "skipped " not in l[:17]]
    assert len(part_warnings) == len(warnings)
    for expected, line in zip(warnings, part_warnings):
        assert line.startswith("warning: " + expected), (expected, line)
    # No raw escape byte reached the terminal, even from a file name.
    assert "\x1b" not in proc.stderr + proc.stdout and "\x07" not in proc.stderr + proc.stdout

    # The summary counts them all.
    assert f"{len(good)} added, 0 changed, 0 removed, 0 unchanged; {len(bad)} skipped, 1 other files ignored" in proc.stdout

    # Every good file is in the store, with its title and date, and no carriage return.
    s = Store.open(store)
    assert {a.id for a in s.articles()} == set(good)
    for aid, (title, day) in good.items():
        rec = s.article(aid)
        assert (rec.title, rec.date) == (title, day), aid
        assert "\r" not in s.article_text(aid)
    assert s.article_text("crlf.txt") == s.article_text("plain.txt") == s.article_text("utf16le.txt")
    assert "\ufeff" not in s.article_text("utf8-bom.txt") + s.article_text("utf16be.md")
    assert s.article_text("wide.html").count("Paragraph of a very long page.") == 20_000
    assert s.article_text("deep.html") == "Deep inside the page."
    assert seconds < 120, f"indexing the hostile folder took {seconds:.0f}s"


def test_a_file_that_vanishes_or_changes_while_it_is_being_indexed(tmp_path, write_article):
    """Real files changed at real moments of a build, through the build's own progress
    callback: one vanishes after the folder was listed, one is rewritten before it is
    read, one is edited after it was read (while embedding)."""
    corpus, root = tmp_path / "articles", tmp_path / "store"
    for i in range(6):
        write_article(corpus, f"f{i}.txt", f"Article number {i}", [f"The original text of article {i} about rivers."])
    events = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "reading" and done == 1:
            (corpus / "f2.txt").unlink()  # listed, not yet read
            write_article(corpus, "f3.txt", "Article number 3", ["Rewritten before it was read, about lakes."])
            events.append("reading")
        if stage == "embedding" and "embedding" not in events:
            write_article(corpus, "f4.txt", "Article number 4", ["Edited while the build was embedding, about seas."])
            events.append("embedding")

    report = build_index(corpus, root, HashingEmbedder(), progress=progress)
    assert events == ["reading", "embedding"]
    assert [(s.path, s.reason) for s in report.skipped] == [("f2.txt", "vanished while it was being read")]
    assert report.added == ["f0.txt", "f1.txt", "f3.txt", "f4.txt", "f5.txt"]
    s = Store.open(root)
    assert "lakes" in s.article_text("f3.txt")  # what was on disk when it was read
    assert "rivers" in s.article_text("f4.txt")  # the version that was read; the edit comes next

    # Nothing lost: the next build sees the edit, and nothing else.
    again = build_index(corpus, root, HashingEmbedder())
    assert (again.added, again.changed, again.removed, again.unchanged) == ([], ["f4.txt"], [], 4)
    assert "seas" in Store.open(root).article_text("f4.txt")


def test_ten_thousand_small_files(tmp_path, capsys):
    corpus = tmp_path / "articles"
    for d in range(20):
        (corpus / f"day{d:02d}").mkdir(parents=True)
    for i in range(10_000):
        (corpus / f"day{i % 20:02d}" / f"brief{i:05d}.txt").write_text(
            f"2022-03-{i % 28 + 1:02d}\n\nCouncil brief {i}\n\nItem {i} passed by {i % 9} votes to {i % 7}.\n",
            encoding="utf-8")
    for i in range(0, 10_000, 400):  # 25 bad ones among them
        (corpus / f"day{i % 20:02d}" / f"brief{i:05d}.txt").write_bytes(b"")
    na = NewsAssistant.from_settings(embedder=FakeMiniLM(), corpus=corpus, store=tmp_path / "store")
    started = time.monotonic()
    report = na.build_index()
    seconds = time.monotonic() - started
    assert (report.articles, report.chunks, len(report.added), len(report.skipped)) == (9_975, 9_975, 9_975, 25)
    assert {s.reason for s in report.skipped} == {"empty file"}
    print_report(report)
    out = capsys.readouterr()
    assert "9975 added, 0 changed, 0 removed, 0 unchanged; 25 skipped" in out.out
    assert out.err.count("warning: skipped ") == 25
    assert "... and 9955 more added" in out.out  # the list is cut, not 10,000 lines

    hits = na.search("Council brief 4321", k=3, as_of=date(2023, 1, 1)).hits
    assert hits[0].article_id == "day01/brief04321.txt"
    again = na.build_index()
    assert not again.published and again.unchanged == 9_975
    assert seconds < 90, f"10,000 files took {seconds:.0f}s"


def test_one_enormous_line_is_chunked_without_hanging(tmp_path):
    """3 MB without a newline or a sentence end, and 1 MB that is one single "word":
    both under the size limit, both indexed, every chunk within the token budget."""
    corpus = tmp_path / "articles"
    corpus.mkdir()
    words = "river council budget harbor vote storm market school player ferry".split()
    line = " ".join(words[(i * 7) % 10] for i in range(520_000))  # 3 MB, no newline, no punctuation
    (corpus / "one-line.txt").write_text(line, encoding="utf-8")
    (corpus / "one-word.txt").write_text("x" * MB, encoding="utf-8")
    started = time.monotonic()
    report = build_index(corpus, tmp_path / "store", HashingEmbedder())
    seconds = time.monotonic() - started
    assert report.added == ["one-line.txt", "one-word.txt"] and not report.skipped
    s = Store.open(tmp_path / "store")
    for aid in report.added:
        text = s.article_text(aid)
        chunks = s.chunks_of(aid)
        assert chunks and all(text[c.start:c.end] == c.text for c in chunks)
        assert max(count_tokens(c.text) for c in chunks[:50]) <= DEFAULT_MAX_TOKENS
        assert chunks[-1].end == len(text)  # nothing after the last chunk was dropped
    assert seconds < 120, f"the two enormous lines took {seconds:.0f}s"
