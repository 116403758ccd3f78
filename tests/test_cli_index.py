"""`assistant index` and `assistant status` as a user runs them: real processes, the
real model, tmp folders, and NEWS_ASSISTANT_HOME pointing at a tmp dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def assistant(child_env, tmp_path):
    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "assistant", *args], cwd=tmp_path, env=child_env,
            capture_output=True, text=True, timeout=timeout,
        )

    return run


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr


def test_index_then_status(assistant, corpus, tmp_path, seed):
    # One run with the real model (it costs a model load); the update logic itself is
    # covered in-process by test_builder.py.
    store = tmp_path / "store"
    where = ["--corpus", str(corpus), "--store", str(store)]
    (corpus / "empty.txt").write_bytes(b"")

    first = assistant("index", *where, "--quiet")
    no_traceback(first)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "3 added, 0 changed, 0 removed, 0 unchanged; 1 skipped"
    assert sorted(lines[1:4]) == sorted(f"  added: {i}" for i in [seed.id, "floods.txt", "sub/chess.txt"])
    assert lines[4].startswith("Embedded 8 chunks; index generation 1 holds 3 articles in 8 chunks (")
    assert len(lines) == 5
    assert f"Indexing {corpus} into {store}" in first.stderr
    assert "warning: skipped empty.txt: empty file" in first.stderr

    status = assistant("status", *where, "--json")
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert {k: info[k] for k in ("store", "corpus", "generation", "articles", "chunks", "model", "dim")} == {
        "store": str(store), "corpus": str(corpus.resolve()), "generation": 1, "articles": 3,
        "chunks": 8, "model": "all-MiniLM-L6-v2-int8", "dim": 384,
    }
    assert (info["oldest"], info["newest"], info["dense_search"]) == ("2022-01-23", "2022-08-14", "exact")

    plain = assistant("status", *where)
    assert plain.returncode == 0 and any(line.split() == ["articles", "3"] for line in plain.stdout.splitlines())

    # Nothing changed: the report, as JSON, says so (and no model is loaded for it).
    again = assistant("index", *where, "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["added"], report["changed"], report["removed"], report["unchanged"]) == ([], [], [], 3)
    assert (report["published"], report["embedded_chunks"], report["generation"]) == (False, 0, 1)
    assert report["skipped"] == [{"path": "empty.txt", "reason": "empty file"}]

    plain_again = assistant("index", *where, "--quiet")
    assert plain_again.stdout.splitlines() == [
        "0 added, 0 changed, 0 removed, 3 unchanged; 1 skipped",
        "Index is up to date: 3 articles in 8 chunks.",
    ]


def test_report_lists_changes(capsys):
    from assistant.cli import print_report
    from index.builder import BuildReport
    from index.corpus import SkippedFile

    report = BuildReport(
        added=[f"new{i:02d}.txt" for i in range(23)], changed=["floods.txt"], removed=["sub/chess.txt"],
        unchanged=4, skipped=[SkippedFile("bad.json", "malformed JSON at line 1, column 2: x")],
        warnings=["feed.jsonl: line 3: malformed JSON (x); line skipped"], ignored=2,
        embedded_chunks=30, articles=28, chunks=90, generation=5, published=True, seconds=1.25,
    )
    print_report(report)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "23 added, 1 changed, 1 removed, 4 unchanged; 1 skipped, 2 other files ignored"
    assert lines[1:21] == [f"  added: new{i:02d}.txt" for i in range(20)]
    assert lines[21:] == [
        "  ... and 3 more added", "  changed: floods.txt", "  removed: sub/chess.txt",
        "Embedded 30 chunks; index generation 5 holds 28 articles in 90 chunks (1.2s).",
    ]
    assert err.splitlines() == [
        "warning: skipped bad.json: malformed JSON at line 1, column 2: x",
        "warning: feed.jsonl: line 3: malformed JSON (x); line skipped",
    ]


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_missing_corpus_is_one_friendly_line(assistant, tmp_path):
    missing = tmp_path / "no-such-folder"
    result = assistant("index", "--corpus", str(missing), "--store", str(tmp_path / "store"), timeout=60)
    no_traceback(result)
    assert result.returncode == 1
    assert result.stdout == ""
    assert error_lines(result) == [f"error: the article folder {missing} does not exist"]
    assert "--corpus DIR" in result.stderr  # the hint says what to do


def test_corpus_that_is_a_file(assistant, tmp_path):
    not_a_dir = tmp_path / "articles.txt"
    not_a_dir.write_text("hello", encoding="utf-8")
    result = assistant("index", "--corpus", str(not_a_dir), "--store", str(tmp_path / "store"), timeout=60)
    no_traceback(result)
    assert result.returncode == 1 and error_lines(result) == [f"error: {not_a_dir} is not a folder"]


def test_status_before_any_index_uses_the_home_dir(assistant, corpus, isolated_home: Path):
    result = assistant("status", "--corpus", str(corpus), timeout=60)
    no_traceback(result)
    assert result.returncode == 1
    [line] = error_lines(result)
    assert line.startswith(f"error: no index at {isolated_home / 'stores' / 'corpus-'}") and line.endswith(" yet")
    assert "assistant index" in result.stderr


def test_invalid_settings_are_one_friendly_line(assistant, corpus, child_env, tmp_path):
    child_env["NEWS_ASSISTANT_CHUNK_TOKENS"] = "5000"
    result = assistant("index", "--corpus", str(corpus), "--store", str(tmp_path / "store"), timeout=60)
    no_traceback(result)
    assert result.returncode == 1
    [line] = error_lines(result)
    assert line.startswith("error: invalid settings (chunk_tokens:")
