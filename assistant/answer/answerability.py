"""Whether the retrieved passages can answer a question at all, decided before any
sentence is written.

Quotes that are verbatim prove nothing when the passages are about something else:
"Who won the 2022 World Cup?" over articles on NATO gets real sentences with real
citations and answers nothing. The test here is how much of the question's specific
content one passage holds: every term of the question (stopwords and time words
aside) weighted by how rare it is in the index (BM25's IDF), so that "Cup" or
"Grushko" count for much and "said" for little. A question the articles answer has
some passage that holds most of what it asks about; one they do not answer leaves
its rarest terms unfound.

A question anchored in time ("this week", "yesterday") must be answered by a report
from that time, and is answered from those reports alone: older coverage of the same
subject cannot say what happened this week.
So must a question that says it is about the days before it is asked, in vaguer words
("recently", "currently", "will soon"): a report from months before cannot say what
happened recently, however well it matches the words (`TimeWindow.binding`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Callable, Sequence

from assistant.retriever import Hit
from assistant.timecues import TimeWindow

# An answerable question has a passage holding at least this share of its weighted
# content (see bench/bench_answers.py for how answerable and unanswerable questions
# fall on either side of it).
MIN_COVERAGE = 0.5
# Names and numbers count this many times a common word of the same rarity.
SPECIFIC_WEIGHT = 2.0
# Words that say when, not what: they are matched by dates, not by text.
TIME_WORDS = ("today", "tonight", "yesterday", "week", "weekend", "month", "year", "recent", "recently",
              "ago", "days", "day", "earlier", "latest", "newest", "last", "past", "monday", "tuesday", "wednesday",
              "thursday", "friday", "saturday", "sunday", "soon", "upcoming", "current", "currently", "now")

# Words that say how the question is put, not what it is about. The keyword index
# drops only 33 stopwords, and in a small archive "did" or "about" is rare enough to
# weigh as much as a name (on the seed alone, "What did Grushko say about NATO?" was
# refused for lack of a passage holding "did" and "about").
FUNCTION_WORDS = (
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "whether",
    "do", "does", "did", "done", "doing", "have", "has", "had", "having", "been", "being", "were",
    "can", "could", "would", "should", "shall", "may", "might", "must",
    "i", "me", "my", "we", "us", "our", "you", "your", "he", "him", "his", "she", "her", "its", "them",
    "those", "this", "that", "these", "some", "any", "all", "each", "other", "another", "same", "so",
    "about", "above", "after", "against", "among", "around", "before", "below", "between", "during",
    "from", "over", "since", "than", "through", "under", "until", "up", "down", "out", "off", "onto",
    "upon", "within", "without", "via", "per", "also", "just", "only", "very", "too", "more", "most",
    "many", "much", "there", "here", "yet", "both", "either", "neither", "nor", "own", "again",
)

Tokenize = Callable[[Sequence[str]], list[list[str]]]
Idf = Callable[[Sequence[str]], dict[str, float]]


@dataclass(frozen=True)
class Assessment:
    answerable: bool
    confidence: float  # 0..1: the best passage's share of the question's weighted content
    missing: tuple[str, ...] = ()  # the question's words no usable passage holds
    reason: str = ""
    # The time the question is bound to, if any (`TimeWindow.binding`).
    window: TimeWindow | None = None
    # The passages an answer may be read from, as indices into the hits assessed: those
    # from the question's time when it is bound to one. None: all of them.
    usable: tuple[int, ...] | None = None

    @property
    def unmet_window(self) -> TimeWindow | None:
        """The time the question is about, when no passage is from then (a reader is told)."""
        return self.window if self.usable == () else None


def idf_of_absent(idf: Idf) -> float:
    """The weight the index gives a term no chunk holds (the highest it gives)."""
    return next(iter(idf(["\x00absent\x00"]).values()))


def _specifics(question: str) -> list[str]:
    """The question's names and numbers: capitalised words past its first word, and
    anything with a digit."""
    words = re.findall(r"[\w’'.-]+", question)
    return [w for i, w in enumerate(words) if (i > 0 and w[:1].isupper()) or any(c.isdigit() for c in w)]


def assess(question: str, hits: Sequence[Hit], tokenize: Tokenize, idf: Idf,
           window: TimeWindow | None = None) -> Assessment:
    """Can `hits` answer `question`? `tokenize` and `idf` are the keyword index's, so
    the question is read the way the index reads text."""
    if not hits:
        return Assessment(False, 0.0, reason="no passage matches")
    ignored = {t for ts in tokenize(list(TIME_WORDS + FUNCTION_WORDS)) for t in ts}
    terms = list(dict.fromkeys(t for t in tokenize([question])[0] if t not in ignored))
    specific = {t for ts in tokenize(_specifics(question)) for t in ts}
    weight = idf(terms)
    known = idf_of_absent(idf)
    # A common word no article uses ("describe") is phrasing: it cannot tell passages
    # apart, so it is not asked for. A name or number no article uses is what the
    # question is about, and the archive does not cover it.
    weight = {t: w * (SPECIFIC_WEIGHT if t in specific else 1.0) for t, w in weight.items()
              if t in specific or w < known}
    terms = list(weight)
    # The time comes first: "What happened this week?" has no terms to check, and older
    # articles still cannot answer it. Older coverage is neither weighed here nor read
    # by the answer engines (`Assessment.usable`).
    window = window if window is not None and window.binding else None
    usable: tuple[int, ...] | None = None
    if window is not None:
        usable = tuple(i for i, h in enumerate(hits) if window.holds(h.date))
        if not usable:
            return Assessment(False, 0.0, tuple(terms), window=window, usable=(),
                              reason=f"no passage is from {window.start}..{window.end} ({window.cue})")
    if not weight:
        return Assessment(True, 1.0, reason="the question has no specific terms to check",
                          window=window, usable=usable)
    total = sum(weight.values())
    read = hits if usable is None else [hits[i] for i in usable]
    passages = tokenize([f"{h.title}\n{h.text}" for h in read])
    best, best_terms = 0.0, set()
    for toks in passages:
        have = set(toks)
        share = sum(w for t, w in weight.items() if t in have) / total
        if share > best:
            best, best_terms = share, have
    missing = tuple(t for t in terms if t not in best_terms)
    if best >= MIN_COVERAGE:
        return Assessment(True, round(best, 3), missing, window=window, usable=usable)
    return Assessment(False, round(best, 3), missing, reason="no passage holds most of what the question asks about",
                      window=window, usable=usable)


_WH = re.compile(r"^\s*(who|whom|whose|what|which|when|where|why|how)\b", re.IGNORECASE)
# A model saying that the passages do not answer ("The passages do not say...",
# "There is no information about...", "I cannot determine...").
_MODEL_DECLINES = re.compile(
    r"\b(passages?|articles?|sources?|context|texts?|provided information)\b[^.]{0,40}\b(do(es)?\s*n[o']t|does not|don't|"
    r"doesn't|fail to)\s+(say|mention|contain|provide|include|answer|specify|state|give|tell)\b|"
    r"\bno (information|mention|details?)\b[^.]{0,30}\b(about|on|regarding|of|in)\b|"
    r"\b(is|are) not (mentioned|specified|provided|stated|given)\b|"
    r"\b(cannot|can't|unable to)\s+(be\s+)?(determin|answer|find|tell)|\bI (do not|don't) know\b",
    re.IGNORECASE)


def model_declines(text: str) -> bool:
    """Whether a model's answer says the passages do not answer the question."""
    first = text.strip().split("\n", 1)[0][:300]
    return bool(_MODEL_DECLINES.search(first))


