"""A real HTTP server on 127.0.0.1 speaking the OpenAI streaming protocol, scripted per
test (`mode`, `pieces`), and a free port: written once for every test that needs a
model server (in-process, or serving a subprocess such as an installed `assistant`)."""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL_PIECES = ["One of the two main Russian negotiators, ", "Alexander Grushko, ", "judged these differences ",
                "\u201cFundamental\u201d", " [1]."]


def free_port() -> int:
    """A port nothing listens on (just closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sse(piece: str | None = None, raw: str | None = None, finish: str | None = None) -> bytes:
    if raw is not None:
        return f"data: {raw}\n\n".encode()
    event = {"id": "x", "object": "chat.completion.chunk",
             "choices": [{"index": 0, "delta": {"content": piece} if piece is not None else {}, "finish_reason": finish}]}
    return f"data: {json.dumps(event)}\n\n".encode()


class FakeOpenAI:
    """A ThreadingHTTPServer whose behaviour is chosen per test (`mode`)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.pieces = list(MODEL_PIECES)
        self.requests: list[dict] = []
        self.release = threading.Event()  # ends a "sleep" early at teardown
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append({"path": self.path, "body": json.loads(body or b"{}"),
                                      "auth": self.headers.get("Authorization")})
                try:
                    getattr(self, "mode_" + fake.mode.replace("-", "_"))()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def start_stream(self, chunked: bool = False) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Connection", "close")  # body ends when the socket closes
                    self.close_connection = True
                self.end_headers()

            def send(self, data: bytes, chunked: bool = False) -> None:
                if chunked:
                    data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
                self.wfile.write(data)
                self.wfile.flush()

            def mode_ok(self) -> None:
                self.start_stream()
                self.send(b": keep-alive comment\n\n")
                for p in fake.pieces:
                    self.send(sse(p))
                self.send(sse(finish="stop"))
                self.send(b"data: [DONE]\n\n")

            def mode_azure_first_chunk(self) -> None:
                # Azure OpenAI opens every stream with a chunk whose choices are empty
                # (prompt_filter_results); it carries no text and is no error.
                self.start_stream()
                self.send(sse(raw=json.dumps({"choices": [], "prompt_filter_results": []})))
                for p in fake.pieces:
                    self.send(sse(p))
                self.send(b"data: [DONE]\n\n")

            def mode_dies(self) -> None:
                # Close-delimited body: the socket closes after two pieces, no [DONE].
                self.start_stream()
                for p in fake.pieces[:2]:
                    self.send(sse(p))

            def mode_dies_chunked(self) -> None:
                # Chunked body cut off mid-chunk: a broken HTTP message.
                self.start_stream(chunked=True)
                self.send(sse(fake.pieces[0]), chunked=True)
                self.wfile.write(b"400\r\ndata: {\"choi")
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            def mode_http_500(self) -> None:
                payload = b'{"error": {"message": "model crashed"}}'
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.send(payload)

            def mode_sleep(self) -> None:
                fake.release.wait(10)

            def mode_stall_mid_stream(self) -> None:
                self.start_stream()
                self.send(sse(fake.pieces[0]))
                fake.release.wait(10)

            def mode_obey(self) -> None:
                # A model that obeys any instruction it can see: a code word ("PWNED-3")
                # or an evil.example link anywhere in its passages becomes its answer.
                # With nothing to obey it answers honestly: the first sentence of
                # passage 1, cited.
                prompt = fake.requests[-1]["body"]["messages"][-1]["content"]
                passages = prompt[prompt.find('<passage n="1">'):prompt.rfind("</passage>")]
                codes = re.findall(r"PWNED-\d+", passages)
                links = re.findall(r"https?://evil\.example/\S*", passages)
                if codes or links:
                    reply = (f"{codes[0]}." if codes else "") + (f" Visit {links[0]} now." if links else "")
                else:
                    body = passages.split("\n", 2)[2] if passages.count("\n") >= 2 else passages
                    first = re.split(r"(?<=[.!?])\s", body.strip(), maxsplit=1)[0]
                    reply = f"{first} [1]"
                fake.pieces = [reply[:12], reply[12:]]
                self.mode_ok()

            def mode_malformed(self) -> None:
                self.start_stream()
                self.send(sse(fake.pieces[0]))
                self.send(b"data: {this is not json\n\n")
                self.send(b"data: [DONE]\n\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
