"""Model engines: a local GGUF model through llama-cpp-python, and any
OpenAI-compatible server (Ollama, llama.cpp's server, vLLM, LM Studio, OpenAI).

Both stream tokens to a callback and honour a cancel event. Every failure (not
installed, unreachable, timeout, HTTP error, broken stream) becomes `EngineError`
with a message for the user; the answerer then falls back to the extractive answer.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

from assistant.errors import EngineError

if TYPE_CHECKING:
    from assistant.config import Settings

OnToken = Callable[[str], None]


class GenerativeEngine(Protocol):
    name: str

    def generate(self, prompt: str, on_token: OnToken | None = None, cancel: threading.Event | None = None) -> str:
        ...


class OpenAIEngine:
    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 60.0,
                 temperature: float = 0.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.temperature = temperature

    def generate(self, prompt: str, on_token: OnToken | None = None, cancel: threading.Event | None = None) -> str:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "stream": True, "temperature": self.temperature,
                "messages": [{"role": "user", "content": prompt}]}
        url = f"{self.base_url}/chat/completions"
        out: list[str] = []
        try:
            with httpx.Client(timeout=httpx.Timeout(self.timeout, connect=min(10.0, self.timeout))) as client:
                with client.stream("POST", url, json=body, headers=headers) as resp:
                    if cancel is not None:
                        # A stalled server sends no line to check the flag at: closing the
                        # response from a watcher makes Escape take effect at once.
                        _close_on_cancel(resp, cancel)
                    if 300 <= resp.status_code < 400:
                        # Redirects are not followed (they could lead off the machine); a
                        # redirect was reported as "ended the answer mid-stream".
                        raise EngineError(f"the model server at {self.base_url} redirected to "
                                          f"{resp.headers.get('location', '?')!r} (HTTP {resp.status_code}), which is not followed",
                                          hint="Set openai_base_url to the address the server should be reached at.")
                    if resp.status_code >= 400:
                        detail = resp.read().decode("utf-8", "replace")[:200]
                        raise EngineError(f"the model server at {self.base_url} answered HTTP {resp.status_code}: {detail}",
                                          hint="Check the model name and the server's log.")
                    done = False
                    # The timeout is per read: a server sending only keep-alive comments
                    # (": ping") held the answer for as long as it kept sending them.
                    # Waiting on a server ends after `timeout` seconds without answer text.
                    last_text = time.monotonic()
                    for line in resp.iter_lines():
                        if cancel is not None and cancel.is_set():
                            return "".join(out)
                        if time.monotonic() - last_text > self.timeout:
                            raise EngineError(f"the model server at {self.base_url} sent no answer text for {self.timeout:g}s",
                                              hint="Raise timeout_seconds or use a smaller model.")
                        if not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            done = True
                            break
                        try:
                            event = json.loads(data)
                            # Azure OpenAI opens its streams with a chunk whose "choices"
                            # is empty (prompt_filter_results), and OpenAI's usage chunk
                            # has none either: no text, but no broken stream.
                            if isinstance(event, dict) and event.get("choices") == []:
                                continue
                            choice = event["choices"][0]
                            piece = (choice.get("delta") or {}).get("content") or (choice.get("text") or "")
                        except (json.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
                            raise EngineError(f"the model server at {self.base_url} sent a malformed stream chunk",
                                              hint="Is it an OpenAI-compatible /v1 endpoint?") from None
                        if piece:
                            last_text = time.monotonic()
                            out.append(piece)
                            if on_token:
                                on_token(piece)
                        if choice.get("finish_reason"):
                            done = True
                    if cancel is not None and cancel.is_set():
                        return "".join(out)
                    if not done and not out and "event-stream" not in resp.headers.get("content-type", ""):
                        # e.g. a web page at that address: not a crashed model server.
                        raise EngineError(f"the model server at {self.base_url} did not answer with an event stream "
                                          f"(Content-Type {resp.headers.get('content-type', 'missing')!r})",
                                          hint="Is it an OpenAI-compatible /v1 endpoint?")
                    if not done:
                        raise EngineError(f"the model server at {self.base_url} ended the answer mid-stream",
                                          hint="The server may have crashed or run out of memory.")
        except httpx.ConnectError:
            raise EngineError(f"cannot connect to the model server at {self.base_url}",
                              hint="Start the server (e.g. `ollama serve`) or set openai_base_url.") from None
        except httpx.TimeoutException:
            raise EngineError(f"the model server at {self.base_url} did not answer within {self.timeout:g}s",
                              hint="Raise timeout_seconds or use a smaller model.") from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as e:
            if cancel is not None and cancel.is_set():
                return "".join(out)
            raise EngineError(f"the connection to the model server at {self.base_url} broke ({e.__class__.__name__})",
                              hint="The server may have crashed; check its log.") from None
        except httpx.StreamError as e:
            if cancel is not None and cancel.is_set():
                return "".join(out)
            raise EngineError(f"the stream from the model server at {self.base_url} broke ({e.__class__.__name__})") from None
        except httpx.HTTPError as e:
            if cancel is not None and cancel.is_set():  # we closed it: a cancel, not a failure
                return "".join(out)
            raise EngineError(f"request to the model server at {self.base_url} failed ({e.__class__.__name__})") from None
        return "".join(out)


def _close_on_cancel(resp, cancel: threading.Event) -> None:
    def watch() -> None:
        while not resp.is_closed:
            if cancel.wait(0.1):
                # Closing the response does not wake a read blocked in another thread;
                # shutting the socket down does.
                stream = resp.extensions.get("network_stream")
                sock = stream.get_extra_info("socket") if stream is not None else None
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return

    threading.Thread(target=watch, daemon=True, name="cancel-watch").start()


class LlamaCppEngine:
    name = "llama-cpp"
    _models: dict[str, object] = {}
    _lock = threading.Lock()

    def __init__(self, model_path: Path | None, max_tokens: int = 400, temperature: float = 0.0) -> None:
        self.model_path = model_path
        self.max_tokens = max_tokens
        self.temperature = temperature

    def _model(self):
        if self.model_path is None:
            raise EngineError("no GGUF model file is configured for the llama-cpp engine",
                              hint="Set llama_model_path in the config or NEWS_ASSISTANT_LLAMA_MODEL_PATH.")
        if not Path(self.model_path).is_file():
            raise EngineError(f"the model file {self.model_path} does not exist")
        try:
            from llama_cpp import Llama
        except ImportError:
            raise EngineError("llama-cpp-python is not installed",
                              hint="Install it with: pip install 'news-assistant[llama]' (it compiles on install).") from None
        key = str(self.model_path)
        with self._lock:
            if key not in self._models:
                try:
                    self._models[key] = Llama(model_path=key, n_ctx=4096, verbose=False, n_threads=os.cpu_count())
                except Exception as e:  # llama.cpp raises ValueError/RuntimeError on bad files
                    raise EngineError(f"cannot load the model {self.model_path} ({e})") from None
            return self._models[key]

    def generate(self, prompt: str, on_token: OnToken | None = None, cancel: threading.Event | None = None) -> str:
        llm = self._model()
        out: list[str] = []
        try:
            for event in llm.create_chat_completion(
                messages=[{"role": "user", "content": prompt}], stream=True, temperature=self.temperature, max_tokens=self.max_tokens
            ):
                if cancel is not None and cancel.is_set():
                    break
                piece = event["choices"][0].get("delta", {}).get("content") or ""
                if piece:
                    out.append(piece)
                    if on_token:
                        on_token(piece)
        except EngineError:
            raise
        except Exception as e:
            raise EngineError(f"the local model failed while answering ({e.__class__.__name__}: {e})") from None
        return "".join(out)


def make_engine(settings: "Settings") -> GenerativeEngine | None:
    """The configured model engine, or None for the extractive default. The one place
    an engine is chosen: the CLI and the chat pass a name to the API, which comes here."""
    if settings.engine == "openai":
        key = os.environ.get(settings.openai_api_key_env)
        return OpenAIEngine(settings.openai_base_url, settings.openai_model, key, settings.timeout_seconds,
                            settings.temperature)
    if settings.engine == "llama-cpp":
        return LlamaCppEngine(settings.llama_model_path, temperature=settings.temperature)
    return None
