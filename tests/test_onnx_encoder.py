"""The int8 ONNX encoder with the real exported model: its vectors against the fp32
encoder's, the cache (reused, remade when its fingerprint changes or its file is
damaged, never trusted half-written), the fp32 fallback, the store's record of which
encoder built it, and a query path that never imports torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from assistant.cli_common import hint_for

from index import onnx_encoder
from index.builder import build_index, spec_for
from index.chunker import ChunkerSettings, chunk_text
from index.embedder import MINILM_NAME, embedding_input
from index.encoders import make_embedder
from index.errors import ConfigError, StoreMismatchError
from index.onnx_encoder import INT8_NAME, META_FILE, MODEL_FILE, EncoderUnavailable, OnnxMiniLMEmbedder
from index.store import Store

pytestmark = pytest.mark.slow


def seed_inputs(seed_article) -> list[str]:
    return [embedding_input(seed_article.title, c.text) for c in chunk_text(seed_article.text)]


def test_int8_vectors_match_fp32_on_the_seed_chunks(int8, minilm, seed_article):
    texts = seed_inputs(seed_article) + ["What do Russia and NATO disagree about?", "Grushko"]
    assert len(texts) >= 8
    got, want = int8.embed(texts), minilm.embed(texts)
    assert got.shape == want.shape == (len(texts), 384) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosines = (got * want).sum(axis=1)
    assert cosines.min() >= 0.98, cosines
    # Not trivially equal (it really is another model) and order-independent: the
    # encoder sorts by length inside, so a reversed input gives the same rows reversed.
    assert cosines.max() < 0.99999
    assert np.allclose(int8.embed(texts[::-1])[::-1], got, atol=1e-5)
    # Lengths as the model reads them, specials included, and nothing hidden truncated.
    assert int8.input_lengths(texts) == minilm.input_lengths(texts)


def test_padding_is_small_with_length_sorted_batches(int8, seed_article):
    e = OnnxMiniLMEmbedder()
    e.model_path, e._session, e._tok, e._tok_full, e._inputs, e._runner = (
        int8.model_path, int8._session, int8._tok, int8._tok_full, int8._inputs, int8._runner)
    texts = seed_inputs(seed_article) * 5 + ["short one", "another short text"] * 20
    e.embed(texts)
    assert e.stats["texts"] == len(texts) and e.stats["batches"] >= -(-len(texts) // e.batch_size)
    assert e.stats["padded_tokens"] <= 1.10 * e.stats["tokens"], e.stats


def test_the_cache_is_reused_on_the_second_run(int8, monkeypatch):
    first = onnx_encoder.ensure_int8_model()
    assert first.resolve() == int8.model_path.resolve() and first.parent.name.startswith("minilm-int8-")
    stamp = first.stat().st_mtime_ns

    def no_export(*a, **k):
        raise AssertionError("exported again although a valid model was cached")

    monkeypatch.setattr(onnx_encoder, "_run_export", no_export)
    again = OnnxMiniLMEmbedder()
    again.load()
    assert again.model_path == first and first.stat().st_mtime_ns == stamp and not again.uses_fallback
    meta = json.loads((first.parent / META_FILE).read_text())
    assert meta["recipe"] == onnx_encoder.RECIPE and meta["export"]["check_cosine_min"] >= 0.98


def test_the_graph_onnxruntime_runs_has_no_skip_layer_norm_kernel(int8, tmp_path):
    """The recipe's speed comes from the graph: quantised attention and matmuls, tanh
    GELU, and Add + LayerNormalization instead of onnxruntime's slow fused kernel, which
    onnxruntime would otherwise put back when it loads the model."""
    import onnx

    saved = tmp_path / "as-run.onnx"
    # On a thread of its own, as the encoder does: the session sets denormals-as-zero on
    # the thread that makes it, and this process goes on to other tests.
    with ThreadPoolExecutor(max_workers=1) as runner:
        runner.submit(onnx_encoder.open_session, int8.model_path, 1, save_optimised_to=saved).result()
    ops = [n.op_type for n in onnx.load(str(saved)).graph.node]
    assert "SkipLayerNormalization" not in ops
    assert ops.count("LayerNormalization") == 12 and ops.count("FastGelu") == 6
    assert ops.count("QAttention") == 6 and ops.count("DynamicQuantizeMatMul") == 18


SUBNORMALS_AFTER_EMBEDDING = """
from index.onnx_encoder import OnnxMiniLMEmbedder
tiny = 5e-324  # the smallest subnormal double
before = tiny * 1.0 > 0
OnnxMiniLMEmbedder().embed(["a test of the encoder"])
print(before, tiny * 1.0 > 0)
"""


def test_the_callers_arithmetic_keeps_subnormal_floats(int8, child_env):
    """The model runs with denormals as zero (faster), a state onnxruntime sets on each
    thread that makes or runs a session. The encoder keeps it on a thread of its own:
    the chat, or any program using the API, still computes with subnormals afterwards
    (hypothesis refused to draw floats in a process where they were flushed). In a
    fresh process, whose main thread nothing else has touched."""
    proc = subprocess.run([sys.executable, "-c", SUBNORMALS_AFTER_EMBEDDING], capture_output=True, text=True,
                          env=child_env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True"]


def fresh_cache_with(model_dir: Path, home: Path) -> Path:
    """A private models folder holding a copy of the session's exported model."""
    (home / "models").unlink()  # the link to the session's shared cache
    dest = home / "models" / model_dir.name
    shutil.copytree(model_dir, dest)
    shutil.copy(model_dir.parent / "source-digests.json", home / "models")
    return dest


