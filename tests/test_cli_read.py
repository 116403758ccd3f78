"""The read-side commands through real subprocesses (`python -m assistant`): search,
search --json - (JSON lines), ask --json/--export, export; and their errors. The seed
store is built once in-process and passed with --store, so each child only loads the
model when it has to search."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

try:
    from answer_fixtures import SEED_ID, child_env, seed_index
except ImportError:  # tests/ made a package
    from tests.answer_fixtures import SEED_ID, child_env, seed_index

pytestmark = pytest.mark.slow
QUESTION = "How did Grushko describe the differences?"
HIT_KEYS = {"file", "title", "date", "source", "chunk_id", "start", "end", "text", "score"}


@pytest.fixture(scope="module")
def seed_idx(tmp_path_factory, minilm):
    return seed_index(tmp_path_factory, minilm)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli-home")


def run(home: Path, *args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    # The shared seed store is built with the fp32 encoder (the `minilm` fixture).
    env = dict(child_env(home), NEWS_ASSISTANT_EMBEDDER="minilm-fp32")
    return subprocess.run([sys.executable, "-m", "assistant", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=home)


def assert_clean_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: ") and len(lines) <= 2, proc.stderr  # message (+ hint)
    for w in words:
        assert w in lines[0], proc.stderr


@pytest.fixture(scope="module")
def search_json(seed_idx, home):
    proc = run(home, "search", QUESTION, "--json", "--store", str(seed_idx.store_dir), "--as-of", "2022-02-01")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_search_json_schema(seed_idx, search_json):
    out = search_json
    assert out["query"] == QUESTION and out["as_of"] == "2022-02-01" and out["window"] is None
    assert out["hits"]
    store = seed_idx.assistant().store()
    for h in out["hits"]:
        assert HIT_KEYS <= set(h)
        assert h["file"] == SEED_ID and h["date"] == "2022-01-23" and h["title"].startswith("Russia and NATO")
        assert store.article_text(h["file"])[h["start"] : h["end"]] == h["text"]
        assert isinstance(h["score"], float) and isinstance(h["chunk_id"], int)
    assert any("Fundamental" in h["text"] for h in out["hits"])


def test_search_json_lines_from_stdin(seed_idx, home, search_json):
    lines = [
        {"id": "q1", "question": QUESTION, "as_of": "2022-02-01"},
        {"id": "q2", "question": "What did Wendy Sherman tell the Europeans?", "as_of": "2022-02-01"},
        {"id": "q3", "question": QUESTION, "as_of": "2022-01-01"},  # before the article: no hits
    ]
    stdin = "\n".join(json.dumps(x) for x in lines[:2]) + "\n\nnot json\n" + json.dumps(lines[2]) + "\n"
    proc = run(home, "search", "--json", "-", "--store", str(seed_idx.store_dir), stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["q1", "q2", None, "q3"]
    q1, q2, bad, q3 = out
    # Same hits, same rank order as the one-question form.
    assert q1["hits"] == search_json["hits"]
    assert q2["hits"] and all(HIT_KEYS <= set(h) for h in q2["hits"])
    assert any("Sherman" in h["text"] for h in q2["hits"])
    assert bad["line"] == 4 and "bad request" in bad["error"]
    assert q3["hits"] == []


def test_search_without_question_or_index_fails_cleanly(home, tmp_path):
    assert_clean_error(run(home, "search", "--store", str(tmp_path / "none")), "no question")
    assert_clean_error(run(home, "search", QUESTION, "--store", str(tmp_path / "none")), "no index")
    assert_clean_error(run(home, "ask", QUESTION, "--store", str(tmp_path / "none")), "no index")
    assert_clean_error(run(home, "search", QUESTION, "--json", "--store", str(tmp_path / "none")), "no index")
    assert_clean_error(run(home, "search", QUESTION, "--as-of", "someday", "--store", str(tmp_path)), "someday")


@pytest.fixture(scope="module")
def asked(seed_idx, home):
    out_md = home / "answer.md"
    proc = run(home, "ask", QUESTION, "--json", "--as-of", "2022-02-01", "--store", str(seed_idx.store_dir),
               "--export", str(out_md))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), out_md, proc


def test_ask_json(seed_idx, asked):
    data, _, _ = asked
    assert data["question"] == QUESTION and data["engine"] == "extractive" and data["as_of"] == "2022-02-01"
    assert "Fundamental" in data["answer"]
    assert data["sentences"] and all({"text", "citations", "status", "support"} <= set(s) for s in data["sentences"])
    assert all(s["status"] == "supported" and s["citations"] for s in data["sentences"])
    store = seed_idx.assistant().store()
    assert data["citations"]
    for c in data["citations"]:
        assert {"n", "quote", "file", "title", "date", "start", "end"} <= set(c)
        assert store.article_text(c["article_id"])[c["start"] : c["end"]] == c["quote"]
    assert data["hits"] and HIT_KEYS <= set(data["hits"][0])
    assert data["store"]["generation"] == store.manifest.generation
    assert data["store"]["model"] == "all-MiniLM-L6-v2"


def test_ask_export_writes_markdown(asked):
    data, out_md, proc = asked
    md = out_md.read_text(encoding="utf-8")
    assert md.startswith(f"# {QUESTION}") and "Fundamental" in md and "index generation" in md
    assert f"Exported to {out_md}" in proc.stderr


def test_export_of_saved_conversation(asked, home):
    data, _, _ = asked
    listing = run(home, "export", "--list")
    assert listing.returncode == 0, listing.stderr
    (line,) = listing.stdout.strip().splitlines()
    conv_id = line.split()[0]
    assert "1 turn(s)" in line and QUESTION in line

    out = home / "x.json"
    proc = run(home, "export", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"to {out}" in proc.stdout
    conv = json.loads(out.read_text(encoding="utf-8"))
    assert conv["id"] == conv_id
    (turn,) = conv["turns"]
    assert turn["question"] == QUESTION
    assert turn["answer"]["citations"] == data["citations"]
    assert turn["answer"]["store"]["generation"] == data["store"]["generation"]

    # Never overwritten without --force; one line, no traceback.
    before = out.read_text(encoding="utf-8")
    assert_clean_error(run(home, "export", "--out", str(out)), "already exists")
    assert out.read_text(encoding="utf-8") == before
    assert run(home, "export", "--out", str(out), "--force").returncode == 0

    # Default place and format, and by id.
    proc = run(home, "export", conv_id, "--format", "md")
    assert proc.returncode == 0, proc.stderr
    default = home / "exports" / f"{conv_id}.md"
    assert default.is_file() and "Fundamental" in default.read_text(encoding="utf-8")
    assert_clean_error(run(home, "export", "no-such-conversation"), "no conversation")


def test_export_without_conversations_fails_cleanly(tmp_path):
    assert_clean_error(run(tmp_path, "export"), "no saved conversation")
    proc = run(tmp_path, "export", "--list")
    assert proc.returncode == 0 and proc.stdout == ""


# -- terminal rendering (in-process) ---------------------------------------------------------


def test_terminal_output_neutralises_article_markup(capsys):
    from assistant.answer.types import Answer, AnswerSentence, Citation
    from assistant.render import print_answer, print_hits
    from assistant.retriever import Hit, SearchResult
    from datetime import date

    evil = "Red [bold red]alarm[/bold red] \x1b[31mescape\x1b[0m [link=http://x]click[/link]"
    hit = Hit(1, "a.txt", "a.txt", evil, "2022-01-01", "[i]Wire[/i]", "", 0, len(evil), evil, 0.5,
              duplicates=("b.txt",))
    cite = Citation(1, "a.txt", "a.txt", evil, "2022-01-01", "Wire", "", evil, 0, len(evil), 1)
    ans = Answer("q", (AnswerSentence(evil, (1,), "supported", 1.0),
                       AnswerSentence("Nothing backs this.", (), "unsupported", 0.0)),
                 (cite,), (hit,), "extractive", notices=("[b]note[/b]",))
    print_answer(ans)
    print_hits(SearchResult("q", date(2022, 2, 1), [hit]))
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "[bold red]alarm[/bold red]" in out and "[link=http://x]click[/link]" in out
    assert "\\x1b[31mescape" in out and "[i]Wire[/i]" in out and "[b]note[/b]" in out
    assert "(unsupported)" in out and "same passage in: b.txt" in out and "[1]" in out
