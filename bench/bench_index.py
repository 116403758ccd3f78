"""Index-build benchmark: full build, the raw-encode ceiling, and one-article re-index.

    ./dev bench-index [ARTICLES_DIR] [--incremental-runs N] [--profile] [--cold-full-build]

ARTICLES_DIR defaults to ../shared/eval/realtimeqa-dev/articles (relative to the repo
root). Nothing is written inside the repo except bench/results/index.json (gitignored);
stores and the copied article folder live in a temporary directory that is removed at
the end (pass --keep to keep it).

1. Full build of the folder into a fresh store with the real MiniLMEmbedder via
   index.builder.build_index: articles, chunks, cl100k tokens, wall time per stage,
   peak RSS (ru_maxrss, reset before the phase through /proc/self/clear_refs), chunks/s.
2. The ceiling: SentenceTransformer.encode (the embedder's own model object) over
   exactly the pipeline's embedding inputs, batch_size=64, normalize_embeddings=True.
   Order: warm-up, raw #1, pipeline, raw #2, so neither side gets a warmer machine.
3. Re-index after adding one synthetic article to a copy of the folder: in a fresh
   subprocess (process start + imports + model load + build) and in-process (model
   already loaded). embedded_chunks must equal the new article's chunk count.

On a shared machine numbers are noisy: each phase also records its CPU time
(user+sys of this process) and the load average, so a starved phase shows up as
cpu_s/wall_s well below the thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

RESULTS = ROOT / "bench" / "results" / "index.json"
NEW_ARTICLE = "zz-bench-synthetic-article.txt"


from measure import (  # noqa: E402  (bench/ is this script's own folder)
    RAW_BATCH, Phase, _rss_mb, machine_info, raw_encode, store_inputs, timed_build,
)

# ---------------------------------------------------------------- the new article

def synthetic_article() -> str:
    """A plain-text article in the seed layout, long enough for a few chunks."""
    paragraphs = [
        "The harbour authority of Port Calloway said on Tuesday that it would open a second "
        "container terminal next spring, two years ahead of the schedule it set in 2021.",
        "Officials told reporters that the new terminal would handle up to 400,000 containers a "
        "year. They said dredging of the outer channel had finished in September and that the "
        "cranes had already arrived from the manufacturer. Local unions welcomed the news but "
        "asked for guarantees on hiring.",
        "The project has cost about 310 million dollars so far, according to figures released by "
        "the regional council. Most of the money came from a bond sold in 2022. A smaller share "
        "came from a federal grant for coastal infrastructure.",
        "Residents of the nearby Marrow Hill district have complained about night-time noise "
        "during construction. The authority said it would install sound barriers along the "
        "northern fence and limit crane work after ten in the evening.",
        "Shipping analysts said the expansion could draw traffic away from larger ports further "
        "north, where congestion has added days to delivery times. One analyst said that the "
        "timing was good because freight rates had fallen since the summer.",
        "The harbour master, Ines Okafor, said the first ships would dock at the terminal in "
        "April. She said a training programme for 120 new crane operators and lashers would "
        "start in January, and that half of the places were reserved for local applicants.",
        "Environmental groups asked the authority to publish the results of water-quality tests "
        "taken during dredging. The authority said the results would appear on its website "
        "before the end of the month, together with a plan to restore a salt marsh nearby.",
        "The regional council is expected to vote next week on a proposal to build a rail spur "
        "from the terminal to the inland freight yard at Dunmore, which would take about 300 "
        "lorries a day off the coast road.",
    ]
    return "November 26, 2024\n\nPort Calloway to open second container terminal ahead of schedule\n\n" + \
        "\n\n".join(paragraphs) + "\n"


CHILD = textwrap.dedent("""
    import json, os, resource, sys, time
    t0 = time.perf_counter()
    c0 = time.process_time()
    from pathlib import Path
    from index.builder import build_index
    from index.embedder import MiniLMEmbedder
    t1 = time.perf_counter()
    e = MiniLMEmbedder()
    e.load()
    t2 = time.perf_counter()
    r = build_index(Path(sys.argv[1]), Path(sys.argv[2]), e)
    t3 = time.perf_counter()
    import torch
    print(json.dumps({
        "import_s": t1 - t0, "model_load_s": t2 - t1, "build_s": t3 - t2,
        "embedded_chunks": r.embedded_chunks, "added": r.added, "changed": r.changed,
        "removed": r.removed, "articles": r.articles, "chunks": r.chunks,
        "published": r.published, "full_rebuild": r.full_rebuild,
        # VmHWM, not ru_maxrss: after vfork+exec ru_maxrss carries the parent's peak.
        "peak_rss_mb": next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024,
        "torch_threads": torch.get_num_threads(), "cpu_s": time.process_time() - c0,
    }))
