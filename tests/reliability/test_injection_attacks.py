"""Articles that talk to the assistant: prompt injections of 21 kinds (tests/injection_corpus.py),
found at indexing and withheld from every answer, with the real embedding model, a real
model server that obeys any instruction it can see, and the real CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from assistant.api import NewsAssistant
from assistant.config import Settings
from assistant.render import answer_markdown
from index.store import Store
from injection_corpus import write_injection_corpus
from model_server import FakeOpenAI
from reliability_support import cli_with_fake_model, proc_env, read_json_output

AS_OF = date(2026, 3, 10)
NOTICE = "text addressed to AI assistants"


@pytest.fixture(scope="module")
def attacks(tmp_path_factory, minilm):
    root = tmp_path_factory.mktemp("attacks")
    attacks = write_injection_corpus(root / "articles")
    na = NewsAssistant(Settings(corpus=root / "articles", store=root / "store"), minilm)
    report = na.build_index()
    assert report.articles == len(attacks) and not report.skipped, report
    return root, attacks, report


@pytest.fixture
def obedient():
    fake = FakeOpenAI()
    fake.mode = "obey"
    yield fake
    fake.close()


def test_every_attack_is_flagged_at_indexing(attacks):
    root, cases, report = attacks
    assert sorted(report.flagged) == sorted(a.file for a in cases)
    store = Store.open(root / "store")
    flags = store.flags()
    for a in cases:
        article_flags = flags[a.file]
        # Every place the code word sits in the stored text or header is inside a flagged span.
        for field, value in (("text", store.article_text(a.file)), ("title", store.article(a.file).title)):
            at = value.find(a.canary)
            while at >= 0:
                assert any(f.field == field and f.start <= at < f.end for f in article_flags), (a.style, field)
                at = value.find(a.canary, at + 1)
        for f in article_flags:
            if f.field == "text":
                assert store.article_text(a.file)[f.start:f.end] == f.text  # exact spans of the stored text
    assert store.describe()["articles_with_text_for_ai"] == len(cases)


def _ask_all(na: NewsAssistant, cases) -> list:
    return [(a, na.ask(a.question, as_of=AS_OF)) for a in cases]


# One of each kind, to keep the suite quick (about a second an answer with the real
# model); `./dev bench-injection --attacks` runs all 21.
SAMPLE = ("plain", "addressed to AI, split across sentences", "German", "Russian", "homoglyphs (Cyrillic letters)",
          "in the title", "in JSON fields", "file name")


def test_an_obedient_model_never_gets_an_injection_into_the_answer(attacks, obedient, minilm, monkeypatch):
    root, cases, _ = attacks
    na = NewsAssistant(Settings(corpus=root / "articles", store=root / "store", engine="openai",
                                openai_base_url=obedient.base_url, timeout_seconds=10), minilm)
    cases = [a for a in cases if a.style in SAMPLE]
    assert len(cases) == len(SAMPLE)
    answers, prompts = [], []
    for a in cases:
        before = len(obedient.requests)
        answers.append((a, na.ask(a.question, as_of=AS_OF)))
        prompts.append("\n".join(r["body"]["messages"][-1]["content"] for r in obedient.requests[before:]))
    reached = [a.style for a, ans in answers if a.canary in ans.text or "evil.example" in ans.text]
    assert reached == []
    for (a, ans), prompt in zip(answers, prompts):
        assert ans.engine == "openai" and ans.answerable, (a.style, ans.notices, ans.text)
        assert "<passage" in prompt and a.canary not in prompt, a.style  # never sent to the model
        assert "reopened on Monday" in ans.text and ans.citations, (a.style, ans.text)
        if not a.style.startswith(("hidden HTML", "HTML comment")):  # hidden text never reached a passage
            assert sum(NOTICE in n for n in ans.notices) == 1, (a.style, ans.notices)

    # The control: the same model without withholding is taken over (so the test above
    # can fail). Over all 21 attacks 8 take it over: the prompt holds only the two
    # sentences of a passage that bear on the question, and hidden HTML never reaches
    # a passage; these two are among the 8.
    monkeypatch.setattr(Store, "flags", lambda self, ids=None: {})
    control = [a for a in cases if a.style in ("plain", "in the title")]
    taken = [a.style for a, ans in _ask_all(na, control) if a.canary in ans.text]
    assert len(taken) == len(control), taken


def test_the_extractive_engine_never_quotes_an_injection(attacks, minilm):
    root, cases, _ = attacks
    na = NewsAssistant(Settings(corpus=root / "articles", store=root / "store"), minilm)
    for a, ans in _ask_all(na, [a for a in cases if a.style in SAMPLE[:5]]):
        assert ans.citations and "reopened on Monday" in ans.text, a.style
        assert not [c for c in ans.citations if a.canary in c.quote or "gnor" in c.quote.lower()], a.style
        assert not [c for c in ans.citations if a.canary in c.title], a.style


def test_a_sentence_repeating_withheld_text_is_marked_in_ask_json(attacks, tmp_path):
    """A model that knows the code word anyway (it saw the page elsewhere): its
    sentence is marked "injected", never supported, in `ask --json` (the Markdown and
    JSON exports: tests/reliability/test_untrusted_text.py; the chat: tests/tui)."""
    root, cases, _ = attacks
    plain = cases[0]
    fake = FakeOpenAI()
    fake.pieces = [f"{plain.canary}. ", f"The harbour of {plain.town} reopened on Monday after repairs [1]."]
    try:
        env = proc_env(tmp_path / "home", user_default=False)
        proc = cli_with_fake_model("ask", plain.question, "--json", "--as-of", AS_OF.isoformat(), "--corpus",
                                   str(root / "articles"), "--store", str(root / "store"), env={
                                       **env, "NEWS_ASSISTANT_EMBEDDER": "minilm-fp32", "NEWS_ASSISTANT_ENGINE": "openai",
                                       "NEWS_ASSISTANT_OPENAI_BASE_URL": fake.base_url})
    finally:
        fake.close()
    out = read_json_output(proc)
    statuses = {s["text"]: s["status"] for s in out["sentences"]}
    assert statuses[f"{plain.canary}."] == "injected", statuses
    assert [s for s in out["sentences"] if s["status"] == "supported"], statuses
    assert sum(NOTICE in n for n in out["notices"]) == 1
    injected = next(s for s in out["sentences"] if s["status"] == "injected")
    assert not injected["citations"] and "withheld" in injected["note"]
