"""Answer benchmark over RealTime QA (../shared/eval/realtimeqa-dev): what a reader
gets, not only what is retrieved.

    ./dev bench-answers [--eval DIR] [--store DIR] [--shift-days 30]

Indexes the set's articles (incrementally, into a store outside the repo), then asks
each question through the Python API twice:
- with its quiz date as the as-of date: the answer should answer (false abstention is
  an abstention here), and its text should contain the gold answer;
- with an as-of date `--shift-days` earlier, when the articles about its event do not
  exist yet: the assistant should say the articles don't say (abstention).
Writes bench/results/answers.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import devset  # noqa: E402
from bench_retrieval import contains  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    devset.add_eval_argument(ap)
    ap.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "news-assistant-bench-store")
    ap.add_argument("--shift-days", type=int, default=30)
    ap.add_argument("--show", action="store_true", help="print every question's outcome")
    args = ap.parse_args()
    questions = devset.load_questions(args.eval)

    from assistant.api import NewsAssistant

    na = NewsAssistant.from_settings(corpus=args.eval / "articles", store=args.store)
    report = na.build_index()
    print(f"index: {report.articles} articles, {report.chunks} chunks (embedded {report.embedded_chunks} now)")
    na.embedder.embed(["warm up"])

    contains_gold = false_abstain = abstain_shifted = with_differences = 0
    lead_contains = 0
    latencies = []
    for q in questions:
        as_of = date.fromisoformat(q["question_date"])
        t = time.perf_counter()
        real = na.ask(q["question"], as_of=as_of)
        latencies.append(time.perf_counter() - t)
        shifted = na.ask(q["question"], as_of=as_of - timedelta(days=args.shift_days))
        ok = real.answerable and contains(real.text, q["answer"])
        contains_gold += ok
        lead_contains += bool(real.sentences) and contains(real.sentences[0].text, q["answer"])
        false_abstain += not real.answerable
        abstain_shifted += not shifted.answerable
        with_differences += bool(real.differences)
        if args.show:
            print(f"{'OK ' if ok else '-- '}{'abst ' if not real.answerable else ''}{real.confidence:.2f} | "
                  f"shifted {'abst' if not shifted.answerable else 'ANSWERED'} {shifted.confidence:.2f} | "
                  f"{q['question'][:70]} | gold {q['answer']!r} | {real.text[:160]!r}")
    n = len(questions)
    out = {
        "questions": n,
        "answer_contains_gold": round(contains_gold / n, 3),
        "lead_sentence_contains_gold": round(lead_contains / n, 3),
        "false_abstention": round(false_abstain / n, 3),
        f"abstention_as_of_minus_{args.shift_days}d": round(abstain_shifted / n, 3),
        "answers_with_sources_differ": with_differences,
        "ask_p50_ms": round(1000 * statistics.median(latencies), 1),
    }
    print(json.dumps(out, indent=2))
    (ROOT / "bench/results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench/results/answers.json").write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
