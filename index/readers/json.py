"""`.json` (an object, a list of objects, or `{"articles": [...]}`) and `.jsonl` (one
object a line). A file with some bad objects keeps its good ones and reports the rest."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from index.errors import ArticleReadError
from index.readers.base import Article, FileResult, date_field, make_article, paragraphs_of


def parse_json_object(obj: Any, id: str, rel: str) -> Article:
    if not isinstance(obj, dict):
        raise ArticleReadError(id, f"expected a JSON object, found {type(obj).__name__}")
    body = obj.get("text") or obj.get("body") or obj.get("content")
    if not isinstance(body, str) or not body.strip():
        raise ArticleReadError(id, 'no "text" or "body" field with article text')
    body = body.replace("\r\n", "\n")
    return make_article(
        id, rel, str(obj.get("title") or ""), date_field(obj.get("date")), paragraphs_of(body),
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
    def objects() -> Iterator[tuple[int, str]]:
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


def _collect(rel: str, items: Iterable[tuple[int, Any]], what: str) -> FileResult:
    result = FileResult([])
    for i, obj in items:
        try:
            result.articles.append(parse_json_object(obj, _object_id(rel, obj, i), rel))
        except ArticleReadError as e:
            result.warnings.append(f"{rel}: {what} {i}: {e.reason}; skipped")
    if not result.articles:
        raise ArticleReadError(rel, "no valid article objects in this JSON file")
    return result
