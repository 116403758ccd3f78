"""Grounding is the program's job, not the model's.

A `Grounder` turns answer sentences into checked `AnswerSentence`s and numbers the
citations in the order they are first used; that numbering is the only one a reader
ever sees, from the first streamed sentence to the export.

- Spans chosen by the extractive engine are verbatim already: they are cited as they
  are (`cite_span`), with no second search for them.
- A model's sentences are aligned (`ground_sentence`) to the passage span that
  supports them best; a model's `[n]` pointing at the wrong passage is corrected and
  one it invented is dropped. Text in quotation marks must be an exact substring
  (after normalising whitespace and quote characters) of a cited passage or the
  sentence is marked unverified. A sentence whose best support is below the
  threshold is marked unsupported.
- Every citation is checked with `verify` (against the store generation the answer
  is made from) before it gets a number: a quote that fails never gets a marker.

A model's text streams in through `feed`; a sentence is grounded once the next one
has begun, so what is shown while the model writes is already final.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Optional, Sequence

import numpy as np

from assistant.answer.text import STOPWORDS, Span, content_terms, normalize_for_quote, passage_sentences, quoted_segments
from assistant.answer.types import AnswerSentence, Citation, citation_of
from assistant.answer.withheld import repeats_withheld
from assistant.retriever import Hit
from index.embedder import Embedder
from index.sentences import sentence_spans

SUPPORT_THRESHOLD = 0.45
# A model's own citation is kept when its passage supports the sentence nearly as well
# as the best one: the model may know why it chose it.
KEEP_CLAIM_MARGIN = 0.1
# Words a following sentence must have before the one before it counts as finished:
# the splitter's decision ("Mr. Smith" is no boundary) can depend on the next words.
_SETTLED_WORDS = 3

_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")
_GLUED_MARKER = re.compile(r"([.!?…][\"'”’)\]]*)(\[\d)")
# Prompt scaffolding a small model copies into its answer: passage tags, the
# template's literal placeholder, and "According to passage [3]," openings.
_PROMPT_TAG = re.compile(r"</?\s*passage\b[^>]*>", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\[\s*n\s*\]")
# The fence's attribute copied as a citation: "(n=1)", "[n=1]", "[n1]", "(passage n=\"2\")";
# and as a sentence's opening, "N=1, ...".
_ATTRIBUTE_CITATION = re.compile(r"[(\[](?:\s*passage)?\s*n\s*=?\s*[\"“']?(\d+)[\"”']?\s*[)\]]", re.IGNORECASE)
_ATTRIBUTE_OPENING = re.compile(r"(?:^|(?<=[.!?\]]\s))n\s*=\s*\d+\s*,\s*", re.IGNORECASE)
# ...and bare: "According to the passage from n=1, ..." (not "n=1,000").
_BARE_ATTRIBUTE = re.compile(r"(?<![\w=])n\s*=\s*[\"“']?(\d+)[\"”']?(?![\d.,]\d)", re.IGNORECASE)
_PASSAGE_REF = re.compile(
    r"^(?:according to|as (?:stated|reported|said) in|based on|from|in)\s+(?:the\s+)?(?:passages?|articles?)"
    r"\s*(?:\[?\d+\]?(?:\s*(?:,|and)\s*\[?\d+\]?)*)?\s*(?:from\s*)?(?:\[?\d+\]?)?\s*,?\s*",
    re.IGNORECASE,
)
# A sentence that points at the passages ("This is stated in passage [1].", "This can
# be confirmed from passage 1, which states: “...”"): what it repeats is quoted already.
_ONLY_REFERENCE = re.compile(
    r"^(?:this|that|it|these|which)\s+(?:is|was|are|were|can be|could be|may be)\s+(?:stated|mentioned|said|"
    r"reported|noted|found|described|confirmed|seen|shown|explained)\s+(?:in|from|by)\s+(?:the\s+)?"
    r"(?:passages?|articles?)\b", re.IGNORECASE)

Verify = Callable[[Citation], bool]
Locate = Callable[[Citation], Optional[tuple[int, int]]]
_CAPITALISED = re.compile(r"\b[A-Z][\w’'-]*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NEGATION = re.compile(r"\b(not|no|never|neither|nor|none|nobody|nothing)\b|n[’']t\b", re.IGNORECASE)
_WORDS = re.compile(r"[\w’'-]+")


def _number(text: str) -> str:
    return text.replace(",", "").rstrip(".")


def _sequence(text: str) -> list[str]:
    """Lower-cased words of `text` in order (hyphens split words: "Secretary-General").
    Curly and straight apostrophes are one, and a possessive is its name: a model
    writes "Tesla's AI Day" for an article's "Tesla’s AI Day", "the EU's plan" for "the EU"."""
    words = (w.strip("'") for w in re.findall(r"[\w']+", text.replace("’", "'").lower()))
    return [w[:-2] if w.endswith("'s") else w for w in words]


