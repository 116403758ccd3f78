"""The candidates one query scores: the union of the best rows of the dense and the
keyword rankings, with each row's rank in both (`assistant.retriever`, step 2).

The fusion reads only these lists, as reciprocal-rank fusion is usually defined: a row
outside a list gets nothing from that ranking (rank infinity). With lists of 1,000 rows
that is close to counting every row's exact rank: a rank past 1,000 is worth under a
sixteenth of a first place, and on the developer set lists of 400, 1,000 or every row
give the same figures (README, "Query cost": the top 10 differ in 21 of 285 searches,
from rank 5 on)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Candidates:
    """The rows one query scores (ascending), with their scores and their 1-based ranks
    in each list (inf: not in that list)."""

    rows: np.ndarray
    dense: np.ndarray
    keyword: np.ndarray
    dense_rank: np.ndarray
    keyword_rank: np.ndarray


def rank_rows(rows: np.ndarray, listed: np.ndarray) -> np.ndarray:
    """Ranks of the candidate `rows` (ascending) in one list of rows, best first: the
    listed ones hold 1..len(listed), the others inf."""
    ranks = np.full(len(rows), np.inf)
    ranks[np.searchsorted(rows, listed)] = np.arange(1, len(listed) + 1)
    return ranks


def top_rows(rows: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """The `n` best of `rows` (ascending) by `scores`, best first; equal scores go lower
    row first, also at the cut (a partial sort alone would cut ties at random)."""
    if n <= 0:
        return rows[:0]
    if len(rows) > n:
        cut = np.partition(scores, len(scores) - n)[len(scores) - n]
        above = np.flatnonzero(scores > cut)
        at = np.flatnonzero(scores == cut)[: n - len(above)]  # ascending: lower rows
        keep = np.concatenate([above, at])
        rows, scores = rows[keep], scores[keep]
    return rows[np.lexsort((rows, -scores))]
