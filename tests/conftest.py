"""Shared fixtures for the index tests.

Every test runs with NEWS_ASSISTANT_HOME pointing at its own tmp dir and with no other
NEWS_ASSISTANT_* variable set, so nothing reads or writes the tester's own config,
data or stores. The real embedding model is loaded once per session.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parent.parent
# `pytest` run without `python -m` and without `pip install -e .` still finds the packages.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SEED = REPO / "seeds" / "000_5e6fe0b14c7628e6.txt"
SEED_ID = SEED.name
SEED_TITLE = "Russia and NATO note their disagreements, without ruling out continuing their discussions"
SEED_BOILERPLATE = (
    "Read also Article reserved for our subscribers Moscow in a strong position against "
    "Washington in key European security talks",
    "Read also Article reserved for our subscribers In Geneva, Washington and Moscow manage "
    "to talk to each other but still come up against the question of NATO enlargement",
    "You have 49.79% of this article to read. The rest is for subscribers only.",
)
# Developer evaluation set beside the project; read in place, never copied into the repo.
EVAL_ARTICLES = REPO.parent / "shared" / "eval" / "realtimeqa-dev" / "articles"


@pytest.fixture(scope="session")
def shared_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of the exported int8 model for the whole session: each test's home
    links to it, so the export (several seconds) runs once, not in every test that
    builds or queries with the default encoder."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, shared_models: Path) -> Path:
    home = tmp_path_factory.mktemp("home")
    (home / "models").symlink_to(shared_models, target_is_directory=True)
    for name in list(os.environ):
        if name.startswith("NEWS_ASSISTANT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NEWS_ASSISTANT_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture(scope="session")
def minilm():
    """The real all-MiniLM-L6-v2 embedder, loaded once for the whole session."""
    from index.embedder import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    embedder.load()
    return embedder


@pytest.fixture(scope="session")
def int8(shared_models: Path):
    """The int8 ONNX encoder over the session's shared model cache, loaded once."""
    from index import onnx_encoder

    mp = pytest.MonkeyPatch()
    mp.setattr(onnx_encoder, "models_dir", lambda: shared_models)
    try:
        embedder = onnx_encoder.OnnxMiniLMEmbedder()
        embedder.load()
    finally:
        mp.undo()
    assert not embedder.uses_fallback, embedder.notice
    return embedder


@pytest.fixture
def hashing():
    from stand_in import HashingEmbedder

    return HashingEmbedder()


class SeedFacts:
    """What the issue says the seed article must give; a fixture so tests need not import conftest."""

    path = SEED
    id = SEED_ID
    title = SEED_TITLE
    date = "2022-01-23"
    boilerplate = SEED_BOILERPLATE


@pytest.fixture(scope="session")
def seed() -> type[SeedFacts]:
    return SeedFacts


@pytest.fixture(scope="session")
def eval_articles() -> Path:
    """The RealTime QA articles beside the project, or a skip saying why they are absent."""
    if not EVAL_ARTICLES.is_dir():
        pytest.skip(f"{EVAL_ARTICLES} is absent (the shared eval set is not checked out beside the repo)")
    return EVAL_ARTICLES


@pytest.fixture(scope="session")
def seed_article():
    from index.articles import read_article_file

    result = read_article_file(SEED, SEED_ID)
    assert len(result.articles) == 1 and not result.warnings
    return result.articles[0]


def _article_text(title: str, date: str | None, paragraphs: list[str]) -> str:
    head = ([date] if date else []) + ([title] if title else [])
    return "\n\n".join(head + [textwrap.dedent(p).strip() for p in paragraphs]) + "\n"


@pytest.fixture
def write_article() -> Callable[..., Path]:
    """write_article(folder, name, title, paragraphs, date="2022-06-01") -> path, in the
    seed's .txt layout."""

    def write(folder: Path, name: str, title: str, paragraphs: list[str], date: str | None = "2022-06-01") -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_article_text(title, date, paragraphs), encoding="utf-8")
        return path

    return write


@pytest.fixture
def corpus(tmp_path: Path, write_article) -> Path:
    """A small corpus: the seed plus two short articles on other subjects."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / SEED_ID).write_bytes(SEED.read_bytes())
    write_article(folder, "floods.txt", "Floods force thousands from their homes in the valley", [
        "Heavy rain flooded the river valley on Monday, forcing thousands of residents to leave "
        "their homes. Emergency crews used boats to reach villages cut off by the water.",
        "The regional governor said the damage to farms and roads would take months to repair. "
        "Forecasters expect more rain later in the week.",
    ], date="2022-07-04")
    write_article(folder, "sub/chess.txt", "Teenager wins the national chess championship", [
        "A sixteen-year-old from the coast won the national chess championship on Sunday after a "
        "tense final game that lasted more than five hours.",
        "She is the youngest champion in the event's history. Her coach said she had studied "
        "endgames every evening for two years.",
    ], date="2022-08-14")
    return folder


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for child Python processes: the repo importable, offline, isolated home."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def int8_cached(shared_models: Path) -> Path:
    """The shared cache holds the exported int8 model (made once, on first request)."""
    from index import onnx_encoder

    mp = pytest.MonkeyPatch()
    mp.setattr(onnx_encoder, "models_dir", lambda: shared_models)
    try:
        path = onnx_encoder.ensure_int8_model()
    finally:
        mp.undo()
    assert path is not None
    return path


@pytest.fixture
def child_env(isolated_home: Path, int8_cached: Path) -> dict[str, str]:
    """For child processes, which use the default (int8) encoder: its model is ready."""
    return subprocess_env(NEWS_ASSISTANT_HOME=str(isolated_home))
