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


@dataclass(frozen=True)
class TimeWindow:
    """Dates [start, end] a question points at, and how sure that reading is:
    "strong" for explicit cues, "soft" for vague ones ("recently")."""

    start: date
    end: date
    cue: str
    strength: str = "strong"


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
            return TimeWindow(start, min(end, as_of), m.group(0).strip())
    m = re.search(r"\b(recent(ly)?|latest|newest|just|new|current(ly)?|now|upcoming|soon)\b", q)
    if m:
        return TimeWindow(as_of - timedelta(days=30), as_of, m.group(0), "soft")
    return None


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
