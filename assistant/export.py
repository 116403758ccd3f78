"""Export answers and whole conversations, with their sources, to Markdown or JSON.

Every quote carries its article title, date, outlet, path and character offsets, and
the export records the index generation and model that produced it. An existing file
is never overwritten unless the caller says so.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from assistant.answer.types import Answer
from assistant.inert import escape_controls
from assistant.session import ChatSession
from index.errors import NewsAssistantError

Format = Literal["md", "json"]


class ExportExistsError(NewsAssistantError):
    title = "File exists"


_MARKDOWN_CHARS = re.compile(r"[\\`*_{}\[\]<>()#+!|]")


def _md_escape_inline(text: str) -> str:
    """Article text shown as text: Markdown control characters are escaped so that an
    article cannot inject links, images or HTML into an export, and control and bidi
    characters are shown as escapes (a terminal may `cat` the file)."""
    return escape_controls(_MARKDOWN_CHARS.sub(lambda m: "\\" + m.group(0), text))


def _md_code(text: str) -> str:
    """`text` as a code span. A path may hold backticks: the fence is one longer than
    its longest run of them, so the path cannot end the span early and put what follows
    (an HTML tag, a link) into the Markdown as markup."""
    # File names can hold control characters too ("evil\x1b]0;...\x07.txt"): shown as
    # \xNN, since a code span shows everything else verbatim. A newline would end the line.
    text = escape_controls(text, keep_lines=False)
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def answer_markdown(answer: Answer, heading: str = "##") -> str:
    lines = [f"{heading} {_md_escape_inline(answer.question)}", ""]
    marks = {"unsupported": " *(unsupported)*", "unverified": " *(unverified quote)*", "supported": ""}
    body = " ".join(
        _md_escape_inline(s.text) + "".join(f"[{n}]" for n in s.citations) + marks[s.status] for s in answer.sentences
    )
    lines += [body or "*(no answer)*", ""]
    for notice in answer.notices:
        lines += [f"> Note: {_md_escape_inline(notice)}", ""]
    if answer.citations:
        lines += ["**Sources**", ""]
        for c in answer.citations:
            meta = ", ".join(x for x in (c.source, c.date or "undated") if x)
            lines.append(f"{c.n}. *{_md_escape_inline(c.title or c.file)}* ({_md_escape_inline(meta)}) — {_md_code(c.file)}, "
                         f"characters {c.start}–{c.end}")
            lines.append(f"   > {_md_escape_inline(' '.join(c.quote.split()))}")
        lines.append("")
    lines.append(f"*Engine: {answer.engine}; searched for: {_md_escape_inline(answer.search_query)}; "
                 f"as of {answer.as_of}; index generation {answer.store.get('generation', '?')}, "
                 f"model {answer.store.get('model', '?')}.*")
    return "\n".join(lines) + "\n"


def conversation_markdown(session: ChatSession) -> str:
    head = [f"# Conversation {session.id}", "", f"*Started {session.created}; exported "
            f"{datetime.now(timezone.utc).isoformat(timespec='seconds')}.*", ""]
    return "\n".join(head) + "\n" + "\n".join(answer_markdown(t.answer) for t in session.turns)


def render(obj: Answer | ChatSession, fmt: Format) -> str:
    if fmt == "json":
        data = obj.as_json()
        data["exported"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return answer_markdown(obj, "#") if isinstance(obj, Answer) else conversation_markdown(obj)


def export(obj: Answer | ChatSession, path: Path, fmt: Format | None = None, overwrite: bool = False) -> Path:
    """Write `obj` to `path` (format from the suffix when not given). Refuses to replace
    an existing file unless `overwrite`; the write itself is atomic."""
    path = path.expanduser()
    fmt = fmt or ("json" if path.suffix.lower() == ".json" else "md")
    if path.exists() and not overwrite:
        raise ExportExistsError(f"{path} already exists", hint="Choose another name, or pass --force to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(render(obj, fmt), encoding="utf-8")
    if not overwrite:
        # link() fails if the name appeared meanwhile: no race can clobber a file.
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise ExportExistsError(f"{path} already exists", hint="Choose another name, or pass --force.") from None
        finally:
            tmp.unlink(missing_ok=True)
    else:
        os.replace(tmp, path)
    return path
