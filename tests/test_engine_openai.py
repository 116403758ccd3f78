"""The `openai` engine end to end against a real HTTP server on 127.0.0.1 speaking
the OpenAI streaming protocol, and every way such a server can fail: each failure
becomes a notice and the extractive answer, never an exception."""

from __future__ import annotations

import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

try:
    from answer_fixtures import seed_index
    from model_server import MODEL_PIECES, FakeOpenAI, free_port, sse  # noqa: F401
except ImportError:  # tests/ made a package
    from tests.answer_fixtures import seed_index
    from tests.model_server import MODEL_PIECES, FakeOpenAI, free_port, sse  # noqa: F401

from assistant.answer.checker import check_answer
from assistant.answer.engines import OpenAIEngine
from assistant.errors import EngineError

pytestmark = pytest.mark.slow
AS_OF = date(2022, 2, 1)
QUESTION = "How did Grushko describe the differences?"


@pytest.fixture
def server():
    fake = FakeOpenAI()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def seed_idx(tmp_path_factory, minilm):
    return seed_index(tmp_path_factory, minilm)


def openai_assistant(seed_idx, base_url: str, timeout: float = 2):
    return seed_idx.assistant(engine="openai", openai_base_url=base_url, timeout_seconds=timeout,
                              openai_model="test-model")


def closed_port() -> int:
    return free_port()


def test_streamed_answer_is_grounded(seed_idx, server):
    na = openai_assistant(seed_idx, server.base_url)
    drafts: list = []
    ans = na.ask(QUESTION, as_of=AS_OF, on_draft=drafts.append)
    assert drafts[0].sentences == () and drafts[0].passages == len(ans.hits)
    assert drafts[-1].sentences == ans.sentences  # shown once, already grounded
    assert ans.engine == "openai" and ans.notices == ()
    (s,) = ans.sentences
    assert s.status == "supported" and s.citations == (1,)
    (c,) = ans.citations
    assert "Fundamental" in c.quote and "Alexander Grushko" in c.quote
    assert check_answer(ans, na.store()) == []
    # What the server was sent: one streaming chat request with the fenced passages.
    (req,) = server.requests
    assert req["path"] == "/v1/chat/completions"
    body = req["body"]
    assert body["stream"] is True and body["model"] == "test-model"
    (msg,) = body["messages"]
    assert msg["role"] == "user"
    assert QUESTION in msg["content"] and '<passage n="1">' in msg["content"] and "2022-02-01" in msg["content"]


def test_empty_choices_chunk_is_not_an_error(seed_idx, server):
    server.mode = "azure-first-chunk"
    ans = openai_assistant(seed_idx, server.base_url).ask(QUESTION, as_of=AS_OF)
    assert ans.notices == () and ans.engine == "openai"
    assert "Fundamental" in ans.citations[0].quote


def assert_fell_back(ans, na, *words: str) -> None:
    assert ans.engine == "extractive"
    assert len(ans.notices) == 1, ans.notices
    notice = ans.notices[0]
    for w in words:
        assert w in notice, notice
    assert "extractive answer" in notice
    assert ans.citations and any("Fundamental" in c.quote for c in ans.citations)
    assert all(s.status == "supported" for s in ans.sentences)
    assert check_answer(ans, na.store()) == []


@pytest.mark.parametrize("mode, words", [
    ("dies", ("mid-stream",)),
    ("dies-chunked", ("broke",)),
    ("http-500", ("HTTP 500", "model crashed")),
    ("malformed", ("malformed",)),
])
def test_server_failures_fall_back_with_a_notice(seed_idx, server, mode, words):
    server.mode = mode
    na = openai_assistant(seed_idx, server.base_url)
    ans = na.ask(QUESTION, as_of=AS_OF)
    assert_fell_back(ans, na, *words)
    assert server.requests, "the server was never asked"


def test_an_empty_answer_falls_back_with_a_notice(seed_idx, server):
    # A stream that ends properly without a word (llama.cpp's server does this to a
    # request that a newer one interrupted).
    server.pieces = []
    na = openai_assistant(seed_idx, server.base_url)
    assert_fell_back(na.ask(QUESTION, as_of=AS_OF), na, "answer was empty")


def test_connection_refused_falls_back(seed_idx):
    na = openai_assistant(seed_idx, f"http://127.0.0.1:{closed_port()}/v1")
    ans = na.ask(QUESTION, as_of=AS_OF)
    assert_fell_back(ans, na, "cannot connect")


@pytest.mark.parametrize("mode", ["sleep", "stall-mid-stream"])
def test_timeout_falls_back(seed_idx, server, mode):
    server.mode = mode
    na = openai_assistant(seed_idx, server.base_url, timeout=1)
    started = time.monotonic()
    ans = na.ask(QUESTION, as_of=AS_OF)
    assert time.monotonic() - started < 8
    assert_fell_back(ans, na, "did not answer within 1s")


def test_engine_raises_engine_error_directly(server):
    """The engine itself (below the answerer) turns failures into EngineError."""
    server.mode = "http-500"
    with pytest.raises(EngineError) as e:
        OpenAIEngine(server.base_url, "m", timeout=2).generate("hi")
    assert "HTTP 500" in e.value.message
    server.mode = "ok"
    got = OpenAIEngine(server.base_url, "m", api_key="sk-test", timeout=2).generate("hi")
    assert got == "".join(MODEL_PIECES)
    assert server.requests[-1]["auth"] == "Bearer sk-test"


def test_cancel_stops_the_stream(server):
    cancel = threading.Event()
    got: list[str] = []

    def on_token(piece: str) -> None:
        got.append(piece)
        cancel.set()

    text = OpenAIEngine(server.base_url, "m", timeout=5).generate("hi", on_token, cancel)
    assert got == [MODEL_PIECES[0]] and text == MODEL_PIECES[0]


def test_cancel_interrupts_a_stalled_stream_at_once():
    """Escape must not wait for the read timeout when the server stops sending."""
    release = threading.Event()

    class Stall(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b'data: {"choices":[{"delta":{"content":"Hello"}}]}\n\n')
            self.wfile.flush()
            release.wait(10)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stall)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        engine = OpenAIEngine(f"http://127.0.0.1:{server.server_address[1]}/v1", "m", timeout=30)
        cancel = threading.Event()
        threading.Timer(0.3, cancel.set).start()
        started = time.monotonic()
        out = engine.generate("question", cancel=cancel)
        assert out == "Hello"
        assert time.monotonic() - started < 5  # not the 30 s read timeout
    finally:
        release.set()
        server.shutdown()
