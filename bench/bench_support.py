"""How well "supported" means supported: a labelled set built from the dev questions.

    ./dev python bench/bench_support.py [--eval DIR] [--store DIR]

For each RealTime QA question, the passages are retrieved as `ask` retrieves them,
and the first passage sentence holding the gold answer is taken as a true sentence.
Three altered copies are made of it, each of which the passages do not back:
- swapped number: its first number changed (n -> n + 7);
- swapped name: its first name inside the sentence replaced by a name from another
  question's passages;
- negation: "not" put after its first auxiliary verb (is, was, will, has...).
Each sentence is grounded the way a model's answer is (words and meaning, then names,
numbers and negation against the cited passage). Reports precision and recall of
"supported", and the share of each alteration that is flagged (not supported).
Writes bench/results/support.json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import devset  # noqa: E402
from bench_retrieval import contains  # noqa: E402

_AUX = re.compile(r"\b(is|was|are|were|has|have|had|will|would|can|could|did|does|should)\b")
_NUM = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"(?<=\s)[A-Z][a-z]{2,}\b")


def swap_number(s: str) -> str | None:
    m = _NUM.search(s)
    if not m:
        return None
    n = m.group(0).replace(",", "")
    new = str(int(float(n)) + 7) if n.replace(".", "").isdigit() else None
    return s[: m.start()] + new + s[m.end():] if new and new != n else None


def swap_name(s: str, other: str) -> str | None:
    m = _NAME.search(s)
    if not m or m.group(0) == other:
        return None
    return s[: m.start()] + other + s[m.end():]


def negate(s: str) -> str | None:
    m = _AUX.search(s)
    if not m or re.search(r"\bnot\b|n't", s):
        return None
    return s[: m.end()] + " not" + s[m.end():]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    devset.add_eval_argument(ap)
    ap.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "news-assistant-bench-store")
    args = ap.parse_args()
    questions = devset.load_questions(args.eval)

    from assistant.answer.grounding import Grounder
    from assistant.answer.text import passage_sentences
    from assistant.api import NewsAssistant

    na = NewsAssistant.from_settings(corpus=args.eval / "articles", store=args.store)
    na.build_index()
    retriever = na.retriever()
    cases: list[tuple[str, str, object, str]] = []  # (label, sentence, hits, question)
    names = []
    for q in questions:
        hits = retriever.search(q["question"], k=5, as_of=date.fromisoformat(q["question_date"])).hits
        for i, h in enumerate(hits):
            found = [s.text for s in passage_sentences(i, h.text) if contains(s.text, q["answer"])]
            if found:
                cases.append(("true", found[0], hits, q["question"]))
                m = _NAME.search(found[0])
                names.append(m.group(0) if m else "")
                break
    altered = []
    for k, (_, sentence, hits, question) in enumerate(cases):
        other = next((n for n in names[k + 1 :] + names[:k] if n and n not in sentence), "")
        for label, made in (("number", swap_number(sentence)), ("name", swap_name(sentence, other)),
                            ("negation", negate(sentence))):
            if made:
                altered.append((label, made, hits, question))
    outcome: dict[str, list[str]] = {}
    grounders: dict[str, Grounder] = {}  # one per question: its passages are embedded once
    for label, sentence, hits, question in cases + altered:
        g = grounders.setdefault(question, Grounder(hits, na.embedder, question=question))  # type: ignore[arg-type]
        outcome.setdefault(label, []).append(g.ground_sentence(sentence).status)
    supported_true = outcome["true"].count("supported")
    supported_altered = sum(v.count("supported") for k, v in outcome.items() if k != "true")
    out = {
        "true_sentences": len(outcome["true"]),
        "altered_sentences": {k: len(v) for k, v in outcome.items() if k != "true"},
        "supported_precision": round(supported_true / max(1, supported_true + supported_altered), 3),
        "supported_recall": round(supported_true / max(1, len(outcome["true"])), 3),
        "altered_flagged": {k: round(1 - v.count("supported") / len(v), 3) for k, v in outcome.items() if k != "true"},
        "statuses": {k: {s: v.count(s) for s in sorted(set(v))} for k, v in outcome.items()},
    }
    print(json.dumps(out, indent=2))
    (ROOT / "bench/results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench/results/support.json").write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
