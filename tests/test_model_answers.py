"""Model answers checked claim by claim: the seven cases seen with a real local model
(Qwen2.5-Coder-1.5B behind llama.cpp's server), replayed from the model's actual text
through a real HTTP server speaking the OpenAI protocol, over articles written for
these tests, with the real embedding model."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

try:
    from answer_fixtures import child_env, make_assistant, write_md_articles
    from model_server import FakeOpenAI
except ImportError:  # tests/ made a package
    from tests.answer_fixtures import child_env, make_assistant, write_md_articles
    from tests.model_server import FakeOpenAI

from assistant.answer.checker import check_answer

pytestmark = pytest.mark.slow
AS_OF = date(2022, 7, 29)
ARTICLES = {
    "quake-ph.md": ("2022-07-27", "Wirefeed", "Earthquake in the Philippines",
                    "A 7.0-magnitude earthquake shook parts of the Philippines on Wednesday, according to the US "
                    "Geological Survey. The quake struck the island of Luzon and was felt in Manila."),
    "quake-ec.md": ("2016-04-17", "Wirefeed", "Earthquake in Ecuador",
                    "The coastal region of Ecuador was shaken by a massive 7.8-magnitude earthquake on Saturday. "
                    "Hundreds of buildings collapsed in the port city of Manta."),
    "reservists.md": ("2022-02-23", "Wirefeed", "Ukraine calls up reservists",
                      "Ukrainian President Volodymyr Zelenskyy called up reservists on Wednesday as Russian troops "
                      "massed near the border. The order applies to men aged 18 to 60."),
    "squid.md": ("2022-06-13", "Screen Daily", "A second season",
                 "Netflix said on Sunday that “Squid Game” will return for a second season. The series was watched "
                 "by millions of households in its first month."),
    "chargers.md": ("2022-06-08", "Wirefeed", "One charger for all",
                    "The European Union’s lawmakers agreed on Tuesday that every new phone sold in the EU, the Apple "
                    "iPhone included, must charge over USB-C by the fall of 2024. The rule was drafted in Brussels."),
    "lockdown.md": ("2022-03-28", "Wirefeed", "Shanghai lockdown",
                    "Shanghai began a two-stage lockdown on Monday to contain a surge in Covid-19 cases. The city's "
                    "east was closed first and the west will follow on Friday."),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory, minilm):
    root = tmp_path_factory.mktemp("model-answers")
    corpus = write_md_articles(root / "articles", ARTICLES)
    (root / "home").mkdir()
    make_assistant(minilm, corpus, root / "store", root / "home").build_index()
    return root


@pytest.fixture
def server():
    fake = FakeOpenAI()
    yield fake
    fake.close()


def ask(folder: Path, minilm, server: FakeOpenAI, question: str, pieces: list[str], drafts: list | None = None):
    server.pieces = pieces
    na = make_assistant(minilm, folder / "articles", folder / "store", folder / "home", engine="openai",
                        openai_base_url=server.base_url, timeout_seconds=10)
    return na, na.ask(question, as_of=AS_OF, on_draft=drafts.append if drafts is not None else None)


def test_1_a_citation_goes_to_the_passage_that_holds_the_names(folder, minilm, server):
    na, ans = ask(folder, minilm, server, "Which country was shaken by a 7.0-magnitude earthquake this week?",
                  ["The Philippines was shaken by a 7.0-magnitude ", "earthquake on Wednesday. [1]"])
    (s,) = ans.sentences
    assert s.status == "supported", s
    (c,) = [c for c in ans.citations if c.n in s.citations]
    assert c.file == "quake-ph.md" and "Philippines" in c.quote
    assert check_answer(ans, na.store()) == []


def test_2_abbreviations_are_not_names(folder, minilm, server):
    # Seen with the real model: "the U.S." was read as the names "u" and "s".
    _, ans = ask(folder, minilm, server, "Where was the earthquake felt?",
                 ["The quake was felt in Manila, according to the U.S. Geological Survey. [1]"])
    assert ans.sentences[0].status == "supported", ans.sentences[0]


def test_2_a_swapped_name_is_a_contradiction_not_support(folder, minilm, server):
    _, ans = ask(folder, minilm, server, "Who called up reservists?",
                 ["Russian President Volodymyr Zelenskyy called up reservists. [1]"])
    (s,) = ans.sentences
    assert s.status == "contradicted" and "russian president" in s.note, s
    _, ans = ask(folder, minilm, server, "How many reservists were called up?",
                 ["The order applies to men aged 18 to 65. [1]"])
    assert ans.sentences[0].status == "contradicted" and "65" in ans.sentences[0].note


def test_3_prompt_markup_never_reaches_the_reader(folder, minilm, server):
    drafts: list = []
    _, ans = ask(folder, minilm, server, "What happened in Shanghai?",
                 ['According to the passage from <passage n="1">, Shanghai began a two-stage lockdown on Monday. [n] [1] ',
                  "According to passage [1], the city's east was closed first. [1] This is stated in passage [1]."],
                 drafts)
    shown = [ans.text] + [" ".join(s.marked for s in d.sentences) for d in drafts]
    for text in shown:
        assert "<passage" not in text and "[n]" not in text and "passage" not in text.lower(), text
    assert [s.status for s in ans.sentences] == ["supported", "supported"]
    assert ans.sentences[0].text.startswith("Shanghai began") and ans.sentences[1].text.startswith("The city's east")
    # The fence's attribute copied as the citation.
    _, ans = ask(folder, minilm, server, "What happened in Shanghai?",
                 ["Shanghai began a two-stage lockdown on Monday (n=1)."])
    assert "n=" not in ans.text and [(s.status, s.citations) for s in ans.sentences] == [("supported", (1,))]


def test_4_punctuation_inside_the_quotation_marks_is_still_verbatim(folder, minilm, server):
    _, ans = ask(folder, minilm, server, "Which show will return for a second season?",
                 ['The show returning for a second season is "Squid Game." [1]'])
    (s,) = ans.sentences
    assert s.status == "supported", s


def test_6_answers_are_asked_for_at_temperature_zero(folder, minilm, server):
    ask(folder, minilm, server, "What happened in Shanghai?", ["Shanghai began a lockdown on Monday. [1]"])
    assert server.requests[-1]["body"]["temperature"] == 0.0


def test_7_offsets_point_into_the_file(folder, minilm, server):
    _, ans = ask(folder, minilm, server, "What happened in Shanghai?", ["Shanghai began a lockdown on Monday. [1]"])
    (c,) = ans.citations
    raw = (folder / "articles" / c.file).read_text(encoding="utf-8")
    assert c.file_start is not None and raw[c.file_start : c.file_end] == c.quote
    assert c.file_start != c.start  # the front matter shifts them: the two must not be confused
    assert c.location() == f"file chars {c.file_start}-{c.file_end}"


def test_5_the_terminal_shows_reading_then_the_answer_once(folder, server):
    """`assistant ask` on a real terminal (a pty): a reading status, then each grounded
    sentence once, in its final numbering; no second copy after the stream."""
    server.pieces = ["Shanghai began a two-stage lockdown on Monday. [1] ", "The city's east was closed first. [1]"]
    env = dict(child_env(folder / "home"), NEWS_ASSISTANT_EMBEDDER="minilm-fp32")  # the store was built with fp32
    env.update(NEWS_ASSISTANT_OPENAI_BASE_URL=server.base_url, COLUMNS="200", TERM="dumb")
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "ask", "What happened in Shanghai?", "--engine", "openai",
                             "--as-of", AS_OF.isoformat(), "--corpus", str(folder / "articles"),
                             "--store", str(folder / "store")], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(60) == 0
    text = " ".join(out.decode("utf-8", "replace").split())
    assert "Reading" in text and text.index("Reading") < text.index("Shanghai began")
    assert text.count("Shanghai began a two-stage lockdown on Monday.") == 1, text
    assert "file chars" in text


def test_8_a_possessive_or_another_apostrophe_is_the_same_name(folder, minilm, server):
    # Seen with the real model: "the EU's effort", "Tesla's AI Day" and "Coeur d'Alene"
    # were judged contradicted because the article wrote "the EU", "Tesla’s", "d’Alene".
    _, ans = ask(folder, minilm, server, "Which phones must charge over USB-C?",
                 ["Under the European Union's rule, the EU's new phones, Apple's iPhone included, must charge over "
                  "USB-C by the fall of 2024. [1]"])
    (s,) = ans.sentences
    assert s.status == "supported", s
    # A name the article does not hold is still caught, possessive or not.
    _, ans = ask(folder, minilm, server, "Which phones must charge over USB-C?",
                 ["Under Germany's rule, new phones must charge over USB-C by the fall of 2024. [1]"])
    assert ans.sentences[0].status == "contradicted" and "germany" in ans.sentences[0].note
