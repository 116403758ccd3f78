"""Untrusted text made safe for each output. Article text, titles, outlets, file names
and model output come from folders and servers the user did not write; every place
that shows them (the terminal, the Markdown export, the chat) goes through here.

One rule for all outputs: control characters (C0, DEL, all of C1) and the bidi
overrides that make text display in another order than it reads are *shown* as
`\\xNN` / `\\uNNNN` escapes (a reader sees that something was there; no terminal or
viewer acts on it). Then each output's own markup is neutralised:
- `for_rich`: rich markup escaped (the terminal);
- `for_markdown`: every character Markdown could read as syntax backslash-escaped, on
  one line (the export and the chat, whose parser also has raw HTML turned off);
- `markdown_code`: a code span no backtick in the text can close (file names);
- Textual's `Content` never parses markup, so there `one_line`/`escape_controls` do.
"""

from __future__ import annotations

import re
import string

_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
# 0x9b is CSI and 0x9d starts an OSC sequence on terminals that honour 8-bit controls.
_KEEPING_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")  # tab and newline stay
_ALL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_SPACE_RUNS = re.compile(r"[ \t\n]+")
# ASCII punctuation Markdown never reads as syntax inside a line of text; the rest is
# escaped (CommonMark lets any ASCII punctuation be escaped, and an escaped character
# is always literal). Kept for readable exports: "U.S. officials, 5%".
_MD_PLAIN = frozenset(".,'\":;?/%$@=-")
_MD_SPECIAL = frozenset(string.punctuation) - _MD_PLAIN
# At the start of a line these open a list, a heading or a quote.
_MD_LINE_START = re.compile(r"^(\d+)([.)])|^([-=])")


def _escaped(m: re.Match[str]) -> str:
    ch = m.group(0)
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def escape_controls(text: str, keep_lines: bool = True) -> str:
    """`text` with every control and bidi character escaped; tab and newline are kept
    unless `keep_lines` is False (for one-line values such as file names)."""
    return (_KEEPING_LINES if keep_lines else _ALL).sub(_escaped, text)


def one_line(text: str) -> str:
    """Text on one line: runs of spaces, tabs and newlines become one space, every other
    control character is escaped. For titles, outlets, file names, meta lines."""
    return escape_controls(_SPACE_RUNS.sub(" ", text).strip(), keep_lines=False)


def file_name(text: str) -> str:
    """A path exactly as it is, one line: even tab and newline are shown escaped, so
    the reader can still find the file."""
    return escape_controls(text, keep_lines=False)


def for_rich(text: str) -> str:
    """Text for rich's console: controls escaped, rich markup neutralised."""
    from rich.markup import escape

    return escape(escape_controls(text))


def for_markdown(text: str) -> str:
    """Markdown that renders as exactly `one_line(text)`: no link, image, HTML,
    emphasis, code, heading or list that the text could smuggle in."""
    out = "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in one_line(text))
    return _MD_LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else "\\" + m.group(3), out)


def markdown_code(text: str) -> str:
    """`text` as a code span. A file name may hold backticks: the fence is one longer
    than its longest run of them, so the name cannot end the span early and put what
    follows into the Markdown as markup."""
    text = one_line(text)
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
