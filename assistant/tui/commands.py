"""The command palette (Ctrl+P): every chat action by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (title, help, app action)
PALETTE = [
    ("New conversation", "Start over with an empty conversation", "new_conversation"),
    ("Reopen the last conversation", "Load the most recently saved conversation", "reopen_last"),
    ("Update the index", "Bring the index in line with the article folder, with progress", "build_index"),
    ("Rebuild the index from scratch", "Re-embed every article (fixes a damaged index)", "rebuild_index"),
    ("Export the conversation", "Save it as Markdown or JSON, with sources", "export"),
    ("Settings: engine, model, as-of date, filters", "How the next question is answered", "settings"),
    ("Copy the selected quote", "Put the highlighted source's quote on the clipboard", "copy_quote"),
    ("Timeline of the answer's story", "The articles on it in date order, with what was new in each", "timeline"),
    ("Show or hide the sources pane", "More room for the conversation", "toggle_sources"),
    ("Cancel the answer in progress", "Stop it and put the question back in the input", "cancel_answer"),
    ("Help: all keys", "List every key binding", "help"),
]


class ChatCommands(Provider):
    async def discover(self) -> Hits:
        for title, help_text, action in PALETTE:
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in PALETTE:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.app.run_action, action), text=title, help=help_text)
