"""The keyword side of the index: BM25 over chunk texts (with their article titles),
built with `bm25s` in the same generation as the vectors so the two never disagree."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

BM25_DIR = "bm25"


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )


def build_bm25(texts: Sequence[str], out_dir: Path) -> None:
    import bm25s

    retriever = bm25s.BM25()
    # bm25s cannot index an empty corpus; an empty store simply has no keyword index.
    if texts:
        retriever.index(tokenize(texts), show_progress=False)
        retriever.save(str(out_dir / BM25_DIR), show_progress=False)


class KeywordIndex:
    """BM25 scores for every chunk row of a generation, in row order."""

    def __init__(self, gen_dir: Path, size: int) -> None:
        import bm25s

        self.size = size
        # Memory-mapped: a query reads the postings of its own terms, so a large store's
        # keyword index need not be resident.
        self._bm25 = bm25s.BM25.load(str(gen_dir / BM25_DIR), mmap=True) if size else None

    def idf(self, tokens: Sequence[str]) -> dict[str, float]:
        """BM25's inverse document frequency of each (tokenized) term over the chunks:
        how much finding it says. A term no chunk holds gets the highest weight."""
        n = self.size
        out: dict[str, float] = {}
        vocab = self._bm25.vocab_dict if self._bm25 is not None else {}
        indptr = self._bm25.scores["indptr"] if self._bm25 is not None else None
        for t in tokens:
            i = vocab.get(t)
            df = int(indptr[i + 1] - indptr[i]) if i is not None and indptr is not None else 0
            out[t] = float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
        return out

    def scores(self, query: str, where: object = None) -> np.ndarray:
        """`where` is for engines that filter inside the search (`index.backend.Where`);
        every row is scored here, the retriever masks them."""
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        bm25 = self._bm25
        vocab = bm25.vocab_dict
        ids = [vocab[t] for t in tokenize([query])[0] if t in vocab]
        # bm25s's own scoring adds each term's postings with np.add.at, the slowest way
        # numpy has (7 ms a query at a million chunks). A term's postings name each
        # chunk once, so a plain indexed add is exact and several times faster; terms
        # are added in the same order, so the sums are the same floats.
        m = bm25.scores
        data, indices, indptr = m["data"], m["indices"], m["indptr"]
        scores = np.zeros(self.size, dtype=np.float32)
        for i in ids:
            start, end = indptr[i], indptr[i + 1]
            scores[indices[start:end]] += data[start:end]
        if bm25.nonoccurrence_array is not None:  # BM25 variants scoring absent terms
            scores += bm25.nonoccurrence_array[ids].sum()
        return scores
