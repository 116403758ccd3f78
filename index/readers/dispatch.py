"""Reading one file exactly as the indexer does: checks shared by every format (a
regular file, its size, permission, its bytes decoded to text), then the reader for
its suffix.

Each format is one module (`txt`, `md`, `html`, `json`) that turns text into a
`FileResult`; this module is the only one that knows them all, so adding a format is
one module and one line in `READERS`.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

from index.errors import ArticleReadError
from index.readers import html, json, md, txt
from index.readers.base import DEFAULT_MAX_BYTES, Article, FileResult, decode_bytes

Reader = Callable[[str, str], FileResult]


def _one(parse: Callable[[str, str], Article]) -> Reader:
    return lambda text, rel: FileResult([parse(text, rel)])


# Suffix (lower case) -> reader of the decoded text, given the file's corpus-relative id.
READERS: dict[str, Reader] = {
    ".txt": _one(txt.parse_plain),
    ".md": _one(md.parse_markdown),
    ".markdown": _one(md.parse_markdown),
    ".html": html.read_html,
    ".htm": html.read_html,
    ".json": json.parse_json,
    ".jsonl": json.parse_jsonl,
}
ARTICLE_SUFFIXES = frozenset(READERS)
# Bytes to text: UTF-8 (or UTF-16 with a BOM) for every format, and for web pages also
# the charset the page declares.
DECODERS: dict[str, Callable[[bytes, str], str]] = {".html": html.decode_html, ".htm": html.decode_html}


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
    text = DECODERS.get(suffix, decode_bytes)(data, rel)
    return READERS[suffix](text, rel)


def read_article(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Article:
    """The one article in the file at `path`, read exactly as the indexer reads it (its
    id and path are `path` as given), or `ArticleReadError` with the reason it is
    skipped. A JSON file holding several articles raises too: `read_article_file` gives
    them all."""
    path = Path(path)
    result = read_article_file(path, str(path), max_bytes)
    if len(result.articles) != 1:
        raise ArticleReadError(
            str(path), f"holds {len(result.articles)} articles; index.readers.read_article_file() returns them all"
        )
    return result.articles[0]