def set_aside_notice(window: TimeWindow, others: int) -> str:
    """Why passages that were found are not cited: 'Only reports dated 2022-01-22 to
    2022-02-01 were read (“this week”); 2 passages from other times were set aside.'"""
    return (f"Only reports dated {window.earliest.isoformat()} to {window.end.isoformat()} were read (“{window.cue}”); "
            f"{others} passage{'s' if others != 1 else ''} from other times {'were' if others != 1 else 'was'} set aside.")


def window_notice(window: TimeWindow) -> str:
    """Why a question about a time was not answered, and what to do when the articles
    are older than the as-of date: 'The question is about 2022-01-25 to 2022-02-01
    (“this week”); none of the nearest articles is dated then. …'"""
    return (f"The question is about {window.start.isoformat()} to {window.end.isoformat()} (“{window.cue}”); "
            "none of the nearest articles is dated then. To read older articles as of their own time, "
            "ask with an earlier as-of date.")


def abstention_message(question: str, as_of: date) -> str:
    """'The articles up to 2022-02-01 don't say who won the 2022 World Cup.'"""
    q = " ".join(question.split()).rstrip(" ?.!")
    # "Police arrested 31 men this week. Where was the event?": the asking sentence.
    q = re.split(r"(?<=[.!?])\s+(?=[A-Z])", q)[-1]
    if _WH.match(q):
        return f"The articles up to {as_of.isoformat()} don't say {q[0].lower() + q[1:]}."
    return f"The articles up to {as_of.isoformat()} don't answer “{q}?”"
