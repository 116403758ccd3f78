"""Retrieval benchmark over RealTime QA (../shared/eval/realtimeqa-dev).

    ./dev bench-retrieval [--eval DIR] [--store DIR] [--k 10] [--no-answers]

Indexes the set's articles (incrementally, into a store outside the repo), then asks
each question with its quiz date as the as-of date and reports hit@1/5/10 (a gold
article among the top hits), MRR@10, answer@5 (the answer's text inside the top-5
passages), the share of extractive answers containing the answer's text, and query
latency. Writes bench/results/retrieval.json.
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", type=Path, default=ROOT.parent / "shared/eval/realtimeqa-dev")
    ap.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "news-assistant-bench-store")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--no-answers", action="store_true", help="skip the extractive answers")
    ap.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                    help="override a RetrieverSettings field, e.g. --set recency_weight=0.5")
    ap.add_argument("--show-misses", action="store_true")
    args = ap.parse_args()
    if not (args.eval / "questions.jsonl").exists():
        print(f"no evaluation set at {args.eval}", file=sys.stderr)
        return 2

    from assistant.api import NewsAssistant
    from assistant.retriever import Retriever, RetrieverSettings

    na = NewsAssistant.from_settings(corpus=args.eval / "articles", store=args.store)
    report = na.build_index()
    print(f"index: {report.articles} articles, {report.chunks} chunks (embedded {report.embedded_chunks} now)")
    overrides = {}
    for kv in args.set:
        key, _, value = kv.partition("=")
        overrides[key] = type(getattr(RetrieverSettings(), key))(value)
    retriever = Retriever(na.store(), na.embedder, RetrieverSettings(**overrides))
    na.embedder.embed(["warm up"])

    questions = [json.loads(line) for line in (args.eval / "questions.jsonl").read_text().splitlines() if line.strip()]
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
    print(json.dumps(out, indent=2))
    (ROOT / "bench/results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench/results/retrieval.json").write_text(json.dumps(out, indent=2))
    if args.show_misses:
        for m in misses:
            print(m)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
