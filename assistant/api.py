"""The Python API: everything the CLI and the TUI do goes through `NewsAssistant`.

    from assistant.api import NewsAssistant
    na = NewsAssistant.from_settings(corpus="articles/")
    na.build_index()
    answer = na.ask("What did NATO say?")
    na.export(answer, Path("answer.md"))
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from assistant.answer.answerer import Assess, OnDraft
from assistant.answer.engines import GenerativeEngine, make_engine
from assistant.answer.sources import SourceText, source_texts
from assistant.answer.types import Answer
from assistant.config import Settings, load_settings
from assistant.errors import EngineError
from assistant.retriever import Filters, Retriever, SearchResult
from assistant.session import ChatSession, Turn, rewrite_followup, save_session
from assistant.timecues import TimeWindow
from index import backend
from index.backend import StoreBackend
from index.builder import BuildProgress, BuildReport, diff_articles, prepare_embedder, spec_for
from index.chunker import ChunkerSettings
from index.embedder import Embedder
from index.encoders import make_embedder
from index.errors import NewsAssistantError
from index.watch import WatchEvent, WatchSettings

if TYPE_CHECKING:
    from assistant.timeline import Timeline

# Generations an open assistant keeps at hand for the sources of earlier answers.
KEPT_GENERATIONS = 3


class NewsAssistant:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder: Embedder = embedder or make_embedder(settings.embedder)
        self._store: StoreBackend | None = None
        self._retriever: Retriever | None = None
        self._lock = threading.RLock()
        self._generations: dict[int, StoreBackend] = {}
        # Builds of one assistant (Ctrl+R and the folder watcher in the chat) take turns
        # instead of refusing each other: the store's flock is per open file, not per process.
        self._building = threading.Lock()

    @classmethod
    def from_settings(cls, embedder: Embedder | None = None, **overrides: Any) -> "NewsAssistant":
        return cls(load_settings(overrides), embedder)

    # -- index -----------------------------------------------------------------------
    @property
    def corpus(self) -> Path:
        return self.settings.corpus_dir()

    @property
    def store_dir(self) -> Path:
        return self.settings.store_dir()

    @property
    def chunker(self) -> ChunkerSettings:
        return ChunkerSettings(max_tokens=self.settings.chunk_tokens)

    def prepare_encoder(self, progress: BuildProgress | None = None) -> str | None:
        """Settle the encoder before the first question: the int8 model is exported once
        per install or upgrade (about 10 s, reported to `progress` under the stage
        `index.builder.PREPARING`; nothing is reported when it is cached). Returns the
        encoder's notice, if it fell back to fp32."""
        before = self.embedder.name
        notice = prepare_embedder(self.embedder, progress)
        if self.embedder.name != before:
            with self._lock:  # opened under the other encoder's name: checked again when next used
                self._store = self._retriever = None
        return notice

    def build_index(self, rebuild: bool = False, progress: BuildProgress | None = None,
                    ray_address: str | None = None) -> BuildReport:
        """Bring the index in line with the corpus; `ray_address` runs the embedding
        stage on Ray (`index.fanout`)."""
        with self._building:
            return backend.build(
                self.corpus, self.settings.location(), self.embedder, self.chunker,
                rebuild=rebuild, max_bytes=self.settings.max_bytes, progress=progress, ray_address=ray_address,
            )

    def watch(self, on_event: Callable[[WatchEvent], None], stop: threading.Event, *,
              first_build: bool = True, settings: WatchSettings = WatchSettings(),
              progress: BuildProgress | None = None) -> None:
        """Keep the index in line with the article folder until `stop` is set: every
        settled batch of changes is one build (see `index.watch`)."""
        from index.watch import watch_folder

        watch_folder(self.corpus, lambda: self.build_index(progress=progress), on_event, stop, settings,
                     ignore=(self.store_dir,), first_build=first_build)

    def live_generation(self) -> int | None:
        """The number of the generation readers use now (None: no index yet), read
        without opening it: what a stopped or failed build says is still in use."""
        try:
            return backend.live_generation_number(self.settings.location())
        except NewsAssistantError:
            return None

    def store(self) -> StoreBackend:
        """The live generation, reopened when a build has published a newer one."""
        with self._lock:
            if self._store is None or not self._store.is_current():
                fresh = backend.open_store(self.settings.location(), spec_for(self.embedder, self.chunker))
                fresh.check()  # fail now, with a clear message, if the index is damaged
                # The replaced store is not closed here: an answer in another thread may
                # still be reading it. Its SQLite connection closes when the last
                # reference goes.
                if self._store is not None:
                    # Kept (a few) so that answers made from it still show their sources.
                    self._generations[self._store.manifest.generation] = self._store
                    while len(self._generations) > KEPT_GENERATIONS:
                        self._generations.pop(next(iter(self._generations)))
                self._store, self._retriever = fresh, Retriever(fresh, self.embedder)
                self._generations[fresh.manifest.generation] = fresh
            return self._store

    def retriever(self) -> Retriever:
        with self._lock:
            self.store()
            assert self._retriever is not None
            return self._retriever

    def status(self) -> dict[str, Any]:
        return {"backend": self.settings.backend, **self.store().describe()}

    def pending_changes(self) -> dict[str, int]:
        """What a build would do now, without embedding anything (for "index is stale")."""
        from index.corpus import scan_corpus

        scan = scan_corpus(self.corpus, self.settings.max_bytes)
        stored = {a.id: a.content_hash for a in self.store().articles()}
        added, changed, removed = diff_articles(stored, {i: a.content_hash for i, a in scan.articles.items()})
        return {"added": len(added), "changed": len(changed), "removed": len(removed)}

    # -- search and answers --------------------------------------------------------------
    def search(self, query: str, k: int = 10, as_of: date | None = None, filters: Filters = Filters()) -> SearchResult:
        return self.retriever().search(query, k=k, as_of=as_of, filters=filters)

    def timeline(self, query: str, as_of: date | None = None, filters: Filters = Filters()) -> "Timeline":
        """The articles on `query`'s story in date order, each with what was new in it."""
        from assistant.timeline import build_timeline

        return build_timeline(query, self.retriever(), as_of or date.today(), filters)

    def engine(self, name: str | None = None) -> GenerativeEngine | None:
        settings = self.settings if name is None else replace_settings(self.settings, engine=name)
        return make_engine(settings)

    def standalone_query(self, question: str, session: ChatSession | None, engine: GenerativeEngine | None) -> tuple[str, list[str]]:
        """The search for a (possibly follow-up) question, and any notice about how."""
        if session is None or not session.turns:
            return question, []
        previous = session.previous_queries()
        if engine is not None:
            from assistant.prompts import load_prompt

            prompt = load_prompt("rewrite").render(history=session.history_text(), question=question)
            try:
                text = engine.generate(prompt).strip().splitlines()
                if text and text[0].strip():
                    return text[0].strip().strip('"'), []
            except EngineError as e:
                return rewrite_followup(question, previous), [f"Could not rewrite the follow-up with the model ({e.message})."]
        return rewrite_followup(question, previous), []

    def ask(
        self,
        question: str,
        *,
        session: ChatSession | None = None,
        engine: str | None = None,
        as_of: date | None = None,
        filters: Filters = Filters(),
        k: int | None = None,
        on_draft: OnDraft | None = None,
        cancel: threading.Event | None = None,
    ) -> Answer:
        """Answer `question` from the live index. The answer comes back checked: every
        quote was proved against the one generation it was found in (`answer.generation`)."""
        from assistant.answer.answerer import Answerer
        from assistant.answer.checker import verifier
        from assistant.answer.offsets import file_locator
        from assistant.context import build_context

        as_of = as_of or date.today()
        gen_engine = self.engine(engine)
        query, notices = self.standalone_query(question, session, gen_engine)
        # One generation for the whole answer: a rebuild publishing meanwhile must not
        # make the quotes be checked against other text than they were found in.
        retriever = self.retriever()
        store = retriever.store
        result = retriever.search(query, k=k or self.settings.top_k, as_of=as_of, filters=filters)
        # The passage of each article that answers, up to a token budget (not only the
        # chunk that made the article rank).
        passages = build_context(query, result, retriever, self.settings.context_budget(model=gen_engine is not None))
        if result.excluded_future:
            notices.append(f"{result.excluded_future} article(s) dated after {as_of} were left out.")
        answer = Answerer(self.embedder, gen_engine).answer(
            question, passages, as_of=as_of, search_query=query, on_draft=on_draft, cancel=cancel,
            verify=verifier(store), generation=store.manifest.generation, notices=notices,
            assess=self._assessor(store, result.window), locate=file_locator(self.corpus),
            store_info={"model": store.manifest.model, "store": str(store.root), "built": store.manifest.created},
            flags=store.flags(h.article_id for h in passages),
        )
        if session is not None and not answer.cancelled:
            session.turns.append(Turn(question, answer))
        return answer

    @staticmethod
    def _assessor(store: StoreBackend, window: TimeWindow | None) -> Assess:
        """Answerability judged with the keyword index's own reading of text."""
        from assistant.answer.answerability import assess
        from index.keyword import tokenize

        keyword = store.keyword()
        return lambda question, hits: assess(question, hits, tokenize, keyword.idf, window)

    def sources(self, answer: Answer) -> dict[int, SourceText]:
        """The text of every article `answer` cites, from the generation its quotes were
        checked against while that generation is still at hand, else from the live one
        (where the chat says of each quote whether it still stands there)."""
        store: StoreBackend | None = None
        with self._lock:
            if answer.generation is not None:
                store = self._generations.get(answer.generation)
                if store is None:
                    try:
                        store = backend.open_generation(self.settings.location(), answer.generation)
                    except NewsAssistantError:
                        store = None
            if store is None:
                try:
                    store = self.store()
                except NewsAssistantError:
                    store = None
        return source_texts(store, answer.citations or answer.nearest)

    # -- conversations and export -----------------------------------------------------------
    def save(self, session: ChatSession) -> Path:
        return save_session(session)

    def export(self, obj, path: Path, fmt: str | None = None, overwrite: bool = False) -> Path:
        from assistant.export import export

        return export(obj, path, fmt, overwrite)  # type: ignore[arg-type]


def replace_settings(settings: Settings, **changes: Any) -> Settings:
    return Settings(**{**settings.model_dump(), **changes})
