"""`.html` articles: web pages saved by a browser, an extension or a crawler.

The main text is found by trafilatura, a kept news extractor, chosen by measuring it
against readability-lxml, jusText, newspaper4k and the earlier hand-written reader
(`bench/bench_html.py`, figures in the README). It also gives the page's own metadata:
title, publication date (htmldate: the page's markup, JSON-LD, Open Graph, `<time>`,
the URL; never the file's time), site name, author and canonical URL.

What this module adds around it:
- its output tree becomes paragraphs (one per block, list item or table row, inner
  whitespace collapsed) that the project's boilerplate rules then filter, so the
  article text and every span into it are ours;
- pages that are not articles (a login form, a page that calls itself a list or a
  section front, a page of links) are skipped with a reason;
- the extractor runs under a time limit; if it fails or runs out of time the page is
  read by the simple linear reader (`html_simple`) and the file gets one warning;
- pages nested deeper than lxml's parser keeps (255 levels, the rest is cut) go to the
  simple reader too, which walks any depth.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from index.dates import parse_date
from index.errors import ArticleReadError
from index.injection import Flag, find_injections
from index.readers.base import Article, FileResult, decode_bytes, make_article
from index.readers.deadline import DeadlineExceeded, deadline
from index.readers.html_simple import parse_html_simple

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# The extractor's limit per page. Typical pages take 5-50 ms and the 20,000-paragraph
# page of the reliability tests 1.7 s; past this the page goes to the simple reader.
EXTRACT_SECONDS = 10.0
NO_TEXT = "no article text in this HTML page (only markup, scripts, menus or links)"
_LXML_MAX_DEPTH = 255
# A page this short with a password field is a login wall, not an article.
_LOGIN_MAX_CHARS = 600
# Share of the extracted text that sits inside links, past which the page is a list of
# links to other pages (a front page, a section page, search results).
_LINK_SHARE = 0.6
_LINK_TARGETS = 5
_HEADLINE_CHARS = 150  # mean characters per link, at most, for a page of links
# schema.org types that say "this page lists other pages" when no article type is
# present beside them.
_LISTING_TYPES = frozenset({"CollectionPage", "ItemList", "SearchResultsPage", "SiteNavigationElement"})
_ARTICLE_TYPES = re.compile(r"(Article|BlogPosting|Report|NewsArticle|Posting)$")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_CHROME = ("nav", "header", "footer", "aside", "script", "style", "noscript", "template", "button")
_OUTSIDE_CHROME = " or ".join(f"ancestor-or-self::{tag}" for tag in _CHROME)
_DATELINE_MAX_CHARS = 90
_BYLINE_TAIL = re.compile(r"\s+(by|von|par)\s+[^,.;:]{1,50}$", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_BLOCK_CONTAINERS = ("list", "table", "div")
# Elements of the extractor's output that separate words.
_SEPARATING = frozenset({"lb", "cell", "row", "item", "p", "head", "quote", "list", "table", "div", "code"})


def decode_html(data: bytes, rel: str) -> str:
    """UTF-8 (as every format), else the charset the page declares: pages saved by
    some browsers keep the site's own encoding (windows-1252, ISO-8859-1, Shift_JIS)."""
    try:
        return decode_bytes(data, rel)
    except ArticleReadError as utf8_error:
        declared = _CHARSET.search(data[:4096])
        if not declared or b"\x00" in data[:8192]:
            raise
        try:
            text = data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            raise utf8_error from None
        return decode_bytes(text.encode("utf-8"), rel)


