"""Story groups: which of a set of articles report the same story.

A news reader calls two articles "the same story" when they name the same people,
places and organisations and use the same rare words for the event ("Griner",
"detention", "Khimki"), and appeared within a few weeks of each other. That is the
test here: each article is reduced to a *profile*, the distinct key terms of its title
and the names (capitalised words not opening a sentence) of its lead (news puts who,
what and where in the first paragraphs), each weighted by how rare it is among all
articles (idf), so that "said" or "Tuesday" count for almost nothing and "Griner" for
a lot. The lead's other words are left out: reports of one story word them freely, and
on the developer set they drowned the names (same-story pairs scored below 0.2). Two profiles are compared with the idf-weighted cosine
of their term sets. Syndicated copies (the same wire text in several files) are the
extreme case, with a similarity near 1; `assistant.retriever` folds those separately.

Grouping is leader-based, in the order given (the retriever passes relevance order):
an article joins the story whose leader it resembles most (at least
`min_similarity`) and is close to in time, or starts a new story. Comparing with the leader only (not with every
member) keeps a chain of loosely related reports (war coverage day after day) from
merging into one story.

Reused by the retriever (within a story, the report the question asks for comes
first; one story does not crowd the top), and meant for the "sources differ" notes
and the timeline, which need the same groups: `Story.shared_terms` says why articles
were grouped, `Story.members` lists them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Mapping, Sequence

# Words that tell nothing about which story an article reports. Beyond these, rarity
# (idf) does the work, so the list only needs the very common words.
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my no nor not now of off on once only or other our out over own same she should
    so some such than that the their them then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you your
    said says say told according new one two first last year years week day days time people
    mr mrs ms monday tuesday wednesday thursday friday saturday sunday cnn ap reuters""".split()
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*[A-Za-z0-9]|\d[\d,.]*\d|\d")


@dataclass(frozen=True)
class StorySettings:
    """How alike and how close in time two reports must be to count as one story."""

    min_similarity: float = 0.3
    """idf-weighted cosine of the two profiles; 1.0 = the same terms."""
    span_days: int = 60
    """Reports further apart than this (from the story's leader) are separate stories:
    a story in the news rarely runs longer with the same lead terms, and the recency
    prior's half-life is of the same order."""
    lead_chars: int = 1200
    """How much of the text after the title feeds the profile (about the lead paragraphs)."""


def key_terms(text: str) -> list[str]:
    """The words of `text` that can identify a story: lower-cased, possessives and
    plural -s stripped (so "Griner's" and "Griner" agree), stopwords dropped."""
    out = []
    for w in _WORD.findall(text):
        w = w.lower().replace("’", "'")
        w = w.removesuffix("'s").rstrip("'")
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        if w and w not in _STOPWORDS and len(w) > 1:
            out.append(w)
    return out


_NAME = re.compile(r"(?<![.!?\n]\s)(?<!^)\b[A-Z][A-Za-z0-9'’-]+(?:\s+[A-Z][A-Za-z0-9'’-]+)*")


def profile_text(title: str, text: str, lead_chars: int = StorySettings.lead_chars) -> str:
    """What a profile is built from: the title's words and the names (capitalised words
    not opening a sentence) of the lead. Names rather than all lead words, because
    two reports of one story name the same people and places but word the rest freely."""
    lead = text[:lead_chars]
    names = [m.group(0) for m in _NAME.finditer(lead)]
    return title + "\n" + " ".join(names)


class TermStats:
    """Document frequencies of key terms over a set of articles (their profiles),
    giving each term its rarity: idf = ln(1 + N / (1 + df))."""

    def __init__(self, documents: int, df: Mapping[str, int]) -> None:
        self.documents = documents
        self._df = dict(df)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> "TermStats":
        df: Counter[str] = Counter()
        n = 0
        for t in texts:
            df.update(set(key_terms(t)))
            n += 1
        return cls(n, df)

    def idf(self, term: str) -> float:
        return math.log(1.0 + self.documents / (1.0 + self._df.get(term, 0)))


@dataclass(frozen=True)
class Profile:
    """An article's key terms with their idf weights."""

    weights: Mapping[str, float]
    norm: float

    @classmethod
    def of(cls, text: str, stats: TermStats) -> "Profile":
        weights = {t: stats.idf(t) for t in set(key_terms(text))}
        return cls(weights, math.sqrt(sum(w * w for w in weights.values())))


def similarity(a: Profile, b: Profile) -> float:
    """idf-weighted cosine of two term sets: shared rare terms count, common ones barely."""
    if not a.norm or not b.norm:
        return 0.0
    small, big = (a, b) if len(a.weights) <= len(b.weights) else (b, a)
    shared = sum(w * w for t, w in small.weights.items() if t in big.weights)
    return shared / (a.norm * b.norm)


@dataclass(frozen=True)
class StoryArticle:
    """One article as grouping sees it."""

    article_id: str
    date: date | None
    profile: Profile


@dataclass
class Story:
    """Articles reporting one story, leader first (the order they were given in)."""

    members: list[StoryArticle] = field(default_factory=list)

    @property
    def leader(self) -> StoryArticle:
        return self.members[0]

    @property
    def article_ids(self) -> list[str]:
        return [m.article_id for m in self.members]

    @property
    def first(self) -> date | None:
        dates = [m.date for m in self.members if m.date]
        return min(dates) if dates else None

    @property
    def last(self) -> date | None:
        dates = [m.date for m in self.members if m.date]
        return max(dates) if dates else None

    def shared_terms(self, top: int = 8) -> list[str]:
        """The rarest terms every member's profile has: what makes this one story."""
        common = set(self.leader.profile.weights)
        for m in self.members[1:]:
            common &= set(m.profile.weights)
        return sorted(common, key=lambda t: -self.leader.profile.weights[t])[:top]


def _close_in_time(a: date | None, b: date | None, span_days: int) -> bool:
    # An undated article can still be on the story; its words decide alone.
    return a is None or b is None or abs((a - b).days) <= span_days


def group_stories(articles: Sequence[StoryArticle], settings: StorySettings = StorySettings()) -> list[Story]:
    """Group `articles` into stories, keeping their order: stories are listed by their
    leader's position, members in the order given."""
    stories: list[Story] = []
    for art in articles:
        home = None
        best = settings.min_similarity
        for story in stories:
            lead = story.leader
            if not _close_in_time(art.date, lead.date, settings.span_days):
                continue
            s = similarity(art.profile, lead.profile)
            if s >= best:
                home, best = story, s
        if home is None:
            stories.append(Story([art]))
        else:
            home.members.append(art)
    return stories
