"""`.txt` articles in the seed's layout: a date line, a blank line, the title, a blank
line, body paragraphs. A missing date or title leaves that field empty."""

from __future__ import annotations

from index.dates import parse_date
from index.errors import ArticleReadError
from index.readers.base import Article, make_article, paragraphs_of

_MAX_TITLE_CHARS = 250


def _looks_like_title(paragraph: str) -> bool:
    return "\n" not in paragraph and len(paragraph) <= _MAX_TITLE_CHARS


def parse_plain(text: str, rel: str) -> Article:
    """The seed's layout; a missing date or title leaves that field empty."""
    paras = paragraphs_of(text)
    if not paras:
        raise ArticleReadError(rel, "empty file")
    day = None
    first_line, _, rest_of_first = paras[0].partition("\n")
    d = parse_date(first_line)
    if d is not None:
        day = d.isoformat()
        paras = ([rest_of_first.strip()] if rest_of_first.strip() else []) + paras[1:]
    title = ""
    if len(paras) > 1 and _looks_like_title(paras[0]):
        title, paras = paras[0], paras[1:]
    return make_article(rel, rel, title, day, paras)