def read_html(text: str, rel: str) -> FileResult:
    """The article in one HTML page, or `ArticleReadError` saying why there is none."""
    from trafilatura.utils import load_html

    _quiet_extractor_logs()
    tree = load_html(text)
    if tree is None or _too_deep(tree):
        return FileResult([parse_html_simple(text, rel)])
    _wrap_stray_list_items(tree)
    not_article = _not_an_article_by_markup(tree)
    if not_article:
        raise ArticleReadError(rel, not_article)
    # Before extraction, which edits the tree and drops what a browser would not show.
    hidden = hidden_injections(tree, text)
    try:
        with deadline(EXTRACT_SECONDS):
            doc = _extract(tree)
    except DeadlineExceeded:
        problem = f"the HTML extractor gave up after {EXTRACT_SECONDS:g} s"
    except Exception as e:  # a bug of the extractor on one page must not stop a build
        problem = f"the HTML extractor failed ({e.__class__.__name__})"
    else:
        return FileResult([_with_hidden(_article_from(doc, tree, text, rel), hidden)])
    article = parse_html_simple(text, rel)
    return FileResult([_with_hidden(article, hidden)], [f"{rel}: {problem}; read with the simple HTML reader instead"])


_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0*(?:\.\d+)?(?:px|pt|em|rem|%)?\s*(?:;|$|!)|"
    r"font-size\s*:\s*1px|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$|!)|(?:height|width)\s*:\s*0(?:px)?\s*;.*overflow\s*:\s*hidden|"
    r"(?:left|top|text-indent)\s*:\s*-\d{3,}", re.IGNORECASE)
# Attributes whose text a reader never sees on the page.
_HIDDEN_ATTRIBUTES = ("alt", "title", "aria-label", "aria-description", "data-prompt", "data-instructions", "content")


_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)


def _hidden_texts(tree: HtmlElement, html: str) -> Iterable[str]:
    """Text of the page a browser would not show: hidden elements, comments (read from
    the HTML: the parser drops them), and attributes (alt and title text, labels,
    <meta> content)."""
    for m in _COMMENT.finditer(html):
        if m.group(1).strip():
            yield m.group(1)
    for node in tree.iter():
        if not isinstance(node.tag, str):
            continue
        for name in _HIDDEN_ATTRIBUTES:
            value = node.get(name)
            if value and value.strip():
                yield value
        if (node.get("hidden") is not None or (node.get("aria-hidden") or "").lower() == "true"
                or _HIDDEN_STYLE.search(node.get("style") or "") or node.tag == "template"):
            yield " ".join(node.itertext())


def hidden_injections(tree: HtmlElement, html: str) -> tuple[Flag, ...]:
    """Hidden text of the page addressed to AI systems. Offsets are into the page's
    HTML where the text is found there as written, else -1."""
    flags: list[Flag] = []
    seen: set[str] = set()
    for text in _hidden_texts(tree, html):
        for f in find_injections(text, "hidden"):
            snippet = _clean(f.text)
            if snippet in seen:
                continue
            seen.add(snippet)
            at = html.find(f.text)
            if at >= 0:
                flags.append(Flag("hidden", at, at + len(f.text), f.reason, f.text))
            else:  # (entities, or spread over several elements)
                flags.append(Flag("hidden", -1, -1, f.reason, snippet))
    return tuple(flags)


def _with_hidden(article: Article, hidden: tuple[Flag, ...]) -> Article:
    return replace(article, hidden_flags=hidden).with_hash() if hidden else article


def _extract(tree: HtmlElement) -> Any:
    from trafilatura import bare_extraction

    return bare_extraction(
        tree,
        # Its fallbacks on (readability and jusText compared when its own result looks
        # thin): +1.7 points of checks held on trafilatura's pages, +0.9 F1 on the Article
        # Extraction Benchmark, for about 5 ms a page.
        fast=False,
        include_comments=False,
        include_tables=True,
        include_links=True,  # kept only to measure the share of text in links
        deduplicate=False,  # a page that repeats a paragraph keeps it
        with_metadata=True,
        # Only the page's markup and URL, not dates mentioned in its text: a wrong date
        # hides an article from questions asked "as of" an earlier day.
        date_extraction_params={"original_date": True, "extensive_search": False},
        config=_config(),
    )


_CONFIG: Any = None


def _config() -> Any:
    """trafilatura's settings, with its minimum text size lowered from 250 characters
    to 0: below it, it replaced its result with a dump of the whole page that glued
    every block of a short article, and the menus around it, into one paragraph."""
    global _CONFIG
    if _CONFIG is None:
        from trafilatura.settings import use_config

        config = use_config()
        config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "0")
        config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # ours is `deadline`
        _CONFIG = config
    return _CONFIG


