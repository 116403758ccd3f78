"""Keeping a store in line with its folder while files come and go.

`watch_folder` waits for changes under the corpus folder (`watchfiles`: inotify on
Linux, FSEvents on macOS, polling elsewhere) and calls a build when they have settled:

- debounce: a build starts only once no event has arrived for `quiet_seconds`, so a
  batch copy of hundreds of files makes one build or a few, not one per file;
- stability: every file named by an event must also have kept its size and time for
  `settle_seconds`, so a file still being written (a slow copy, a download) is not
  indexed half-way; after `max_delay_seconds` the build runs anyway (a file written
  for minutes is indexed as it stands, and again when it changes);
- the lock: a build refused because another process holds the store's lock (a manual
  `assistant index`, another watcher) is retried until that one finishes.

Nothing here prints or knows about a UI: what happens is handed to `on_event` as a
`WatchEvent`, and the front ends (`assistant watch`, the chat) say it their way.
The decision logic (`PendingChanges`) takes the clock and `stat` as arguments, so
it is tested without sleeping.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Literal

from index.builder import BuildReport
from index.corpus import SkippedFile, check_corpus
from index.errors import CorpusError, NewsAssistantError, StoreLockedError
from index.readers import ARTICLE_SUFFIXES

Signature = tuple[int, int] | None  # (size, mtime_ns); None: the path does not exist


@dataclass(frozen=True)
class WatchSettings:
    quiet_seconds: float = 1.0
    """No event for this long before a build starts (the debounce)."""
    settle_seconds: float = 2.0
    """A changed file must keep its size and time this long before it is read."""
    max_delay_seconds: float = 30.0
    """Changes never wait longer than this for the folder to quieten down."""
    retry_seconds: float = 1.0
    """How often a build refused by the store's lock is tried again."""
    tick_seconds: float = 0.25
    """How often the loop wakes up without events (to check stability, or stop)."""


def signature(path: str) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


@dataclass
class _Seen:
    sig: Signature
    since: float  # when `sig` was first seen


