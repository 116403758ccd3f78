"""Prompt templates: the `.txt` files beside this module, shipped as package data (or
a folder named by NEWS_ASSISTANT_PROMPTS). A template missing one of its placeholders
fails at load time, not mid-answer."""

from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.errors import PromptError

REQUIRED = {
    "answer": {"question", "passages", "as_of"},
    "rewrite": {"history", "question"},
}


def prompts_dir() -> Path:
    env = os.environ.get("NEWS_ASSISTANT_PROMPTS")
    return Path(env) if env else Path(__file__).resolve().parent


@dataclass(frozen=True)
class Prompt:
    name: str
    template: str

    def render(self, **values: str) -> str:
        return self.template.format(**values)


def parse_template(name: str, text: str, required: set[str]) -> Prompt:
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as e:
        raise PromptError(f"prompt template {name!r} is malformed ({e})", hint="Fix its braces; write {{ and }} for literal ones.") from None
    missing = required - fields
    unknown = fields - required
    if missing:
        raise PromptError(f"prompt template {name!r} lacks the placeholder(s) {', '.join('{' + m + '}' for m in sorted(missing))}",
                          hint=f"Add them to {prompts_dir() / (name + '.txt')}.")
    if unknown:
        raise PromptError(f"prompt template {name!r} has unknown placeholder(s) {', '.join('{' + u + '}' for u in sorted(unknown))}",
                          hint=f"Known: {', '.join(sorted(required))}; write {{{{ and }}}} for literal braces.")
    return Prompt(name, text)


@lru_cache(maxsize=None)
def load_prompt(name: str, folder: Path | None = None) -> Prompt:
    path = (folder or prompts_dir()) / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PromptError(f"cannot read prompt template {path} ({e.strerror})") from None
    return parse_template(name, text, REQUIRED[name])


def load_all(folder: Path | None = None) -> dict[str, Prompt]:
    return {name: load_prompt(name, folder) for name in REQUIRED}


# Any spelling a model would read as a passage tag: "</PASSAGE>", "< /passage >"...
# (only the exact lower-case forms were defused, so "</PASSAGE>" closed the fence).
_TAG_LOOKALIKE = re.compile(r"<(?=\s*/?\s*passage)", re.IGNORECASE)


def _defuse(text: str) -> str:
    return _TAG_LOOKALIKE.sub("‹", text)


# Sentences of each passage a model is given: a small model on a laptop reads a prompt
# at a few dozen tokens a second, so it gets what bears on the question, not whole
# chunks. Measured on the dev set: 2 sentences of 5 passages make a median prompt of
# 605 cl100k tokens instead of 1,022 and keep the answer text for 0.832 of the
# questions instead of 0.842. A passage longer than a chunk (one widened by whole
# sentences, or a chunk of a store built with a larger `chunk_tokens`) keeps as many per
# chunk's worth of its tokens.
SENTENCES_PER_PASSAGE = 2


def passage_extract(text: str, question: str, keep: int | None = None) -> str:
    """The `keep` sentences of a passage that share most words with the question, in
    their order in the passage ("…" where sentences were left out). By default
    `SENTENCES_PER_PASSAGE` for each chunk's worth of tokens in the passage."""
    from assistant.answer.text import content_terms, passage_sentences
    from index.chunker import DEFAULT_MAX_TOKENS, count_tokens

    sents = passage_sentences(0, text)
    if keep is None:
        chunks = max(1, round(count_tokens(text) / DEFAULT_MAX_TOKENS))
        keep = SENTENCES_PER_PASSAGE * chunks
    if len(sents) <= keep or not question:
        return text
    asked = set(content_terms(question))
    ranked = sorted(range(len(sents)), key=lambda i: (-len(asked & set(content_terms(sents[i].text))), i))
    chosen = sorted(ranked[:keep])
    parts, last = [], -1
    for i in chosen:
        if last != -1 and i != last + 1:
            parts.append("…")
        parts.append(sents[i].text)
        last = i
    return " ".join(parts)


_SPACE_RUN = re.compile(r"[ \t]{2,}")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def format_passages(hits, question: str = "") -> str:
    """Passages for a prompt (with a question: only the sentences that bear on it).
    Article text is data: it is fenced, and tag look-alikes inside it are defused so
    an article cannot close its own fence."""
    blocks = []
    for i, h in enumerate(hits, start=1):
        # Withheld text is blanked in the passage (spaces): closed up here.
        body = _defuse(_BLANK_LINES.sub("\n\n", _SPACE_RUN.sub(" ", passage_extract(h.text, question))).strip())
        # The header sits inside the fence too: titles and outlet names come from the
        # article files and are defused like the body.
        head = _defuse(f"{h.title or h.file} ({h.source + ', ' if h.source else ''}{h.date or 'undated'})")
        blocks.append(f'<passage n="{i}">\n[{i}] {head}\n{body}\n</passage>')
    return "\n\n".join(blocks)
