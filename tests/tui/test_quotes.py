"""Article text reaches the chat as text: no markup, links or control sequences."""

from __future__ import annotations

from assistant.answer.types import Answer, AnswerSentence
from assistant.render import answer_body_markdown
from assistant.tui.quotes import paragraphs, quote_context
from assistant.untrusted import escape_controls, for_markdown, one_line
from assistant.tui.widgets.conversation import safe_parser

HOSTILE = "Click [here](http://evil.example) or <b>bold</b> **now** www.evil.example `x` # \x1b[31mred\x1b[0m\x07 &amp; _u_"


def rendered_text(markdown: str) -> tuple[str, list[str]]:
    """What a Markdown viewer would show, and the token types it would style."""
    tokens = safe_parser().parse(markdown)
    text, kinds = [], []
    for t in tokens:
        for child in t.children or []:
            kinds.append(child.type)
            if child.type in ("text", "text_special"):
                text.append(child.content)
    return "".join(text), kinds


def test_escaped_markdown_renders_as_the_original_text():
    text, kinds = rendered_text(for_markdown(HOSTILE))
    assert text == one_line(HOSTILE)
    assert "\x1b" not in text and "\\x1b[31mred" in text
    assert not {"link_open", "image", "html_inline", "em_open", "strong_open", "code_inline"} & set(kinds)


def test_control_characters_are_shown_escaped():
    assert escape_controls("a\x1b[2Jb\x9bc\u202ed\te") == "a\\x1b[2Jb\\x9bc\\u202ed\te"
    assert one_line("a\x1b[2Jb\n\tc") == "a\\x1b[2Jb c"


def test_answer_marks_unsupported_and_unverified_sentences():
    answer = Answer(
        question="q", citations=(), hits=(), engine="extractive",
        sentences=(
            AnswerSentence("Backed [by] a quote.", (1,), "supported", 0.9),
            AnswerSentence("A guess.", (), "unsupported", 0.1),
            AnswerSentence("Misquoted.", (2,), "unverified", 0.2),
        ),
    )
    text, kinds = rendered_text(answer_body_markdown(answer))
    assert text.startswith("Backed [by] a quote.")
    assert "(unsupported)" in text and "(unverified quote)" in text
    assert kinds.count("code_inline") == 2  # the [1] and [2] markers
    assert "em_open" in kinds and "strong_open" in kinds  # styled as warning / error


def test_quote_context_cuts_at_words_and_flags_changed_articles():
    text = "word " * 100 + "THE QUOTE" + " word" * 100
    start = text.index("THE QUOTE")
    before, quote, after, verbatim = quote_context(text, start, start + 9, "THE QUOTE", width=30)
    assert verbatim and quote == "THE QUOTE"
    assert before.startswith("…") and after.endswith("…")
    assert len(before) <= 31 and len(after) <= 31
    assert quote_context("other text", 0, 5, "THE QUOTE")[3] is False


def test_paragraph_offsets():
    text = "One line.\nSame para.\n\n  \nSecond.\n"
    assert [text[a:b] for a, b in paragraphs(text)] == ["One line.\nSame para.", "Second."]
