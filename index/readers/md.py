"""`.md` articles: optional YAML front matter (`title`, `date`, `source`, `url`,
`author`), else a leading `# Title`; links and emphasis reduced to their text."""

from __future__ import annotations

import re
from typing import Any

from index.errors import ArticleReadError
from index.readers.base import Article, date_field, make_article, meta_text, paragraphs_of

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_MD_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)


def markdown_to_text(md: str) -> str:
    text = _MD_LINK.sub(r"\1", md)
    text = _MD_EMPHASIS.sub(r"\2", text)
    return _MD_HEADING.sub("", text)


def parse_markdown(text: str, rel: str) -> Article:
    meta: dict[str, Any] = {}
    if text.startswith("---\n"):
        # Search from 3, not 4, so that empty front matter ("---\n---\n") is found too.
        end = text.find("\n---", 3)
        if end != -1:
            import yaml

            try:
                loaded = yaml.safe_load(text[4:end])
            except yaml.YAMLError as e:
                raise ArticleReadError(rel, f"malformed front matter ({e.__class__.__name__})") from None
            if isinstance(loaded, dict):
                meta = loaded
            # Drop the rest of the closing "---" line only: lstrip("-\n") also ate the
            # dash of a body that starts with a list item.
            closing_end = text.find("\n", end + 4)
            text = text[closing_end + 1 :] if closing_end != -1 else ""
    title = meta_text(meta.get("title"))
    paras = paragraphs_of(text)
    if not title and paras and paras[0].startswith("# "):
        title, paras = paras[0][2:], paras[1:]
    paras = [markdown_to_text(p) for p in paras]
    day = date_field(meta.get("date"))
    return make_article(
        rel, rel, title, day, paras,
        source=meta_text(meta.get("source")), url=meta_text(meta.get("url")),
        author=meta_text(meta.get("author")),
    )