def _words(text: str) -> set[str]:
    """Lower-cased words and normalised numbers of `text`, for specifics checks. A word
    with an apostrophe inside also counts as its parts ("d'Alene" states "Alene")."""
    words = _sequence(text)
    parts = {p for w in words if "'" in w for p in w.split("'") if p}
    return set(words) | parts | {_number(n) for n in _NUMBER.findall(text)}


def _pairs(text: str) -> set[tuple[str, str]]:
    words = _sequence(text)
    return set(zip(words, words[1:]))


def clean_model_text(text: str) -> str:
    """A model's answer without the prompt's markup."""
    text = _PLACEHOLDER.sub("", _PROMPT_TAG.sub("", text))
    text = _ATTRIBUTE_OPENING.sub("", _ATTRIBUTE_CITATION.sub(r"[\1]", text))
    return _BARE_ATTRIBUTE.sub(r"[\1]", text)


def _drop_passage_reference(sentence: str) -> str:
    m = _PASSAGE_REF.match(sentence)
    if not m or m.end() >= len(sentence):
        return sentence
    rest = sentence[m.end():]
    return rest[0].upper() + rest[1:]


def quote_in(quoted: str, passage: str) -> bool:
    """Whether quoted words are verbatim in the passage, after normalising whitespace and
    quote characters. Sentence punctuation may sit inside the quotation marks ("is
    “Squid Game.”") without being in the passage. Only the first letter may differ in
    case: a quote woven into a sentence legitimately lowercases it."""
    q = normalize_for_quote(quoted)
    p = normalize_for_quote(passage)
    forms = {q, q.rstrip(".,;:!?…").rstrip()}
    for form in forms:
        if form and (form in p or form[0].swapcase() + form[1:] in p):
            return True
    return False


def split_answer(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """Sentences of a model's answer with the [n] numbers it gave each."""
    out: list[tuple[str, tuple[int, ...]]] = []
    # "...“Fundamental”.[1] Mr. ...": with no space after the period the splitter sees
    # no boundary; a marker glued to end punctuation gets its space back.
    text = _GLUED_MARKER.sub(r"\1 \2", clean_model_text(text))
    for s, e in sentence_spans(text):
        raw = text[s:e]
        # "Fact one. [1] Fact two. [2]": the splitter starts a sentence at "[1]", but a
        # marker leading a sentence closes the one before it.
        lead = _LEADING_MARKERS.match(raw)
        if lead and out:
            prev, prev_claimed = out[-1]
            out[-1] = (prev, tuple(dict.fromkeys(prev_claimed + _numbers(lead.group(0)))))
            raw = raw[lead.end():]
        claimed = _numbers(raw)
        clean = _drop_passage_reference(" ".join(_MARKER.sub("", raw).split()))
        if _ONLY_REFERENCE.match(clean):
            clean = ""
        if not clean or clean in {".", "!", "?"}:
            # A marker alone after the period belongs to the sentence before it.
            if out and claimed:
                prev, prev_claimed = out[-1]
                out[-1] = (prev, tuple(dict.fromkeys(prev_claimed + claimed)))
            continue
        out.append((clean, claimed))
    return out


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(n) for m in _MARKER.finditer(text) for n in re.split(r"[,;]", m.group(1))))


def lexical_support(sentence_terms: list[str], span_terms: set[str]) -> float:
    """Share of the sentence's meaningful words found in the span."""
    if not sentence_terms:
        return 0.0
    return sum(1 for t in sentence_terms if t in span_terms) / len(sentence_terms)


@dataclass(frozen=True)
class Grounded:
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]


