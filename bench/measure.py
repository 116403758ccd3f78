"""Measuring helpers for the benchmarks: phases with wall and CPU time, peak RSS and
load average; an embedder wrapper that times the embedding stage; machine facts."""

from __future__ import annotations

import os
import platform
import resource
import sqlite3
import time
from pathlib import Path

RAW_BATCH = 64


def _reset_peak_rss() -> bool:
    """Linux >= 4.0: writing 5 to clear_refs resets the peak RSS (and ru_maxrss)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rss_mb() -> float:
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _vm_kb(field: str) -> float:
    try:
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return float("nan")


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Phase:
    """Wall time, process CPU time, peak RSS and load average of one block."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.info: dict = {}

    def __enter__(self) -> "Phase":
        self.rss_start = _rss_mb()
        self.rss_reset = _reset_peak_rss()
        self.load_before = os.getloadavg()[0]
        self.cpu0 = _cpu_s()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self.t0
        cpu = _cpu_s() - self.cpu0
        self.info.update(
            wall_s=wall, cpu_s=cpu, cpu_per_wall=cpu / wall if wall else 0.0,
            peak_rss_mb=_maxrss_mb(), peak_rss_is_phase_only=self.rss_reset,
            rss_start_mb=self.rss_start, rss_end_mb=_rss_mb(),
            loadavg_1m_before=self.load_before, loadavg_1m_after=os.getloadavg()[0],
        )


class TimedEmbedder:
    """Delegates to the real embedder and records when embed()/input_lengths() ran."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.embed_calls: list[tuple[float, float, int]] = []  # (start, end, n)
        self.embed_cpu_s = 0.0
        self.length_s = 0.0
        self.texts: list[str] = []

    @property
    def max_input_tokens(self) -> int:
        return self.inner.max_input_tokens

    @property
    def name(self) -> str:  # the int8 encoder's name is settled by prepare()
        return self.inner.name

    def prepare(self, progress=None, export: bool = True) -> None:
        if hasattr(self.inner, "prepare"):
            self.inner.prepare(progress, export=export)

    def embed(self, texts, progress=None):
        c0, t0 = _cpu_s(), time.perf_counter()
        out = self.inner.embed(texts, progress)
        self.embed_calls.append((t0, time.perf_counter(), len(texts)))
        self.embed_cpu_s += _cpu_s() - c0
        self.texts.extend(texts)
        return out

    def input_lengths(self, texts):
        t0 = time.perf_counter()
        out = self.inner.input_lengths(texts)
        self.length_s += time.perf_counter() - t0
        return out


def timed_build(corpus: Path, store: Path, embedder) -> dict:
    """build_index with a stage breakdown from the progress callback and the wrapper."""
    from index.builder import build_index

    timed = TimedEmbedder(embedder)
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if stage == "reading" and done == total:
            marks["scan_end"] = now
        elif stage == "writing":
            marks["write_start" if done == 0 else "write_end"] = now

    t0 = time.perf_counter()
    report = build_index(corpus, store, timed, progress=progress)
    t1 = time.perf_counter()
    stages: dict[str, float] = {}
    scan_end = marks.get("scan_end", t0)
    stages["scan_s"] = scan_end - t0
    if timed.embed_calls:
        e0, e1, _ = timed.embed_calls[0]
        stages["chunk_and_length_check_s"] = e0 - scan_end
        stages["of_which_model_tokenizer_length_check_s"] = timed.length_s
        stages["embed_s"] = sum(b - a for a, b, _ in timed.embed_calls)
        stages["embed_cpu_s"] = timed.embed_cpu_s
        stages["write_s"] = marks.get("write_end", t1) - e1
        stages["after_publish_s"] = t1 - marks.get("write_end", t1)
    else:
        stages["rest_s"] = t1 - scan_end
    return {
        "wall_s": t1 - t0,
        "report_seconds": report.seconds,
        "stages": stages,
        "embedded_chunks": report.embedded_chunks,
        "articles": report.articles,
        "chunks": report.chunks,
        "added": report.added,
        "changed": report.changed,
        "removed": report.removed,
        "unchanged": report.unchanged,
        "skipped": len(report.skipped),
        "published": report.published,
        "full_rebuild": report.full_rebuild,
        "generation": report.generation,
        "_texts": timed.texts,
    }


def store_inputs(store: Path) -> list[tuple[str, str, str]]:
    """(article_id, title, chunk text) of the live generation, in chunk-id order."""
    from index.generation import current_generation
    from index.store import META

    gen = current_generation(store)
    conn = sqlite3.connect(f"file:{gen / META}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT a.id, a.title, c.text FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.id"
        ).fetchall()
    finally:
        conn.close()


def raw_encode(model, texts: list[str]) -> tuple[float, object]:
    t0 = time.perf_counter()
    vecs = model.encode(texts, batch_size=RAW_BATCH, normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False)
    return time.perf_counter() - t0, vecs


def machine_info() -> dict:
    import torch  # only for its thread counts; the int8 encoder does not need it

    cpu_model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = float("nan")
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "sched_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model,
        "mem_total_gb": round(mem_gb, 1),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_start": os.getloadavg(),
    }
