"""Where a quote sits in the article's own file, for formats where a reader can open
the file and count (.txt, .md): the offsets a citation carries in `start`/`end` are in
the article text the index extracted (header lines and boilerplate removed), which a
reader does not have; `file_start`/`file_end` point into the file itself (characters
of the file read as UTF-8 text, line endings kept)."""

from __future__ import annotations

from pathlib import Path

from assistant.answer.grounding import Locate
from assistant.answer.types import Citation

LOCATABLE = (".txt", ".md", ".markdown")


def file_locator(corpus: Path) -> Locate:
    """Finds each citation's quote in its file under `corpus` (each file read once)."""
    root = corpus.resolve()
    texts: dict[str, str | None] = {}

    def read(name: str) -> str | None:
        path = (root / name).resolve()
        if not path.is_relative_to(root) or path.suffix.lower() not in LOCATABLE:
            return None
        try:
            with open(path, encoding="utf-8-sig", newline="") as f:
                return f.read()
        except (OSError, UnicodeDecodeError):
            return None

    def locate(c: Citation) -> tuple[int, int] | None:
        if c.file not in texts:
            texts[c.file] = read(c.file)
        text = texts[c.file]
        if not text or not c.quote:
            return None
        found, at = [], text.find(c.quote)
        while at != -1:
            found.append(at)
            at = text.find(c.quote, at + 1)
        if not found:
            return None
        # Extraction only removes text before a quote, so its place in the file is at
        # or after its place in the article text; the nearest such match is the one.
        after = [p for p in found if p >= c.start]
        pos = min(after) if after else max(found)
        return pos, pos + len(c.quote)

    return locate