class Grounder:
    """Grounds the sentences of one answer against its passages."""

    def __init__(self, hits: Sequence[Hit], embedder: Embedder | None = None, verify: Verify | None = None,
                 question: str = "", locate: Locate | None = None, withheld: Sequence[str] = ()) -> None:
        self.hits = list(hits)
        # Text addressed to AI assistants, blanked in `hits`: a sentence repeating it is
        # marked, never supported.
        self.withheld = tuple(withheld)
        self._question = question
        self.embedder = embedder
        self.verify = verify
        self.locate = locate
        # The question's own words may be repeated without a passage holding them.
        self._asked = _words(question)
        self.sentences: list[AnswerSentence] = []
        self.citations: list[Citation] = []
        self._numbering: dict[tuple[int, int, int], int] = {}
        self._buffer = ""
        self._emitted = 0
        self._cands: list[Span] | None = None

    # -- candidates: every sentence of every passage, and neighbouring pairs ----------
    def _prepare(self) -> None:
        if self._cands is not None:
            return
        cands: list[Span] = []
        is_pair: list[bool] = []
        for i, h in enumerate(self.hits):
            sents = passage_sentences(i, h.text)
            cands.extend(sents)
            is_pair.extend([False] * len(sents))
            for a, b in zip(sents, sents[1:]):
                cands.append(Span(i, a.start, b.end, h.text[a.start : b.end]))
                is_pair.append(True)
        self._cands = cands
        self._is_pair = np.array(is_pair, dtype=bool)
        self._cand_terms = [set(content_terms(c.text)) for c in cands]
        # What each passage states, its title included (the prompt shows the title as the
        # passage's first line): its words and numbers, and which words it puts side by
        # side (so "Russian President" is not found in "Ukrainian President").
        stated = [f"{h.title}\n{h.text}" for h in self.hits]
        self._passage_words = [_words(t) for t in stated]
        self._passage_pairs = [_pairs(t) for t in stated]
        # Words the passages write capitalised inside a sentence: names, so a sentence
        # opening with one ("Russian President ...") names something too.
        self._names = {words[0] for h in self.hits for m in _CAPITALISED.finditer(h.text)
                       if h.text[: m.start()].rstrip()[-1:] not in ("", ".", "!", "?", "\n", "“", '"')
                       and (words := _sequence(m.group(0)))} - STOPWORDS
        self._cand_vecs = self.embedder.embed([c.text for c in cands]) if self.embedder is not None and cands else None

    def _scores(self, sentence: str) -> np.ndarray:
        assert self._cands is not None
        terms = content_terms(sentence)
        scores = np.array([lexical_support(terms, ct) for ct in self._cand_terms], dtype=np.float64)
        if self._cand_vecs is not None and self.embedder is not None:
            dense = self._cand_vecs @ self.embedder.embed([sentence])[0]
            scores = 0.5 * scores + 0.5 * np.clip(dense, 0.0, 1.0)
        # Prefer a single sentence to a pair unless the pair clearly supports more.
        return scores - 0.05 * self._is_pair

    # -- what a sentence claims ------------------------------------------------------------
    def _specifics(self, sentence: str) -> list[tuple[str, ...]]:
        """The names (runs of capitalised words, lower-cased) and numbers a sentence
        states, the question's own aside."""
        runs: list[list[str]] = []
        end: int | None = None  # where the current run of capitalised words ends
        for m in _CAPITALISED.finditer(sentence):
            words = [w for w in _sequence(m.group(0)) if len(w) > 1]  # "U.S." is no name "u", "s"
            if not words or words[0] in STOPWORDS or (m.start() == 0 and words[0] not in self._names):
                end = None  # a capitalised first word is a name only if the passages say so
                continue
            if end is not None and sentence[end:m.start()].strip() == "":
                runs[-1] += words
            else:
                runs.append(list(words))
            end = m.end()
        out = [tuple(r) for r in runs if not set(r) <= self._asked]
        out += [(n,) for n in {_number(x) for x in _NUMBER.findall(sentence)} if n not in self._asked]
        return out

    def _states(self, passage: int, name: tuple[str, ...]) -> bool:
        if len(name) == 1:
            return name[0] in self._passage_words[passage]
        return all(pair in self._passage_pairs[passage] for pair in zip(name, name[1:]))

    def _disagrees(self, sentence: str, specifics: list[tuple[str, ...]], j: int) -> str:
        """Why candidate j does not back the sentence ('' when it does): a name or
        number its passage lacks, or a negation on one side only."""
        assert self._cands is not None
        missing = [" ".join(x) for x in specifics if not self._states(self._cands[j].passage, x)]
        if missing:
            return f"the passage does not say {', '.join(repr(m) for m in missing)}"
        if bool(_NEGATION.search(sentence)) != bool(_NEGATION.search(self._cands[j].text)):
            return "the passage says the opposite (a negation on one side only)"
        return ""

    # -- citations -------------------------------------------------------------------
    def cite(self, span: Span) -> int | None:
        """The citation number of `span`, or None when its quote fails the check."""
        hit = self.hits[span.passage]
        key = (hit.chunk_id, span.start, span.end)
        if key in self._numbering:
            return self._numbering[key]
        citation = citation_of(hit, len(self.citations) + 1, span.start, span.end)
        if self.verify is not None and not self.verify(citation):
            return None
        where = self.locate(citation) if self.locate is not None else None
        if where is not None:
            citation = replace(citation, file_start=where[0], file_end=where[1])
        self._numbering[key] = citation.n
        self.citations.append(citation)
        return citation.n

    def _add(self, text: str, span: Span | None, status: str, support: float, note: str) -> AnswerSentence:
        nums: tuple[int, ...] = ()
        if span is not None and status != "unsupported":
            n = self.cite(span)
            if n is None:
                status, note = "unverified", "the quote failed the check against the index and was left out"
            else:
                nums = (n,)
        sentence = AnswerSentence(text, nums, status, round(support, 3), note)  # type: ignore[arg-type]
        self.sentences.append(sentence)
        return sentence

    def cite_span(self, span: Span) -> AnswerSentence:
        """A verbatim span of a passage (the extractive engine's pick), cited as is."""
        return self._add(span.text, span, "supported", 1.0, "")

    def ground_sentence(self, sentence: str, claimed: tuple[int, ...] = ()) -> AnswerSentence:
        """A model's sentence, aligned to the passage span that supports it best."""
        injected = repeats_withheld(sentence, self.withheld, [h.text for h in self.hits], self._question)
        if injected:
            return self._add(sentence, None, "injected", 0.0, injected)
        self._prepare()
        cands = self._cands or []
        status, note, chosen = "unsupported", "", None
        support = 0.0
        if cands:
            scores = self._scores(sentence)
            j = int(np.argmax(scores))
            best = float(scores[j])
            chosen_j = j
            claimed_idx = [n - 1 for n in claimed if 1 <= n <= len(self.hits)]
            if claimed_idx:
                claim_j = max((k for k in range(len(cands)) if cands[k].passage in claimed_idx),
                              key=lambda k: scores[k], default=None)
                if claim_j is not None and scores[claim_j] >= best - KEEP_CLAIM_MARGIN:
                    chosen_j = claim_j
                else:
                    note = (f"the model cited passage {', '.join(f'[{n}]' for n in claimed)}; "
                            "corrected to the passage that supports the sentence")
            elif claimed:
                note = f"the model cited passage {', '.join(f'[{n}]' for n in claimed)}, which does not exist; removed"
            support = float(scores[chosen_j])
            if support >= SUPPORT_THRESHOLD:
                status, chosen = "supported", cands[chosen_j]
                specifics = self._specifics(sentence)
                why = self._disagrees(sentence, specifics, chosen_j)
                if why:
                    # Words alone matched: cite the passage that also holds the names and
                    # numbers, or say the sentence contradicts the closest one.
                    agreeing = [k for k in np.argsort(-scores) if scores[k] >= SUPPORT_THRESHOLD
                                and not self._disagrees(sentence, specifics, int(k))]
                    if agreeing:
                        chosen_j = int(agreeing[0])
                        chosen, support = cands[chosen_j], float(scores[chosen_j])
                        note = "cited to the passage that holds its names and numbers"
                    else:
                        status, note = "contradicted", why
            else:
                note = "no passage supports this sentence"
        else:
            note = "no passages were retrieved"
        # Quotation marks promise verbatim text: check it against the cited passage, then any.
        for quoted in quoted_segments(sentence):
            where = [c for c in ([chosen] if chosen else []) if quote_in(quoted, c.text)]
            if not where:
                where = sorted((c for c in cands if quote_in(quoted, c.text)), key=lambda c: c.end - c.start)
            if where:
                chosen = where[0]
                if status == "unsupported":
                    status, note = "supported", ""
            else:
                status, note = "unverified", f'the quoted words "{quoted}" are not in any source'
                break
        return self._add(sentence, chosen, status, support, note)

    # -- a model's text, whole or streamed -----------------------------------------------
    def feed(self, piece: str) -> list[AnswerSentence]:
        """Take more of a model's answer; returns the sentences it finished."""
        self._buffer += piece
        parts = split_answer(self._buffer)
        # The last sentence may still grow; the one before it is over only once the
        # last has a few words (a marker or an abbreviation may still join them).
        done = len(parts) - 1
        if parts and len(parts[-1][0].split()) < _SETTLED_WORDS:
            done -= 1
        new = parts[self._emitted : done]
        self._emitted = max(self._emitted, done)
        return [self.ground_sentence(*p) for p in new]

    def finish(self) -> list[AnswerSentence]:
        """The rest of a model's answer, once it has ended."""
        parts = split_answer(self._buffer)
        rest = parts[self._emitted :]
        self._emitted = len(parts)
        return [self.ground_sentence(*p) for p in rest]

    def result(self) -> Grounded:
        return Grounded(tuple(self.sentences), tuple(self.citations))


def ground(answer_text: str, hits: Sequence[Hit], embedder: Embedder | None = None, verify: Verify | None = None,
           question: str = "") -> Grounded:
    """A whole answer text, grounded."""
    g = Grounder(hits, embedder, verify, question)
    g.feed(answer_text)
    g.finish()
    return g.result()
