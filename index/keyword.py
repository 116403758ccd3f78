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


def build_bm25(texts: Sequence[str], out_dir: Path, chunk_ids: Sequence[int] | None = None,
               previous_dir: Path | None = None) -> None:
    """BM25 over `texts` (one per chunk row) in `out_dir`. With `chunk_ids`, each row's
    tokens are kept beside the index (`TOKENS`), and the rows whose chunk the
    `previous_dir` generation already held reuse its tokens instead of being tokenised
    again: a chunk id's text never changes (a changed article gets new chunk ids), and
    tokenising with stemming was most of the cost of adding one article to a large
    store. The scores are those of tokenising everything: BM25 scores each (chunk, term)
    from the counts alone."""
    import bm25s

    # bm25s cannot index an empty corpus; an empty store simply has no keyword index.
    if not texts:
        return
    tokens: list[list[str] | None] = [None] * len(texts)
    if chunk_ids is not None and previous_dir is not None:
        tokens = _previous_tokens(previous_dir, chunk_ids)
    missing = [i for i, t in enumerate(tokens) if t is None]
    for i, toks in zip(missing, tokenize([texts[i] for i in missing]) if missing else []):
        tokens[i] = toks
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    retriever.save(str(out_dir / BM25_DIR), show_progress=False)
    if chunk_ids is not None:
        _save_tokens(out_dir / BM25_DIR / TOKENS, np.asarray(chunk_ids, dtype=np.int64), tokens, retriever.vocab_dict)


TOKENS = "tokens.npz"


@lru_cache(maxsize=1)
def token_recipe() -> str:
    """Names how `tokenize` works (the tokenizer's and the stemmer's versions
    included): tokens saved under another recipe are not reused."""
    from importlib import metadata

    versions = []
    for dist in ("bm25s", "PyStemmer"):
        try:
            versions.append(f"{dist}-{metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist}-?")
    return "en-stopwords-snowball/" + "/".join(versions)


def _save_tokens(path: Path, chunk_ids: np.ndarray, tokens: list, vocab: dict[str, int]) -> None:
    """Each row's token ids, and the vocabulary as UTF-8 bytes with offsets (a
    fixed-width string array would be as wide as its longest word for every word)."""
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    ids = np.fromiter((vocab[w] for t in tokens for w in t), dtype=np.uint32, count=int(indptr[-1]))
    encoded = [w.encode("utf-8") for w in sorted(vocab, key=vocab.__getitem__)]
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in encoded], dtype=np.int64)])
    with open(path, "wb") as f:
        np.savez(f, chunk_ids=chunk_ids, indptr=indptr, ids=ids, vocab_bytes=np.frombuffer(b"".join(encoded), np.uint8),
                 vocab_offsets=offsets, recipe=np.array(token_recipe()))


def _previous_tokens(previous_dir: Path, chunk_ids: Sequence[int]) -> list[list[str] | None]:
    """Per row, the tokens the previous generation's token file holds for its chunk id,
    or None. A missing, unreadable or inconsistent file (an older store, damage,
    another tokenizer) reuses nothing: the rows are tokenised again, which is only
    slower. Every check is made before any token is handed out."""
    out: list[list[str] | None] = [None] * len(chunk_ids)
    try:
        with np.load(previous_dir / BM25_DIR / TOKENS, allow_pickle=False) as f:
            old_ids, indptr, ids = f["chunk_ids"], f["indptr"], f["ids"]
            data, offsets, recipe = f["vocab_bytes"], f["vocab_offsets"], str(f["recipe"])
        integer = all(a.ndim == 1 and a.dtype.kind in "iu" for a in (old_ids, indptr, ids, offsets, data))
        if not integer or recipe != token_recipe() or len(indptr) != len(old_ids) + 1 or len(offsets) < 1:
            return out
        if indptr[0] != 0 or indptr[-1] != len(ids) or (np.diff(indptr) < 0).any() or (np.diff(old_ids) <= 0).any():
            return out
        if offsets[0] != 0 or offsets[-1] != len(data) or (np.diff(offsets) < 0).any():
            return out
        if len(ids) and int(ids.max()) >= len(offsets) - 1:
            return out
        raw = data.astype(np.uint8).tobytes()
        words = [raw[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
        wanted = np.asarray(chunk_ids, dtype=np.int64)
        at = np.minimum(np.searchsorted(old_ids, wanted), max(len(old_ids) - 1, 0))
        found = (old_ids[at] == wanted) if len(old_ids) else np.zeros(len(wanted), bool)
        for row in np.flatnonzero(found):
            j = at[row]
            out[row] = [words[i] for i in ids[indptr[j]:indptr[j + 1]].tolist()]  # one str per word, shared
        return out
    except Exception:  # numpy and zipfile raise many kinds on damaged files
        return [None] * len(chunk_ids)


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
