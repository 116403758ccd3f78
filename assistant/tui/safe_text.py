"""Article-derived text made inert for the screen.

Two kinds of output need it: Markdown (the conversation) and Textual `Content` (the
sources pane and the article view). Article text, and model output paraphrasing it,
must show exactly as text: no terminal control sequences, no Markdown links, images,
HTML or emphasis an article could smuggle in. Markdown is neutralised by
backslash-escaping every ASCII punctuation character (CommonMark allows escaping any
of them, and an escaped character is always literal); `Content` never parses markup,
so there only control characters need to go.
"""

from __future__ import annotations

import re
import string

from assistant.answer.types import Answer

# C0 controls except tab/newline, DEL, C1 controls (0x9b is CSI on some terminals),
# and the bidi overrides that can make text display in a different order than it reads.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MD_SPECIAL = frozenset(string.punctuation)
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """Remove terminal control characters; tabs become spaces."""
    return _CONTROL.sub("", text.replace("\t", " "))


def one_line(text: str) -> str:
    """Cleaned, with every run of whitespace (newlines too) collapsed to one space."""
    return _SPACES.sub(" ", clean(text))


def md_escape(text: str) -> str:
    """Markdown that renders as exactly `text` (after cleaning), on one line."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in one_line(text))


STATUS_MARKS = {
    # Rendered with styles set on AnswerMarkdown: em is the warning colour, strong the
    # error colour. Article text never produces emphasis because it is escaped.
    "unsupported": " *(unsupported)*",
    "unverified": " **(unverified quote)**",
    "supported": "",
}


def answer_markdown(answer: Answer) -> str:
    """The answer body: sentences with citation markers (inline code, so they stand
    out) and visible marks on sentences the articles do not back."""
    parts = []
    for s in answer.sentences:
        marks = " ".join(f"`[{n}]`" for n in s.citations)
        parts.append(md_escape(s.text) + (" " + marks if marks else "") + STATUS_MARKS.get(s.status, ""))
    if parts:
        return " ".join(parts)
    if answer.text.strip():
        return md_escape(answer.text)
    return "*(cancelled)*" if answer.cancelled else "No answer found in the articles\\."


def question_markdown(question: str) -> str:
    return md_escape(question)


def quote_context(text: str | None, start: int, end: int, quote: str, width: int = 160) -> tuple[str, str, str, bool]:
    """(before, quote, after, verbatim): the quote with up to `width` characters of
    article text on each side, cut at word boundaries, whitespace collapsed.
    `verbatim` is False when the article no longer holds the quote at those offsets
    (it changed or left the index since the answer was made)."""
    if not text or text[start:end] != quote:
        return "", one_line(quote), "", False
    before = text[max(0, start - width) : start]
    after = text[end : end + width]
    if start - width > 0 and " " in before:
        before = "…" + before[before.index(" ") + 1 :]
    if end + width < len(text) and " " in after:
        after = after[: after.rindex(" ")] + "…"
    return _collapse(before), _collapse(text[start:end]), _collapse(after), True


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", clean(text))


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph (text between blank lines), in order."""
    return [(m.start(), m.end()) for m in re.finditer(r"\S(?:.*\S)?(?:\n[ \t]*\S(?:.*\S)?)*", text)]
