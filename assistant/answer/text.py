"""Small text tools shared by grounding and the extractive engine."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from index.sentences import sentence_spans

# English month names as a regex alternation, for finding dates in sentences (literal:
# calendar.month_name follows the process's locale).
MONTH_NAMES = "January|February|March|April|May|June|July|August|September|October|November|December"
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.-]*")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves also said says say according one
    new week recently year years ago like get got told this that than may might must shall mr mrs ms""".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def content_terms(text: str) -> list[str]:
    """Lower-cased, stemmed words that carry meaning (no stopwords)."""
    words = [w.lower().strip(".'’-") for w in _WORD.findall(text)]
    words = [w.replace("’", "'") for w in words if w and w not in STOPWORDS]
    return _stemmer().stemWords([w.removesuffix("'s") for w in words])


@dataclass(frozen=True)
class Span:
    """A sentence (or run of sentences) of a passage, with offsets local to it."""

    passage: int  # index into the hits
    start: int
    end: int
    text: str


def passage_sentences(passage_index: int, text: str) -> list[Span]:
    return [Span(passage_index, s, e, text[s:e]) for s, e in sentence_spans(text)]


_QUOTE_CHARS = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "`": "'"})


def normalize_for_quote(text: str) -> str:
    """Whitespace collapsed and curly quotes made straight: how quotes are compared."""
    return " ".join(text.translate(_QUOTE_CHARS).split())


_QUOTED = re.compile(r"[\"“„«]([^\"“”„«»]{2,}?)[\"”»]")


def quoted_segments(sentence: str) -> list[str]:
    """Text the sentence puts in double quotation marks (at least two words)."""
    return [m.group(1).strip() for m in _QUOTED.finditer(sentence) if len(m.group(1).split()) >= 2]


def quote_at(text: str | None, start: int, end: int, quote: str) -> bool:
    """Whether `text` holds exactly `quote` at `start`..`end`: the one definition of a
    verbatim quote."""
    return bool(text) and bool(quote) and text[start:end] == quote  # type: ignore[index]
