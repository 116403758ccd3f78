"""How the timeline's relevance cut-off was chosen, on the developer set.

    ./dev python bench/bench_timeline.py [--eval DIR] [--store DIR]
    (or: .venv/bin/python bench/bench_timeline.py ...)

For each RealTime QA question (as of its quiz date) the retriever's candidates are
cut by each rule below, and the kept articles (syndicated copies folded) are scored:
- gold recall: share of questions whose gold article is on the timeline (as a line
  or folded into one);
- precision: gold lines / lines. A lower bound: other coverage of the story is on
  topic too, but only the gold article is known to be;
- off-story: lines known to be on other stories (a lower bound: the rest of the
  787 articles are not labelled): the question's hard negatives
  (articles a web search returned for it that are not its evidence: mostly other
  stories that share its words) and the gold articles of the other questions (other
  stories, save the rare quiz question on the same story as another);
- lines: mean timeline length.
Rules: a fixed top-k (the baseline the issue rules out), the question's story group
alone, a relevance fraction alone, and story + fraction (the timeline's rule). The
fraction is chosen by 2-fold cross-validation (even/odd questions) on
recall - OFF_STORY_COST x off-story lines, so the reported numbers are on questions it was not chosen on.
Writes bench/results/timeline.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import devset  # noqa: E402

FRACTIONS = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
# What one off-story line costs, in gold recall: a timeline padded with one unrelated
# article is as bad as missing the story's known article in this share of questions.
OFF_STORY_COST = 0.1


def score(cases, rule) -> dict:
    recall, precision, padding, lines = [], [], [], []
    for gold, negatives, hits in cases:  # negatives: known to be on other stories
        kept = rule(hits)
        files = [{h.file, *d} for h, d in kept]
        recall.append(any(gold & f for f in files))
        precision.append(sum(bool(gold & f) for f in files) / len(files) if files else 0.0)
        padding.append(sum(bool(negatives & f) for f in files))
        lines.append(len(files))
    return {"gold_recall": round(mean(recall), 3), "precision": round(mean(precision), 3),
            "off_story": round(mean(padding), 2), "lines": round(mean(lines), 2), "lines_range": [min(lines), max(lines)]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    devset.add_eval_argument(ap)
    ap.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "news-assistant-bench-store-minilm-int8")
    args = ap.parse_args()
    questions = devset.load_questions(args.eval)

    from assistant.api import NewsAssistant
    from assistant.timeline import TimelineSettings, choose, fold_copies

    na = NewsAssistant.from_settings(corpus=args.eval / "articles", store=args.store)
    na.build_index()
    retriever = na.retriever()
    base = TimelineSettings()
    every_gold = {e["file"] for q in questions for e in q["evidence"]}
    cases = []
    for q in questions:
        hits = retriever.search(q["question"], k=base.pool, as_of=date.fromisoformat(q["question_date"])).hits
        gold = {e["file"] for e in q["evidence"]}
        cases.append((gold, (set(q["hard_negative_files"]) | every_gold) - gold, hits))

    def top_k(k):
        # The first k articles, whatever their relevance.
        def cut(hits):
            seen, out = set(), []
            for h in hits:
                if h.article_id not in seen:
                    seen.add(h.article_id)
                    out.append(h)
            return fold_copies(out[:k], base.fold_days)

        return cut

    def rule(use_story: bool, fraction: float):
        s = replace(base, use_story=use_story, relative_relevance=fraction)
        return lambda hits: fold_copies(choose(hits, s), s.fold_days)

    rows: dict[str, dict] = {}
    for k in (1, 3, 5, 10):
        rows[f"top-{k}"] = score(cases, top_k(k))
    rows["story only"] = score(cases, rule(True, 2.0))  # a fraction no article reaches
    for f in FRACTIONS:
        rows[f"fraction {f}"] = score(cases, rule(False, f))
        rows[f"story + fraction {f}"] = score(cases, rule(True, f))

    def objective(r):
        return r["gold_recall"] - OFF_STORY_COST * r["off_story"]

    folds = {}
    for name, train, test in (("even->odd", cases[0::2], cases[1::2]), ("odd->even", cases[1::2], cases[0::2])):
        best = max(FRACTIONS, key=lambda f: objective(score(train, rule(True, f))))
        folds[name] = {"chosen_fraction": best, **score(test, rule(True, best))}

    width = max(map(len, rows))
    print(f"{'rule':<{width}}  gold_recall  precision  off_story  lines  (min-max)")
    for name, r in rows.items():
        lo, hi = r["lines_range"]
        print(f"{name:<{width}}  {r['gold_recall']:>11}  {r['precision']:>9}  {r['off_story']:>9}  {r['lines']:>5}  ({lo}-{hi})")
    print("\n2-fold cross-validation of the fraction (story + fraction), scored on the held-out half:")
    for name, r in folds.items():
        print(f"  {name}: fraction {r['chosen_fraction']}: recall {r['gold_recall']}, precision {r['precision']}, "
              f"off-story {r['off_story']}, lines {r['lines']}")
    print(f"\nDefault: story + fraction {base.relative_relevance}: {rows.get(f'story + fraction {base.relative_relevance}')}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "timeline.json").write_text(json.dumps({"questions": len(cases), "rules": rows, "cross_validation": folds},
                                                  indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
