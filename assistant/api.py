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
from typing import Any

from assistant.answer.engines import GenerativeEngine, OnToken, make_engine
from assistant.answer.types import Answer
from assistant.retriever import Filters, Retriever, SearchResult
from assistant.session import ChatSession, Turn, rewrite_followup, save_session
from index.builder import BuildProgress, BuildReport, build_index, diff_articles, spec_for
from index.chunker import ChunkerSettings
from index.config import Settings, load_settings
from index.embedder import Embedder, make_embedder
from index.errors import EngineError
from index.store import Store


class NewsAssistant:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder: Embedder = embedder or make_embedder(settings.embedder)
        self._store: Store | None = None
        self._retriever: Retriever | None = None
        self._lock = threading.RLock()

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

    def build_index(self, rebuild: bool = False, progress: BuildProgress | None = None) -> BuildReport:
        return build_index(
            self.corpus, self.store_dir, self.embedder, self.chunker,
            rebuild=rebuild, max_bytes=self.settings.max_bytes, progress=progress,
        )

    def store(self) -> Store:
        """The live generation, reopened when a build has published a newer one."""
        with self._lock:
            if self._store is None or not self._store.is_current():
                fresh = Store.open(self.store_dir, spec_for(self.embedder, self.chunker))
                fresh.vectors()  # fail now, with a clear message, if the files are damaged
                fresh.keyword()
                # The replaced store is not closed here: an answer in another thread may
                # still be reading it. Its SQLite connection closes when the last
                # reference goes.
                self._store, self._retriever = fresh, Retriever(fresh, self.embedder)
            return self._store

    def retriever(self) -> Retriever:
        with self._lock:
            self.store()
            assert self._retriever is not None
            return self._retriever

    def status(self) -> dict[str, Any]:
        return self.store().describe()

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
        on_token: OnToken | None = None,
        cancel: threading.Event | None = None,
    ) -> Answer:
        from assistant.answer.answerer import Answerer
        from assistant.answer.checker import check_answer

        as_of = as_of or date.today()
        gen_engine = self.engine(engine)
        query, notices = self.standalone_query(question, session, gen_engine)
        # One generation for the whole answer: a rebuild publishing meanwhile must not
        # make the quotes be checked against other text than they were found in.
        retriever = self.retriever()
        store = retriever.store
        result = retriever.search(query, k=k or self.settings.top_k, as_of=as_of, filters=filters)
        answer = Answerer(self.embedder, gen_engine).answer(
            question, result.hits, as_of=as_of, search_query=query, on_token=on_token, cancel=cancel,
            store_info={"generation": store.manifest.generation, "model": store.manifest.model,
                        "store": str(store.root), "built": store.manifest.created},
        )
        answer.notices[:0] = notices
        if result.excluded_future:
            answer.notices.append(f"{result.excluded_future} article(s) dated after {as_of} were left out.")
        problems = check_answer(answer, store)
        if problems:  # cannot happen unless the store changed under us; never show a bad quote
            bad = {p.n for p in problems}
            answer.citations = [c for c in answer.citations if c.n not in bad]
            answer.notices.append(f"{len(bad)} quote(s) failed verification and were removed.")
        if session is not None and not answer.cancelled:
            session.turns.append(Turn(question, answer))
        return answer

    # -- conversations and export -----------------------------------------------------------
    def save(self, session: ChatSession) -> Path:
        return save_session(session)

    def export(self, obj, path: Path, fmt: str | None = None, overwrite: bool = False) -> Path:
        from assistant.export import export

        return export(obj, path, fmt, overwrite)  # type: ignore[arg-type]


def replace_settings(settings: Settings, **changes: Any) -> Settings:
    return Settings(**{**settings.model_dump(), **changes})
