"""Making text from untrusted articles and file names inert: control characters (C0,
DEL, all of C1) and the bidi overrides that make text display in another order than it
reads are shown as `\\xNN` / `\\uNNNN` escapes, so no terminal or viewer acts on them."""

from __future__ import annotations

import re

_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
# 0x9b is CSI and 0x9d starts an OSC sequence on terminals that honour 8-bit controls.
_KEEPING_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")  # tab and newline stay
_ALL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")


def _escaped(m: re.Match[str]) -> str:
    ch = m.group(0)
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def escape_controls(text: str, keep_lines: bool = True) -> str:
    """`text` with every control and bidi character escaped; tab and newline are kept
    unless `keep_lines` is False (for one-line values such as file names)."""
    return (_KEEPING_LINES if keep_lines else _ALL).sub(_escaped, text)
