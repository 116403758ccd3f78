"""The core works without the TUI, and importing the API or the CLI is cheap: the
model stack (torch, sentence-transformers, FAISS) loads only when first used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

try:
    from answer_fixtures import REPO, child_env
except ImportError:  # tests/ made a package
    from tests.answer_fixtures import REPO, child_env

HEAVY = ("torch", "sentence_transformers", "transformers", "faiss")


def imported_after(tmp_path, modules: list[str]) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(tmp_path),
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout))


def top_level(mods: set[str]) -> set[str]:
    return {m.split(".")[0] for m in mods}


def test_core_does_not_import_textual(tmp_path):
    mods = top_level(imported_after(tmp_path, ["index.builder", "assistant.api", "assistant.cli_read",
                                               "assistant.answer.answerer", "assistant.export", "assistant.session"]))
    assert "assistant" in mods and "index" in mods  # the imports really happened
    assert "textual" not in mods


@pytest.mark.parametrize("modules", [["assistant.api"], ["assistant.cli"], ["assistant.api", "assistant.cli"]])
def test_api_and_cli_import_without_the_model_stack(tmp_path, modules):
    mods = top_level(imported_after(tmp_path, modules))
    assert not (mods & set(HEAVY)), sorted(mods & set(HEAVY))
    assert "textual" not in mods


def test_cli_help_and_parser_need_no_model(tmp_path):
    code = (
        "import sys, json\n"
        "from assistant.cli import build_parser\n"
        "p = build_parser()\n"
        "p.parse_args(['search', 'q', '--json'])\n"
        "p.parse_args(['ask', 'q', '--export', 'x.md'])\n"
        "p.parse_args(['export', '--list'])\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(HEAVY) + ['textual']!r})))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(tmp_path),
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