def counting_export(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = onnx_encoder._run_export

    def export(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(onnx_encoder, "_run_export", export)
    return calls


def test_a_new_fingerprint_makes_a_new_model_with_progress(int8, isolated_home, monkeypatch):
    old = fresh_cache_with(int8.model_path.parent, isolated_home)
    calls = counting_export(monkeypatch)
    assert onnx_encoder.ensure_int8_model() == old / MODEL_FILE and not calls
    # Another quantisation setting (or onnxruntime version, or weights) is another key.
    monkeypatch.setattr(onnx_encoder, "RECIPE", {**onnx_encoder.RECIPE, "version": 999})
    steps: list[tuple[int, int]] = []
    path = onnx_encoder.ensure_int8_model(lambda d, t: steps.append((d, t)))
    assert calls == [1] and path.parent != old and path.parent.parent == old.parent
    assert steps[0] == (0, 4) and steps[-1] == (4, 4) and {d for d, _ in steps} == {0, 1, 2, 3, 4}
    assert json.loads((path.parent / META_FILE).read_text())["recipe"]["version"] == 999
    assert not list(path.parent.parent.glob("tmp-*"))  # the export's temporary folder is gone
    e = OnnxMiniLMEmbedder()
    e.load()
    assert e.model_path == path and (e.embed(["a test"]) @ int8.embed(["a test"]).T)[0, 0] > 0.999


def test_a_damaged_or_half_written_model_is_made_again(int8, isolated_home, monkeypatch):
    folder = fresh_cache_with(int8.model_path.parent, isolated_home)
    calls = counting_export(monkeypatch)
    # One flipped byte in the middle of the weights: still loadable, silently wrong.
    model = folder / MODEL_FILE
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    # Leftovers of an export killed midway: a temporary folder of a dead process.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = folder.parent / f"tmp-{dead.pid}-deadbeef"
    leftover.mkdir()
    (leftover / MODEL_FILE).write_bytes(b"half")
    path = onnx_encoder.ensure_int8_model()
    assert calls == [1] and path == model and not leftover.exists()
    assert model.read_bytes() != bytes(data)
    e = OnnxMiniLMEmbedder()
    e.load()
    assert (e.embed(["a test"]) @ int8.embed(["a test"]).T)[0, 0] > 0.999

    # A model file without its meta.json (a copy cut short) is not trusted either.
    key, _ = onnx_encoder.fingerprint(onnx_encoder.source_dir(), folder.parent)
    assert onnx_encoder._valid(folder, key)
    (folder / META_FILE).unlink()
    assert not onnx_encoder._valid(folder, key)


def test_falls_back_to_fp32_with_a_notice(monkeypatch, corpus, tmp_path):
    def unavailable(*a, **k):
        raise EncoderUnavailable("onnxruntime is not installed")

    monkeypatch.setattr(onnx_encoder, "ensure_int8_model", unavailable)
    e = make_embedder("minilm-int8")
    assert e.name == INT8_NAME  # nothing decided before it is prepared
    spec = spec_for(e, ChunkerSettings())
    assert e.uses_fallback and e.name == spec.model == MINILM_NAME
    assert "onnxruntime is not installed" in e.notice and "fp32" in e.notice
    report = build_index(corpus, tmp_path / "store", e)
    assert report.published and e.notice in report.notes
    assert Store.open(tmp_path / "store").manifest.model == MINILM_NAME


def test_a_failed_export_is_recorded_and_every_later_process_falls_back_alike(isolated_home, monkeypatch):
    (isolated_home / "models").unlink()  # a private, empty cache
    calls: list[int] = []

    def broken_export(*a, **k):
        calls.append(1)
        raise EncoderUnavailable("exporting the model failed: RuntimeError: no space left")

    monkeypatch.setattr(onnx_encoder, "_run_export", broken_export)
    # Opening a store (spec_for) never starts an export...
    quiet = OnnxMiniLMEmbedder()
    assert spec_for(quiet, ChunkerSettings()).model == INT8_NAME and not calls and not quiet.uses_fallback
    # ...a build does; it fails, the encoder falls back, and the failure is recorded,
    first = OnnxMiniLMEmbedder()
    first.prepare()
    assert calls == [1] and first.uses_fallback and "no space left" in first.notice
    # so a later process names the same (fp32) encoder, even without trying to export.
    later = OnnxMiniLMEmbedder()
    assert spec_for(later, ChunkerSettings()).model == MINILM_NAME and calls == [1]
    assert "delete that file to try again" in later.notice
    [marker] = (isolated_home / "models").glob("*.failed")
    marker.unlink()
    again = OnnxMiniLMEmbedder()
    again.prepare()
    assert calls == [1, 1]
    assert not list((isolated_home / "models").glob("tmp-*"))


def test_unknown_embedder_is_a_config_error():
    with pytest.raises(ConfigError, match="minilm-int8, minilm-fp32"):
        make_embedder("bert-large")


def test_a_store_built_with_the_other_encoder_says_so(int8, minilm, corpus, tmp_path):
    root = tmp_path / "store"
    build_index(corpus, root, int8)
    assert Store.open(root).manifest.model == INT8_NAME
    with pytest.raises(StoreMismatchError) as info:
        Store.open(root, spec_for(minilm, ChunkerSettings()))
    assert INT8_NAME in info.value.message and MINILM_NAME in info.value.message
    assert info.value.remedy == "rebuild" and "assistant index --rebuild" in (hint_for(info.value) or "")
    # `assistant index` (without --rebuild) with the other encoder rebuilds everything.
    report = build_index(corpus, root, minilm)
    assert report.full_rebuild and report.embedded_chunks == report.chunks == 8
    assert any("not reusable" in n for n in report.notes)


def test_the_cli_names_the_rebuild_when_the_encoder_setting_changes(corpus, tmp_path, child_env):
    where = ["--corpus", str(corpus), "--store", str(tmp_path / "store")]
    exe = [sys.executable, "-m", "assistant"]
    built = subprocess.run([*exe, "index", *where, "--quiet"], capture_output=True, text=True, env=child_env, timeout=300)
    assert built.returncode == 0, built.stderr
    env = dict(child_env, NEWS_ASSISTANT_EMBEDDER="minilm-fp32")
    proc = subprocess.run([*exe, "search", "NATO", *where], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"built with model '{INT8_NAME}', but '{MINILM_NAME}' is configured" in proc.stderr
    assert "assistant index --rebuild" in proc.stderr


QUERY_AND_UPDATE = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from assistant.api import NewsAssistant
na = NewsAssistant.from_settings(corpus=sys.argv[1], store=sys.argv[2])
hits = na.search("floods in the river valley", k=3).hits
(Path(sys.argv[1]) / "extra.txt").write_text("2022-09-01\\n\\nA new bridge opens\\n\\nThe river bridge opened on Monday.\\n")
report = na.build_index()
print(json.dumps({"top": hits[0].file, "embedded": report.embedded_chunks, "added": report.added,
                  "heavy": sorted({m.split(".")[0] for m in sys.modules} & {"torch", "transformers", "sentence_transformers"})}))
"""


def test_queries_and_small_updates_never_import_torch(int8, corpus, tmp_path, child_env):
    build_index(corpus, tmp_path / "store", int8)
    proc = subprocess.run([sys.executable, "-c", QUERY_AND_UPDATE, str(corpus), str(tmp_path / "store")],
                          capture_output=True, text=True, env=child_env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"top": "floods.txt", "embedded": 1, "added": ["extra.txt"], "heavy": []}


def test_a_question_after_an_upgrade_shows_the_one_time_export(int8, isolated_home, corpus, tmp_path, monkeypatch, capsys):
    """A new export recipe (an upgrade) or a cleared cache means an export before the
    first question: `assistant ask` shows it as a progress bar, not a silent pause, and
    only the first time."""
    from assistant.cli import main

    folder = fresh_cache_with(int8.model_path.parent, isolated_home)
    store = tmp_path / "store"
    assert main(["index", "--corpus", str(corpus), "--store", str(store)]) == 0
    shutil.rmtree(folder)  # what an upgrade to another recipe leaves: no model for its fingerprint
    calls = counting_export(monkeypatch)
    capsys.readouterr()
    ask = ["ask", "--corpus", str(corpus), "--store", str(store), "--as-of", "2022-09-01",
           "What forced thousands from their homes?"]
    assert main(ask) == 0
    out = capsys.readouterr()
    assert calls == [1] and "Preparing the int8 encoder (once)" in out.err and "4/4" in out.err
    assert "valley" in out.out.lower()
    assert main(ask) == 0
    assert calls == [1] and "Preparing" not in capsys.readouterr().err
