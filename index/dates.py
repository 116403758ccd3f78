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
    words = re.findall(r"[A-Za-z]+", s)
    if len(words) > 6:
        return None
    from dateutil import parser as dateparser  # lazy: only file reading needs it

    try:
        dt = dateparser.parse(s, fuzzy=False, default=datetime(1900, 1, 1))
    except (ValueError, OverflowError, TypeError):
        try:
            dt = dateparser.parse(s, fuzzy=True, default=datetime(1900, 1, 1))
        except (ValueError, OverflowError, TypeError):
            return None
    if dt is None or dt.year < 1900:
        return None
    return dt.date()
