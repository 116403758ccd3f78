"""The package as users install it: a wheel built from the source, installed (not
editable) into a fresh virtual environment, then `assistant index` and
`assistant ask --engine openai` run from that environment against a real local model
server. Every model engine needs the prompt templates: they must travel in the wheel.

The fresh environment gets the project's dependencies by a path entry pointing at
this environment's site-packages (installing torch and the rest again would take
minutes and the network); the project itself comes only from the wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

try:
    from model_server import FakeOpenAI
except ImportError:  # tests/ made a package
    from tests.model_server import FakeOpenAI

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
QUESTION = "How did Grushko describe the differences?"


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{cmd[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("assistant", "index"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)])
    (built,) = out.glob("news_assistant-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """bin/ of a fresh venv holding the wheel."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    site = Path(run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                .stdout.strip())
    # Dependencies from here; a plain path entry (no .pth of ours is processed in it,
    # so the editable install of the source tree stays out).
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
         "--no-index", str(wheel)])
    return venv / "bin"


def test_the_wheel_carries_the_prompt_templates(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "assistant/prompts/answer.txt" in names and "assistant/prompts/rewrite.txt" in names
    assert not [n for n in names if n.startswith(("tests/", "bench/"))]


def test_installed_package_answers_with_a_model_engine(installed, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_ASSISTANT_")}
    env.update(NEWS_ASSISTANT_HOME=str(tmp_path / "home"), HF_HUB_OFFLINE="1", PYTHONPATH="")
    where = run([str(installed / "python"), "-c", "import assistant.prompts as p; print(p.__file__)"],
                cwd=tmp_path, env=env).stdout
    assert str(installed.parent) in where and str(REPO) not in where, where

    corpus = tmp_path / "articles"
    shutil.copytree(REPO / "seeds", corpus)
    args = ["--corpus", str(corpus), "--store", str(tmp_path / "store")]
    run([str(installed / "assistant"), "index", "--quiet", *args], cwd=tmp_path, env=env)
    server = FakeOpenAI()
    try:
        env["NEWS_ASSISTANT_OPENAI_BASE_URL"] = server.base_url
        done = run([str(installed / "assistant"), "ask", QUESTION, "--engine", "openai", "--json",
                    "--as-of", "2022-02-01", *args], cwd=tmp_path, env=env)
    finally:
        server.close()
    answer = json.loads(done.stdout)
    assert answer["engine"] == "openai" and answer["notices"] == [], answer["notices"]
    assert answer["citations"] and "Fundamental" in answer["citations"][0]["quote"]
    prompt = server.requests[-1]["body"]["messages"][0]["content"]
    assert '<passage n="1">' in prompt and QUESTION in prompt
