"""What the chunker's settings cost and buy: each setting builds the dev set into a
fresh store (kept outside the repo) and answers the retrieval benchmark's questions.

    ./dev bench-chunker [--eval DIR] [--embedder minilm-int8|minilm-fp32] [TOKENS:OVERLAP ...]

TOKENS is the chunk size in cl100k tokens, OVERLAP the sentences repeated at the start
of the next chunk; the default settings are 160:1 (the chunker's) against 160:0 and
200:0. Prints chunks, build seconds (model loaded, one process, so builds compare) and
the retrieval figures of `bench_retrieval.run`, extractive answers included. Writes
bench/results/chunker.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import devset  # noqa: E402
from bench_retrieval import run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("settings", nargs="*", default=["160:1", "160:0", "200:0"], metavar="TOKENS:OVERLAP")
    devset.add_eval_argument(ap)
    ap.add_argument("--embedder", choices=["minilm-int8", "minilm-fp32"], default="minilm-int8")
    args = ap.parse_args()
    questions = devset.load_questions(args.eval)
    try:
        settings = [tuple(int(x) for x in s.split(":")) for s in args.settings]
    except ValueError:
        print("settings are TOKENS:OVERLAP, e.g. 160:1", file=sys.stderr)
        return 2

    from assistant.answer import ExtractiveEngine
    from assistant.retriever import Retriever, RetrieverSettings
    from index.builder import build_index
    from index.chunker import ChunkerSettings
    from index.encoders import make_embedder
    from index.store import Store

    embedder = make_embedder(args.embedder)
    embedder.embed(["warm-up sentence number %d about the news." % i for i in range(64)])  # loads the model first
    results = []
    root = Path(tempfile.gettempdir()) / "news-assistant-bench-chunker"
    for tokens, overlap in settings:
        store = root / f"{args.embedder}-{tokens}-{overlap}"
        shutil.rmtree(store, ignore_errors=True)
        started = time.perf_counter()
        report = build_index(args.eval / "articles", store, embedder,
                             ChunkerSettings(max_tokens=tokens, overlap_sentences=overlap))
        seconds = time.perf_counter() - started
        retriever = Retriever(Store.open(store), embedder, RetrieverSettings())
        out = run(questions, retriever, 10, 600, True, ExtractiveEngine(embedder), False)
        out.update(tokens=tokens, overlap=overlap, chunks=report.chunks, build_seconds=seconds)
        results.append(out)
        print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}), flush=True)
    print()
    print("| chunker | chunks | build s | hit@1 | hit@5 | MRR@10 | answer@600 | extractive |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['tokens']} tokens, overlap {r['overlap']} | {r['chunks']:,} | {r['build_seconds']:.1f} | "
              f"{r['hit@1']:.3f} | {r['hit@5']:.3f} | {r['mrr@10']:.3f} | {r['answer@600']:.3f} | "
              f"{r['extractive_answer_contains']:.3f} |")
    (ROOT / "bench/results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench/results/chunker.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