def _quiet_extractor_logs() -> None:
    """trafilatura and htmldate log a warning per page they find nothing in; with no
    logging set up, Python prints those on stderr between our own lines. Each skipped
    page gets our own one-line reason instead."""
    for name in ("trafilatura", "htmldate", "courlan"):
        logger = logging.getLogger(name)
        if logger.propagate:
            logger.addHandler(logging.NullHandler())
            logger.propagate = False


def _too_deep(tree: HtmlElement) -> bool:
    """True when lxml's parser cut the page at its depth limit (it drops what lies
    deeper without an error). One pass, parent depths kept in a dict: O(elements)."""
    depth: dict[Any, int] = {tree: 0}
    for element in tree.iterdescendants():
        d = depth[element.getparent()] + 1
        if d >= _LXML_MAX_DEPTH:
            return True
        depth[element] = d
    return False


def _wrap_stray_list_items(tree: HtmlElement) -> None:
    """Put each `<li>` outside a list into one: the extractor drops stray items, and
    its fallbacks glued them together without a space ("harbor.harbor")."""
    from lxml.html import Element

    for item in tree.xpath("//li[not(parent::ul or parent::ol or parent::menu)]"):
        wrapper = Element("ul")
        item.addprevious(wrapper)
        wrapper.append(item)


def _not_an_article_by_markup(tree: HtmlElement) -> str:
    """A reason when the page's own markup says it is not an article, else ""."""
    types = _json_ld_types(tree)
    if types & _LISTING_TYPES and not any(_ARTICLE_TYPES.search(t) for t in types):
        return f"not an article: the page describes itself as a list of pages ({', '.join(sorted(types & _LISTING_TYPES))})"
    return ""


def _json_ld_types(tree: HtmlElement) -> set[str]:
    types: set[str] = set()
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack and len(types) < 50:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item[:50])
            elif isinstance(item, dict):
                kind = item.get("@type")
                for k in kind if isinstance(kind, list) else [kind]:
                    if isinstance(k, str):
                        types.add(k)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph[:50])
    return types


def _article_from(doc: Any, tree: HtmlElement, html: str, rel: str) -> Article:
    visible = _visible_text(tree)
    if not visible:
        raise ArticleReadError(rel, NO_TEXT)
    if tree.find(".//input[@type='password']") is not None and len(visible) <= _LOGIN_MAX_CHARS:
        raise ArticleReadError(rel, "not an article: a login page (a password form and almost no text)")
    def page_links() -> tuple[int, int, int, int]:
        return _link_stats(tree.xpath(f"//body//*[not({_OUTSIDE_CHROME})]"), "a", "href")

    if doc is None or doc.body is None:
        # The extractor found no main text (a very short page, or one whose only text
        # sits in links): what the simple reader finds outside menus and footers, unless
        # that is a list of links.
        _refuse_a_page_of_links(rel, *page_links())
        return parse_html_simple(html, rel)
    paragraphs = _paragraphs(doc.body)
    _refuse_a_page_of_links(rel, *_link_stats(doc.body.iter(), "ref", "target"))
    title = _clean(doc.title or "")
    paragraphs = [p for p in paragraphs if not _is_dateline(p)]
    if not [p for p in paragraphs if p != title]:
        # Nothing but the headline: a section page whose teasers the extractor left
        # out says so; else the page's only text is kept (as the simple reader did).
        _refuse_a_page_of_links(rel, *page_links())
        if not paragraphs:
            raise ArticleReadError(rel, NO_TEXT)
        title = ""  # one line that is both title and text is text
    else:
        paragraphs = [p for p in paragraphs if p != title]  # the headline repeated
    return make_article(
        rel, rel, title, doc.date or None, paragraphs,
        source=_clean(doc.sitename or ""), url=(doc.url or "").strip(), author=_clean(doc.author or ""),
    )


