"""The whole article behind a citation, scrolled to the quote, quote highlighted.

The article is laid out one widget per paragraph so that scrolling to the quote is
scrolling to a widget, whatever the terminal width does to line wrapping. The text
is split at the quote's offsets first and cleaned piece by piece afterwards, so the
highlight lands on exactly the cited characters."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from assistant.answer.types import Citation
from assistant.answer.text import quote_at
from assistant.tui.quotes import paragraphs
from assistant.untrusted import escape_controls, one_line
from assistant.tui.widgets.sources import QUOTE_STYLE, citation_meta


# Text addressed to AI assistants (flagged at indexing): struck through in the error colour.
FLAGGED_STYLE = "strike $text-error"
FLAGGED_NOTE = ("Struck-through text is addressed to AI assistants, not to readers: it was withheld from the "
                "answer (never sent to a model, never quoted).")


def paragraph_content(text: str, start: int, end: int, q_start: int, q_end: int,
                      flagged: tuple[tuple[int, int], ...] = ()) -> Content:
    """Paragraph text[start:end] with the part inside [q_start, q_end) highlighted and
    the `flagged` spans marked."""
    cuts = sorted({start, end} | {x for s, e in ((q_start, q_end), *flagged) for x in (s, e) if start < x < end})
    parts: list = []
    for a, b in zip(cuts, cuts[1:]):
        piece = escape_controls(text[a:b])
        styles = ([QUOTE_STYLE] if q_start <= a < q_end else []) + ([FLAGGED_STYLE] if any(s <= a < e for s, e in flagged) else [])
        parts.append((piece, " ".join(styles)) if styles else piece)
    return Content.assemble(*parts) if parts else Content("")


class ArticleScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("c", "copy_quote", "Copy quote"),
        Binding("g", "scroll_to_quote", "Go to quote"),
    ]

    DEFAULT_CSS = """
    ArticleScreen {
        #article-head { background: $panel; padding: 0 1; height: auto; }
        #article-body { padding: 0 2; }
        .paragraph { margin: 1 0 0 0; }
        .paragraph.-quote { border-left: outer $warning; padding-left: 1; }
        #article-note { color: $text-warning; margin-top: 1; }
        #article-flags { color: $text-error; margin-top: 1; }
        .paragraph.-flagged { border-left: outer $error; padding-left: 1; }
    }
    """

    def __init__(self, citation: Citation, text: str | None, flagged: tuple[tuple[int, int], ...] = (),
                 hidden: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.citation = citation
        self.text = text
        self.flagged = flagged
        self.hidden = hidden
        self.verbatim = quote_at(text, citation.start, citation.end, citation.quote)

    def compose(self):
        c = self.citation
        yield Static(Content.assemble(
            (f"[{c.n}] ", "bold $text-accent"), (one_line(c.title or c.file), "bold"), "\n",
            (citation_meta(c) + f" · characters {c.start}–{c.end}", "$text-muted"),
        ), id="article-head")
        with VerticalScroll(id="article-body"):
            if not self.verbatim:
                note = ("This article is no longer in the index." if not self.text else
                        "The article has changed since this answer; the quote is not at its old place.")
                yield Static(Content.assemble((note, ""), "\nQuote: ", (one_line(c.quote), QUOTE_STYLE)), id="article-note")
            text = self.text or ""
            if self.flagged or self.hidden:
                note = FLAGGED_NOTE if self.flagged else ""
                if self.hidden:
                    note += (" " if note else "") + "The page also hides text addressed to AI assistants: " + "; ".join(
                        "“" + one_line(h) + "”" for h in self.hidden)
                yield Static(Content(note), id="article-flags")
            q_start, q_end = (c.start, c.end) if self.verbatim else (0, 0)
            for start, end in paragraphs(text):
                widget = Static(paragraph_content(text, start, end, q_start, q_end, self.flagged), classes="paragraph")
                if start < q_end and q_start < end:
                    widget.add_class("-quote")
                if any(s < end and start < e for s, e in self.flagged):
                    widget.add_class("-flagged")
                yield widget
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#article-body").focus()
        self.call_after_refresh(self.action_scroll_to_quote)

    def action_scroll_to_quote(self) -> None:
        target = self.query(".paragraph.-quote")
        if not target:
            return
        body, paragraph = self.query_one("#article-body", VerticalScroll), target.first()
        if paragraph.outer_size.height < body.scrollable_content_region.height:
            body.scroll_to_center(paragraph, animate=False)
        else:  # taller than the view: show its start, where the quote's paragraph begins
            body.scroll_to_widget(paragraph, animate=False, top=True)

    def action_copy_quote(self) -> None:
        self.app.copy_to_clipboard(escape_controls(self.citation.quote))
        self.notify(f"Copied quote [{self.citation.n}] to the clipboard.", markup=False)
