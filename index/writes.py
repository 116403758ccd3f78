"""Writing files so that a failure is a sentence, not a traceback, and leaves nothing
half-written.

Every writer of the program (a store's generations, CURRENT and lock, the int8
encoder's cache, saved conversations, exports) does its writes inside
`writing(what, where, elsewhere)`, which turns the operating system's refusals into
a `WriteError` saying what happened and what to do:

    ENOSPC, EDQUOT, SQLite's "database or disk is full"   -> DiskFullError
    EACCES, EPERM, EROFS                                   -> not writable
    ENOTDIR, EEXIST, EISDIR                                -> the wrong kind of thing

and writes single files with `write_file_atomic`: a temporary file beside the target,
fsynced, then renamed over it (or linked, when it must not replace one), and removed
if anything fails on the way.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from index.errors import DiskFullError, WriteError

MB = 1024 * 1024
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
_DENIED = {errno.EACCES, errno.EPERM}
_FILE_NOT_FOLDER = {errno.ENOTDIR, errno.EEXIST}


@contextmanager
def writing(what: str, where: Path, elsewhere: str, after: str = "") -> Iterator[None]:
    """Writes to `where` (a file or folder) of `what` ("the index", "the conversation").
    `elsewhere` is the user's other way out ("choose another index folder"); `after`
    is said last ("The previous index is still in use.")."""
    try:
        yield
    except (OSError, sqlite3.OperationalError) as e:
        error = write_error(e, what, where, elsewhere, after)
        if error is None:
            raise
        raise error from None


def write_error(e: BaseException, what: str, where: Path, elsewhere: str, after: str = "") -> WriteError | None:
    """The user-facing error for a failed write, or None when `e` is not one."""
    tail = f" {after}" if after else ""
    if isinstance(e, sqlite3.OperationalError):
        if "disk is full" not in str(e):
            return None
        return _disk_full(what, where, elsewhere, tail)
    if not isinstance(e, OSError):
        return None
    path = Path(os.fsdecode(e.filename)) if e.filename else where
    # A file that could not be made is named by the folder that refused it.
    place = path if path.exists() else path.parent
    if e.errno in _NO_SPACE:  # the disk, named by the place the caller writes to
        return _disk_full(what, where, elsewhere, tail)
    if e.errno == errno.EROFS:
        return WriteError(f"cannot write {what}: {place} is on a read-only file system",
                          hint=f"Make that file system writable, or {elsewhere}.{tail}")
    if e.errno in _DENIED:
        return WriteError(f"cannot write {what}: permission denied on {place}",
                          hint=f"Give your user write access to {_folder(place)}, or {elsewhere}.{tail}")
    if e.errno in _FILE_NOT_FOLDER:
        blocker = _file_in_the_way(path)
        if blocker is not None:
            return WriteError(f"cannot write {what}: {blocker} is a file, where a folder is needed",
                              hint=f"Move or rename that file, or {elsewhere}.{tail}")
    if e.errno == errno.EISDIR:
        return WriteError(f"cannot write {what}: {path} is a folder, where a file is needed",
                          hint=f"Move or rename that folder, or {elsewhere}.{tail}")
    return WriteError(f"cannot write {what} at {path} ({e.strerror or e})", hint=f"Check that place, or {elsewhere}.{tail}")


def _disk_full(what: str, path: Path, elsewhere: str, tail: str) -> DiskFullError:
    return DiskFullError(f"cannot write {what}: no space left on the disk holding {_folder(path)}",
                         hint=f"Free some space there, or {elsewhere}; then try again.{tail}")


def _folder(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def _file_in_the_way(path: Path) -> Path | None:
    """The first of `path` and its parents that exists and is not a folder."""
    for p in (path, *path.parents):
        if p.exists() or p.is_symlink():
            return None if p.is_dir() else p
    return None


def check_writable(folder: Path) -> None:
    """Raises the OSError a write into `folder` would meet, by making and removing a
    temporary folder there: a read-only or forbidden place is found before any work."""
    probe = folder / f"tmp-{os.getpid()}-probe"
    probe.mkdir()
    probe.rmdir()


def free_bytes(folder: Path) -> int:
    """Free space for this user on the file system that holds `folder` (or would)."""
    for p in (folder, *folder.parents):
        if p.is_dir():
            return shutil.disk_usage(p).free
    return shutil.disk_usage(Path.cwd()).free


def require_free_space(folder: Path, needed: int, what: str, elsewhere: str, after: str = "") -> None:
    """Refuse at once, with the numbers, a write of about `needed` bytes that won't fit."""
    free = free_bytes(folder)
    if free < needed:
        tail = f" {after}" if after else ""
        raise DiskFullError(
            f"not enough free space for {what}: it needs about {_mb(needed)} in {folder}, "
            f"and that disk has {_mb(free)} free",
            hint=f"Free at least {_mb(needed - free)} there, or {elsewhere}; then try again.{tail}")


def _mb(n: int) -> str:
    return f"{n / MB:.1f} MB"


def temporary_name(path: Path) -> Path:
    """A name beside `path` that no other writer uses; it ends in .tmp so leftovers of
    a killed process are recognisable."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:6]}.tmp")


def write_faiss(index, path: Path) -> None:
    """A FAISS index to `path`. faiss.write_index reports a full disk as a RuntimeError
    naming its C++ frames; written from Python, it is an OSError with its errno."""
    import faiss

    with open(path, "wb") as f:
        f.write(faiss.serialize_index(index).tobytes())


def write_file_atomic(path: Path, data: str | bytes, *, replace: bool = True) -> None:
    """`path` holds `data` whole, or is untouched. With replace=False an existing file
    is never replaced (FileExistsError), even one that appears meanwhile: the file is
    linked into place, and link() fails on an existing name."""
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: Path, data: dict) -> None:
    write_file_atomic(path, json.dumps(data, indent=2))
