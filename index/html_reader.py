"""The main text of an HTML page: the article, not its menus, scripts and footers."""

from __future__ import annotations

from index.articles import Article, make_article
from index.dates import parse_date
from index.errors import ArticleReadError

_DROP = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form",
         "iframe", "svg", "button", "template", "figure")
_BLOCKS = ("p", "h2", "h3", "h4", "li", "blockquote", "pre")
_SPACED = _BLOCKS + ("br", "div", "section", "article", "main", "ul", "ol", "dl", "dt", "dd",
                     "table", "tr", "td", "th", "h1", "h5", "h6", "hr", "img")


def _meta(soup, *names: str) -> str:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag and tag.get("content"):
            return str(tag["content"]).strip()
    return ""


def parse_html(html: str, rel: str) -> Article:
    from bs4 import BeautifulSoup

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
        raw_date = (t.get("datetime") or t.get_text(strip=True)) if t else ""
    d = parse_date(str(raw_date)[:10]) or parse_date(str(raw_date))
    source = _meta(soup, "og:site_name", "publisher")
    url = _meta(soup, "og:url")
    link = soup.find("link", attrs={"rel": "canonical"})
    if link and link.get("href"):
        url = str(link["href"])
    author = _meta(soup, "author", "article:author")

    for tag in soup(_DROP):
        tag.decompose()
    # Text is joined with "" so that inline markup adds no space: get_text(" ") turned
    # "<b>Monday</b>, officials" into "Monday , officials", which no quote of the
    # article matches. Elements that do separate words get explicit spaces instead.
    for tag in soup.find_all(_SPACED):
        tag.insert_before(" ")
        tag.insert_after(" ")
    root = soup.find("article") or soup.find("main") or soup.body or soup
    paragraphs = []
    for block in root.find_all(_BLOCKS):
        # Skip a block nested inside another collected block (li inside blockquote...).
        if block.find_parent(_BLOCKS):
            continue
        text = " ".join(block.get_text("").split())
        if text and text != title:
            paragraphs.append(text)
    if not paragraphs:
        text = " ".join(root.get_text("").split())
        paragraphs = [text] if text else []
    if not paragraphs:
        raise ArticleReadError(rel, "no article text in this HTML page (only markup or scripts)")
    return make_article(
        rel, rel, title, d.isoformat() if d else None, paragraphs,
        source=source, url=url, author=author,
    )
