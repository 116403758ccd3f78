"""Retrieval benchmark over RealTime QA (../shared/eval/realtimeqa-dev).

    ./dev bench-retrieval [--eval DIR] [--store DIR] [--embedder minilm-int8|minilm-fp32|both]
                          [--k 10] [--no-answers] [--ablations] [--budget 1000] [--set KNOB=VALUE ...]
                          [--backend embedded|milvus]

Indexes the set's articles (incrementally, into a store outside the repo), then asks
each question with its quiz date as the as-of date and reports hit@1/5/10 (a gold
article among the top hits), MRR@10, answering@1 and answering MRR@10 (the same with
a hit counted when its article is gold or holds the answer's text: the quiz links one
report of a story, and other reports often answer too), answer@5 (the answer's text
inside the top-5 retrieved passages), answer@600 and answer@1000 (the answer's text
within the first 600 / 1,000 words of the context `build_context` hands the answerer,
so that a longer context does not win by size alone), the share of extractive answers
(over that context) containing the answer's text, and query latency (search only; the
context is timed separately). `--ablations` runs the default and the variants without story
grouping, without the freshness rule and without passage re-selection in one process,
so their latencies are comparable. `--backend milvus` also builds the same articles
into a Milvus Lite store (the milvus extra) and prints both backends side by side
(quality, query latency, build time); `--embedder both` does the same for the int8 and
the fp32 encoder (a store each). Every run also measures plain BM25 (`plain_bm25`) as
the reference row. Writes bench/results/retrieval.json.
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

import devset  # noqa: E402


def norm(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).lower()
    s = re.sub(r"[“”\"'‘’]", "", s)
    return " ".join(re.findall(r"[\w$%.]+", s)).strip(". ")


def contains(haystack: str, needle: str) -> bool:
    n = norm(needle)
    return bool(n) and re.search(r"(?<![\w])" + re.escape(n) + r"(?![\w])", norm(haystack)) is not None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    devset.add_eval_argument(ap)
    ap.add_argument("--store", type=Path, default=None,
                    help="index folder (default: one per encoder under the temp folder)")
    ap.add_argument("--embedder", choices=["minilm-int8", "minilm-fp32", "both"], default="minilm-int8",
                    help="the encoder to measure; both: each in its own store, side by side")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--no-answers", action="store_true", help="skip the extractive answers")
    ap.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                    help="override a RetrieverSettings field, e.g. --set recency_weight=0.5")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--ablations", action="store_true", help="also run without stories / freshness / re-selection")
    ap.add_argument("--budget", type=int, default=0, help="context budget in tokens (default: the module's)")
    ap.add_argument("--backend", choices=["embedded", "milvus"], default="embedded",
                    help="milvus: measure the Milvus store beside the embedded one")
    args = ap.parse_args()
    questions = devset.load_questions(args.eval)

    from assistant.api import NewsAssistant
    from assistant.config import EXTRACTIVE_CONTEXT_TOKENS, load_settings
    from assistant.context import build_context
    from assistant.retriever import Retriever, RetrieverSettings

    if args.embedder == "both" and (args.store or args.backend == "milvus"):
        print("--embedder both builds one embedded store per encoder: not with --store or --backend milvus",
              file=sys.stderr)
        return 2
    stores = []
    for embedder in (["minilm-int8", "minilm-fp32"] if args.embedder == "both" else [args.embedder]):
        store = args.store or Path(tempfile.gettempdir()) / f"news-assistant-bench-store-{embedder}"
        na = NewsAssistant(load_settings({"corpus": args.eval / "articles", "store": store, "embedder": embedder}))
        report = na.build_index()
        print(f"index ({embedder}): {report.articles} articles, {report.chunks} chunks "
              f"(embedded {report.embedded_chunks} now, {report.seconds:.1f} s)")
        stores.append(("embedded" if args.embedder != "both" else embedder.removeprefix("minilm-"), na, report))
    if args.backend == "milvus":
        milvus = NewsAssistant(load_settings({"corpus": args.eval / "articles", "store": Path(f"{store}-milvus"),
                                              "embedder": args.embedder, "backend": "milvus"}), na.embedder)
        mreport = milvus.build_index()
        print(f"milvus: {mreport.articles} articles, {mreport.chunks} chunks (embedded {mreport.embedded_chunks} now, {mreport.seconds:.1f} s)")
        stores.append(("milvus", milvus, mreport))
    overrides = {}
    for kv in args.set:
        key, _, value = kv.partition("=")
        kind = type(getattr(RetrieverSettings(), key))
        overrides[key] = (value.lower() in ("1", "true", "yes")) if kind is bool else kind(value)
    budget = args.budget or EXTRACTIVE_CONTEXT_TOKENS
    # (name, retriever knobs, context options); the extractive engine (slow: it embeds
    # every sentence) runs on the default and on the state before stories only.
    runs: list[tuple[str, dict, dict]] = [("default", overrides, {"answers": True})]
    if args.ablations:
        runs += [
            ("without story grouping", {**overrides, "stories": False}, {}),
            ("without the freshness rule", {**overrides, "freshness": False}, {}),
            ("without passage re-selection (retrieved chunk, not widened)", overrides, {"reselect": False}),
            ("before stories and re-selection", {**overrides, "stories": False}, {"reselect": False, "answers": True}),
        ]
    for _, assistant, _ in stores:
        assistant.embedder.embed(["warm up"])
    results = []
    for backend, assistant, built in stores:
        answerer = None
        if not args.no_answers:
            from assistant.answer import ExtractiveEngine

            answerer = ExtractiveEngine(assistant.embedder)
        for name, knobs, ctx in runs:
            retriever = Retriever(assistant.store(), assistant.embedder, RetrieverSettings(**knobs))
            out = run(questions, retriever, args.k, budget, ctx.get("reselect", True),
                      answerer if ctx.get("answers") else None, args.show_misses)
            label = f"{backend}: {name}" if len(stores) > 1 else name
            out.update(name=label, settings=RetrieverSettings(**knobs).__dict__, budget_tokens=budget, backend=backend,
                       build_seconds=built.seconds, built_chunks=built.embedded_chunks)
            results.append(out)
            print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items() if k != "settings"}))
    # Last, so that building its index does not disturb the latencies measured above.
    results.insert(0, run_reference(questions, args.eval, args.k))
    print()
    print("| retrieval | hit@1 | hit@5 | hit@10 | MRR@10 | answering@1 | answering MRR@10 | answer@5 | answer@600 "
          "| answer@1000 | extractive | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ext = f"{r['extractive_answer_contains']:.3f}" if r["extractive_answer_contains"] is not None else "–"
        print(f"| {r['name']} | {r['hit@1']:.3f} | {r['hit@5']:.3f} | {r['hit@10']:.3f} | {r['mrr@10']:.3f} | "
              f"{r['answering@1']:.3f} | {r['answering_mrr@10']:.3f} | "
              f"{r['answer@5']:.3f} | {r['answer@600']:.3f} | {r['answer@1000']:.3f} | {ext} | "
              f"{r['latency_p50_ms']:.1f} | {r['latency_p95_ms']:.1f} |")
    (ROOT / "bench/results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench/results/retrieval.json").write_text(json.dumps(results, indent=2))
    return 0


def first_words(hits, n: int) -> str:
    """The first `n` words of a context, passages in order."""
    words: list[str] = []
    for h in hits:
        words += h.text.split()
        if len(words) >= n:
            break
    return " ".join(words[:n])


_ARTICLE_TEXTS: dict[str, str] = {}


def answering_rank(hits, gold: set[str], answer: str, text_of) -> int | None:
    """The rank of the first hit that is a gold article or whose article holds the
    answer's text: what a reader gets from the ranking, since the quiz links one report
    of a story and other reports often hold the answer too. A short answer ("6",
    "Country") can sit in an article that does not answer the question, so this
    over-counts somewhat; the gold-article rank under-counts."""
    for i, h in enumerate(hits, 1):
        files = {h.file, *getattr(h, "duplicates", ())}
        if files & gold or contains(text_of(h), answer):
            return i
    return None


class Tally:
    """The measures every pipeline gets, one question at a time."""

    def __init__(self) -> None:
        self.n = self.hits1 = self.hits5 = self.hits10 = self.answering1 = 0
        self.ans5 = self.ans600 = self.ans1000 = 0
        self.rr = self.answering_rr = 0.0
        self.latencies: list[float] = []

    def add(self, answer: str, rank: int | None, answering: int | None, passages: list[str],
            context: str, seconds: float) -> None:
        """`rank`: the gold article's, `answering`: the first answering article's (both
        within the top 10); `passages`: the top retrieved passages; `context`: what the
        answerer reads, in order."""
        self.n += 1
        self.hits1 += rank == 1
        self.hits5 += bool(rank and rank <= 5)
        self.hits10 += bool(rank and rank <= 10)
        self.rr += 1.0 / rank if rank and rank <= 10 else 0.0
        self.answering1 += answering == 1
        self.answering_rr += 1.0 / answering if answering else 0.0
        self.ans5 += any(contains(p, answer) for p in passages[:5])
        words = context.split()
        self.ans600 += contains(" ".join(words[:600]), answer)
        self.ans1000 += contains(" ".join(words[:1000]), answer)
        self.latencies.append(seconds)

    def as_dict(self) -> dict:
        n, lat = self.n, sorted(self.latencies)
        return {
            "questions": n, "hit@1": self.hits1 / n, "hit@5": self.hits5 / n, "hit@10": self.hits10 / n,
            "mrr@10": self.rr / n, "answering@1": self.answering1 / n, "answering_mrr@10": self.answering_rr / n,
            "answer@5": self.ans5 / n, "answer@600": self.ans600 / n, "answer@1000": self.ans1000 / n,
            "latency_p50_ms": 1000 * statistics.median(lat), "latency_p95_ms": 1000 * lat[int(0.95 * (n - 1))],
        }


def run(questions, retriever, k, budget, reselect, answerer, show_misses) -> dict:
    from assistant.context import build_context

    def text_of(hit) -> str:
        if hit.file not in _ARTICLE_TEXTS:
            _ARTICLE_TEXTS[hit.file] = hit.title + "\n" + retriever.store.article_text(hit.article_id)
        return _ARTICLE_TEXTS[hit.file]

    tally, extractive_ok, ctx_latencies = Tally(), 0, []
    for q in questions:
        gold = {e["file"] for e in q["evidence"]}
        t = time.perf_counter()  # query embedding included, as a user waits for it
        res = retriever.search(q["question"], k=k, as_of=date.fromisoformat(q["question_date"]))
        seconds = time.perf_counter() - t
        t = time.perf_counter()
        if reselect:
            context = build_context(q["question"], res, retriever, budget)
        else:
            context = list(res.hits)  # the retrieved chunks as they are, in rank order
        ctx_latencies.append(time.perf_counter() - t)
        rank = next((i for i, h in enumerate(res.hits[:10], 1) if ({h.file, *h.duplicates} & gold)), None)
        tally.add(q["answer"], rank, answering_rank(res.hits[:10], gold, q["answer"], text_of),
                  [h.text for h in res.hits], first_words(context, 1000), seconds)
        if answerer is not None:
            # Without re-selection the answerer gets what `ask` hands it today: the top 5.
            read = context if reselect else res.hits[:5]
            if res.window is not None and res.window.binding:  # as `ask`: that time's reports alone
                read = [h for h in read if res.window.holds(h.date)]
            answer_text = " ".join(s.text for s in answerer.select(q["question"], read))
            if contains(answer_text, q["answer"]):
                extractive_ok += 1
        if show_misses and (rank is None or rank > 1):
            print((q["question"], q["question_date"], rank, sorted(gold), [(h.file, h.date) for h in res.hits[:3]]))
    return {**tally.as_dict(), "extractive_answer_contains": (extractive_ok / tally.n) if answerer else None,
            "context_p50_ms": 1000 * statistics.median(ctx_latencies)}


def run_reference(questions, eval_dir: Path, k: int) -> dict:
    """The same measures for plain BM25 (`plain_bm25`), in this run: its context is its
    ranked chunks in order, and it reads no dates, so it has no as-of filter (an article
    from after the quiz can count; with a filter, a scratch run scored hit@5 0.768)."""
    from plain_bm25 import PlainBM25, read_articles

    reference = PlainBM25(read_articles(eval_dir / "articles"))
    tally = Tally()
    for q in questions:
        gold = {e["file"] for e in q["evidence"]}
        t = time.perf_counter()
        ranked = reference.rank(q["question"], k)
        seconds = time.perf_counter() - t
        rank = next((i for i, a in enumerate(ranked.articles, 1) if a.file in gold), None)
        answering = answering_rank(ranked.articles, gold, q["answer"], lambda a: a.title + "\n" + a.text)
        tally.add(q["answer"], rank, answering, ranked.chunks, " ".join(ranked.chunks), seconds)
    return {"name": "reference: plain BM25, 200-word chunks", **tally.as_dict(), "extractive_answer_contains": None}


if __name__ == "__main__":
    raise SystemExit(main())
