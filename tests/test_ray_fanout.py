"""The embedding stage on a real local Ray (2 CPUs, started here): a build through Ray
gives the same vectors as the local build (the builder writes them through the store
as it writes local ones, for either backend: `index.fanout.embed_texts` is the one
embedding call of both builders), and a failing stage publishes nothing. Needs the
ray extra."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")
pytest.importorskip("ray.data", reason="the ray extra is not installed (pip install -e '.[ray]')")

from index.backend import StoreLocation, build  # noqa: E402
from index.builder import live_generation  # noqa: E402
from index.chunker import ChunkerSettings  # noqa: E402
from index.errors import EmbeddingError  # noqa: E402
from index.store import Store  # noqa: E402


MB = 1 << 20


@pytest.fixture(scope="module")
def local_ray():
    # The workers import the project and the tests' stand-ins like a child process does.
    tests = Path(__file__).resolve().parent
    # Under the whole suite on 2 cores Ray's start has overrun its own waits: the GCS
    # server's port (30 s, raised here) and the raylet's registration (30 s, fixed in
    # Ray). The cluster is what these tests stand on, not what they test: a start that
    # times out is made again, twice at most.
    os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "120")
    for attempt in range(3):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(tests.parent), str(tests)]),
                                               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}})
            break
        except Exception as e:  # Ray raises a bare Exception or RuntimeError on a start that timed out
            ray.shutdown()
            if attempt == 2 or "timed out" not in str(e).lower():
                raise
    yield
    ray.shutdown()


class BrokenEncoder:
    """An encoder that fails on the worker (a bad batch, a missing model)."""

    name = "broken-test"
    dim = 8
    max_input_tokens = 10_000

    def __init__(self) -> None:
        pass

    def embed(self, texts, progress=None):
        raise RuntimeError("no model on this worker")

    def input_lengths(self, texts):
        return [1 for _ in texts]


@pytest.mark.slow
def test_a_build_on_ray_gives_the_local_vectors(local_ray, tmp_path: Path, corpus: Path, minilm):
    steps: list[tuple[str, int, int]] = []
    on_ray = build(corpus, StoreLocation(tmp_path / "ray"), minilm, ChunkerSettings(), max_bytes=5 * MB,
                   ray_address="auto", progress=lambda stage, done, total: steps.append((stage, done, total)))
    local = build(corpus, StoreLocation(tmp_path / "local"), minilm, ChunkerSettings(), max_bytes=5 * MB)
    assert on_ray.published and on_ray.embedded_chunks == local.embedded_chunks > 3
    assert ("embedding", on_ray.embedded_chunks, on_ray.embedded_chunks) in steps  # progress reached the end
    a, b = Store.open(tmp_path / "ray"), Store.open(tmp_path / "local")
    assert np.array_equal(a.chunk_ids, b.chunk_ids)
    q = minilm.embed(["NATO enlargement"])[0]
    assert a.dense_scores(q) == pytest.approx(b.dense_scores(q), abs=1e-5)
    from index.ann import flat_matrix

    assert np.allclose(flat_matrix(a.vectors())[0], flat_matrix(b.vectors())[0], atol=1e-5)


def test_a_failing_stage_publishes_nothing(local_ray, tmp_path: Path, corpus: Path, write_article, hashing):
    root = tmp_path / "store"
    first = build(corpus, StoreLocation(root), hashing, ChunkerSettings(), max_bytes=5 * MB)
    write_article(corpus, "more.txt", "More news", ["Another thing happened."])
    with pytest.raises(EmbeddingError) as caught:
        build(corpus, StoreLocation(root), BrokenEncoder(), ChunkerSettings(), max_bytes=5 * MB, rebuild=True,
              ray_address="auto")
    assert "Nothing was published" in str(caught.value)
    assert live_generation(root) is not None and live_generation(root).name == f"gen-{first.generation:06d}"
    assert [p.name for p in root.iterdir() if p.name.startswith(("gen-", "tmp-"))] == [f"gen-{first.generation:06d}"]
