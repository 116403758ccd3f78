"""The layering and the types are contracts, checked on every run: import-linter's
contracts in pyproject.toml (the index never imports the assistant; only
assistant.tui imports textual; the CLI and the chat go through the API), no import
cycles among the project's modules, and mypy over both packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CYCLES_TOOL = REPO.parent / "shared" / "tools" / "import_cycles.py"


def run(*cmd: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed in this environment (it is a dev dependency: pip install -e '.[dev]')"
    return found


def test_import_contracts_hold():
    done = run(tool("lint-imports"), "--no-cache")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "3 kept, 0 broken" in done.stdout


def test_no_import_cycles():
    if not CYCLES_TOOL.exists():
        pytest.skip(f"the cycle finder is not here ({CYCLES_TOOL}: ../shared is absent)")
    done = run(sys.executable, str(CYCLES_TOOL), str(REPO), "index", "assistant")
    assert done.returncode == 0 and "0 import cycle" in done.stdout, done.stdout + done.stderr


def test_types_check():
    done = run(tool("mypy"), "--cache-dir", str(REPO / ".mypy_cache"))
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
