"""The embedding stage of a build: in this process, or fanned out over a Ray cluster.

With `ray_address` (`auto`: the Ray running on this machine, or one started for the
build and stopped after it; `ray://head:10001`: a cluster) the
chunk texts become a Ray Data dataset and `map_batches` runs an encoder per worker (an
actor made once, so the model loads once per worker, not per batch). Ray retries the
tasks of a worker that dies; when the stage fails anyway the error reaches the builder
before anything is written, so a failed build publishes nothing. The vectors come back
in input order and are written by the builder through the store it builds, like
locally made ones.

An encoder is made on each worker by calling the local embedder's class with no
arguments (every encoder of the project has defaults; the int8 one prepares itself on
the worker from the packaged weights). The project must be installed on the workers
(`pip install 'news-assistant[ray]'` on each node).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from index.embedder import Embedder, Progress
from index.errors import ConfigError, EmbeddingError

BATCH = 64


def embed_texts(embedder: Embedder, texts: Sequence[str], progress: Progress | None = None,
                ray_address: str | None = None) -> np.ndarray:
    if ray_address is None or not texts:
        return embedder.embed(list(texts), progress)
    return _embed_on_ray(type(embedder), embedder.dim, texts, progress, ray_address)


class _Encoder:
    """One per Ray worker: holds the model between batches."""

    def __init__(self, make: Callable[[], Embedder]) -> None:
        self.embedder = make()

    def __call__(self, batch: dict) -> dict:
        vectors = self.embedder.embed([str(t) for t in batch["text"]])
        return {"i": batch["i"], "vector": np.asarray(vectors, dtype=np.float32)}


def _embed_on_ray(make: Callable[[], Embedder], dim: int, texts: Sequence[str], progress: Progress | None,
                  address: str) -> np.ndarray:
    try:
        import ray
        import ray.data
    except ImportError:
        raise ConfigError("--ray needs the ray extra (ray is not installed)",
                          hint="Install it with: pip install 'news-assistant[ray]'.") from None
    started_here = not ray.is_initialized()
    if started_here:
        options: dict[str, Any] = {"log_to_driver": False, "ignore_reinit_error": True, "include_dashboard": False}
        try:
            try:
                ray.init(address=address, **options)
            except ConnectionError:
                if address != "auto":
                    raise
                # `auto` and no Ray running here: start one for this build. On a busy
                # 2-core machine its GCS server can take longer than Ray's 30 s to start.
                os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "120")
                ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise ConfigError(f"cannot reach the Ray cluster at {address} ({e})",
                              hint="Start Ray there (`ray start --head`), or use --ray auto on a machine running Ray.") from None
    try:
        workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        ds = ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)],
                                 override_num_blocks=min(len(texts), workers * 4))
        out = ds.map_batches(_Encoder, fn_constructor_kwargs={"make": make}, batch_size=BATCH,
                             compute=ray.data.ActorPoolStrategy(min_size=1, max_size=workers), num_cpus=1)
        vectors = np.zeros((len(texts), dim), dtype=np.float32)
        seen = np.zeros(len(texts), dtype=bool)
        try:
            for batch in out.iter_batches(batch_size=BATCH, batch_format="numpy"):
                idx = np.asarray(batch["i"], dtype=np.int64)
                vectors[idx] = np.asarray(list(batch["vector"]), dtype=np.float32).reshape(len(idx), dim)
                seen[idx] = True
                if progress:
                    progress(int(seen.sum()), len(texts))
        except Exception as e:  # Ray's own kinds (task, actor, worker errors), after its retries
            raise EmbeddingError(f"the embedding on Ray failed ({e.__class__.__name__}: {str(e).splitlines()[0][:200] if str(e) else ''})",
                                 hint="Nothing was published; the previous index is still in use. Check the Ray cluster and run the build again.") from None
        if not seen.all():
            raise EmbeddingError(f"Ray returned {int(seen.sum())} of {len(texts)} vectors",
                                 hint="Nothing was published; run the build again.")
        return vectors
    finally:
        if started_here:
            ray.shutdown()
