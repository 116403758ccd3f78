"""What every reader shares: the `Article` value, decoding bytes to text, and turning
paragraphs into an article once the project's boilerplate rules have run."""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from index.boilerplate import strip_boilerplate
from index.dates import parse_date
from index.errors import ArticleReadError

if TYPE_CHECKING:
    from index.injection import Flag

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class Article:
    """One article as indexed. `text` is the cleaned body; chunk offsets index into it."""

    id: str
    path: str
    title: str
    date: str | None  # ISO yyyy-mm-dd
    text: str
    source: str = ""
    url: str = ""
    author: str = ""
    content_hash: str = field(default="", compare=False)
    # Text of a web page that a browser would not show and that is addressed to AI
    # systems (`index.injection`); offsets into the page's HTML.
    hidden_flags: tuple["Flag", ...] = field(default=(), compare=False)

    def with_hash(self) -> "Article":
        fields: list[Any] = [self.title, self.date, self.source, self.url, self.author, self.text]
        if self.hidden_flags:  # a change of hidden text updates the article's flags
            fields.append([f.text for f in self.hidden_flags])
        payload = json.dumps(fields, ensure_ascii=False)
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
        return replace(self, content_hash=digest)


@dataclass
class FileResult:
    """What one file gave: its articles and warnings about parts of it that were skipped."""

    articles: list[Article]
    warnings: list[str] = field(default_factory=list)


def decode_bytes(data: bytes, path: str) -> str:
    """Bytes to text with LF newlines; UTF-8 (with or without BOM) and UTF-16 with BOM."""
    if not data.strip():
        raise ArticleReadError(path, "empty file")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise ArticleReadError(path, f"broken UTF-16 text ({e.reason})") from None
    else:
        if b"\x00" in data[:8192]:
            raise ArticleReadError(path, "binary file (contains NUL bytes), not an article")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ArticleReadError(
                path,
                f"not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); "
                "save it as UTF-8 to index it",
            ) from None
    # lstrip: a second BOM (files joined with cat, or a BOM encoded as text) is not
    # whitespace to strip(), so a file of BOMs became an invisible one-character article.
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if not text.strip():
        raise ArticleReadError(path, "empty file")
    return text


def paragraphs_of(text: str) -> list[str]:
    """The blank-line separated paragraphs of `text`, stripped, empty ones left out."""
    return [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def make_article(
    id: str, path: str, title: str, date: str | None, paragraphs: list[str], **extra: str
) -> Article:
    body = "\n\n".join(strip_boilerplate(paragraphs))
    if not body.strip():
        raise ArticleReadError(path, "no article text left after removing boilerplate")
    return Article(id=id, path=path, title=title.strip(), date=date, text=body, source=extra.get("source", ""),
                   url=extra.get("url", ""), author=extra.get("author", "")).with_hash()


def meta_text(value: Any) -> str:
    """A front-matter field as text; lists and mappings are not titles or names. YAML
    aliases made str() of a 9-line "billion laughs" list build a 100-million-item
    string (20 s and gigabytes) for one 500-byte file."""
    if not value or isinstance(value, (list, tuple, dict, set)):
        return ""
    return str(value)


def date_field(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, (list, tuple, dict, set)):  # see meta_text
        return None
    if hasattr(value, "isoformat") and hasattr(value, "year"):
        return value.isoformat()[:10]
    d = parse_date(str(value))
    return d.isoformat() if d else None
