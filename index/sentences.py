"""Sentence boundaries as character spans, so that every sentence is an exact slice
of the text it came from.

A rule-based splitter: it ends a sentence at ., ! or ? (with closing quotes and
brackets) followed by space and a capital, digit or opening quote, except after
common abbreviations and initials, and always at a paragraph break. News prose is
regular enough that this beats a model we would have to download.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep rev
    pres supt insp vs etc inc ltd co corp dept univ est approx no nos vol fig
    jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u a.m p.m i.e e.g""".split()
)
_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s+[\"'“‘«(\[]?[A-Z0-9À-Ý])|\n[ \t]*\n")
_WORD_BEFORE = re.compile(r"([A-Za-z.]+)\.$")


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the period at `dot` ends an abbreviation or an initial, not a sentence."""
    m = _WORD_BEFORE.search(text, max(0, dot - 12), dot + 1)
    if not m:
        return False
    word = m.group(1).lower().strip(".")
    if len(word) == 1 and word.isalpha():  # initials: "J. K. Rowling", "Alexander G."
        return True
    return word in _ABBREVIATIONS


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Spans (start, end) of the sentences of `text`, without surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(text):
        end = m.end()
        if m.group(0)[0] == ".":
            if _is_abbreviation(text, m.start()) and len(m.group(0).rstrip("\"'”’»)]")) == 1:
                continue
        _add(text, start, end, spans)
        start = end
    _add(text, start, len(text), spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
