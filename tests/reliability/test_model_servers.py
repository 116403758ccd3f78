"""Model servers the user does not control, misbehaving for real on 127.0.0.1: every
failure ends in a notice and the extractive answer, with its citations, through the
whole `NewsAssistant.ask` path (and the CLI's printer); never an exception, never a
wait much longer than the configured timeout."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.api import NewsAssistant
from assistant.render import print_answer
from stand_in import HashingEmbedder
from reliability_support import write_corpus

try:
    from model_server import free_port
except ImportError:  # tests/ made a package
    from tests.model_server import free_port

pytestmark = pytest.mark.slow

QUESTION = "What did the harbor authority reopen?"
AS_OF = date(2023, 1, 1)
TIMEOUT = 1.0
FALLBACK = "Showing the extractive answer instead."


def event(text: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": text} if text is not None else {}
    return b"data: " + json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).encode() + b"\n\n"


class Misbehaving:
    """A real HTTP server on an ephemeral loopback port; `mode` picks how it fails."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests = 0
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests += 1
                try:
                    getattr(self, "mode_" + outer.mode.replace("-", "_"))()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def head(self, status: int = 200, ctype: str = "text/event-stream", chunked: bool = False, **extra) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for k, v in extra.items():
                    self.send_header(k.replace("_", "-"), v)
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()

            def out(self, data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()

            def mode_ok(self) -> None:
                self.head()
                self.out(event("The harbor authority reopened the north pier [1]."))
                self.out(event(finish="stop") + b"data: [DONE]\n\n")

            def mode_never_answers(self) -> None:
                outer.release.wait(15)

            def mode_hangs_up(self) -> None:  # accepts, reads the request, closes: no response at all
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            def mode_http_500(self) -> None:
                body = b'{"error": {"message": "CUDA out of memory"}}'
                self.head(500, "application/json", Content_Length=str(len(body)))
                self.out(body)

            def mode_http_404_html(self) -> None:
                body = b"<html><body><h1>404 Not Found</h1>" + b"x" * 5000 + b"</body></html>"
                self.head(404, "text/html", Content_Length=str(len(body)))
                self.out(body)

            def mode_redirect_elsewhere(self) -> None:  # must not be followed off the machine
                self.head(307, "text/plain", Location="http://model.example.invalid/v1/chat/completions",
                          Content_Length="0")

            def mode_cut_mid_answer(self) -> None:  # close-delimited body, socket closes, no [DONE]
                self.head()
                self.out(event("The harbor authority "))
                self.out(event("reopened"))

            def mode_cut_mid_chunk(self) -> None:  # chunked body broken inside a chunk
                self.head(chunked=True)
                data = event("The harbor ")
                self.out(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.out(b"200\r\ndata: {\"choi")
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            def mode_stalls_mid_answer(self) -> None:
                self.head()
                self.out(event("The harbor authority "))
                outer.release.wait(15)

            def mode_malformed_chunk(self) -> None:
                self.head()
                self.out(event("The harbor "))
                self.out(b"data: {\"choices\": [{\"delta\": {\"content\": \"unterminated\n\n")
                self.out(b"data: [DONE]\n\n")

            def mode_not_openai_json(self) -> None:
                self.head()
                self.out(b'data: {"message": {"role": "assistant", "content": "ollama native format"}}\n\n')
                self.out(b"data: [DONE]\n\n")

            def mode_html_page(self) -> None:
                self.head(200, "text/html")
                self.out(b"<!doctype html><html><body>Welcome to nginx!</body></html>")

            def mode_binary_garbage(self) -> None:
                self.head(200, "application/octet-stream")
                self.out(b"data: \xff\xfe\x00\x9b[31m" + os.urandom(3000) + b"\n\n")

            def mode_keepalive_forever(self) -> None:  # comments only, never a token
                self.head()
                for _ in range(16):  # 4 s, then it gives up itself
                    if outer.release.wait(0.25):
                        return
                    self.out(b": keep-alive\n\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def corpus_and_store(tmp_path_factory):
    base = tmp_path_factory.mktemp("servers")
    corpus, store = base / "articles", base / "store"
    write_corpus(corpus, 8)
    NewsAssistant.from_settings(embedder=HashingEmbedder(), corpus=corpus, store=store).build_index()
    return corpus, store


@pytest.fixture(scope="module")
def server():
    s = Misbehaving()
    yield s
    s.close()


@pytest.fixture(scope="module")
def extractive_answer(corpus_and_store):
    corpus, store = corpus_and_store
    answer = NewsAssistant.from_settings(embedder=HashingEmbedder(), corpus=corpus, store=store).ask(QUESTION, as_of=AS_OF)
    assert answer.engine == "extractive" and answer.citations and not answer.notices
    return answer


def assistant_for(corpus_and_store, url: str) -> NewsAssistant:
    corpus, store = corpus_and_store
    return NewsAssistant.from_settings(embedder=HashingEmbedder(), corpus=corpus, store=store, engine="openai",
                                       openai_base_url=url, timeout_seconds=TIMEOUT)


FAILURES = {
    "never_answers": "did not answer within 1s",
    "hangs_up": "broke",
    "http_500": "answered HTTP 500",
    "http_404_html": "answered HTTP 404",
    "redirect_elsewhere": "redirected to 'http://model.example.invalid/v1/chat/completions' (HTTP 307), which is not followed",
    "cut_mid_answer": "ended the answer mid-stream",
    "cut_mid_chunk": "broke",
    "stalls_mid_answer": "did not answer within 1s",
    "malformed_chunk": "malformed stream chunk",
    "not_openai_json": "malformed stream chunk",
    "html_page": "did not answer with an event stream (Content-Type 'text/html')",
    "binary_garbage": "malformed stream chunk",
}


def check_fallback(answer, extractive_answer, fragment: str, capsys) -> None:
    assert answer.engine == "extractive"
    assert answer.text == extractive_answer.text and answer.citations == extractive_answer.citations
    assert len(answer.notices) == 1, answer.notices
    assert fragment in answer.notices[0] and answer.notices[0].endswith(FALLBACK), answer.notices[0]
    print_answer(answer)
    printed = capsys.readouterr().out
    assert "note:" in printed and FALLBACK in " ".join(printed.split()) and "Sources" in printed


def test_a_working_server_answers(corpus_and_store, server):
    server.mode = "ok"
    answer = assistant_for(corpus_and_store, server.url).ask(QUESTION, as_of=AS_OF)
    assert answer.engine == "openai" and not answer.notices and answer.citations


def test_connection_refused(corpus_and_store, extractive_answer, capsys):
    started = time.monotonic()
    answer = assistant_for(corpus_and_store, f"http://127.0.0.1:{free_port()}/v1").ask(QUESTION, as_of=AS_OF)
    assert time.monotonic() - started < 10
    check_fallback(answer, extractive_answer, "cannot connect to the model server", capsys)


@pytest.mark.parametrize("mode", list(FAILURES))
def test_a_misbehaving_server(mode, corpus_and_store, server, extractive_answer, capsys):
    server.mode = mode
    drafts: list = []
    started = time.monotonic()
    answer = assistant_for(corpus_and_store, server.url).ask(QUESTION, as_of=AS_OF, on_draft=drafts.append)
    took = time.monotonic() - started
    check_fallback(answer, extractive_answer, FAILURES[mode], capsys)
    assert took < TIMEOUT + 8, f"{mode}: {took:.1f}s"
    # The UI was handed the extractive answer last, after whatever the model sent first.
    assert drafts and drafts[-1].sentences == extractive_answer.sentences


def test_a_server_that_only_sends_keepalives_is_given_up_on(corpus_and_store, server, extractive_answer, capsys):
    server.mode = "keepalive_forever"
    started = time.monotonic()
    answer = assistant_for(corpus_and_store, server.url).ask(QUESTION, as_of=AS_OF)
    took = time.monotonic() - started
    check_fallback(answer, extractive_answer, "sent no answer text for 1s", capsys)
    # The timeout bounds the wait for answer text, not only each read (the server would go on for 4 s).
    assert took < 3 * TIMEOUT, f"waited {took:.1f}s for a server that sent nothing but keep-alives"
