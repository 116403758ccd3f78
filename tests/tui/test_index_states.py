"""The index behind the chat: loaded after the first frame, missing, out of date,
rebuilt while the chat goes on, damaged, or locked by another build."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from conftest import QUESTION, SEEDS, Messages, ask, screen_text, settle, wait_until

from assistant.tui.messages import IndexBuilt
from assistant.tui.widgets.conversation import AnswerMarkdown, AnswerView


class GatedEmbedder:
    """The real embedder, except that load() waits until the test opens the gate."""

    def __init__(self, inner, gate: threading.Event, events: list[str]) -> None:
        self.inner, self.gate, self.events = inner, gate, events
        self.name, self.dim, self.max_input_tokens = inner.name, inner.dim, inner.max_input_tokens

    def load(self):
        self.events.append("load started")
        assert self.gate.wait(30), "the test never released the model"
        self.events.append("model loaded")
        return self.inner.load()

    def embed(self, texts, progress=None):
        return self.inner.embed(texts, progress)

    def input_lengths(self, texts):
        return self.inner.input_lengths(texts)


async def test_first_frame_is_painted_before_the_model_loads(make_app, minilm):
    gate, events = threading.Event(), []
    app = make_app(embedder=GatedEmbedder(minilm, gate, events))
    try:
        async with app.run_test() as pilot:
            await pilot.pause()
            # The screen is up and says what it is waiting for, while load() is still blocked.
            shown = screen_text(app)
            assert "Loading the embedding model" in shown and "Ask about the articles" in shown
            assert "model loaded" not in events
            events.append("first frame")
            await pilot.press(*"typing works")
            assert app.chat.question.value == "typing works"
            gate.set()
            await settle(pilot)
            assert app.chat.status.status.startswith("Ready · 1 article")
    finally:
        gate.set()
    assert events.index("first frame") < events.index("model loaded")


def _article(folder: Path, name: str) -> None:
    (folder / name).write_text(
        "January 20, 2022\n\nLighthouse keepers return to the Breton coast\n\n"
        "Three lighthouses on the Breton coast will again have keepers this winter, the maritime "
        "authority said, after storms damaged the automatic lamps twice in one season.\n",
        encoding="utf-8")


@pytest.fixture
def grown_corpus(tmp_path: Path) -> Path:
    """The seed corpus plus one article the seed index does not have."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    _article(folder, "001_lighthouses.txt")
    return folder


async def test_missing_index_is_offered_and_built_with_progress(make_app, tmp_path):
    app = make_app(store=tmp_path / "no-store-yet")
    messages = Messages()
    async with app.run_test(message_hook=messages) as pilot:
        await settle(pilot)
        assert app.index_state == "missing"
        [offer] = messages.notifications("warning")
        assert "no index" in offer.message and "Ctrl+R" in offer.message
        await pilot.press("ctrl+r")
        await settle(pilot)
        stages = {m.stage for m in messages if type(m).__name__ == "BuildProgressed"}
        assert {"reading", "embedding", "writing"} <= stages
        assert app.index_state == "ready" and not app.chat.build_bar.has_class("-active")
        await ask(pilot)
        [view] = app.chat.conversation.query(AnswerView)
        assert "Fundamental" in view.query_one(AnswerMarkdown).source


async def test_with_the_watcher_on_a_missing_index_is_built_without_a_key(make_app, tmp_path):
    """The chat follows the folder (`watch`, on by default): with no index yet, following
    it starts with building one."""
    app = make_app(store=tmp_path / "no-store-yet", watch=True)
    messages = Messages()
    async with app.run_test(message_hook=messages) as pilot:
        await wait_until(pilot, lambda: app.index_state == "ready", what="the first build")
        assert not messages.notifications("warning")
        assert any(type(m).__name__ == "BuildProgressed" for m in messages)
        await ask(pilot)
        [view] = app.chat.conversation.query(AnswerView)
        assert "Fundamental" in view.query_one(AnswerMarkdown).source


async def test_out_of_date_index_updates_while_the_chat_stays_usable(make_app, store_copy, grown_corpus):
    app = make_app(store=store_copy, corpus=grown_corpus)
    reached, release = threading.Event(), threading.Event()
    real_build = app.na.build_index

    def held_build(rebuild=False, progress=None):
        def report(stage, done, total):
            progress(stage, done, total)
            if stage == "embedding":
                reached.set()
                assert release.wait(30), "the test never released the build"
        return real_build(rebuild=rebuild, progress=report)

    app.na.build_index = held_build
    messages = Messages()
    async with app.run_test(message_hook=messages) as pilot:
        await wait_until(pilot, lambda: app.index_state == "ready", what="the index")
        [stale] = messages.notifications("warning")
        assert "1 added, 0 changed, 0 removed" in stale.message and "Ctrl+R" in stale.message
        await pilot.press("ctrl+r")
        await wait_until(pilot, reached.is_set, what="the build to reach embedding")
        await pilot.pause()
        assert app.chat.build_bar.has_class("-active")
        assert "Embedding passages" in str(app.chat.build_bar.query_one("#build-label").content)
        # The build is mid-way; the chat answers from the generation that is live.
        app.chat.question.focus()
        await pilot.press(*"abc")
        assert app.chat.question.value == "abc"
        app.chat.question.value = QUESTION
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.pending is None and app.chat.sources.prompts(), what="an answer")
        assert "Fundamental" in app.chat.sources.prompts()[0]
        assert not messages.of(IndexBuilt)
        release.set()
        await settle(pilot)
        [built] = messages.of(IndexBuilt)
        assert built.report.added == ["001_lighthouses.txt"] and built.info["articles"] == 2
        assert app.chat.status.status.startswith("Ready · 2 articles")
        assert not app.chat.build_bar.has_class("-active")


