"""Rendering answers and search results: the one place that decides what a reader
sees of an answer (its sentences with their [n] markers, the marks on sentences the
articles do not back, its notices and its sources). The terminal (rich), the
Markdown export and the chat (Markdown plus Textual widgets) are thin users.
Untrusted text goes through `assistant.untrusted` on the way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from assistant.answer.types import Answer, AnswerSentence, Citation, Difference
from assistant.untrusted import file_name, for_markdown, for_rich, markdown_code, one_line

if TYPE_CHECKING:
    from assistant.retriever import SearchResult
    from assistant.timeline import Timeline, TimelineEntry
    from index.watch import WatchEvent

# What a reader is told about a sentence the articles do not back.
STATUS_LABELS = {"unsupported": "unsupported", "unverified": "unverified quote", "contradicted": "contradicts its source",
                 "injected": "repeats text addressed to AI assistants"}
NO_ANSWER = "No answer found in the articles."


def count(n: int, noun: str) -> str:
    """"1 article", "3 articles": a number with its noun (regular plurals only)."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def status_label(s: AnswerSentence) -> str:
    return STATUS_LABELS.get(s.status, "")


def citation_meta(c: Citation) -> str:
    """Outlet, date and file of a citation, on one line."""
    return " · ".join(x for x in (one_line(c.source), c.date or "undated", file_name(c.file)) if x)


NEAREST_LABEL = "Nearest articles (they do not answer the question)"


def difference_line(d: Difference) -> str:
    """'Sources differ on people: [2] (2031-03-13, Northwire) says 30; [1] (...) says 23.'"""
    claims = "; ".join(f"[{c.n}] ({', '.join(x for x in (c.date or 'undated', c.source) if x)}) says {c.value}"
                       for c in d.claims)
    return f"Sources differ on {d.what}: {claims}."


def answer_meta(answer: Answer) -> str:
    """How an answer was made, for its footer."""
    return (f"Engine: {answer.engine}; as of {answer.as_of}; index generation "
            f"{answer.generation if answer.generation is not None else '?'}, model {answer.store.get('model', '?')}")


# -- Markdown (the export and the chat) ------------------------------------------------
def sentences_markdown(sentences: Sequence[AnswerSentence]) -> str:
    """Sentences as one Markdown paragraph: markers as inline code, the unsupported
    mark as emphasis and the unverified one as strong emphasis (the chat styles them
    as warning and error)."""
    parts = []
    for s in sentences:
        marks = " ".join(f"`[{n}]`" for n in s.citations)
        label = status_label(s)
        flag = "" if not label else (f" *({label})*" if s.status == "unsupported" else f" **({label})**")
        parts.append(for_markdown(s.text) + (" " + marks if marks else "") + flag)
    return " ".join(parts)


def answer_body_markdown(answer: Answer) -> str:
    if not answer.answerable:
        return for_markdown(answer.abstention)
    if answer.sentences:
        return sentences_markdown(answer.sentences)
    return "*(cancelled)*" if answer.cancelled else for_markdown(NO_ANSWER)


def answer_markdown(answer: Answer, heading: str = "##") -> str:
    """A whole answer as a Markdown section: question, body, notices, sources, meta."""
    lines = [f"{heading} {for_markdown(answer.question)}", "", answer_body_markdown(answer), ""]
    for d in answer.differences:
        lines += [f"> **{for_markdown(difference_line(d))}**", ""]
    for notice in answer.notices:
        lines += [f"> Note: {for_markdown(notice)}", ""]
    listed = answer.citations or answer.nearest
    if listed:
        lines += [f"**{'Sources' if answer.answerable else for_markdown(NEAREST_LABEL)}**", ""]
        for c in listed:
            meta = ", ".join(x for x in (c.source, c.date or "undated") if x)
            lines.append(f"{c.n}. *{for_markdown(c.title or c.file)}* ({for_markdown(meta)}) — {markdown_code(c.file)}, "
                         f"{c.location()}")
            lines.append(f"   > {for_markdown(c.quote)}")
        lines.append("")
    lines.append(f"*{for_markdown(answer_meta(answer) + '; searched for: ' + answer.search_query)}*")
    return "\n".join(lines) + "\n"


# -- the terminal ---------------------------------------------------------------------
def sentence_rich(s: AnswerSentence) -> str:
    marks = "".join(f"[{n}]" for n in s.citations)
    text = for_rich(s.text) + (" " + for_rich(marks) if marks else "")
    if s.status == "unsupported":
        return f"[yellow]{text} ({status_label(s)})[/yellow]"
    if s.status in ("unverified", "contradicted", "injected"):
        return f"[red]{text} ({status_label(s)})[/red]"
    return text


def print_answer(answer: Answer, body: bool = True) -> None:
    """The answer on the terminal; `body=False` when its sentences were already shown
    while it was made, so it is printed once."""
    from rich.console import Console

    console = Console()
    if not answer.answerable:
        console.print(f"[yellow]{for_rich(answer.abstention)}[/yellow]")
    elif body:
        console.print(" ".join(sentence_rich(s) for s in answer.sentences) or f"[dim]{NO_ANSWER}[/dim]")
    for d in answer.differences:
        console.print(f"[bold magenta]{for_rich(difference_line(d))}[/bold magenta]")
    for n in answer.notices:
        console.print(f"[yellow]note:[/yellow] {for_rich(n)}")
    listed = answer.citations or answer.nearest
    if listed:
        console.print(f"\n[bold]{'Sources' if answer.answerable else NEAREST_LABEL}[/bold]")
    for c in listed:
        console.print(f"[bold][{c.n}][/bold] {for_rich(c.title or c.file)} [dim]— {for_rich(citation_meta(c))}, "
                      f"{c.location()}[/dim]")
        quote = one_line(c.quote)
        if not answer.answerable and len(quote) > 300:  # a whole passage: its opening is enough
            quote = quote[:300].rsplit(" ", 1)[0] + "…"
        console.print(f"    “{for_rich(quote)}”")


