"""One harness for tests that stop a real build at a chosen point of its work: to kill
it there (SIGKILL), signal it (SIGINT, SIGTERM), or fill its disk and let it go on.

A child process calls `install_from_env()` before building (the reliability suite's
sitecustomize does, so `python -m assistant index` can be paused too). With

    BUILD_PAUSE_AT=POINT        one of POINTS
    BUILD_PAUSE_MARKER=PATH     written (atomically) when the build reaches POINT

the build writes PATH, then waits there until PATH.go exists (`resume`), or for
BUILD_PAUSE_SECONDS (default 300; 0 marks the point without waiting), and goes on.
Only the first arrival pauses. The points, in the order a build meets them:

    embedding  the embedder is called with the new chunks (PATH holds their number)
    sqlite     the new generation's database is written, its transaction not committed
    vectors    half of vectors.faiss is on disk
    keyword    the BM25 index is about to be written
    manifest   a half-written manifest.json temporary file is on disk
    commit     the generation is complete, CURRENT not yet replaced
    cleanup    CURRENT replaced, old generations not yet collected
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

POINTS = ("embedding", "sqlite", "vectors", "keyword", "manifest", "commit", "cleanup")

# A library build (stand-in embedder) of argv[1] into argv[2], pausable.
LIBRARY_BUILD = (
    "import pathlib, sys, build_pauses\n"
    "build_pauses.install_from_env()\n"
    "from index.builder import build_index\n"
    "from stand_in import HashingEmbedder\n"
    "build_index(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), HashingEmbedder())\n"
)


def pause_env(point: str, marker: Path, seconds: float | None = None) -> dict[str, str]:
    assert point in POINTS, point
    env = {"BUILD_PAUSE_AT": point, "BUILD_PAUSE_MARKER": str(marker)}
    if seconds is not None:
        env["BUILD_PAUSE_SECONDS"] = str(seconds)
    return env


def wait_for_pause(child: subprocess.Popen, marker: Path, timeout: float = 120) -> None:
    """Until the child reaches its pause point; fails if it ends or never gets there."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if child.poll() is not None:
            out = child.communicate()
            raise AssertionError(f"the build ended before its pause point: {out}")
        assert time.monotonic() < deadline, "the build never reached its pause point"
        time.sleep(0.02)


def resume(marker: Path) -> None:
    Path(str(marker) + ".go").touch()


def install_from_env() -> None:
    point = os.environ.get("BUILD_PAUSE_AT")
    if point:
        install(point, Path(os.environ["BUILD_PAUSE_MARKER"]), float(os.environ.get("BUILD_PAUSE_SECONDS", "300")))


def install(point: str, marker: Path, seconds: float) -> None:
    import sqlite3

    import index.builder as b
    from index.writes import temporary_name

    reached: list[str] = []

    def pause(where: str, detail: str = "") -> None:
        if where != point or reached:
            return
        reached.append(where)
        tmp = marker.with_name(marker.name + ".part")
        tmp.write_text(detail or where)
        os.replace(tmp, marker)
        go, deadline = Path(str(marker) + ".go"), time.monotonic() + seconds
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.02)

    def embedding(real):
        def embed(self, texts, progress=None):
            if len(texts):
                pause("embedding", str(len(texts)))
            return real(self, texts, progress)
        return embed

    # Every embedder a build may use: the stand-in, and both real encoders.
    import index.embedder as emb
    import index.onnx_encoder as onnx
    import stand_in

    for cls in (stand_in.HashingEmbedder, emb.MiniLMEmbedder, onnx.OnnxMiniLMEmbedder):
        cls.embed = embedding(cls.embed)

    real_connect = sqlite3.connect

    class Conn:  # the new generation's database, paused before its transaction commits
        def __init__(self, conn):
            self._c = conn

        def __getattr__(self, name):
            return getattr(self._c, name)

        def commit(self):
            pause("sqlite")
            self._c.commit()

    def connect(path, *a, **k):
        conn = real_connect(path, *a, **k)
        return Conn(conn) if "tmp-" in str(path) else conn

    shim = type(sqlite3)("sqlite3_shim")
    shim.__dict__.update({k: getattr(sqlite3, k) for k in dir(sqlite3) if not k.startswith("__")})
    shim.connect = connect
    b.sqlite3 = shim

    real_vectors = b.write_faiss

    def write_vectors(index, path):  # half of vectors.faiss on disk
        if point == "vectors" and not reached:
            real_vectors(index, path)
            data = Path(path).read_bytes()
            Path(path).write_bytes(data[: len(data) // 2])
            pause("vectors")
        real_vectors(index, path)

    b.write_faiss = write_vectors

    real_bm25 = b.build_bm25

    def build_bm25(texts, out, *args):
        pause("keyword")
        real_bm25(texts, out, *args)

    b.build_bm25 = build_bm25

    real_json = b.write_json_atomic

    def write_json_atomic(path, data):  # a half-written temporary manifest on disk
        if point == "manifest" and not reached:
            part = temporary_name(path)
            part.write_text('{"format_version": 1, "gener')
            pause("manifest")
            part.unlink()
        real_json(path, data)

    b.write_json_atomic = write_json_atomic

    real_replace = os.replace

    def replace(src, dst):
        if Path(dst).name == "CURRENT":
            pause("commit")
        real_replace(src, dst)

    os.replace = replace

    real_gc = b._collect_garbage

    def collect(root, keep):
        if keep is not None:
            pause("cleanup")
        real_gc(root, keep)

    b._collect_garbage = collect
