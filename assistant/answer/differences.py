"""Sources that differ: when articles give different figures for the same thing (a
death toll that rose, a count that was revised) or different dates for the same
event, the answer says so, newest report first, each value backed by a verified quote.

Found without a model: from the passages' sentences that are about the question
(they hold most of its terms), take each number with the word it counts ("23
people", "$5 a gallon" -> "gallon") and each "on/for/until <Month> <day>" date with
the word before it; two articles giving different values for the same counted word
differ. A sentence's own year ("2022") is a date, not a count, and is left out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date as Date
from typing import Callable, Optional, Sequence

from assistant.answer.text import MONTH_NAMES, Span, content_terms, passage_sentences
from assistant.answer.types import Claim, Difference
from assistant.retriever import Hit

# A sentence speaks about the question when it holds this share of its terms.
MIN_RELEVANCE = 0.5
_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                 "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "dozen": "12"}
_COUNT = re.compile(
    r"(?<![\w.,$])(\$?\d[\d,]*(?:\.\d+)?%?|" + "|".join(_NUMBER_WORDS) + r")(?:\s+(?:million|billion|thousand|hundred))?"
    r"\s+(?:more\s+|new\s+|additional\s+|other\s+)?([A-Za-z][a-z]+)", re.IGNORECASE)
_DATE = re.compile(r"\b([a-z]+)\s+(?:on|for|until|to)\s+((?:" + MONTH_NAMES + r")\s+\d{1,2})\b")
_NOT_UNITS = frozenset("""a an and the of in on at to for from by with or as per percent than more less about
    years year months month weeks week days day hours hour times""".split())

Cite = Callable[[Span], Optional[int]]


def _values(sentence: str) -> dict[str, tuple[str, str]]:
    """Counted word (stemmed) -> (value, the word as written), for the counts and
    dates a sentence states."""
    out: dict[str, tuple[str, str]] = {}
    for m in _COUNT.finditer(sentence):
        value, unit = m.group(1).lower(), m.group(2).lower()
        value = _NUMBER_WORDS.get(value, value).replace(",", "")
        if unit in _NOT_UNITS or re.fullmatch(r"(19|20)\d\d", value):
            continue
        scale = m.group(0)[len(m.group(1)):].split()
        if scale and scale[0].lower() in {"million", "billion", "thousand", "hundred"}:
            value += " " + scale[0].lower()
        (stem,) = content_terms(unit) or [unit]
        out.setdefault(stem, (value, unit))
    for m in _DATE.finditer(sentence):
        (stem,) = content_terms(m.group(1)) or [m.group(1)]
        out.setdefault(f"date:{stem}", (m.group(2), f"the date ({m.group(1).lower()} on)"))
    return out


def find_differences(question: str, hits: Sequence[Hit], cite: Cite) -> tuple[Difference, ...]:
    """Differences between the articles behind `hits` about what `question` asks;
    each claim is cited with `cite` (which verifies the quote), or left out."""
    q_terms = set(content_terms(question))
    if not q_terms:
        return ()
    # counted word -> article -> (value, sentence span, hit)
    seen: dict[str, dict[str, tuple[str, Span, Hit]]] = defaultdict(dict)
    words: dict[str, str] = {}
    for i, hit in enumerate(hits):
        for span in passage_sentences(i, hit.text):
            terms = set(content_terms(span.text))
            if len(q_terms & terms) / len(q_terms) < MIN_RELEVANCE:
                continue
            for unit, (value, word) in _values(span.text).items():
                if unit.removeprefix("date:") in q_terms or unit.startswith("date:"):
                    seen[unit].setdefault(hit.article_id, (value, span, hit))
                    words.setdefault(unit, word)
    out: list[Difference] = []
    for unit, by_article in seen.items():
        if len({v for v, _, _ in by_article.values()}) < 2:
            continue
        claims: list[Claim] = []
        for value, span, hit in sorted(by_article.values(), key=lambda x: _day(x[2].date), reverse=True):
            n = cite(span)
            if n is not None:
                claims.append(Claim(n, value, hit.date, hit.source))
        if len({c.value for c in claims}) >= 2:
            out.append(Difference(words[unit], tuple(claims)))
    return tuple(out)


def _day(iso: str | None) -> Date:
    return Date.fromisoformat(iso) if iso else Date.min
