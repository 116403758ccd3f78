"""Index-build benchmark: the fp32 and the int8 encoder side by side.

    ./dev bench-index [ARTICLES_DIR] [--sample 1200] [--stores DIR] [--runs 2] [--only int8]

ARTICLES_DIR defaults to ../shared/eval/realtimeqa-dev/articles. Nothing is written
inside the repo except bench/results/index.json (gitignored). Phases:

1. Encoder throughput on the same inputs: a sample of the pipeline's real embedding
   inputs (title header + chunk), embedded by each encoder's embed() in turns
   int8, fp32, int8, fp32 so neither gets a quieter machine; chunks/s, CPU seconds,
   and the int8/fp32 ratio of each pair. Tokens the model reads, with padding.
2. Full build of the folder into a fresh store, per encoder, in a fresh process
   (`build_index` after imports and model load, timed apart): stages, chunks/s, peak
   RSS of that process (VmHWM). The stores are kept under --stores (default
   /tmp/bench-ingest-stores) so that `./dev bench-retrieval --stores-from` can reuse them.
3. Start-up: import + encoder load time of a fresh process, per encoder.
4. Add one article to a copy of the folder, then `assistant index` (the real CLI) in a
   fresh process on a copy of the built store: wall time, --runs times.
5. Token accounting: model tokens embedded per model token of article text, split
   into chunk text, repeated overlap, title headers, special tokens and padding.

Both encoders run on every core the process may use (ONNX Runtime intra-op threads,
torch threads). On a shared machine wall times are noisy: the CPU seconds and the
load average are recorded for every phase; compare ratios taken in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from measure import Phase, machine_info  # noqa: E402  (bench/ is this script's own folder)
from tokens import token_accounting  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "index.json"
NEW_ARTICLE = "zz-bench-synthetic-article.txt"
ENCODERS = {"fp32": "minilm-fp32", "int8": "minilm-int8"}

SYNTHETIC = "November 26, 2024\n\nPort Calloway to open second container terminal ahead of schedule\n\n" + "\n\n".join([
    "The harbour authority of Port Calloway said on Tuesday that it would open a second container "
    "terminal next spring, two years ahead of the schedule it set in 2021.",
    "Officials told reporters that the new terminal would handle up to 400,000 containers a year. They "
    "said dredging of the outer channel had finished in September and that the cranes had already "
    "arrived from the manufacturer. Local unions welcomed the news but asked for guarantees on hiring.",
    "The project has cost about 310 million dollars so far, according to figures released by the "
    "regional council. Most of the money came from a bond sold in 2022.",
    "Residents of the nearby Marrow Hill district have complained about night-time noise during "
    "construction. The authority said it would install sound barriers along the northern fence.",
    "The harbour master, Ines Okafor, said the first ships would dock at the terminal in April. She said "
    "a training programme for 120 new crane operators would start in January.",
]) + "\n"

BUILD_CHILD = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter(); c0 = time.process_time()
    sys.path.insert(0, sys.argv[4])
    from pathlib import Path
    from index.encoders import make_embedder
    from measure import timed_build
    t1 = time.perf_counter()
    e = make_embedder(sys.argv[3])
    prepare = getattr(e, "prepare", None)
    if prepare: prepare()
    e.load(); e.embed(["warm-up sentence"]); e.input_lengths(["warm-up sentence"])
    if hasattr(e, "stats"): e.stats.update(texts=0, tokens=0, padded_tokens=0, batches=0)
    t2 = time.perf_counter(); c2 = time.process_time()
    r = timed_build(Path(sys.argv[1]), Path(sys.argv[2]), e)
    r.pop("_texts")
    print(json.dumps({**r, "import_s": t1 - t0, "load_s": t2 - t1, "build_cpu_s": time.process_time() - c2,
        "encoder_stats": getattr(e, "stats", None), "torch_loaded": "torch" in sys.modules,
        "peak_rss_mb": next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024}))
""")

START_CHILD = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    from assistant.api import NewsAssistant
    t1 = time.perf_counter()
    from index.encoders import make_embedder
    e = make_embedder(sys.argv[1]); e.load()
    t2 = time.perf_counter()
    e.embed(["How did Grushko describe the differences?"])
    t3 = time.perf_counter()
    print(json.dumps({"import_api_s": t1 - t0, "encoder_load_s": t2 - t1, "first_query_embed_s": t3 - t2,
                      "torch_loaded": "torch" in sys.modules}))
