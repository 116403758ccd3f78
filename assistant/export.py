"""Export answers and whole conversations, with their sources, to Markdown or JSON.

Every quote carries its article title, date, outlet, path and character offsets, and
the export records the index generation and model that produced it. An existing file
is never overwritten unless the caller says so.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from assistant.answer.types import Answer
from assistant.render import answer_markdown, timeline_markdown
from assistant.session import ChatSession
from index.errors import NewsAssistantError, WriteError
from index.writes import write_file_atomic, writing

Format = Literal["md", "json"]


class ExportExistsError(NewsAssistantError):
    title = "File exists"


def conversation_markdown(session: ChatSession) -> str:
    head = [f"# Conversation {session.id}", "", f"*Started {session.created}; exported "
            f"{datetime.now(timezone.utc).isoformat(timespec='seconds')}.*", ""]
    # A timeline the chat showed beside an answer follows that answer.
    return "\n".join(head) + "\n" + "\n".join(
        answer_markdown(t.answer) + ("\n" + timeline_markdown(t.timeline) if t.timeline else "") for t in session.turns)


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
    if path.is_dir():
        raise WriteError(f"cannot write the export: {path} is a folder, where a file is needed",
                         hint=f"Give a file name, such as {path / 'conversation.md'}.")
    if path.exists() and not overwrite:
        raise ExportExistsError(f"{path} already exists", hint="Choose another name, or pass --force to replace it.")
    with writing("the export", path, "choose another file name or folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_file_atomic(path, render(obj, fmt), replace=overwrite)
        except FileExistsError:
            if not path.exists() and not path.is_symlink():
                raise  # a parent that is a file: said by `writing`
            # the name appeared meanwhile: link() refused to clobber it
            raise ExportExistsError(f"{path} already exists", hint="Choose another name, or pass --force.") from None
    return path
