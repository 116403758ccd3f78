"""Time cues in questions: "this week", "yesterday", "last month", "in March",
"in 2021", "recently". News answers depend on when: a cue turns into a date window
that retrieval prefers, relative to the search's as-of date."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MONTHS.pop("may", None)  # "may" is mostly a verb; the full name is matched below
_MONTH_RE = "|".join(sorted((m for m in _MONTHS), key=len, reverse=True))


# Days before a window that a report may still be from: a story written the day before
# "this week" began still tells this week's news.
WINDOW_SLACK_DAYS = 2


@dataclass(frozen=True)
class TimeWindow:
    """Dates [start, end] a question points at, and how sure that reading is:
    "strong" for explicit cues, "soft" for vague ones ("recently"). `binding`: only a
    report from the window can answer the question (every strong cue, and a vague one
    that says nothing but recency: see `_BINDING_CUES`)."""

    start: date
    end: date
    cue: str
    strength: str = "strong"
    binding: bool = True

    @property
    def earliest(self) -> date:
        """The first day a report from the window may be dated."""
        return self.start - timedelta(days=WINDOW_SLACK_DAYS)

    def holds(self, day: str | None) -> bool:
        """Whether a report dated `day` (ISO) is from the window; an undated one is not."""
        if not day:
            return False
        return self.earliest <= date.fromisoformat(day) <= self.end


# Vague cues: the question is about the days before the as-of date, how many unsaid.
_VAGUE_CUES = re.compile(r"\b(recent(?:ly)?|latest|newest|just|new|current(?:ly)?|now|upcoming|soon)\b")
# The vague cues that bind an answer to that window: they say nothing but that the
# question is about the recent past or the near future. The others also do other work
# ("New York", "just how many", "now that", "the most recent census", "current and
# former officials", "at the latest", "soon after taking office"): they guide
# retrieval only.
_BINDING_CUES = re.compile(r"\b(recently|currently|how soon|(?:will|would|could|can|may|might|should|be|is|are) soon)\b")


def _month_window(month: int, year: int) -> tuple[date, date]:
    last = calendar.monthrange(year, month)[1]
    return date(year, month, 1), date(year, month, last)


def find_time_window(question: str, as_of: date) -> TimeWindow | None:
    q = question.lower()
    rules: list[tuple[str, object]] = [
        (r"\b(today|tonight|this morning|this afternoon|this evening)\b", lambda m: (as_of - timedelta(days=1), as_of)),
        (r"\byesterday\b", lambda m: (as_of - timedelta(days=2), as_of)),
        (r"\b(this|the past|the last) (week|weekend|few days)\b|\bdays? ago\b|\bearlier this week\b",
         lambda m: (as_of - timedelta(days=8), as_of)),
        (r"\blast (week|weekend)\b", lambda m: (as_of - timedelta(days=15), as_of)),
        (r"\b(this|the past|the last) month\b|\bweeks? ago\b", lambda m: (as_of - timedelta(days=31), as_of)),
        (r"\blast month\b", lambda m: _month_window(*_prev_month(as_of))),
        (r"\bthis year\b", lambda m: (date(as_of.year, 1, 1), as_of)),
        # "over the last year" is the past twelve months, not the previous calendar year.
        (r"\b(the past|the last|past) (year|12 months|twelve months)\b", lambda m: (as_of - timedelta(days=366), as_of)),
        (r"\blast year\b", lambda m: (date(as_of.year - 1, 1, 1), date(as_of.year - 1, 12, 31))),
        (rf"\b(?:in|on|during|since|of|this) (?:early |late |mid-?)?({_MONTH_RE}|may)\.?(?: (\d{{4}}))?\b", _named_month(as_of)),
        (r"\bin (19\d\d|20\d\d)\b", lambda m: (date(int(m.group(1)), 1, 1), date(int(m.group(1)), 12, 31))),
    ]
    for pattern, window in rules:
        m = re.search(pattern, q)
        if m:
            got = window(m)  # type: ignore[operator]
            if got is None:
                continue
            start, end = got
            if start > as_of:  # "in 2023" asked as of 2022: no article can be there yet
                continue
            return TimeWindow(start, min(end, as_of), _as_written(question, q, m))
    vague = _VAGUE_CUES.search(q)
    if vague:
        binding = _BINDING_CUES.search(q)
        return TimeWindow(as_of - timedelta(days=30), as_of, _as_written(question, q, binding or vague), "soft",
                          binding=binding is not None)
    return None


def _as_written(question: str, lowered: str, m: re.Match[str]) -> str:
    """The cue as the question writes it ("in March", not "in march")."""
    same = len(question) == len(lowered)  # lower() can change the length of a few characters
    return (question[m.start():m.end()] if same else m.group(0)).strip()


# What a question asks of time, beyond a date window. "current": the state of
# something that changes (a price, a count, who holds an office), asked in the present
# tense or with "now"/"currently"/"as of"; the newest report answers it. "anchored": a
# named time or "when did": the report from that time answers it. "any": neither.
_CURRENT_WORDS = re.compile(r"\b(now|currently|current|latest|still|so far|as of|to date|these days|ongoing)\b")
# The question's own auxiliary or verb right after its question word (or after
# "which/what <noun>"), the usual place an English question shows its tense.
_WH = r"(?:how (?:much|many|long|soon|often|far|old|large|big|high)|what|which|who|whom|whose|where|when|why|how)"
_PRESENT_AUX = r"(?:is|are|am|does|do|has|have|can|could|will|would|may|might|should|must|'s)"
_PAST_AUX = r"(?:was|were|did|had)"
_PRESENT_AFTER_WH = re.compile(rf"\b{_WH}(?:\s+[\w'’-]+){{0,3}}?\s+{_PRESENT_AUX}\b")
_PAST_AFTER_WH = re.compile(rf"\b{_WH}(?:\s+[\w'’-]+){{0,3}}?\s+{_PAST_AUX}\b")
_WHEN_DID = re.compile(r"\bwhen (?:did|was|were|had)\b")


def _question_sentence(question: str) -> str:
    """The sentence that asks (quiz questions often open with a statement)."""
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p.strip()]
    asking = [p for p in parts if p.endswith("?")]
    return (asking[-1] if asking else parts[-1] if parts else "").lower()


def question_time_kind(question: str, window: TimeWindow | None = None, as_of: date | None = None) -> str:
    """"current", "anchored" or "any" (see above). A strong window that ends before the
    as-of date ("in March", "last year") anchors the question; one reaching up to it
    ("this week", "the past year") only narrows "now"."""
    q = _question_sentence(question)
    if _WHEN_DID.search(q):
        return "anchored"
    if window is not None and window.strength == "strong" and (as_of is None or window.end < as_of):
        return "anchored"
    if _CURRENT_WORDS.search(q):
        return "current"
    present = _PRESENT_AFTER_WH.search(q)
    past = _PAST_AFTER_WH.search(q)
    if present and (not past or present.start() <= past.start()):
        return "current"
    return "any"


def _prev_month(d: date) -> tuple[int, int]:
    return (12, d.year - 1) if d.month == 1 else (d.month - 1, d.year)


def _named_month(as_of: date):
    def window(m: re.Match[str]):
        month = _MONTHS.get(m.group(1).rstrip("."), 5 if m.group(1) == "may" else None)
        if month is None:
            return None
        year = int(m.group(2)) if m.group(2) else (as_of.year if month <= as_of.month else as_of.year - 1)
        return _month_window(month, year)

    return window


def parse_as_of(text: str | None, today: date | None = None) -> date:
    """The as-of date from a flag: ISO, "today", "yesterday", or any date form."""
    today = today or date.today()
    if not text or text.strip().lower() == "today":
        return today
    if text.strip().lower() == "yesterday":
        return today - timedelta(days=1)
    from index.dates import parse_date
    from index.errors import ConfigError

    d = parse_date(text)
    if d is None:
        raise ConfigError(f"cannot read the date {text!r}", hint="Use a date like 2022-06-16.")
    return d
