"""Printing search results and answers on the terminal with rich. Article text is
printed as text (rich markup and terminal escapes in it are neutralised)."""

from __future__ import annotations

from assistant.answer.types import Answer
from assistant.inert import escape_controls
from assistant.retriever import SearchResult

def safe(text: str) -> str:
    """Text from an article, made inert: no escape sequences, no rich markup."""
    from rich.markup import escape

    return escape(escape_controls(text))


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
