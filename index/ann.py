"""Dense search that scores only candidates: a scan of a store's vectors, or an
inverted-file index (IVF, 8-bit scalar-quantised codes) once a store is large enough
for the scan to dominate a query.

Both answer the same question, "the k eligible chunks nearest the query", with the
eligibility (the as-of date and the filters) applied inside the search as a FAISS id
selector rather than by over-fetching and dropping. Ids are chunk ids in the IVF index
and rows (positions in chunk id order) in the scan.

The scan reads 16-bit copies of the vectors (`HalfScan`, made when a store is first
searched) and rescores what it found from the 32-bit ones. A scan is bound by memory
bandwidth, so half the bytes is about half the time (2 ms against 4.9 ms for numpy's
matrix-vector product and partial sort at 52k chunks); the 16-bit scores differ from the
exact ones by about 1e-4, which can only swap near-ties at the end of a thousand-row
list, and the rescoring makes the list's order exact.

Why IVF-SQ8 past the threshold rather than HNSW: the retriever wants on the order of a
thousand candidates per query (see `assistant.retriever`), which an inverted file
serves at the same cost as ten, where HNSW's search grows with k; 8-bit codes cut the
vectors' memory four-fold (384 MB at a million chunks) at a cosine error of about
0.005, well under the gaps that decide a ranking. Eligibility that leaves only a small
share of the store (a one-week date filter over a decade) would starve the probed
lists, so the number of lists probed grows as the eligible share shrinks, up to all of
them (then the search is an exact scan of the eligible codes).
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.writes import write_faiss

ANN = "ann.faiss"


@dataclass(frozen=True)
class DenseResult:
    """The rows a dense search found, best first, with their cosine scores."""

    rows: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class AnnSettings:
    """Measured with bench/bench_scale.py (README, "Query cost")."""

    min_chunks: int = 200_000
    """Below this many chunks the scan is fast enough (and its lists exact): no IVF file."""
    nprobe: int = 32
    """Lists probed per query when every chunk is eligible."""
    train_per_list: int = 50
    """Training sample per list: k-means needs tens of points per centroid."""


def nlist_for(n: int) -> int:
    """About sqrt(n) lists, the usual balance of centroid scoring against list scans,
    and at least 39 vectors a list (k-means' own minimum)."""
    return max(1, min(int(math.sqrt(n)), n // 39))


class Selector:
    """A FAISS selector admitting exactly the given ids (chunk ids in the IVF index, rows
    in the scan), as a bitmap (one bit per id up to the largest: a few milliseconds to
    make at a million chunks, so the store keeps the last one), with the share of the
    index it admits."""

    def __init__(self, allowed_ids: np.ndarray, max_id: int) -> None:
        import faiss

        bits = np.zeros(max_id + 1, dtype=bool)
        bits[allowed_ids] = True
        self._packed = np.packbits(bits, bitorder="little")  # must outlive the selector
        self.faiss = faiss.IDSelectorBitmap(max_id + 1, faiss.swig_ptr(self._packed))
        self.count = len(allowed_ids)


def flat_matrix(flat) -> tuple[np.ndarray, np.ndarray]:
    """The vectors of a flat IndexIDMap2 as a read-only numpy view (no copy; valid while
    `flat` lives) and their chunk ids, in the index's order."""
    import faiss

    inner = faiss.downcast_index(flat.index)
    n, dim = inner.ntotal, inner.d
    xb = inner.get_xb()  # type: ignore[attr-defined]  # an IndexFlat
    vectors = faiss.rev_swig_ptr(xb, n * dim).reshape(n, dim) if n else np.zeros((0, dim), np.float32)
    vectors.flags.writeable = False
    return vectors, faiss.vector_to_array(flat.id_map).astype(np.int64)


@functools.lru_cache(maxsize=1)
def _blas():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def inner_products(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """`vectors @ query` on one BLAS thread: a matrix-vector product is bound by memory
    bandwidth, and on a small busy machine BLAS's thread hand-off cost several times
    the product itself (3 ms against 6-9 ms at 47k chunks, measured with the other
    core loaded)."""
    with _blas().limit(limits=1, user_api="blas"):
        return vectors @ query


@contextlib.contextmanager
def one_query_thread():
    """FAISS on one OpenMP thread for a single query. FAISS spreads a search over its
    queries, so one query runs on one thread anyway, while the rest of the team spins
    at the barrier and fights ONNX Runtime's spinning threads (the query embedding's)
    for two cores: a query at 52k chunks took 20 ms instead of 11."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class HalfScan:
    """The vectors as 16-bit floats in a FAISS scalar-quantiser index, in row order
    (`position[row]`: the row's place among `vectors`, None when they are in row
    order), searched by a full scan with an optional selector over rows."""

    def __init__(self, vectors: np.ndarray, position: np.ndarray | None = None) -> None:
        import faiss

        n, dim = vectors.shape
        self.index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        self.index.train(np.zeros((1, dim), np.float32))  # fp16 needs no statistics
        for start in range(0, n, 65536):  # no second full-size copy while converting
            part = slice(start, start + 65536)
            self.index.add(np.ascontiguousarray(vectors[part] if position is None else vectors[position[part]],
                                                dtype=np.float32))

    def search(self, query: np.ndarray, k: int, selector: Selector | None) -> np.ndarray:
        """The rows of about the `k` best allowed vectors (unordered: the caller rescores)."""
        import faiss

        params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector.faiss
        with one_query_thread():
            _, rows = self.index.search(query.reshape(1, -1).astype(np.float32), min(k, self.index.ntotal), params=params)
        return rows[0][rows[0] >= 0].astype(np.int64)


def ivf_search(index, query: np.ndarray, k: int, selector: Selector | None,
               settings: AnnSettings = AnnSettings()) -> tuple[np.ndarray, np.ndarray]:
    """The (chunk ids, scores) of about the `k` nearest allowed vectors in an IVF index,
    best first; the eligibility is a selector inside the search, and the lists probed
    grow as the allowed share shrinks (see the module docstring)."""
    import faiss

    params = faiss.SearchParametersIVF()
    params.nprobe = settings.nprobe
    if selector is not None:
        params.sel = selector.faiss
        share = max(selector.count, 1) / max(index.ntotal, 1)
        params.nprobe = min(index.nlist, int(math.ceil(settings.nprobe / share)))
    with one_query_thread():
        scores, ids = index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
    found = ids[0] >= 0
    return ids[0][found], scores[0][found]


def ivf_scores_of(index, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Cosine of the query to the vectors of `ids`, decoded from the IVF's 8-bit codes."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.float32)
    return index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64)) @ query.astype(np.float32)


def build(flat, out_dir: Path, previous_dir: Path | None, dead_ids: np.ndarray, new_ids: np.ndarray,
          new_vectors: np.ndarray, settings: AnnSettings = AnnSettings()) -> bool:
    """Write `out_dir/ANN` for a generation whose flat vectors are `flat` (IndexIDMap2),
    when it is large enough. An update reuses the previous generation's IVF (its
    centroids stay good while the store has not grown or shrunk past twice the size they
    were made for): the dead ids are removed and the new vectors added, so adding one
    article costs what that article costs. Returns whether an IVF file was written."""
    import faiss

    n = flat.ntotal
    if n < settings.min_chunks:
        return False
    ivf = None
    if previous_dir is not None and (previous_dir / ANN).is_file():
        try:
            old = faiss.read_index(str(previous_dir / ANN))
        except RuntimeError:  # damaged: train a new one
            old = None
        if isinstance(old, faiss.IndexIVF) and old.ntotal + len(new_ids) - len(dead_ids) == n and 0.5 <= nlist_for(n) / old.nlist <= 2.0:
            ivf = old
            if len(dead_ids):
                ivf.remove_ids(np.ascontiguousarray(dead_ids, dtype=np.int64))  # type: ignore[arg-type]  # FAISS takes id arrays too
            if len(new_ids):
                ivf.add_with_ids(np.ascontiguousarray(new_vectors, dtype=np.float32), new_ids)
    if ivf is None:
        ivf = _train_and_fill(flat, settings)
    write_faiss(ivf, out_dir / ANN)  # a full disk is then an OSError (index.writes)
    return True


def _train_and_fill(flat, settings: AnnSettings):
    import faiss

    n, dim = flat.ntotal, flat.d
    nlist = nlist_for(n)
    vectors, ids = flat_matrix(flat)
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)  # the same store trains the same index
    sample = vectors[np.sort(rng.choice(n, size=min(n, nlist * settings.train_per_list), replace=False))]
    ivf.train(sample)
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # reconstruct by chunk id
    for start in range(0, n, 100_000):  # in slices: adding copies its input
        ivf.add_with_ids(vectors[start : start + 100_000], ids[start : start + 100_000])
    return ivf