def _break_current(store: Path) -> None:
    (store / "CURRENT").write_text("garbage\n")


def _truncate_vectors(store: Path) -> None:
    vectors = store / (store / "CURRENT").read_text().strip() / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])


@pytest.mark.parametrize("damage", [_break_current, _truncate_vectors], ids=["corrupt-CURRENT", "truncated-vectors"])
async def test_broken_store_is_reported_and_can_be_rebuilt(make_app, store_copy, damage):
    damage(store_copy)
    app = make_app(store=store_copy)
    messages = Messages()
    async with app.run_test(message_hook=messages) as pilot:
        await settle(pilot)
        [error] = messages.notifications("error")
        assert "damaged" in error.message and "Ctrl+R" in error.message
        assert app.index_state == "broken" and app.is_running
        # Asking anyway explains again and gives the question back.
        await ask(pilot)
        assert app.chat.question.value == QUESTION
        assert not app.chat.conversation.query(AnswerView)
        assert len(messages.notifications("error")) == 2
        await pilot.press("ctrl+r")  # a damaged index is rebuilt from scratch
        await settle(pilot)
        assert app.index_state == "ready"
        app.chat.question.value = ""
        await ask(pilot)
        assert "Fundamental" in app.chat.sources.prompts()[0]


async def test_build_lock_held_elsewhere_is_a_notification(make_app, store_copy):
    from index.builder import build_lock

    app = make_app(store=store_copy)
    messages = Messages()
    async with app.run_test(message_hook=messages) as pilot:
        await settle(pilot)
        with build_lock(store_copy):
            await pilot.press("ctrl+r")
            await settle(pilot)
        [error] = messages.notifications("error")
        assert "being rebuilt" in error.message and "Wait" in error.message
        assert app.index_state == "ready" and app.is_running
        assert not app.chat.build_bar.has_class("-active")
        await ask(pilot)
        assert "Fundamental" in app.chat.sources.prompts()[0]


async def test_no_articles_is_explained(make_app, tmp_path):
    app = make_app(store=tmp_path / "store", corpus=tmp_path / "no-such-folder")
    messages = Messages()
    async with app.run_test(message_hook=messages) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        [error] = messages.notifications("error")
        assert "does not exist" in error.message and "--corpus" in error.message
        assert app.index_state == "missing" and app.is_running
        assert "No usable index" in app.chat.status.status


async def test_quitting_does_not_wait_for_a_build_in_progress(make_app, store_copy):
    import time

    app = make_app(store=store_copy)
    reached, release = threading.Event(), threading.Event()

    def endless_build(rebuild=False, progress=None):
        reached.set()
        release.wait(60)
        raise RuntimeError("the test released a build that should have been abandoned")

    app.na.build_index = endless_build
    try:
        async with app.run_test() as pilot:
            await settle(pilot)
            await pilot.press("ctrl+r")
            await wait_until(pilot, reached.is_set, what="the build to start")
            started = time.monotonic()
            await pilot.press("ctrl+q")
        assert time.monotonic() - started < 5
        assert app.return_code == 0
    finally:
        release.set()


class ExportingEmbedder(GatedEmbedder):
    """The real embedder, whose prepare() reports a one-time export that waits for the
    gate and then falls back with a notice, as the int8 encoder does when its export
    fails (the real export is tested in test_onnx_encoder.py)."""

    notice: str | None = None

    def prepare(self, progress=None, *, export: bool = True):
        if not export or self.notice:
            return
        if progress:
            progress(0, 4)
            progress(1, 4)
        assert self.gate.wait(30), "the test never released the export"
        self.notice = "the int8 encoder is unavailable (a test); using the fp32 encoder instead."

    def load(self):
        return self.inner.load()


async def test_the_one_time_export_is_shown_while_the_chat_loads(make_app, minilm):
    from assistant.tui.messages import EncoderExportStarted

    gate = threading.Event()
    messages = Messages()
    app = make_app(embedder=ExportingEmbedder(minilm, gate, []))
    try:
        async with app.run_test(message_hook=messages) as pilot:
            await wait_until(pilot, lambda: "Preparing the int8 encoder" in app.chat.status.status,
                             what="the export's status line")
            assert "about 10 s" in app.chat.status.status and len(messages.of(EncoderExportStarted)) == 1
            gate.set()
            await settle(pilot)
            assert app.chat.status.status.startswith("Ready · 1 article")
            [note] = messages.notifications("warning")
            assert "using the fp32 encoder" in note.message
    finally:
        gate.set()
