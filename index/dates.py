"""Reading the date of an article from the forms news sites print.

Only whole short strings are read as dates: a body sentence that happens to contain
a year must never be taken for the date line.
"""

from __future__ import annotations

import re
from datetime import date, datetime

_YEAR = re.compile(r"\b(19|20)\d{2}\b")
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?\s*$")
# Words that may surround a date line ("Published Jan. 5, 2022 at 10:00 ET", "Updated ...").
_NOISE = re.compile(
    r"^(published|updated|posted|last updated|date|dated|on)\s*:?\s*", re.IGNORECASE
)
_MAX_DATE_LINE = 60
# A date line names a day: a month word and a day number, or an all-numeric date.
# Without this, dateutil's fuzzy mode read short titles such as "World Cup 2022" or
# "10 things these cicadas have missed since 1996" as dates (2022-01-01, 1996-10-01),
# and a .txt file without a date line lost its title to the date.
_MONTH = re.compile(
    r"\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?"
    r"|sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?)\b",
    re.IGNORECASE,
)
_DAY = re.compile(r"(?<![\d:])(0?[1-9]|[12]\d|3[01])(st|nd|rd|th)?\b(?!:)")
_NUMERIC_DATE = re.compile(r"\b\d{1,4}([-/.])\d{1,2}\1\d{1,4}\b")
# Words fuzzy parsing may step over in a date line; one other word (a source name, as
# in "Jan 23 2022 | Reuters") is tolerated, two ("The 10 best March 2022 releases") not.
_FILLER = frozenset(
    "at on of the a m am pm et est edt ct cst cdt mt mst mdt pt pst pdt gmt utc bst cet cest z "
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun".split()
)


def parse_date(text: str) -> date | None:
    """Return the date that `text` consists of, or None.

    Accepts ISO dates ("2022-01-23", with or without a time), "January 23, 2022",
    "Jan. 23, 2022", "23 January 2022", "Sunday, January 23, 2022", "2022/01/23",
    "01/23/2022" and the same with "Published"/"Updated" and a time of day.
    """
    s = text.strip()
    if not s or len(s) > _MAX_DATE_LINE:
        return None
    m = _ISO.match(s)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    s = _NOISE.sub("", s)
    if not _YEAR.search(s):
        return None
    # A date line has few words; anything that reads like a sentence is not one.
    # Words in any script count ("中文" is a word as much as "harbor").
    words = re.findall(r"[^\W\d_]+", s)
    if len(words) > 6:
        return None
    if not (_NUMERIC_DATE.search(s) or (_MONTH.search(s) and _DAY.search(_YEAR.sub(" ", s)))):
        return None
    from dateutil import parser as dateparser  # lazy: only file reading needs it

    # ignoretz: only the day matters, and an unknown zone name ("ET") made dateutil
    # warn (and, it says, will make it raise in a future version).
    try:
        dt = dateparser.parse(s, fuzzy=False, ignoretz=True, default=datetime(1900, 1, 1))
    except (ValueError, OverflowError, TypeError):
        try:
            dt, skipped = dateparser.parse(
                s, fuzzy_with_tokens=True, ignoretz=True, default=datetime(1900, 1, 1)
            )
        except (ValueError, OverflowError, TypeError):
            return None
        other = [w for w in re.findall(r"[^\W\d_]+", " ".join(skipped)) if w.lower() not in _FILLER]
        if len(other) > 1:
            return None
    if dt is None or dt.year < 1900:
        return None
    return dt.date()