""")


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def run_json(cmd: list[str], env: dict[str, str]) -> dict:
    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out.update(wall_s=time.perf_counter() - t0, loadavg_1m_before=load)
    return out


def throughput(texts: list[str], embedders: dict, rounds: int) -> dict:
    """embed() of the same texts by each encoder, in alternating turns."""
    runs: dict[str, list[dict]] = {k: [] for k in embedders}
    for _ in range(rounds):
        for key, e in embedders.items():
            with Phase(key) as ph:
                e.embed(texts)
            runs[key].append({"chunks_per_s": len(texts) / ph.info["wall_s"], **ph.info})
    out: dict = {"texts": len(texts), "runs": runs}
    if set(embedders) == {"fp32", "int8"}:
        out["int8_over_fp32_wall"] = [i["chunks_per_s"] / f["chunks_per_s"] for i, f in zip(runs["int8"], runs["fp32"])]
        out["int8_over_fp32_cpu"] = [f["cpu_s"] / i["cpu_s"] for i, f in zip(runs["int8"], runs["fp32"])]
    return out


def add_one_article(corpus: Path, store: Path, tmp: Path, encoder: str, runs: int) -> list[dict]:
    copy = tmp / f"articles-plus-one-{encoder}"
    if not copy.exists():
        shutil.copytree(corpus, copy)
        (copy / NEW_ARTICLE).write_text(SYNTHETIC, encoding="utf-8")
    out = []
    exe = str(Path(sys.executable).with_name("assistant"))
    for r in range(runs):
        s = tmp / f"store-add-{encoder}-{r}"
        shutil.copytree(store, s)
        env = child_env(NEWS_ASSISTANT_EMBEDDER=ENCODERS[encoder])
        t0 = time.perf_counter()
        p = subprocess.run([exe, "index", "--corpus", str(copy), "--store", str(s), "--json"],
                           cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"assistant index failed:\n{p.stderr[-3000:]}")
        rep = json.loads(p.stdout)
        out.append({"wall_s": wall, "embedded_chunks": rep["embedded_chunks"], "added": rep["added"],
                    "build_s": rep["seconds"], "full_rebuild": rep["full_rebuild"]})
        shutil.rmtree(s, ignore_errors=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("articles", nargs="?", type=Path, default=ROOT.parent / "shared/eval/realtimeqa-dev/articles")
    ap.add_argument("--sample", type=int, default=1200, help="inputs for the throughput phase (0: all)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating turns per encoder in the throughput phase")
    ap.add_argument("--runs", type=int, default=2, help="repetitions of the add-one-article run")
    ap.add_argument("--only", choices=sorted(ENCODERS), help="one encoder only")
    ap.add_argument("--stores", type=Path, default=Path(tempfile.gettempdir()) / "bench-ingest-stores")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    corpus = args.articles.resolve()
    if not corpus.is_dir():
        print(f"no article folder at {corpus}", file=sys.stderr)
        return 2
    keys = [args.only] if args.only else ["fp32", "int8"]

    from index.builder import chunk_for_model
    from index.chunker import ChunkerSettings
    from index.corpus import scan_corpus
    from index.embedder import embedding_input
    from index.encoders import make_embedder
    from index.readers.txt import parse_plain

    results: dict = {"articles_dir": str(corpus), "machine": machine_info(), "encoders": keys}
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        embedders = {k: make_embedder(ENCODERS[k]) for k in keys}
        for e in embedders.values():
            e.load()
            e.embed(["warm-up sentence number %d about the news." % i for i in range(64)])
        scan = scan_corpus(corpus)
        arts = [scan.articles[i] for i in sorted(scan.articles)]
        any_e = embedders[keys[-1]]
        chunks = chunk_for_model(arts, any_e, ChunkerSettings())
        texts = [embedding_input(a.title, c.text) for a in arts for c in chunks[a.id]]
        sample = texts if not args.sample else texts[:: max(1, len(texts) // args.sample)][: args.sample]
        print(f"{len(arts)} articles -> {len(texts)} chunks; throughput on {len(sample)} of them ...", flush=True)
        if "int8" in embedders:
            embedders["int8"].stats.update(texts=0, tokens=0, padded_tokens=0, batches=0)
        results["throughput"] = throughput(sample, embedders, args.rounds)
        if "int8" in embedders:
            st = dict(embedders["int8"].stats)
            results["throughput"]["int8_padding"] = st["padded_tokens"] / st["tokens"] - 1 if st["tokens"] else 0.0
        results["tokens"] = token_accounting(arts, chunks, any_e)
        del embedders  # the builds below run in fresh processes

        results["full_build"], results["start_up"], results["add_one_article"] = {}, {}, {}
        args.stores.mkdir(parents=True, exist_ok=True)
        for k in keys:
            store = args.stores / k
            shutil.rmtree(store, ignore_errors=True)
            print(f"full build, {k}, fresh process ...", flush=True)
            results["full_build"][k] = run_json(
                [sys.executable, "-c", BUILD_CHILD, str(corpus), str(store), ENCODERS[k], str(ROOT / "bench")],
                child_env())
            results["start_up"][k] = [run_json([sys.executable, "-c", START_CHILD, ENCODERS[k]], child_env())
                                      for _ in range(2)]
            print(f"add one article, {k} ...", flush=True)
            results["add_one_article"][k] = add_one_article(corpus, store, tmp, k, args.runs)
        results["machine"]["loadavg_end"] = os.getloadavg()
        print_report(results)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"\nwrote {args.out}; stores kept in {args.stores}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def print_report(r: dict) -> None:
    keys = r["encoders"]
    rows: list[tuple[str, list[str]]] = []
    tp = r["throughput"]
    rows.append((f"encode {tp['texts']} chunks (chunks/s, each turn)",
                 [" / ".join(f"{x['chunks_per_s']:.1f}" for x in tp["runs"][k]) for k in keys]))
    rows.append(("  CPU s per turn", [" / ".join(f"{x['cpu_s']:.1f}" for x in tp["runs"][k]) for k in keys]))
    fb = r["full_build"]
    rows.append(("full build, model loaded (s)", [f"{fb[k]['report_seconds']:.1f}" for k in keys]))
    rows.append(("  stages: scan / chunk+check / embed / write",
                 [" / ".join(f"{fb[k]['stages'].get(s, 0):.1f}" for s in
                             ("scan_s", "chunk_and_length_check_s", "embed_s", "write_s")) for k in keys]))
    rows.append(("  chunks, chunks/s (whole build)", [f"{fb[k]['chunks']:,}, {fb[k]['chunks'] / fb[k]['report_seconds']:.1f}"
                                                       for k in keys]))
    rows.append(("  CPU s / wall s of the build (cores used)",
                 [f"{fb[k]['build_cpu_s']:.0f} / {fb[k]['report_seconds']:.0f} ({fb[k]['build_cpu_s'] / fb[k]['report_seconds']:.2f})"
                  for k in keys]))
    rows.append(("  peak RSS of the fresh build process (MB)", [f"{fb[k]['peak_rss_mb']:.0f}" for k in keys]))
    rows.append(("  torch imported", [str(fb[k]["torch_loaded"]) for k in keys]))
    tok = r["tokens"]
    rows.append(("model tokens embedded (incl. padding in int8)",
                 [f"{tok['embedded_tokens']:,}" + (f" + {fb[k]['encoder_stats']['padded_tokens'] - fb[k]['encoder_stats']['tokens']:,} pad"
                                                   if fb[k].get("encoder_stats") else "") for k in keys]))
    su = r["start_up"]
    rows.append(("start-up: import API / load encoder / 1st query (s)",
                 [" / ".join(f"{min(x[f] for x in su[k]):.2f}" for f in ("import_api_s", "encoder_load_s", "first_query_embed_s"))
                  for k in keys]))
    ad = r["add_one_article"]
    rows.append(("add one article, `assistant index`, fresh process (s)",
                 [" / ".join(f"{x['wall_s']:.2f}" for x in ad[k]) + f" (embedded {ad[k][0]['embedded_chunks']})" for k in keys]))
    title = "Index build: " + " vs ".join(keys)
    print(f"\n{title}\n{'-' * len(title)}")
    w = max(len(a) for a, _ in rows)
    cw = max(len(c) for _, cs in rows for c in cs)
    print(f"  {'':<{w}}  " + "  ".join(f"{k:<{cw}}" for k in keys))
    for a, cs in rows:
        print(f"  {a:<{w}}  " + "  ".join(f"{c:<{cw}}" for c in cs))
    if "int8_over_fp32_wall" in tp:
        print(f"\n  int8 / fp32 throughput, same inputs, per turn: wall {', '.join(f'{x:.2f}' for x in tp['int8_over_fp32_wall'])}; "
              f"CPU time {', '.join(f'{x:.2f}' for x in tp['int8_over_fp32_cpu'])}")
        b = {k: fb[k]["report_seconds"] for k in keys}
        print(f"  full build fp32 / int8: {b['fp32'] / b['int8']:.2f}x")
    print(f"  int8 padding in the throughput phase: {tp.get('int8_padding', 0):.1%} of real tokens")
    print("\n  Tokens per article token (model word pieces): " + ", ".join(f"{k} {v:.3f}" for k, v in tok["per_article_token"].items()))
    m = r["machine"]
    print(f"  load average start {m['loadavg_start'][0]:.2f}, end {m['loadavg_end'][0]:.2f}; {m['cpu_count']} CPUs")


if __name__ == "__main__":
    sys.exit(main())
