"""Text addressed to AI systems, withheld from everything an answer is made of.

The index records such text as flags (`index.injection`, `Store.flags`). Before an
answer is made, every flagged character of a passage is blanked (replaced by a space,
line breaks kept), so offsets stay those of the article: what the extractive engine
picks, what grounding counts as support, what the differences finder compares and
what the prompt shows can then never be flagged text, and any quote still checks
against the store. A flagged title, outlet name (or file name, for an untitled
article) is left out of the passage's header the same way.

A model may still repeat such text (it saw it elsewhere, or the detector missed part
of it): `repeats_withheld` says when an answer sentence does, and grounding marks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from assistant.answer.text import STOPWORDS
from assistant.retriever import Hit
from index.injection import Flag, fold_text

UNTITLED = "untitled"
_WORDS = re.compile(r"\w[\w'-]*")
_LINK = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|ru|cn|xyz|info|biz|co|me|ly)\b(?:/\S*)?",
                   re.IGNORECASE)
_CODE = re.compile(r"\b(?:[A-Z]{3,}|\w*\d\w*)\b")
# Share of a sentence's words that must come from withheld text, besides at least one
# word (or link) that no passage and not the question holds.
REPEAT_SHARE = 0.5


@dataclass(frozen=True)
class Withheld:
    hits: tuple[Hit, ...]  # the passages with flagged text blanked
    texts: tuple[str, ...]  # flagged text of the passages' articles
    passages: int  # how many passages held flagged text (in their text or header)

    def notice(self) -> str | None:
        if not self.passages:
            return None
        n = self.passages
        return (f"{n} of the {len(self.hits)} passages held text addressed to AI assistants; it was withheld: "
                "never sent to a model, never quoted, never counted as support." if len(self.hits) > 1 else
                "The passage held text addressed to AI assistants; it was withheld: never sent to a model, "
                "never quoted, never counted as support.")


def _blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    chars = list(text)
    for s, e in spans:
        for k in range(max(0, s), min(len(chars), e)):
            if chars[k] != "\n":
                chars[k] = " "
    return "".join(chars)


def withhold(hits: Sequence[Hit], flags: Mapping[str, Sequence[Flag]]) -> Withheld:
    """`hits` with the flagged text of their articles blanked."""
    out: list[Hit] = []
    texts: list[str] = []
    touched = 0
    seen: set[str] = set()
    for h in hits:
        article_flags = flags.get(h.article_id, ())
        if h.article_id not in seen:
            seen.add(h.article_id)
            texts += [f.text for f in article_flags]
        body = [(f.start - h.start, f.end - h.start) for f in article_flags
                if f.field == "text" and f.start < h.end and f.end > h.start]
        title_spans = [(f.start, f.end) for f in article_flags if f.field == "title"]
        file_flagged = any(f.field == "file" for f in article_flags)
        source = "" if any(f.field == "source" for f in article_flags) else h.source
        title = h.title
        if title_spans:
            title = " ".join(_blank(title, title_spans).split())
        if (title_spans or (file_flagged and not h.title)) and not title:
            title = UNTITLED
        if body or title != h.title or source != h.source:
            touched += 1
            h = replace(h, text=_blank(h.text, body), title=title, source=source)
        out.append(h)
    return Withheld(tuple(out), tuple(texts), touched)


def _terms(text: str) -> list[str]:
    return [w for w in _WORDS.findall(fold_text(text)) if len(w) > 1 and w not in STOPWORDS]


def repeats_withheld(sentence: str, withheld: Sequence[str], passages: Sequence[str], question: str = "") -> str:
    """Why `sentence` repeats withheld text ('' when it does not): a link from it, or
    words from it that no passage (as the model was given them) and not the question
    holds, making up at least half of the sentence's words."""
    if not withheld:
        return ""
    flagged = fold_text(" ".join(withheld))
    links = [m.group(0).rstrip(".,;:)]") for m in _LINK.finditer(fold_text(sentence))]
    repeated_links = [link for link in links if link in flagged]
    if repeated_links:
        return f"it repeats a link from text addressed to AI assistants ({repeated_links[0]}), which was withheld"
    terms = _terms(sentence)
    if not terms:
        return ""
    flagged_terms = set(_WORDS.findall(flagged))
    known = {t for p in passages for t in _terms(p)} | set(_terms(question))
    shared = [t for t in terms if t in flagged_terms]
    foreign = [t for t in dict.fromkeys(shared) if t not in known]
    # A code word such as "PWNED" or "X-7" is what injected text asks to have repeated.
    codes = {fold_text(w) for w in _CODE.findall(sentence)}
    if foreign and (len(shared) >= REPEAT_SHARE * len(terms) or codes & set(foreign)):
        return f"it repeats text addressed to AI assistants ({', '.join(foreign[:3])}), which was withheld from the passages"
    return ""
