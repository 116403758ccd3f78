"""Where a quote sits in its article, for the sources pane and the article view.
Text is made safe by `assistant.untrusted`; this module only lays it out."""

from __future__ import annotations

import re

from assistant.answer.text import quote_at
from assistant.untrusted import one_line


def quote_context(text: str | None, start: int, end: int, quote: str, width: int = 160) -> tuple[str, str, str, bool]:
    """(before, quote, after, verbatim): the quote with up to `width` characters of
    article text on each side, cut at word boundaries, on one line and safe to show.
    `verbatim` is False when the article no longer holds the quote at those offsets
    (it changed or left the index since the answer was made)."""
    if not quote_at(text, start, end, quote):
        return "", one_line(quote), "", False
    assert text is not None
    before = text[max(0, start - width) : start]
    after = text[end : end + width]
    if start - width > 0 and " " in before:
        before = "…" + before[before.index(" ") + 1 :]
    if end + width < len(text) and " " in after:
        after = after[: after.rindex(" ")] + "…"
    # one_line() trims; the spaces around the quote are kept so words stay apart.
    lead = " " if before[-1:].isspace() else ""
    trail = " " if after[:1].isspace() else ""
    return one_line(before) + lead, one_line(text[start:end]), trail + one_line(after), True


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph (text between blank lines), in order."""
    return [(m.start(), m.end()) for m in re.finditer(r"\S(?:.*\S)?(?:\n[ \t]*\S(?:.*\S)?)*", text)]