""")


def run_child(corpus: Path, store: Path) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CHILD, str(corpus), str(store)],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"child build failed ({p.returncode}):\n{p.stderr[-3000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["wall_s"] = wall
    out["process_start_and_exit_s"] = wall - out["import_s"] - out["model_load_s"] - out["build_s"]
    out["loadavg_1m_before"] = load0
    return out


# ---------------------------------------------------------------- main

def fmt(x, nd=2) -> str:
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def table(title: str, rows: list[tuple[str, object]]) -> None:
    print(f"\n{title}")
    print("-" * len(title))
    w = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{w}}  {fmt(v) if not isinstance(v, str) else v}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("articles", nargs="?", type=Path, default=ROOT.parent / "shared/eval/realtimeqa-dev/articles")
    ap.add_argument("--incremental-runs", type=int, default=2,
                    help="repetitions of each one-article re-index (best and all runs reported)")
    ap.add_argument("--profile", action="store_true",
                    help="after the timed phases, build once more under cProfile and print where the time goes")
    ap.add_argument("--cold-full-build", action="store_true",
                    help="also time a full build in a fresh subprocess (process start + model load)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    corpus = args.articles.resolve()
    if not corpus.is_dir():
        print(f"no article folder at {corpus}", file=sys.stderr)
        return 2

    import numpy as np

    from index.builder import chunk_for_model
    from index.chunker import ChunkerSettings, count_tokens
    from index.corpus import scan_corpus
    from index.embedder import MiniLMEmbedder, embedding_input
    from index.readers.txt import parse_plain

    tmp = Path(tempfile.mkdtemp(prefix="news-assistant-bench-index-"))
    assert ROOT not in tmp.parents, "temporary data must live outside the repo"
    results: dict = {"articles_dir": str(corpus), "tmp_dir": str(tmp)}
    try:
        # ---- model load + warm-up (before any timing)
        embedder = MiniLMEmbedder()
        with Phase("model_load") as ph:
            model = embedder.load()
        results["model_load"] = ph.info
        results["machine"] = machine_info()
        with Phase("warmup") as ph:
            warm = ["warm-up sentence number %d about the news of the day." % i for i in range(64)]
            for _ in range(3):
                model.encode(warm, batch_size=RAW_BATCH, normalize_embeddings=True, show_progress_bar=False)
            embedder.embed(warm[:8])
            embedder.input_lengths(warm[:8])
            count_tokens("warm-up")
        results["warmup"] = ph.info
        baseline_rss = _rss_mb()
        results["rss_after_model_load_mb"] = baseline_rss
        print(f"model loaded in {results['model_load']['wall_s']:.1f}s; "
              f"torch threads {results['machine']['torch_threads']}, cpus {results['machine']['cpu_count']}, "
              f"load avg {results['machine']['loadavg_start'][0]:.2f}", flush=True)

        # ---- the embedding inputs, computed the pipeline's way (checked against the store later)
        with Phase("precompute_inputs") as ph:
            scan = scan_corpus(corpus)
            arts = [scan.articles[i] for i in sorted(scan.articles)]
            chunks = chunk_for_model(arts, embedder, ChunkerSettings())
            texts = [embedding_input(a.title, c.text) for a in arts for c in chunks[a.id]]
        results["precompute_inputs"] = ph.info
        print(f"{len(arts)} articles -> {len(texts)} chunks; raw encode #1 ...", flush=True)

        # ---- raw #1
        with Phase("raw1") as ph:
            raw1_s, raw_vecs = raw_encode(model, texts)
        results["raw1"] = ph.info

        # ---- pipeline full build into a fresh store
        store = tmp / "store-full"
        print("pipeline full build ...", flush=True)
        with Phase("pipeline") as ph:
            full = timed_build(corpus, store, embedder)
        results["pipeline_phase"] = ph.info
        pipe_texts = full.pop("_texts")

        # ---- raw #2
        print("raw encode #2 ...", flush=True)
        with Phase("raw2") as ph:
            raw2_s, _ = raw_encode(model, texts)
        results["raw2"] = ph.info

        # ---- checks: same inputs, same vectors
        rows = store_inputs(store)
        stored_texts = [embedding_input(t, x) for _, t, x in rows]
        same_inputs = stored_texts == texts == pipe_texts
        import faiss
        from index.store import VECTORS, current_generation

        index = faiss.read_index(str(current_generation(store) / VECTORS))
        ids = faiss.vector_to_array(index.id_map)
        stored_vecs = np.vstack([index.reconstruct(int(i)) for i in ids[: min(len(ids), 200)]])
        max_vec_diff = float(np.abs(stored_vecs - raw_vecs[: len(stored_vecs)]).max()) if len(ids) else 0.0

        tokens_cl100k = sum(count_tokens(x) for _, _, x in rows)
        wordpieces = embedder.input_lengths(texts)
        n = len(texts)
        embed_s = full["stages"]["embed_s"]
        raw_best, raw_mean = min(raw1_s, raw2_s), (raw1_s + raw2_s) / 2
        r1c, r2c = results["raw1"]["cpu_s"], results["raw2"]["cpu_s"]
        results["full_build"] = {
            **full,
            "tokens_cl100k": tokens_cl100k,
            "model_wordpieces_total": int(sum(wordpieces)),
            "model_wordpieces_mean": float(np.mean(wordpieces)) if n else 0.0,
            "chunks_per_s_whole": full["chunks"] / full["wall_s"],
            "chunks_per_s_embed": full["embedded_chunks"] / embed_s if embed_s else 0.0,
            "peak_rss_mb": results["pipeline_phase"]["peak_rss_mb"],
            "peak_rss_over_loaded_model_mb": results["pipeline_phase"]["peak_rss_mb"] - baseline_rss,
            "same_inputs_as_raw": same_inputs,
            "max_abs_vector_diff_vs_raw_first200": max_vec_diff,
        }
        results["raw_encode"] = {
            "batch_size": RAW_BATCH, "texts": n,
            "run1_s": raw1_s, "run2_s": raw2_s, "best_s": raw_best, "mean_s": raw_mean,
            "run1_cpu_s": r1c, "run2_cpu_s": r2c,
            "chunks_per_s_best": n / raw_best, "chunks_per_s_mean": n / raw_mean,
            "peak_rss_mb": max(results["raw1"]["peak_rss_mb"], results["raw2"]["peak_rss_mb"]),
        }
        results["ratios"] = {
            "embed_stage_vs_raw_best": raw_best / embed_s if embed_s else 0.0,
            "embed_stage_vs_raw_mean": raw_mean / embed_s if embed_s else 0.0,
            "whole_pipeline_vs_raw_best": raw_best / full["wall_s"],
            "whole_pipeline_vs_raw_mean": raw_mean / full["wall_s"],
            # CPU seconds per chunk are far less sensitive to other processes on the machine
            # than wall time: the ratio of CPU work per chunk, raw vs pipeline.
            "embed_stage_vs_raw_cpu": (min(r1c, r2c) / full["stages"]["embed_cpu_s"]) if embed_s else 0.0,
            "whole_pipeline_vs_raw_cpu": min(r1c, r2c) / results["pipeline_phase"]["cpu_s"],
            "contention_warning": contention_warning(results),
        }

        # ---- re-index after adding one article
        print("re-index after adding one article ...", flush=True)
        copy = tmp / "articles-copy"
        shutil.copytree(corpus, copy)
        base_store = tmp / "store-base"
        shutil.copytree(store, base_store)
        with Phase("noop") as ph:
            noop = timed_build(copy, base_store, embedder)
        noop.pop("_texts")
        if noop["added"] or noop["changed"] or noop["removed"] or noop["published"]:
            raise RuntimeError(f"building the copied folder on the copied store was not a no-op: {noop}")
        results["noop_rebuild_in_process"] = {**noop, **ph.info}

        (copy / NEW_ARTICLE).write_text(synthetic_article(), encoding="utf-8")
        new_art = parse_plain(synthetic_article(), NEW_ARTICLE)
        expected_new = len(chunk_for_model([new_art], embedder, ChunkerSettings())[new_art.id])

        sub_runs, inproc_runs = [], []
        for r in range(args.incremental_runs):
            s = tmp / f"store-sub-{r}"
            shutil.copytree(base_store, s)
            sub_runs.append(run_child(copy, s))
            s = tmp / f"store-inproc-{r}"
            shutil.copytree(base_store, s)
            with Phase("inproc") as ph:
                inc = timed_build(copy, s, embedder)
            inc.pop("_texts")
            inproc_runs.append({**inc, **ph.info})
        for run in sub_runs + inproc_runs:
            ok = run["embedded_chunks"] == expected_new and run["added"] == [NEW_ARTICLE] \
                and not run["changed"] and not run["removed"]
            run["embedded_only_new_article"] = ok
        results["add_one_article"] = {
            "new_article_chunks_expected": expected_new,
            "subprocess_runs": sub_runs,
            "in_process_runs": inproc_runs,
            "subprocess_best_wall_s": min(x["wall_s"] for x in sub_runs),
            "in_process_best_wall_s": min(x["wall_s"] for x in inproc_runs),
        }

        if args.cold_full_build:
            print("cold full build in a subprocess ...", flush=True)
            results["cold_full_build_subprocess"] = run_child(corpus, tmp / "store-cold")

        results["machine"]["loadavg_end"] = os.getloadavg()
        print_report(results)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(compact(results), indent=2, default=str) + "\n")
        print(f"\nwrote {args.out}")

        if args.profile:
            profile_build(corpus, tmp / "store-profile", embedder, args.out.parent)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def compact(x):
    """Long id lists (a full build's `added`) become a count and the first few ids."""
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            if isinstance(v, list) and len(v) > 10 and all(isinstance(i, str) for i in v):
                out[k + "_count"] = len(v)
                out[k + "_first"] = v[:5]
            else:
                out[k] = compact(v)
        return out
    if isinstance(x, list):
        return [compact(i) for i in x]
    return x


def contention_warning(r: dict) -> str:
    """Flag a run whose timed phases got very different shares of the CPUs."""
    shares = {k: r[k]["cpu_per_wall"] for k in ("raw1", "pipeline_phase", "raw2")}
    lo, hi = min(shares.values()), max(shares.values())
    if hi > 1.2 * lo:
        return ("cores used per phase differ (" + ", ".join(f"{k} {v:.2f}" for k, v in shares.items())
                + "): other processes competed for the CPUs; trust the CPU-time ratios over wall-time ones")
    return ""


def profile_build(corpus: Path, store: Path, embedder, out_dir: Path) -> None:
    import cProfile
    import pstats

    from index.builder import build_index

    print("\nprofiling a full build under cProfile (timings inflated by the profiler) ...", flush=True)
    prof = cProfile.Profile()
    prof.enable()
    build_index(corpus, store, embedder)
    prof.disable()
    path = out_dir / "index_build.prof"
    prof.dump_stats(str(path))
    st = pstats.Stats(prof)
    st.sort_stats("cumulative").print_stats(35)
    st.sort_stats("tottime").print_stats(25)
    print(f"profile written to {path}")


def print_report(r: dict) -> None:
    m, fb, raw, ra, add = r["machine"], r["full_build"], r["raw_encode"], r["ratios"], r["add_one_article"]
    table("Machine", [
        ("cpu count / affinity", f"{m['cpu_count']} / {m['sched_affinity']}"),
        ("cpu model", m["cpu_model"]),
        ("memory", f"{m['mem_total_gb']} GB"),
        ("torch / threads / interop", f"{m['torch']} / {m['torch_threads']} / {m['torch_interop_threads']}"),
        ("load avg 1m start -> end", f"{m['loadavg_start'][0]:.2f} -> {m['loadavg_end'][0]:.2f}"),
        ("model load (in-process)", f"{r['model_load']['wall_s']:.2f} s"),
        ("RSS with model loaded", f"{r['rss_after_model_load_mb']:.0f} MB"),
    ])
    st = fb["stages"]
    ph = r["pipeline_phase"]
    table("1. Full build (build_index, MiniLMEmbedder, fresh store, model already loaded)", [
        ("articles (skipped files)", f"{fb['articles']} ({fb['skipped']})"),
        ("chunks", fb["chunks"]),
        ("cl100k tokens in chunks", fb["tokens_cl100k"]),
        ("model word pieces (total / mean)", f"{fb['model_wordpieces_total']:,} / {fb['model_wordpieces_mean']:.1f}"),
        ("wall time", f"{fb['wall_s']:.2f} s"),
        ("  scan", f"{st['scan_s']:.2f} s"),
        ("  chunk + length check", f"{st.get('chunk_and_length_check_s', 0):.2f} s "
                                   f"(tokenizer check {st.get('of_which_model_tokenizer_length_check_s', 0):.2f} s)"),
        ("  embed", f"{st.get('embed_s', 0):.2f} s"),
        ("  write (sqlite, faiss, bm25, fsync)", f"{st.get('write_s', 0):.2f} s"),
        ("  after publish (gc)", f"{st.get('after_publish_s', 0):.2f} s"),
        ("chunks/s whole build", f"{fb['chunks_per_s_whole']:.1f}"),
        ("chunks/s embedding stage", f"{fb['chunks_per_s_embed']:.1f}"),
        ("RSS at build start -> peak", f"{ph['rss_start_mb']:.0f} -> {fb['peak_rss_mb']:.0f} MB (in-process, after raw #1; "
                                        "see the cold build for a clean peak)"),
        ("cpu s / wall s", f"{ph['cpu_s']:.1f} / {ph['wall_s']:.1f} = {ph['cpu_per_wall']:.2f} cores"),
        ("inputs identical to raw's", str(fb["same_inputs_as_raw"])),
        ("max |vector diff| vs raw", f"{fb['max_abs_vector_diff_vs_raw_first200']:.2e}"),
    ])
    table("2. Ceiling: raw SentenceTransformer.encode(batch_size=64, normalize) of the same inputs", [
        ("raw #1 (before build)", f"{raw['run1_s']:.2f} s  ({raw['texts'] / raw['run1_s']:.1f} chunks/s, "
                                  f"{r['raw1']['cpu_per_wall']:.2f} cores)"),
        ("raw #2 (after build)", f"{raw['run2_s']:.2f} s  ({raw['texts'] / raw['run2_s']:.1f} chunks/s, "
                                 f"{r['raw2']['cpu_per_wall']:.2f} cores)"),
        ("raw best / mean chunks/s", f"{raw['chunks_per_s_best']:.1f} / {raw['chunks_per_s_mean']:.1f}"),
        ("peak RSS during raw encode", f"{raw['peak_rss_mb']:.0f} MB"),
        ("ratio embed stage / raw (best, mean)", f"{ra['embed_stage_vs_raw_best']:.3f}, {ra['embed_stage_vs_raw_mean']:.3f}"),
        ("ratio whole build / raw (best, mean)", f"{ra['whole_pipeline_vs_raw_best']:.3f}, {ra['whole_pipeline_vs_raw_mean']:.3f}"),
        ("raw CPU s #1 / #2", f"{raw['run1_cpu_s']:.1f} / {raw['run2_cpu_s']:.1f}"),
        ("pipeline CPU s embed / whole", f"{st.get('embed_cpu_s', 0):.1f} / {ph['cpu_s']:.1f}"),
        ("ratio by CPU time: embed / raw", f"{ra['embed_stage_vs_raw_cpu']:.3f}"),
        ("ratio by CPU time: whole / raw", f"{ra['whole_pipeline_vs_raw_cpu']:.3f}"),
    ] + ([("WARNING", ra["contention_warning"])] if ra["contention_warning"] else []))
    noop = r["noop_rebuild_in_process"]
    rows = [
        ("no-op rebuild of copied folder (in-process)", f"{noop['wall_s']:.2f} s"),
        ("new article chunks (expected)", add["new_article_chunks_expected"]),
    ]
    for i, s in enumerate(add["subprocess_runs"], 1):
        rows.append((f"subprocess run {i} wall", f"{s['wall_s']:.2f} s = start/exit {s['process_start_and_exit_s']:.2f} "
                     f"+ imports {s['import_s']:.2f} + model load {s['model_load_s']:.2f} + build {s['build_s']:.2f}; "
                     f"embedded {s['embedded_chunks']}, ok={s['embedded_only_new_article']}, "
                     f"peak RSS {s['peak_rss_mb']:.0f} MB"))
    for i, s in enumerate(add["in_process_runs"], 1):
        stg = s["stages"]
        rows.append((f"in-process run {i} wall", f"{s['wall_s']:.2f} s = scan {stg['scan_s']:.2f} + chunk "
                     f"{stg.get('chunk_and_length_check_s', 0):.2f} + embed {stg.get('embed_s', 0):.2f} + write "
                     f"{stg.get('write_s', 0):.2f} + gc {stg.get('after_publish_s', 0):.2f}; embedded "
                     f"{s['embedded_chunks']}, ok={s['embedded_only_new_article']}"))
    rows += [("subprocess best", f"{add['subprocess_best_wall_s']:.2f} s"),
             ("in-process best", f"{add['in_process_best_wall_s']:.2f} s")]
    table("3. Re-index after adding one article (copy of the folder + copy of the built store)", rows)
    if "cold_full_build_subprocess" in r:
        c = r["cold_full_build_subprocess"]
        table("Cold full build in a subprocess", [
            ("wall", f"{c['wall_s']:.2f} s (imports {c['import_s']:.2f}, model load {c['model_load_s']:.2f}, "
                     f"build {c['build_s']:.2f})"),
            ("peak RSS (VmHWM of the fresh process)", f"{c['peak_rss_mb']:.0f} MB"),
            ("chunks/s", f"{c['chunks'] / c['build_s']:.1f} (build only), cpu {c['cpu_s']:.0f} s"),
        ])


if __name__ == "__main__":
    sys.exit(main())