class PendingChanges:
    """Paths changed since the last build, and whether a build may start now."""

    def __init__(self, settings: WatchSettings = WatchSettings(),
                 stat: Callable[[str], Signature] = signature) -> None:
        self.settings = settings
        self._stat = stat
        self._paths: dict[str, _Seen] = {}
        self._first: float | None = None  # first event since the last build
        self._last: float | None = None  # latest event
        self.forced = False  # a build is wanted even without events (the first one)

    def __bool__(self) -> bool:
        return self.forced or bool(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def add(self, paths: Iterable[str], now: float) -> None:
        for p in paths:
            self._paths[p] = _Seen(self._stat(p), now)
            self._first = now if self._first is None else self._first
            self._last = now

    def force(self) -> None:
        self.forced = True

    def unsettled(self, now: float) -> list[str]:
        """Paths whose size or time changed within `settle_seconds` (stat now)."""
        out = []
        for p, seen in self._paths.items():
            sig = self._stat(p)
            if sig != seen.sig:
                self._paths[p] = seen = _Seen(sig, now)
            if sig is not None and now - seen.since < self.settings.settle_seconds:
                out.append(p)
        return out

    def due(self, now: float) -> bool:
        if not self:
            return False
        if self._last is None:  # forced, no events
            return True
        s = self.settings
        if self._first is not None and now - self._first >= s.max_delay_seconds:
            return True
        return now - self._last >= s.quiet_seconds and not self.unsettled(now)

    def take(self) -> list[str]:
        """The paths of the build about to start; events from now on count for the next."""
        paths = sorted(self._paths)
        self._paths.clear()
        self._first = self._last = None
        self.forced = False
        return paths


@dataclass
class WatchEvent:
    """What the watcher did. kind:
    - "building": a build starts for `paths` (changed files; empty for the first build);
    - "updated": a build published a new generation (`report`);
    - "unchanged": a build found nothing to do (`report`);
    - "skipped": files that cannot be read (`skipped`), each said once until it changes;
    - "waiting": the store's lock is held elsewhere (`message`); the build is retried;
    - "failed": a build failed (`message`); the live index is unchanged, the next change retries."""

    kind: Literal["building", "updated", "unchanged", "skipped", "waiting", "failed"]
    report: BuildReport | None = None
    paths: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    message: str = ""
    error: NewsAssistantError | None = None


def is_relevant(path: str, corpus: Path, ignore: tuple[Path, ...] = ()) -> bool:
    """Whether an event on `path` can change what the index holds: article files and
    folders (a folder moved in brings its files without an event per file), outside
    hidden folders, never the store's own files (a store inside the corpus folder
    would otherwise trigger a build with every build)."""
    p = Path(path)
    for root in ignore:
        if p == root or root in p.parents:
            return False
    try:
        rel = p.relative_to(corpus)
    except ValueError:
        return False
    if any(part.startswith(".") for part in rel.parts):
        return False
    return p.suffix.lower() in ARTICLE_SUFFIXES or not p.suffix or p.is_dir()


class SkipReporter:
    """Says each unreadable file once: again only after it was fixed and broke again,
    or its reason changed."""

    def __init__(self) -> None:
        self._said: set[SkippedFile] = set()

    def new(self, skipped: list[SkippedFile]) -> list[SkippedFile]:
        now = set(skipped)
        fresh = [s for s in skipped if s not in self._said]
        self._said = now
        return fresh


def watch_folder(
    corpus: Path,
    build: Callable[[], BuildReport],
    on_event: Callable[[WatchEvent], None],
    stop: threading.Event,
    settings: WatchSettings = WatchSettings(),
    *,
    ignore: tuple[Path, ...] = (),
    first_build: bool = True,
) -> None:
    """Build whenever files under `corpus` change, until `stop` is set.

    `first_build`: bring the index in line at once (changes made while nobody watched).
    A KeyboardInterrupt during a build propagates out of the build: the builder
    publishes atomically, so the generation live before it stays live."""
    import watchfiles

    check_corpus(corpus)
    corpus = corpus.resolve()
    ignore = tuple(p.resolve() for p in ignore)
    pending = PendingChanges(settings)
    if first_build:
        pending.force()
    skips = SkipReporter()
    waiting_said = False

    def wanted(_change: object, path: str) -> bool:
        return is_relevant(path, corpus, ignore)

    changes = watchfiles.watch(
        corpus, watch_filter=wanted, stop_event=stop, yield_on_timeout=True,
        debounce=int(settings.quiet_seconds * 1000), step=50,
        rust_timeout=int(settings.tick_seconds * 1000), raise_interrupt=True,
    )
    while True:  # the watcher is live from the first (timeout) batch on
        try:
            batch = next(changes)
        except StopIteration:  # stop was set
            return
        except OSError as e:  # e.g. the system's limit of inotify watches is reached
            raise CorpusError(
                f"cannot watch the article folder {corpus} ({e.strerror or e})",
                hint="Raise the limit (sysctl fs.inotify.max_user_watches), or update the index by hand "
                     "(`assistant index`).",
            ) from None
        now = time.monotonic()
        pending.add((path for _, path in batch), now)
        if stop.is_set() or not pending.due(now):
            continue
        paths = pending.take()
        on_event(WatchEvent("building", paths=paths))
        while not stop.is_set():
            try:
                report = build()
            except StoreLockedError as e:
                if not waiting_said:
                    on_event(WatchEvent("waiting", message=e.message, error=e))
                    waiting_said = True
                stop.wait(settings.retry_seconds)
                continue
            except NewsAssistantError as e:
                on_event(WatchEvent("failed", paths=paths, message=e.message, error=e))
                break
            waiting_said = False
            fresh = skips.new(report.skipped)
            if fresh:
                on_event(WatchEvent("skipped", report=report, skipped=fresh))
            on_event(WatchEvent("updated" if report.published else "unchanged", report=report, paths=paths))
            break
