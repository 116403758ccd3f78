"""SIGINT and SIGTERM during `assistant index`: the build stops cleanly.

Python turns SIGINT into KeyboardInterrupt and dies on SIGTERM without unwinding, so a
terminated build never ran its cleanup (its temporary generation stayed until the next
build). Here both signals raise `Stopped` in the main thread: the builder's cleanup
runs as the exception passes (it removes what it had half-written, and the kernel
releases the lock), and the CLI says in one line what is still live, exiting with
128 + the signal's number (130, 143), as a shell reports a process the signal killed.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(BaseException):
    """Raised by a signal; a BaseException so that no `except Exception` swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        # Once only: a second Ctrl+C must not cut the cleanup short.
        for s in SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        raise Stopped(signum)

    previous = {s: signal.signal(s, stop) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