def print_hits(res: "SearchResult") -> None:
    from rich.console import Console

    console = Console()
    note = f" (time cue: {res.window.cue} → {res.window.start}..{res.window.end})" if res.window else ""
    console.print(f"[dim]as of {res.as_of}{note}; {len(res.hits)} hits[/dim]")
    for i, h in enumerate(res.hits, 1):
        console.print(f"[bold]{i}. {for_rich(one_line(h.title or h.file))}[/bold] [dim]{for_rich(one_line(h.source))} "
                      f"{h.date or 'undated'} {for_rich(file_name(h.file))} [{h.start}:{h.end}] score {h.score:.4f}[/dim]")
        if h.duplicates:
            console.print(f"   [dim]same passage in: {for_rich(', '.join(file_name(d) for d in h.duplicates))}[/dim]")
        console.print("   " + for_rich(one_line(h.text)[:400]))


# -- timelines ----------------------------------------------------------------------------
TIMELINE_EMPTY = "No article on this story."


def timeline_heading(t: "Timeline") -> str:
    n = len(t.entries)
    span = f", {t.entries[0].date or 'undated'} to {t.entries[-1].date or 'undated'}" if n > 1 else ""
    return f"{count(n, 'article')} on this story{span} (as of {t.as_of}; {t.candidates} considered)"


def entry_head(e: "TimelineEntry") -> str:
    """Date, outlet and title of a timeline line, and the copies folded into it."""
    parts = [e.date or "undated", one_line(e.source) if e.source else "", one_line(e.title or file_name(e.file))]
    head = " · ".join(p for p in parts if p)
    if e.duplicates:
        head += f" (+{len(e.duplicates)} cop{'ies' if len(e.duplicates) != 1 else 'y'})"
    return head


def print_timeline(t: "Timeline") -> None:
    from rich.console import Console

    console = Console()
    if not t.entries:
        console.print(f"[dim]{TIMELINE_EMPTY}[/dim]")
        return
    console.print(f"[dim]{for_rich(timeline_heading(t))}[/dim]")
    for e in t.entries:
        console.print(f"[bold]{for_rich(entry_head(e))}[/bold] [dim]{for_rich(file_name(e.file))}[/dim]")
        console.print(f"    {for_rich(one_line(e.sentence))}")
        if e.duplicates:
            console.print(f"    [dim]same story also in: {for_rich(', '.join(file_name(d) for d in e.duplicates))}[/dim]")


def timeline_markdown(t: "Timeline", heading: str = "###") -> str:
    """The timeline as a Markdown section (the export, when the chat showed it)."""
    lines = [f"{heading} Timeline: {for_markdown(t.query)}", "", f"*{for_markdown(timeline_heading(t))}*", ""]
    if not t.entries:
        lines.append(for_markdown(TIMELINE_EMPTY))
    for e in t.entries:
        lines.append(f"- **{for_markdown(entry_head(e))}** — {markdown_code(e.file)}, article text chars "
                     f"{e.start}-{e.end}")
        lines.append(f"  > {for_markdown(e.sentence)}")
        if e.duplicates:
            lines.append(f"  Same story also in: {', '.join(markdown_code(d) for d in e.duplicates)}")
    return "\n".join(lines) + "\n"


# -- the folder watcher (`assistant watch`, the chat's status line) -------------------
def changes_summary(added: int, changed: int, removed: int) -> str:
    return f"{added} added, {changed} changed, {removed} removed"


def update_line(event: "WatchEvent", names: int = 3) -> str:
    """One line for a published update: when, what changed (with a few file names),
    the generation it made and how long it took."""
    from datetime import datetime

    r = event.report
    assert r is not None
    files = r.added + r.changed + r.removed
    shown = ", ".join(file_name(f) for f in files[:names]) + (f", … (+{len(files) - names})" if len(files) > names else "")
    return (f"{datetime.now():%H:%M:%S} {changes_summary(len(r.added), len(r.changed), len(r.removed))}"
            f" ({shown}); generation {r.generation}: {count(r.articles, 'article')}, {count(r.chunks, 'passage')}; {r.seconds:.1f}s")


def watch_notice(event: "WatchEvent") -> str:
    """What the watcher is doing besides publishing (empty when nothing is worth saying)."""
    if event.kind == "building":
        n = len(event.paths)
        return f"Indexing {count(n, 'changed path')}…" if n else "Bringing the index in line with the folder…"
    if event.kind == "unchanged" and not event.paths and event.report is not None:
        return f"Index is up to date: {count(event.report.articles, 'article')}. Waiting for changes."
    if event.kind == "skipped":
        return "\n".join(f"warning: skipped {file_name(s.path)}: {one_line(s.reason)}" for s in event.skipped)
    if event.kind == "waiting":
        return f"waiting: {one_line(event.message)}; the update will follow when it is done."
    if event.kind == "failed":
        hint = f" {event.error.hint}" if event.error is not None and event.error.hint else ""
        return f"error: the update failed ({one_line(event.message)}); the index is unchanged.{hint}"
    return ""
