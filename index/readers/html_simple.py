"""The simple HTML reader: the blocks of the first `<article>`, `<main>` or `<body>`,
with menus, scripts, asides and footers dropped, in one linear walk.

It was the project's only HTML reader; the kept extractor (`index.readers.html`) now
decides what is article text. This one stays as its fallback for pages the extractor
cannot take (it failed or ran out of time, or lxml cut a page nested deeper than 255
levels): it handles any size and depth in linear time, so such a page still indexes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from index.dates import parse_date
from index.errors import ArticleReadError
from index.readers.base import Article, make_article

_DROP = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form",
         "iframe", "svg", "button", "template", "figure")
_BLOCKS = ("p", "h2", "h3", "h4", "li", "blockquote", "pre")
_SPACED = _BLOCKS + ("br", "div", "section", "article", "main", "ul", "ol", "dl", "dt", "dd",
                     "table", "tr", "td", "th", "h1", "h5", "h6", "hr", "img")


def _meta(soup: Any, *names: str) -> str:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag and tag.get("content"):
            return str(tag["content"]).strip()
    return ""


def parse_html_simple(html: str, rel: str) -> Article:
    """The article in `html` as the simple reader sees it, or `ArticleReadError`."""
    import warnings

    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

    # A page that is only a URL or a file name made bs4 print a warning into the
    # output of `assistant index`; the file is read as text like any other.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(html, "html.parser")
    title = _meta(soup, "og:title", "twitter:title")
    if not title:
        h1 = soup.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else ""
    if not title and soup.title:
        title = soup.title.get_text(" ", strip=True)
    raw_date = _meta(soup, "article:published_time", "date", "pubdate", "dc.date")
    if not raw_date:
        t = soup.find("time")
        raw_date = str(t.get("datetime") or t.get_text(strip=True)) if t else ""
    d = parse_date(str(raw_date)[:10]) or parse_date(str(raw_date))
    source = _meta(soup, "og:site_name", "publisher")
    url = _meta(soup, "og:url")
    link = soup.find("link", attrs={"rel": "canonical"})
    if link and link.get("href"):
        url = str(link["href"])
    author = _meta(soup, "author", "article:author")

    # One linear walk, without editing the tree: decompose() and insert_before() each
    # look the element up in its parent's list, so a page of 20,000 paragraphs (480 KB)
    # took minutes, and deep nesting was quadratic too. Dropped elements (scripts,
    # menus...) are skipped, as decompose() removed them.
    root = _find_root(soup)
    paragraphs = []
    for block in _top_level_blocks(root):
        text = " ".join(_spaced_text(block).split())
        if text and text != title:
            paragraphs.append(text)
    if not paragraphs:
        text = " ".join(_spaced_text(root).split())
        paragraphs = [text] if text else []
    if not paragraphs:
        raise ArticleReadError(rel, "no article text in this HTML page (only markup or scripts)")
    return make_article(
        rel, rel, title, d.isoformat() if d else None, paragraphs,
        source=source, url=url, author=author,
    )


def _walk(top: Any) -> Iterator[tuple[str, Any]]:
    """(event, node) in document order below `top`, skipping dropped elements:
    ("start", tag), ("end", tag), ("text", string). Iterative: no recursion limit."""
    from bs4 import NavigableString, Tag

    stack = [(top, iter(top.contents))]
    while stack:
        parent, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if parent is not top:
                yield "end", parent
        elif isinstance(child, Tag):
            if child.name in _DROP:
                continue
            yield "start", child
            stack.append((child, iter(child.contents)))
        elif isinstance(child, NavigableString):
            yield "text", child


def _find_root(soup: Any) -> Any:
    """The first <article>, else <main>, else <body> outside dropped elements (what
    soup.find() gave once they were decomposed), else the whole page."""
    found: dict[str, object] = {}
    for event, node in _walk(soup):
        if event == "start" and node.name in ("article", "main", "body") and node.name not in found:
            found[node.name] = node
            if node.name == "article":
                break
    return found.get("article") or found.get("main") or found.get("body") or soup


def _top_level_blocks(root: Any) -> list[Any]:
    """Blocks (p, li, ...) not nested in another block, in document order."""
    if any(getattr(p, "name", None) in _BLOCKS for p in root.parents):
        return []
    blocks, inside = [], 0
    for event, node in _walk(root):
        if event == "start" and node.name in _BLOCKS:
            if inside == 0:
                blocks.append(node)
            inside += 1
        elif event == "end" and node.name in _BLOCKS:
            inside -= 1
    return blocks


def _spaced_text(tag: Any) -> str:
    """tag.get_text("") (inline markup adds no space: "<b>Monday</b>, officials" stays
    "Monday, officials"), with a space at each edge of the elements that do separate
    words (paragraphs, line breaks, cells...)."""
    types = tag.interesting_string_types or tag.MAIN_CONTENT_STRING_TYPES
    parts = []
    for event, node in _walk(tag):
        if event == "text":
            if type(node) in types:
                parts.append(str(node))
        elif node.name in _SPACED:
            parts.append(" ")
    return "".join(parts)
