"""Export of answers and conversations to Markdown and JSON: every quote with its
title, date, path and offsets, the index generation and model; article text escaped
in Markdown; existing files never overwritten unless asked."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

try:
    from answer_fixtures import make_hit, seed_index
except ImportError:  # tests/ made a package
    from tests.answer_fixtures import make_hit, seed_index

from assistant.answer.types import Answer, AnswerSentence, Citation
from assistant.export import ExportExistsError, answer_markdown, export
from assistant.session import ChatSession

AS_OF = date(2022, 2, 1)


@pytest.fixture(scope="module")
def real(tmp_path_factory, minilm):
    """A real answer from the seed, and the assistant that made it."""
    na = seed_index(tmp_path_factory, minilm).assistant()
    session = ChatSession()
    answer = na.ask("How did Grushko describe the differences?", session=session, as_of=AS_OF)
    assert answer.citations
    return na, answer, session


@pytest.mark.slow
def test_json_export_reads_back_with_sources(real, tmp_path):
    na, answer, _ = real
    path = na.export(answer, tmp_path / "answer.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["question"] == answer.question and data["answer"] == answer.text
    assert data["exported"] and data["as_of"] == "2022-02-01"
    store = na.store()
    assert data["store"]["generation"] == store.manifest.generation
    assert data["store"]["model"] == "all-MiniLM-L6-v2"
    for c in data["citations"]:
        assert {"quote", "title", "date", "file", "start", "end", "n", "source", "url"} <= set(c)
        assert store.article_text(c["article_id"])[c["start"] : c["end"]] == c["quote"]
    assert any("Fundamental" in c["quote"] for c in data["citations"])
    assert data["sentences"][0]["status"] == "supported" and data["sentences"][0]["citations"]
    assert data["hits"] and {"file", "start", "end", "text", "score"} <= set(data["hits"][0])


@pytest.mark.slow
def test_markdown_export_has_every_source_detail(real, tmp_path):
    na, answer, _ = real
    path = export(answer, tmp_path / "answer.md")
    md = path.read_text(encoding="utf-8")
    c = answer.citations[0]
    assert md.startswith("# How did Grushko describe the differences?")
    assert "Russia and NATO note their disagreements" in md
    assert c.date in md and f"`{c.file}`" in md
    assert c.location() in md and c.location().startswith("file chars")
    assert "Fundamental" in md
    assert f"index generation {na.store().manifest.generation}" in md and "all-MiniLM-L6-v2" in md
    assert "Engine: extractive" in md and "as of 2022-02-01" in md


@pytest.mark.slow
def test_conversation_export(real, tmp_path):
    _, answer, session = real
    md = export(session, tmp_path / "chat.md").read_text(encoding="utf-8")
    assert md.startswith(f"# Conversation {session.id}") and "## How did Grushko" in md
    data = json.loads(export(session, tmp_path / "chat.json").read_text(encoding="utf-8"))
    assert data["id"] == session.id and len(data["turns"]) == 1
    assert data["turns"][0]["answer"]["citations"][0]["quote"] == answer.citations[0].quote
    # Format from the argument, whatever the suffix.
    as_json = export(session, tmp_path / "chat.txt", fmt="json").read_text(encoding="utf-8")
    assert json.loads(as_json)["id"] == session.id


def test_existing_file_is_never_overwritten_unless_asked(tmp_path):
    answer = synthetic_answer()
    target = tmp_path / "out.md"
    target.write_text("precious", encoding="utf-8")
    with pytest.raises(ExportExistsError) as e:
        export(answer, target)
    assert "already exists" in e.value.message and e.value.hint
    assert target.read_text(encoding="utf-8") == "precious"
    export(answer, target, overwrite=True)
    assert "precious" not in target.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.md"]  # no temporary files left
    # The same through the API object, and for JSON.
    export(answer, tmp_path / "out.json")
    with pytest.raises(ExportExistsError):
        export(answer, tmp_path / "out.json")


def test_export_creates_missing_folders(tmp_path):
    path = export(synthetic_answer(), tmp_path / "a" / "b" / "answer.md")
    assert path.is_file()


# -- Markdown escaping ---------------------------------------------------------------------

EVIL = "Click [here](http://evil.example) ![img](http://evil.example/x.png) <script>alert(1)</script> **bold** # not a heading"


def synthetic_answer(file: str = "news/a.txt", quote: str = EVIL, title: str = "A <b>title</b> [x](y)") -> Answer:
    hit = make_hit(quote, file=file, title=title)
    cite = Citation(n=1, article_id=file, file=file, title=title, date="2022-01-02", source="Wire <i>",
                    url="http://evil.example", quote=quote, start=10, end=10 + len(quote), chunk_id=1)
    return Answer(
        question="What <img src=x> happened?",
        sentences=(AnswerSentence(quote, (1,), "supported", 1.0), AnswerSentence("An [unsupported](x) claim.", (), "unsupported", 0.1)),
        citations=(cite,), hits=(hit,), engine="extractive", search_query="q [x](y)", as_of="2022-02-01",
        notices=("Server said <html>",), generation=3, store={"model": "all-MiniLM-L6-v2"},
    )


def unescaped(md: str, needle: str) -> bool:
    """Whether `needle` occurs with none of its characters backslash-escaped."""
    return any(md[i - 1 : i] != "\\" for i in [m.start() for m in re.finditer(re.escape(needle), md)])


def test_markdown_escapes_article_text():
    md = answer_markdown(synthetic_answer())
    for needle in ("[here](", "![img]", "<script>", "**bold**", "<b>", "[x](y)", "<i>", "<img", "[unsupported](", "<html>"):
        assert not unescaped(md, needle), needle
    # The words themselves survive, escaped.
    assert "Click \\[here\\]\\(http://evil.example\\)" in md
    assert "\\<script\\>" in md
    assert "*(unsupported)*" in md
    assert "article text chars 10-" in md and "index generation 3" in md


def test_markdown_escapes_terminal_control_characters():
    md = answer_markdown(synthetic_answer(quote="Red \x1b[31malert\x1b[0m text"))
    assert "\x1b" not in md and "\\x1b" in md


def test_markdown_path_cannot_break_out_of_its_code_span():
    # File names come from the corpus folder and may hold backticks.
    md = answer_markdown(synthetic_answer(file="evil`<img src=x onerror=alert(1)>`.txt"))
    line = next(l for l in md.splitlines() if l.startswith("1. "))
    # Outside code spans nothing may look like an HTML tag.
    outside = re.sub(r"(`+)(.*?)\1", "", line.split("— ", 1)[1])
    assert "<img" not in outside, line
    assert "evil" in line and "onerror" in line
