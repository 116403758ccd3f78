"""Retrieval benchmark over RealTime QA (../shared/eval/realtimeqa-dev).

    ./dev bench-retrieval [--eval DIR] [--embedders minilm-int8,minilm-fp32]
                          [--stores DIR] [--k 10] [--no-answers]

For each encoder (default: both, side by side), indexes the set's articles
(incrementally, into DIR/int8 and DIR/fp32 outside the repo; the default DIR is the
one `./dev bench-index` leaves its full builds in, so they are reused), then asks each
question with its quiz date as the as-of date and reports hit@1/5/10 (a gold article
among the top hits), MRR@10, answer@5 (the answer's text inside the top-5 passages),
the share of extractive answers containing the answer's text, and query latency.
Writes bench/results/retrieval.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def norm(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).lower()
    s = re.sub(r"[“”\"'‘’]", "", s)
    return " ".join(re.findall(r"[\w$%.]+", s)).strip(". ")


def contains(haystack: str, needle: str) -> bool:
    n = norm(needle)
    return bool(n) and re.search(r"(?<![\w])" + re.escape(n) + r"(?![\w])", norm(haystack)) is not None


def evaluate(na, questions: list[dict], args, overrides: dict) -> tuple[dict, list]:
    from assistant.retriever import Retriever, RetrieverSettings

    retriever = Retriever(na.store(), na.embedder, RetrieverSettings(**overrides))
    na.embedder.embed(["warm up"])
    hits1 = hits5 = hits10 = ans5 = extractive_ok = 0
    rr = 0.0
    latencies = []
    misses = []
    answerer = None
    if not args.no_answers:
        from assistant.answer import ExtractiveEngine

        answerer = ExtractiveEngine(na.embedder)
    for q in questions:
        gold = {e["file"] for e in q["evidence"]}
        t = time.perf_counter()
        res = retriever.search(q["question"], k=args.k, as_of=date.fromisoformat(q["question_date"]))
        latencies.append(time.perf_counter() - t)
        rank = next((i for i, h in enumerate(res.hits, 1) if ({h.file, *h.duplicates} & gold)), None)
        if rank == 1:
            hits1 += 1
        if rank and rank <= 5:
            hits5 += 1
        if rank and rank <= 10:
            hits10 += 1
            rr += 1.0 / rank
        if any(contains(h.text, q["answer"]) for h in res.hits[:5]):
            ans5 += 1
        if answerer is not None:
            answer_text = answerer.compose(q["question"], res.hits[:5])
            if contains(answer_text, q["answer"]):
                extractive_ok += 1
        if rank is None or rank > 1:
            misses.append((q["question"], q["question_date"], rank, sorted(gold), [(h.file, h.date) for h in res.hits[:3]]))
    n = len(questions)
    lat = sorted(latencies)
    out = {
        "questions": n, "hit@1": hits1 / n, "hit@5": hits5 / n, "hit@10": hits10 / n, "mrr@10": rr / n,
        "answer@5": ans5 / n, "extractive_answer_contains": (extractive_ok / n) if answerer else None,
        "latency_p50_ms": 1000 * statistics.median(lat), "latency_p95_ms": 1000 * lat[int(0.95 * (n - 1))],
        "settings": RetrieverSettings(**overrides).__dict__,
    }
    return out, misses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", type=Path, default=ROOT.parent / "shared/eval/realtimeqa-dev")
    ap.add_argument("--embedders", default="minilm-int8,minilm-fp32", help="comma-separated encoders to compare")
    ap.add_argument("--stores", type=Path, default=Path(tempfile.gettempdir()) / "bench-ingest-stores",
                    help="one store per encoder under DIR/int8, DIR/fp32 (reused and updated incrementally)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--no-answers", action="store_true", help="skip the extractive answers")
    ap.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                    help="override a RetrieverSettings field, e.g. --set recency_weight=0.5")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--chunk-tokens", type=int, help="chunk size (cl100k tokens) to try; its own store")
    ap.add_argument("--overlap", type=int, help="sentences of overlap between chunks to try; its own store")
    args = ap.parse_args()
    if not (args.eval / "questions.jsonl").exists():
        print(f"no evaluation set at {args.eval}", file=sys.stderr)
        return 2

    from assistant.api import NewsAssistant
    from assistant.retriever import RetrieverSettings
    from index.config import load_settings

    overrides = {}
    for kv in args.set:
        key, _, value = kv.partition("=")
        overrides[key] = type(getattr(RetrieverSettings(), key))(value)
    questions = [json.loads(line) for line in (args.eval / "questions.jsonl").read_text().splitlines() if line.strip()]
    results: dict[str, dict] = {}
    variant = ""
    if args.chunk_tokens is not None:
        variant += f"-t{args.chunk_tokens}"
    if args.overlap is not None:
        from index.chunker import ChunkerSettings

        variant += f"-o{args.overlap}"
        # Overlap is not a user setting; the benchmark swaps the assistant's chunker.
        NewsAssistant.chunker = property(lambda self: ChunkerSettings(self.settings.chunk_tokens, args.overlap))  # type: ignore[assignment]
    for choice in [c.strip() for c in args.embedders.split(",") if c.strip()]:
        store = args.stores / (choice.removeprefix("minilm-") + variant)
        na = NewsAssistant(load_settings({"corpus": args.eval / "articles", "store": store, "embedder": choice,
                                          "chunk_tokens": args.chunk_tokens}))
        t0 = time.perf_counter()
        report = na.build_index()
        print(f"{choice}: index {report.articles} articles, {report.chunks} chunks in {store} "
              f"(embedded {report.embedded_chunks} now, {time.perf_counter() - t0:.1f}s)", flush=True)
        results[choice], misses = evaluate(na, questions, args, overrides)
        if args.show_misses:
            for m in misses:
                print(m)
    print(json.dumps(results, indent=2))
    print_table(results)
    (ROOT / "bench/results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench/results/retrieval.json").write_text(json.dumps(results, indent=2))
    return 0


def print_table(results: dict[str, dict]) -> None:
    cols = ["hit@1", "hit@5", "hit@10", "mrr@10", "answer@5", "extractive_answer_contains", "latency_p50_ms"]
    print("\n| encoder | " + " | ".join(c.replace("extractive_answer_contains", "extractive") for c in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, r in results.items():
        cells = [f"{r[c]:.3f}" if c != "latency_p50_ms" else f"{r[c]:.1f} ms" for c in cols if r.get(c) is not None]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if {"minilm-int8", "minilm-fp32"} <= set(results):
        a, b = results["minilm-int8"], results["minilm-fp32"]
        print(f"int8 - fp32: hit@5 {a['hit@5'] - b['hit@5']:+.3f}, MRR@10 {a['mrr@10'] - b['mrr@10']:+.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
