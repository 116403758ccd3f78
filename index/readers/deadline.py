"""A time limit for one call of library code that has none of its own.

The HTML extractor is pure Python over lxml with no time-out, and the index is built
in whichever thread the caller uses (the chat builds in a worker thread), so neither
`signal.alarm` (main thread only) nor a subprocess per page (about 50 ms each) fits.
Instead a timer raises `DeadlineExceeded` in the calling thread itself, through
CPython's `PyThreadState_SetAsyncExc`: the exception arrives at the next bytecode the
thread runs, so a page whose extraction loops in Python is stopped within
milliseconds. (A single long call inside lxml's C code finishes first; those calls are
linear in the page, and pages are capped by `max_file_mb`.)

`DeadlineExceeded` derives from `BaseException` on purpose: the extractor catches
`Exception` in many places to skip a bad element and would swallow the time-out.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class DeadlineExceeded(BaseException):
    """The code under `deadline()` ran past its time limit."""


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> int:
    target = ctypes.py_object(exc) if exc is not None else None
    return ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), target)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Run the body with a time limit; past it, `DeadlineExceeded` is raised inside it.

    The timer and the body's end race for one lock: once the body has ended the timer
    does nothing, and a time-out posted but not yet delivered is withdrawn. So the
    caller sees either the body's normal end or `DeadlineExceeded` raised by the `with`
    statement (also when the limit passes just as the body ends), never an exception
    arriving later in its own code.
    """
    if seconds <= 0:
        yield
        return
    thread_id = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def fire() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                _raise_in(thread_id, DeadlineExceeded)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["done"] = True
            if state["fired"]:
                _raise_in(thread_id, None)  # withdraw it if it has not arrived yet
        timer.cancel()
