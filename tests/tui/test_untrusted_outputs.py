"""The same hostile strings through all three outputs (the terminal, the Markdown
export and the chat): each shows exactly the same visible text, with control and bidi
characters spelled out as escapes and markup shown literally, and none lets a
terminal, a Markdown viewer or Textual act on them."""

from __future__ import annotations

import io
import re

from conftest import QUESTION, screen_text, settle, wait_until
from markdown_it import MarkdownIt
from rich.console import Console

from assistant.answer.types import Answer, AnswerSentence, Citation
from assistant.render import answer_markdown, print_answer
from assistant.retriever import Hit
from assistant.untrusted import one_line

SENTENCE = "Ferry\x1b]0;pwned\x07opens [here](http://evil.example) <b>now</b> **loud** \u202eevil\x9b2J `tick` #tag."
TITLE = "Title\x1b[5mBLINK\x1b[0m [t](http://t.example)"
FILE = "evil\x1b]0;owned\x07.txt"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")
# What every output must show of the sentence (whitespace aside).
VISIBLE = one_line(SENTENCE)


def hostile_answer() -> Answer:
    hit = Hit(chunk_id=1, article_id=FILE, file=FILE, title=TITLE, date="2022-02-01", source="Out\x1blet", url="",
              start=0, end=len(SENTENCE), text=SENTENCE, score=1.0)
    cite = Citation(n=1, article_id=FILE, file=FILE, title=TITLE, date="2022-02-01", source="Out\x1blet", url="",
                    quote=SENTENCE, start=0, end=len(SENTENCE), chunk_id=1)
    return Answer(question="What <i>now</i>?", sentences=(AnswerSentence(SENTENCE, (1,), "supported", 1.0),),
                  citations=(cite,), hits=(hit,), engine="extractive", generation=1)


def squeeze(text: str) -> str:
    return "".join(text.split())


def terminal_text(answer: Answer, monkeypatch) -> str:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")
    out = io.StringIO()
    monkeypatch.setattr("rich.console.Console", lambda *a, **k: Console(file=out, force_terminal=True, width=400))
    print_answer(answer)
    raw = out.getvalue()
    for seq in re.findall(r"\x1b(.{0,12})", raw, re.DOTALL):
        assert re.match(r"\[[0-9;]*m", seq), f"foreign escape sequence ESC{seq!r}"  # only rich's colours
    return re.sub(r"\x1b\[[0-9;]*m", "", raw)


def markdown_text(answer: Answer) -> str:
    md = answer_markdown(answer)
    tokens = MarkdownIt("commonmark").parse(md)
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in (t.children or [])}
    assert not kinds & {"link_open", "image", "html_inline", "html_block"}
    return "".join(c.content for t in tokens for c in (t.children or []) if c.type in ("text", "text_special", "code_inline"))


async def test_terminal_export_and_chat_show_the_same_text(make_app, monkeypatch):
    answer = hostile_answer()
    shown = {"terminal": terminal_text(answer, monkeypatch), "export": markdown_text(answer)}
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.index_state != "loading", what="the index to load")
        view = await app.chat.conversation.add_exchange(99, QUESTION)
        await view.finish(answer, {})
        app.chat.sources.show(answer, {})
        await settle(pilot)
        shown["chat"] = screen_text(app)
    for where, text in shown.items():
        for ch in RAW:
            assert ch not in text, (where, repr(ch))
        assert squeeze(VISIBLE) in squeeze(text), (where, text)
        assert "\\x1b]0;owned\\x07" in text, where  # the file name, spelled out
        assert "[t](http://t.example)" in text, where  # the title's markup, literally
