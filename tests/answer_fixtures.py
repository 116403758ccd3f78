"""Helpers shared by the read-side tests (retrieval, answers, sessions, export, CLI).

Not a conftest: the test modules import what they need. The real-model seed index is
built once per test session (the first module that asks for it builds it, the others
reuse it) because loading all-MiniLM-L6-v2 and embedding is the slow part.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SEEDS = REPO / "seeds"
SEED_ID = "000_5e6fe0b14c7628e6.txt"
SEED_DATE = "2022-01-23"
GRUSHKO_PARAGRAPH_MARK = "Alexander Grushko, Deputy Foreign Minister"
PRESS_BRIEFING_MARK = "Frank and clear as ever"
SHERMAN_MARK = "Wendy Sherman"


@contextmanager
def isolated_config(home: Path) -> Iterator[None]:
    """No NEWS_ASSISTANT_* variable and no user config file while settings load."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("NEWS_ASSISTANT_"):
                mp.delenv(name)
        mp.setenv("NEWS_ASSISTANT_HOME", str(home))
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield


def make_assistant(embedder, corpus: Path, store: Path, home: Path, **overrides):
    from assistant.api import NewsAssistant

    with isolated_config(home):
        return NewsAssistant.from_settings(embedder=embedder, corpus=corpus, store=store, **overrides)


@dataclass
class SeedIndex:
    corpus: Path
    store_dir: Path
    home: Path
    embedder: object

    def assistant(self, **overrides):
        """A fresh NewsAssistant over the shared store (e.g. with another engine)."""
        return make_assistant(self.embedder, self.corpus, self.store_dir, self.home, **overrides)


_SEED_INDEX: SeedIndex | None = None


def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> SeedIndex:
    """The seed folder indexed with the real model into a tmp store, once per session."""
    global _SEED_INDEX
    if _SEED_INDEX is None:
        root = tmp_path_factory.mktemp("seed-index")
        home = root / "home"
        home.mkdir()
        idx = SeedIndex(SEEDS, root / "store", home, embedder)
        report = idx.assistant().build_index()
        assert report.published and report.articles == 1, report
        _SEED_INDEX = idx
    return _SEED_INDEX


def store_hits(store, chunk_ids):
    """Hits made straight from stored chunks, in the given order (for grounding tests
    that need particular passages in particular positions)."""
    from assistant.retriever import Hit

    chunks = {c.id: c for c in store.chunks()}
    hits = []
    for cid in chunk_ids:
        c = chunks[cid]
        a = store.article(c.article_id)
        hits.append(Hit(chunk_id=c.id, article_id=a.id, file=a.path, title=a.title, date=a.date, source=a.source,
                        url=a.url, start=c.start, end=c.end, text=c.text, score=1.0))
    return hits


def chunk_with(store, *needles: str, exclude: tuple[str, ...] = ()) -> int:
    """Id of the first stored chunk containing every needle (and none of `exclude`)."""
    for c in store.chunks():
        if all(n in c.text for n in needles) and not any(x in c.text for x in exclude):
            return c.id
    raise AssertionError(f"no chunk holds {needles!r}")


def paragraph_at(text: str, start: int, end: int) -> str:
    """The paragraph (blank-line delimited) that holds text[start:end]."""
    p_start = text.rfind("\n\n", 0, start)
    p_start = 0 if p_start == -1 else p_start + 2
    p_end = text.find("\n\n", end)
    p_end = len(text) if p_end == -1 else p_end
    return text[p_start:p_end]


def make_hit(text: str, *, chunk_id: int = 1, file: str = "a.txt", title: str = "A title",
             date: str | None = "2022-01-01", source: str = "", start: int = 0):
    from assistant.retriever import Hit

    return Hit(chunk_id=chunk_id, article_id=file, file=file, title=title, date=date, source=source, url="",
               start=start, end=start + len(text), text=text, score=1.0)


def write_txt(folder: Path, name: str, title: str, paragraphs: list[str], date: str | None) -> Path:
    """An article in the seed's .txt layout: date line, title, paragraphs."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    head = ([date] if date else []) + [title]
    body = [" ".join(textwrap.dedent(p).split()) for p in paragraphs]
    path.write_text("\n\n".join(head + body) + "\n", encoding="utf-8")
    return path


def write_md_articles(folder: Path, articles: dict[str, tuple[str, str, str, str]]) -> Path:
    """Markdown articles with front matter: {file name: (date, outlet, title, body)}."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (day, source, title, body) in articles.items():
        (folder / name).write_text(f"---\ntitle: {title}\ndate: {day}\nsource: {source}\n---\n\n{body}\n",
                                   encoding="utf-8")
    return folder


def write_json_article(folder: Path, name: str, *, title: str, text: str, date: str | None, source: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"title": title, "date": date, "source": source, "text": text}), encoding="utf-8")
    return path


def child_env(home: Path) -> dict[str, str]:
    """Environment for `python -m assistant` children: repo importable, offline, own home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_ASSISTANT_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["NEWS_ASSISTANT_HOME"] = str(home)
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["PYTHONUNBUFFERED"] = "1"
    return env
