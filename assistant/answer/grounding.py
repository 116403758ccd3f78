"""Grounding is the program's job, not the model's.

Every sentence of an answer is aligned to the passage span that supports it best;
citation numbers come from that alignment, so a model's `[n]` pointing at the wrong
passage is corrected and one it invented is dropped. Text in quotation marks must be
an exact substring (after normalising whitespace and quote characters) of a cited
passage or the sentence is marked unverified. A sentence whose best support is below
the threshold is marked unsupported. Quotes shown are always verbatim article spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from assistant.answer.text import Span, content_terms, normalize_for_quote, passage_sentences, quoted_segments
from assistant.answer.types import AnswerSentence, Citation
from assistant.retriever import Hit
from index.embedder import Embedder
from index.sentences import sentence_spans

SUPPORT_THRESHOLD = 0.45
# A model's own citation is kept when its passage supports the sentence nearly as well
# as the best one: the model may know why it chose it.
KEEP_CLAIM_MARGIN = 0.1
_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")


@dataclass(frozen=True)
class Grounded:
    text: str
    sentences: list[AnswerSentence]
    citations: list[Citation]


_GLUED_MARKER = re.compile(r"([.!?…][\"'”’)\]]*)(\[\d)")


def quote_in(quoted: str, passage: str) -> bool:
    """Whether quoted words are verbatim in the passage, after normalising whitespace and
    quote characters. Only the first letter may differ in case: a quote woven into a
    sentence ("said that “the differences ...”") legitimately lowercases it."""
    q = normalize_for_quote(quoted)
    p = normalize_for_quote(passage)
    if not q:
        return False
    if q in p:
        return True
    return q[0].swapcase() + q[1:] in p


def split_answer(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """Sentences of a model's answer with the [n] numbers it gave each."""
    out = []
    # "...“Fundamental”.[1] Mr. ...": with no space after the period the splitter sees
    # no boundary; a marker glued to end punctuation gets its space back.
    text = _GLUED_MARKER.sub(r"\1 \2", text)
    for s, e in sentence_spans(text):
        raw = text[s:e]
        # "Fact one. [1] Fact two. [2]": the splitter starts a sentence at "[1]", but a
        # marker leading a sentence closes the one before it (it used to be credited to
        # the next sentence, shifting every claimed citation by one).
        lead = _LEADING_MARKERS.match(raw)
        if lead and out:
            prev, prev_claimed = out[-1]
            out[-1] = (prev, prev_claimed + tuple(
                int(n) for m in _MARKER.finditer(lead.group(0)) for n in re.split(r"[,;]", m.group(1))))
            raw = raw[lead.end():]
        claimed = tuple(int(n) for m in _MARKER.finditer(raw) for n in re.split(r"[,;]", m.group(1)))
        clean = " ".join(_MARKER.sub("", raw).split())
        if not clean or clean in {".", "!", "?"}:
            # A marker alone after the period belongs to the sentence before it.
            if out and claimed:
                prev, prev_claimed = out[-1]
                out[-1] = (prev, prev_claimed + claimed)
            continue
        out.append((clean, claimed))
    return out


def _candidates(hits: Sequence[Hit]) -> tuple[list[Span], np.ndarray]:
    """Every sentence of every passage, and every pair of neighbouring sentences
    (flagged in the second value)."""
    spans: list[Span] = []
    is_pair: list[bool] = []
    for i, h in enumerate(hits):
        sents = passage_sentences(i, h.text)
        spans.extend(sents)
        is_pair.extend([False] * len(sents))
        for a, b in zip(sents, sents[1:]):
            spans.append(Span(i, a.start, b.end, h.text[a.start : b.end]))
            is_pair.append(True)
    return spans, np.array(is_pair, dtype=bool)


def lexical_support(sentence_terms: list[str], span_terms: set[str]) -> float:
    """Share of the sentence's meaningful words found in the span."""
    if not sentence_terms:
        return 0.0
    return sum(1 for t in sentence_terms if t in span_terms) / len(sentence_terms)


def ground(answer_text: str, hits: Sequence[Hit], embedder: Embedder | None = None) -> Grounded:
    parts = split_answer(answer_text)
    cands, is_pair = _candidates(hits)
    if not parts:
        return Grounded("", [], [])
    cand_terms = [set(content_terms(c.text)) for c in cands]
    scores = np.zeros((len(parts), len(cands)), dtype=np.float64)
    for i, (sentence, _) in enumerate(parts):
        terms = content_terms(sentence)
        for j, ct in enumerate(cand_terms):
            scores[i, j] = lexical_support(terms, ct)
    if embedder is not None and cands:
        vecs = embedder.embed([p for p, _ in parts] + [c.text for c in cands])
        dense = vecs[: len(parts)] @ vecs[len(parts) :].T
        scores = 0.5 * scores + 0.5 * np.clip(dense, 0.0, 1.0)
    # Prefer a single sentence to a pair unless the pair clearly supports more.
    scores[:, is_pair] -= 0.05

    numbering: dict[tuple[int, int, int], int] = {}
    citations: list[Citation] = []
    sentences: list[AnswerSentence] = []
    rendered: list[str] = []
    for i, (sentence, claimed) in enumerate(parts):
        status, note, chosen = "unsupported", "", None
        if cands:
            j = int(np.argmax(scores[i]))
            best = float(scores[i, j])
            chosen_j = j
            claimed_idx = [n - 1 for n in claimed if 1 <= n <= len(hits)]
            if claimed_idx:
                claim_j = max((k for k in range(len(cands)) if cands[k].passage in claimed_idx), key=lambda k: scores[i, k], default=None)
                if claim_j is not None and scores[i, claim_j] >= best - KEEP_CLAIM_MARGIN:
                    chosen_j = claim_j
                else:
                    note = f"citation {', '.join(f'[{n}]' for n in claimed)} corrected to the passage that supports it"
            elif claimed:
                note = "citation to a passage that does not exist removed"
            support = float(scores[i, chosen_j])
            if support >= SUPPORT_THRESHOLD:
                status, chosen = "supported", cands[chosen_j]
            else:
                note = "no passage supports this sentence"
        else:
            support = 0.0
            note = "no passages were retrieved"
        # Quotation marks promise verbatim text: check it against the cited passage, then any.
        for quoted in quoted_segments(sentence):
            where = [c for c in ([chosen] if chosen else []) if quote_in(quoted, c.text)]
            if not where:
                where = [c for c in cands if quote_in(quoted, c.text)]
                where.sort(key=lambda c: c.end - c.start)
            if where:
                chosen = where[0]
                if status != "supported":
                    status, note = "supported", ""
            else:
                status, note = "unverified", f'the quoted words "{quoted}" are not in any source'
                break
        nums: tuple[int, ...] = ()
        if chosen is not None and status != "unsupported":
            hit = hits[chosen.passage]
            key = (hit.chunk_id, chosen.start, chosen.end)
            if key not in numbering:
                numbering[key] = len(citations) + 1
                citations.append(Citation(
                    n=numbering[key], article_id=hit.article_id, file=hit.file, title=hit.title, date=hit.date,
                    source=hit.source, url=hit.url, quote=chosen.text, start=hit.start + chosen.start,
                    end=hit.start + chosen.end, chunk_id=hit.chunk_id,
                ))
            nums = (numbering[key],)
        sentences.append(AnswerSentence(sentence, nums, status, round(support, 3), note))
        rendered.append(sentence + "".join(f" [{n}]" for n in nums))
    return Grounded(" ".join(rendered), sentences, citations)