def _is_dateline(paragraph: str) -> bool:
    """A byline printed as a paragraph: "Posted on April 29, 2024 by Gwen", "05.08.2024,
    16:30 Uhr". The date is in the metadata already; as text it is noise in a quote."""
    if len(paragraph) > _DATELINE_MAX_CHARS:
        return False
    return parse_date(_BYLINE_TAIL.sub("", paragraph)) is not None


def _visible_text(tree: HtmlElement) -> str:
    """The page's text outside menus, headers, footers, asides and scripts, whitespace
    collapsed. (Forms count as text: ASP.NET pages wrap the whole page in one.)"""
    return _clean(" ".join(tree.xpath(f"//body//text()[not({_OUTSIDE_CHROME})]")))


def _link_stats(elements: Iterable[Any], link_tag: str, target_attr: str) -> tuple[int, int, int, int]:
    """(characters of text inside links, characters in all, distinct link targets,
    links) over
    `elements` in document order. Whether an element sits in a link is its parent's
    answer or its own tag: one pass, not a walk up the ancestors of each element."""
    linked = total = 0
    targets: set[str] = set()
    links = 0
    in_link: dict[Any, bool] = {}
    for element in elements:
        if not isinstance(element.tag, str):
            continue
        own = len((element.text or "").strip()) + sum(len((c.tail or "").strip()) for c in element)
        total += own
        if element.tag == link_tag:
            targets.add(element.get(target_attr) or "")
            links += 1
        inside = in_link[element] = element.tag == link_tag or in_link.get(element.getparent(), False)
        if inside:
            linked += own
    return linked, total, len(targets), links


def _refuse_a_page_of_links(rel: str, linked: int, total: int, targets: int, links: int) -> None:
    """A front page, section page or list of results: most of its text is the titles of
    links, headline-sized, to many different pages. (An article whose every paragraph
    links to the same source, or a deals post whose whole paragraphs are affiliate
    links, is still an article.)"""
    if total and linked / total > _LINK_SHARE and targets >= _LINK_TARGETS and linked / links <= _HEADLINE_CHARS:
        raise ArticleReadError(
            rel, f"not an article: a page of links to other pages ({linked / total:.0%} of its text is "
            f"in links to {targets} pages)"
        )


def _paragraphs(body: HtmlElement) -> list[str]:
    """The extractor's blocks as paragraphs: each top-level block, each list item and
    each table row is one.

    A block that is nothing but a link stays: dropping those cost 3.5 points of the
    article sentences of trafilatura's evaluation pages ("You can download Python 3.6.0
    here") for 0.9 points of boilerplate (bench/bench_html.py)."""
    paragraphs: list[str] = []
    stack = [body]
    while stack:
        block = stack.pop()
        if (block is body or block.tag in _BLOCK_CONTAINERS) and len(block) and not _own_text(block):
            # A list, table or wrapper: its items, rows or blocks are the paragraphs.
            stack.extend(reversed(block))
            continue
        text = _text_of(block)
        if text:
            paragraphs.append(text)
    return paragraphs


def _text_of(element: HtmlElement) -> str:
    """The text of `element` with one space where a line break, cell or item separates
    words (`<lb/>` has no text of its own: "spoke<lb/>in" must not become "spokein"),
    and none at inline markup ("<hi>Mon</hi>day" stays "Monday")."""
    from lxml import etree

    parts: list[str] = []
    for event, node in etree.iterwalk(element, events=("start", "end")):
        if not isinstance(node.tag, str):  # comments, processing instructions
            if event == "end" and node is not element and node.tail:
                parts.append(node.tail)
            continue
        if node.tag in _SEPARATING:
            parts.append(" ")
        if event == "start":
            if node.text:
                parts.append(node.text)
        elif node is not element and node.tail:
            parts.append(node.tail)
    return _clean("".join(parts))


def _own_text(element: HtmlElement) -> bool:
    """Text that sits directly in `element`, not inside one of its children."""
    if element.text and element.text.strip():
        return True
    return any(child.tail and child.tail.strip() for child in element)


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()
