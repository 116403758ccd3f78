"""Reading article files into `Article` values.

Formats: `.txt` in the seed's layout (a date line, a blank line, the title, a blank
line, body paragraphs), `.md` with optional front matter, `.html` (main text only),
and `.json` / `.jsonl` (objects with title, date, text or body, and optional url,
source, author). Each reader raises `ArticleReadError` with a reason a user can act
on; a JSON Lines file with some bad lines keeps its good ones and reports the rest.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.boilerplate import strip_boilerplate
from index.dates import parse_date
from index.errors import ArticleReadError

ARTICLE_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"})
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_MAX_TITLE_CHARS = 250


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

    def with_hash(self) -> "Article":
        payload = json.dumps(
            [self.title, self.date, self.source, self.url, self.author, self.text],
            ensure_ascii=False,
        )
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
        return Article(
            self.id, self.path, self.title, self.date, self.text,
            self.source, self.url, self.author, digest,
        )


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
    return [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def make_article(
    id: str, path: str, title: str, date: str | None, paragraphs: list[str], **extra: str
) -> Article:
    body = "\n\n".join(strip_boilerplate(paragraphs))
    if not body.strip():
        raise ArticleReadError(path, "no article text left after removing boilerplate")
    return Article(id=id, path=path, title=title.strip(), date=date, text=body, **extra).with_hash()


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
    title = _meta_text(meta.get("title"))
    paras = paragraphs_of(text)
    if not title and paras and paras[0].startswith("# "):
        title, paras = paras[0][2:], paras[1:]
    paras = [markdown_to_text(p) for p in paras]
    day = _date_field(meta.get("date"))
    return make_article(
        rel, rel, title, day, paras,
        source=_meta_text(meta.get("source")), url=_meta_text(meta.get("url")),
        author=_meta_text(meta.get("author")),
    )


def _meta_text(value: Any) -> str:
    """A front-matter field as text; lists and mappings are not titles or names. YAML
    aliases made str() of a 9-line "billion laughs" list build a 100-million-item
    string (20 s and gigabytes) for one 500-byte file."""
    if not value or isinstance(value, (list, tuple, dict, set)):
        return ""
    return str(value)


def _date_field(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, (list, tuple, dict, set)):  # see _meta_text
        return None
    if hasattr(value, "isoformat") and hasattr(value, "year"):
        return value.isoformat()[:10]
    d = parse_date(str(value))
    return d.isoformat() if d else None


def parse_json_object(obj: Any, id: str, rel: str) -> Article:
    if not isinstance(obj, dict):
        raise ArticleReadError(id, f"expected a JSON object, found {type(obj).__name__}")
    body = obj.get("text") or obj.get("body") or obj.get("content")
    if not isinstance(body, str) or not body.strip():
        raise ArticleReadError(id, 'no "text" or "body" field with article text')
    body = body.replace("\r\n", "\n")
    return make_article(
        id, rel, str(obj.get("title") or ""), _date_field(obj.get("date")), paragraphs_of(body),
        source=str(obj.get("source") or obj.get("outlet") or ""),
        url=str(obj.get("url") or ""), author=str(obj.get("author") or ""),
    )


def _object_id(rel: str, obj: Any, position: int) -> str:
    key = obj.get("id") if isinstance(obj, dict) else None
    return f"{rel}#{key if isinstance(key, (str, int)) and str(key) else position}"


def parse_json(text: str, rel: str) -> FileResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ArticleReadError(rel, f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if isinstance(data, dict):
        return FileResult([parse_json_object(data, rel, rel)])
    if not isinstance(data, list):
        raise ArticleReadError(rel, "expected a JSON object or a list of objects")
    return _collect(rel, ((i, obj) for i, obj in enumerate(data)), "item")


def parse_jsonl(text: str, rel: str) -> FileResult:
    def objects():
        for lineno, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                yield lineno, line

    result = FileResult([])
    for lineno, line in objects():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            result.warnings.append(f"{rel}: line {lineno}: malformed JSON ({e.msg}); line skipped")
            continue
        try:
            result.articles.append(parse_json_object(obj, _object_id(rel, obj, lineno), rel))
        except ArticleReadError as e:
            result.warnings.append(f"{rel}: line {lineno}: {e.reason}; line skipped")
    if not result.articles:
        raise ArticleReadError(rel, "no valid article objects in this JSON Lines file")
    return result


def _collect(rel: str, items, what: str) -> FileResult:
    result = FileResult([])
    for i, obj in items:
        try:
            result.articles.append(parse_json_object(obj, _object_id(rel, obj, i), rel))
        except ArticleReadError as e:
            result.warnings.append(f"{rel}: {what} {i}: {e.reason}; skipped")
    if not result.articles:
        raise ArticleReadError(rel, "no valid article objects in this JSON file")
    return result


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a plain file"


def read_article_file(path: Path, rel: str, max_bytes: int = DEFAULT_MAX_BYTES) -> FileResult:
    """Read one file into its articles, or raise `ArticleReadError` saying why not."""
    suffix = path.suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        raise ArticleReadError(rel, f"unsupported file type {suffix or '(none)'}")
    try:
        # Only regular files are read: a FIFO named "x.txt" blocked read_bytes() forever,
        # and a link to /dev/zero or /dev/urandom (size 0 to stat) was read until memory
        # ran out. stat() follows links, so a link to a regular file is still read.
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise ArticleReadError(rel, f"not a regular file ({_file_kind(st.st_mode)}); only regular files are read")
        size = st.st_size
        if size > max_bytes:
            raise ArticleReadError(
                rel,
                f"too large ({size / 1e6:.1f} MB, limit {max_bytes / 1e6:.1f} MB); "
                "raise max_file_mb in the config to index it",
            )
        data = path.read_bytes()
    except PermissionError:
        raise ArticleReadError(rel, "permission denied; make it readable to index it") from None
    except FileNotFoundError:
        raise ArticleReadError(rel, "vanished while it was being read") from None
    except OSError as e:
        raise ArticleReadError(rel, f"cannot be read ({e.strerror or e})") from None
    if len(data) > max_bytes:  # grew between stat and read
        raise ArticleReadError(rel, f"too large (limit {max_bytes / 1e6:.1f} MB)")
    text = decode_bytes(data, rel)
    if suffix == ".txt":
        return FileResult([parse_plain(text, rel)])
    if suffix in (".md", ".markdown"):
        return FileResult([parse_markdown(text, rel)])
    if suffix in (".html", ".htm"):
        from index.html_reader import parse_html

        return FileResult([parse_html(text, rel)])
    if suffix == ".json":
        return parse_json(text, rel)
    return parse_jsonl(text, rel)
