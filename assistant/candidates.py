"""The candidates one query scores: the union of the best rows of the dense and the
keyword rankings, with each row's rank in both (`assistant.retriever`, step 2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Candidates:
    """The rows one query scores (ascending), with their scores and ranks, and how long
    each ranking's list was (rows past it hold later ranks)."""

    rows: np.ndarray
    dense: np.ndarray
    keyword: np.ndarray
    dense_rank: np.ndarray
    keyword_rank: np.ndarray
    dense_listed: int
    keyword_listed: int
    dense_every: np.ndarray | None  # every row's dense score, when the search was exact


def rank_rows(rows: np.ndarray, listed: np.ndarray, scores: np.ndarray, every: np.ndarray | None) -> np.ndarray:
    """1-based ranks of the candidate `rows` in one ranking, in which eligible rows are
    ordered by descending score, ties by row. The `listed` rows (best first) hold
    1..len(listed). The others' exact ranks are counted from `every` (each row's score,
    -inf when not ranked) when given; without it (an approximate search) they follow
    the list's end in score order, a bound on what they would have scored."""
    ranks = np.empty(len(rows), dtype=np.float64)
    at = np.searchsorted(rows, listed)
    ranks[at] = np.arange(1, len(listed) + 1)
    rest = np.ones(len(rows), dtype=bool)
    rest[at] = False
    others = np.flatnonzero(rest)
    if not others.size:
        return ranks
    if every is None:
        others = others[np.argsort(-scores[others], kind="stable")]
        ranks[others] = len(listed) + 1 + np.arange(len(others))
        return ranks
    # Rows without a rank in this ranking (no query word) keep the list-end rank: the
    # fusion gives them nothing from it anyway.
    ranks[others] = len(listed) + 1
    values = scores[others].astype(every.dtype)
    keep = np.isfinite(every[rows[others]])
    others, values = others[keep], values[keep]
    if not others.size:
        return ranks
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    # Only rows scoring at least the lowest value can rank ahead of any of them. For
    # each, how many values lie below it: it ranks ahead of every one of those.
    ranked = np.flatnonzero(every >= sorted_values[0])
    scored = every[ranked]
    below = np.searchsorted(sorted_values, scored, side="left")
    at_least = np.cumsum(np.bincount(below, minlength=len(values) + 1)[::-1])[::-1]  # [i]: rows with below >= i
    greater = at_least[1:]  # [i]: rows scoring above sorted_values[i]
    # Equal scores (a syndicated copy) go lower row first: add, for each value, the
    # ranked rows of that same score with a lower row, counted through one sorted key
    # (group of the value, row).
    tied = sorted_values[np.minimum(below, len(values) - 1)] == scored
    span = len(every) + 1
    keys = np.sort(below[tied].astype(np.int64) * span + ranked[tied])
    group = np.searchsorted(sorted_values, sorted_values, side="left").astype(np.int64) * span
    counts = greater + np.searchsorted(keys, group + rows[others[order]]) - np.searchsorted(keys, group)
    ranks[others[order]] = 1 + counts
    return ranks
