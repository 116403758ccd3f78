"""`assistant chat` wiring, and the core staying importable without the TUI."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

from conftest import REPO, SEEDS


def test_chat_command_builds_the_app_from_flags(monkeypatch, tmp_path):
    from assistant.cli import main
    from assistant.tui.app import NewsApp

    started = []
    monkeypatch.setattr(NewsApp, "run", lambda self, *a, **k: started.append(self))
    code = main(["chat", "--corpus", str(SEEDS), "--store", str(tmp_path / "s"), "--engine", "openai",
                 "--as-of", "2022-02-01", "--resume"])
    assert code == 0
    [app] = started
    assert app.options.as_of == date(2022, 2, 1) and app.options.engine == "openai" and app.resume
    assert app.na.corpus == SEEDS and app.na.store_dir == tmp_path / "s"
    # The bare command opens the chat too.
    assert main(["--corpus", str(SEEDS), "--store", str(tmp_path / "s")]) == 0
    assert len(started) == 2 and not started[1].resume


def test_bad_as_of_is_one_line_before_the_terminal_is_taken(capsys, tmp_path):
    from assistant.cli import main

    assert main(["chat", "--corpus", str(SEEDS), "--store", str(tmp_path), "--as-of", "someday"]) == 1
    assert "cannot read the date" in capsys.readouterr().err


def test_core_does_not_import_textual():
    code = ("import sys, assistant.api, assistant.cli, assistant.cli_read, assistant.export, index.builder; "
            "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith(('textual.', 'assistant.tui'))); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
