"""Printing search results and answers on the terminal with rich. Article text is
printed as text (rich markup and terminal escapes in it are neutralised)."""

from __future__ import annotations

import re

from assistant.answer.types import Answer
from assistant.retriever import SearchResult

# C0 controls but tab and newline, DEL, all of C1 (not only 0x9b: 0x9d starts an OSC
# sequence on terminals that honour 8-bit controls), and the bidi overrides that make
# text display in another order than it reads (as assistant/tui/safe_text.py does).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(ch: str) -> str:
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def safe(text: str) -> str:
    """Text from an article, made inert: no escape sequences, no rich markup."""
    from rich.markup import escape

    return escape(_CONTROL.sub(lambda m: _escaped(m.group(0)), text))


def print_hits(res: SearchResult) -> None:
    from rich.console import Console

    console = Console()
    note = f" (time cue: {res.window.cue} → {res.window.start}..{res.window.end})" if res.window else ""
    console.print(f"[dim]as of {res.as_of}{note}; {len(res.hits)} hits[/dim]")
    for i, h in enumerate(res.hits, 1):
        console.print(f"[bold]{i}. {safe(h.title or h.file)}[/bold] [dim]{safe(h.source)} {h.date or 'undated'} "
                      f"{safe(h.file)} [{h.start}:{h.end}] score {h.score:.4f}[/dim]")
        if h.duplicates:
            console.print(f"   [dim]same passage in: {safe(', '.join(h.duplicates))}[/dim]")
        console.print("   " + safe(" ".join(h.text.split())[:400]))


def print_answer(answer: Answer) -> None:
    from rich.console import Console

    console = Console()
    parts = []
    for s in answer.sentences:
        marks = "".join(f"[{n}]" for n in s.citations)
        text = safe(s.text) + (" " + safe(marks) if marks else "")
        if s.status == "unsupported":
            text = f"[yellow]{text} (unsupported)[/yellow]"
        elif s.status == "unverified":
            text = f"[red]{text} (unverified quote)[/red]"
        parts.append(text)
    console.print(" ".join(parts) or "[dim]No answer found in the articles.[/dim]")
    for n in answer.notices:
        console.print(f"[yellow]note:[/yellow] {safe(n)}")
    if answer.citations:
        console.print("\n[bold]Sources[/bold]")
    for c in answer.citations:
        console.print(f"[bold][{c.n}][/bold] {safe(c.title or c.file)} [dim]— {safe(c.source) + ', ' if c.source else ''}"
                      f"{c.date or 'undated'}, {safe(c.file)} chars {c.start}-{c.end}[/dim]")
        console.print(f"    “{safe(' '.join(c.quote.split()))}”")
