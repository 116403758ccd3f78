"""The reference pipeline bench_retrieval measures in the same run: plain BM25.

What a plain pipeline does: each article's body cut into 200-word chunks, `bm25s` with
its English stopwords (no stemming, no titles, no dates), the chunks ranked by score.
Its articles are ranked by their best chunk, and the context it would hand an answerer
is its ranked chunks in order. It reproduces the issue tracker's reference figure for
plain BM25 (hit@5 0.747 on the developer set); that reference's answer@600 (0.832) was
measured with a setup the tracker does not describe, which this one does not reproduce
(see the README), so the same-run figures are the ones to compare with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHUNK_WORDS = 200


@dataclass(frozen=True)
class Article:
    file: str
    title: str
    text: str


@dataclass(frozen=True)
class Ranked:
    articles: list[Article]  # best chunk first, each article once
    chunks: list[str]  # the ranked chunks, for the context


def read_articles(folder: Path) -> list[Article]:
    """The set's files: line 1 the date, a blank line, the title, a blank line, the body."""
    out = []
    for path in sorted(folder.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").split("\n")
        out.append(Article(path.name, lines[2].strip() if len(lines) > 2 else "", "\n".join(lines[4:])))
    return out


class PlainBM25:
    def __init__(self, articles: list[Article]) -> None:
        import bm25s

        self.articles = articles
        chunks, owner = [], []
        for i, a in enumerate(articles):
            words = a.text.split()
            for start in range(0, max(1, len(words)), CHUNK_WORDS):
                chunks.append(" ".join(words[start:start + CHUNK_WORDS]))
                owner.append(i)
        self.chunks = chunks
        self.owner = np.array(owner)
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize(chunks, stopwords="en", show_progress=False), show_progress=False)

    def rank(self, question: str, k: int) -> Ranked:
        import bm25s

        tokens = bm25s.tokenize([question], stopwords="en", show_progress=False)
        rows, _ = self.bm25.retrieve(tokens, k=min(len(self.chunks), 50 * k), show_progress=False)
        order = [int(r) for r in rows[0]]
        seen: list[int] = []
        for r in order:
            if self.owner[r] not in seen:
                seen.append(int(self.owner[r]))
                if len(seen) == k:
                    break
        return Ranked([self.articles[a] for a in seen], [self.chunks[r] for r in order[:20]])
