"""Fixtures for the chat app tests.

The seed corpus is indexed once per session, with the real MiniLM embedder (`minilm`
from tests/conftest.py), into a tmp store; tests that damage or rebuild a store work
on a copy. Every test has its own NEWS_ASSISTANT_HOME (tests/conftest.py), so saved
conversations and exports land in a tmp dir.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
AS_OF = date(2022, 2, 1)
QUESTION = "How did Grushko describe the differences?"


@pytest.fixture(autouse=True)
def tui_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of our own even if the suite-wide fixture changes."""
    home = tmp_path / "home"
    monkeypatch.setenv("NEWS_ASSISTANT_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory: pytest.TempPathFactory, minilm) -> Path:
    from assistant.api import NewsAssistant
    from assistant.config import Settings

    store = tmp_path_factory.mktemp("tui-store") / "store"
    NewsAssistant(Settings(corpus=SEEDS, store=store), minilm).build_index()
    return store


@pytest.fixture
def store_copy(seed_store: Path, tmp_path: Path) -> Path:
    """A private copy of the seed store, for tests that break or rebuild it."""
    target = tmp_path / "store-copy"
    shutil.copytree(seed_store, target, ignore=shutil.ignore_patterns("lock"))
    return target


@pytest.fixture
def make_app(minilm, seed_store: Path) -> Callable:
    """make_app(store=..., corpus=..., embedder=..., watch=False, **app_kwargs) -> a NewsApp over the
    seed index, answering as of AS_OF, with a fixed session id and start time."""
    from assistant.api import NewsAssistant
    from assistant.session import ChatSession
    from assistant.tui.app import NewsApp
    from assistant.tui.state import ChatOptions
    from assistant.config import Settings

    def make(store: Path | None = None, corpus: Path = SEEDS, embedder=None, watch: bool = False, **kwargs):
        # The folder watcher is off unless a test is about it: no background builds.
        na = NewsAssistant(Settings(corpus=corpus, store=store or seed_store, watch=watch), embedder or minilm)
        kwargs.setdefault("session", ChatSession(id="test-session", created="2022-02-01T09:00:00+00:00"))
        return NewsApp(na, ChatOptions(as_of=AS_OF), **kwargs)

    return make


async def wait_until(pilot, condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Let the app run until `condition()` holds (workers report asynchronously)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


async def settle(pilot) -> None:
    """Wait for every worker but the folder watcher to finish (failed ones included:
    the app reports those itself) and the screen to catch up."""
    from textual.worker import WorkerFailed

    while True:
        try:
            # Not the folder watcher's: it runs as long as the app does. (An empty list
            # would mean "all" to wait_for_complete.)
            busy = [w for w in pilot.app.workers if w.group != "watch"]
            if busy:
                await pilot.app.workers.wait_for_complete(busy)
            break
        except WorkerFailed:
            await pilot.pause()
    await pilot.pause()
    await asyncio.sleep(0)
    await pilot.pause()


async def ask(pilot, question: str = QUESTION, wait: bool = True) -> None:
    """Type a question (set, not keyed in char by char, to keep tests quick) and send it."""
    app = pilot.app
    await wait_until(pilot, lambda: app.index_state != "loading", what="the index to load")
    field = app.chat.question
    field.focus()
    field.value = question
    await pilot.press("enter")
    if wait:
        await settle(pilot)


class Messages(list):
    """A `message_hook` for run_test that keeps every message the app handles."""

    def __call__(self, message) -> None:
        self.append(message)

    def notifications(self, severity: str | None = None) -> list:
        from textual.notifications import Notify

        found = [m.notification for m in self if isinstance(m, Notify)]
        return [n for n in found if severity is None or n.severity == severity]

    def of(self, kind: type) -> list:
        return [m for m in self if isinstance(m, kind)]


def screen_text(app) -> str:
    """The characters on the terminal right now, line by line."""
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())
