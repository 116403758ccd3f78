"""Real faults of the machine for tests: a small tmpfs (a disk that really fills up)
and read-only bind mounts (a place that really cannot be written).

Mounting needs root (CAP_SYS_ADMIN), which the sandbox and CI have: the `mounts`
fixture skips, saying why, only where a probe mount fails. Everything it mounts is
unmounted when the test ends, pass or fail.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest


@functools.lru_cache(maxsize=1)
def mount_skip_reason() -> str | None:
    """None when this process can mount a tmpfs; otherwise why not."""
    if not shutil.which("mount"):
        return "no mount command on this machine"
    with tempfile.TemporaryDirectory() as d:
        probe = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d], capture_output=True, text=True)
        if probe.returncode != 0:
            return f"cannot mount a tmpfs here ({probe.stderr.strip() or 'not root'})"
        subprocess.run(["umount", d], check=True)
    return None


class Mounts:
    def __init__(self) -> None:
        self.mounted: list[Path] = []

    def tmpfs(self, path: Path, size_kb: int) -> Path:
        """A disk of `size_kb` KB at `path`."""
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(path)], check=True)
        self.mounted.append(path)
        return path

    def read_only(self, path: Path) -> Path:
        """`path` (a folder) made read-only in place by a read-only bind mount of itself."""
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        self.mounted.append(path)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
        return path

    def unmount(self, path: Path) -> None:
        if path in self.mounted:
            self.mounted.remove(path)
            if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(path)], check=True)  # busy: detach now, free when unused

    def unmount_all(self) -> None:
        for path in reversed(list(self.mounted)):
            self.unmount(path)


def fill(folder: Path, leave_kb: int = 0) -> Path:
    """Fill the disk holding `folder` with one file, up to `leave_kb` KB of free space
    (0: until the file system refuses another byte). Returns the file, to delete."""
    path = folder / "filler.bin"
    block = b"\0" * 4096
    with open(path, "wb") as f:
        try:
            while shutil.disk_usage(folder).free > leave_kb * 1024:
                f.write(block)
                f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    return path


def free_kb(folder: Path) -> int:
    return shutil.disk_usage(folder).free // 1024


@pytest.fixture
def mounts() -> Iterator[Mounts]:
    reason = mount_skip_reason()
    if reason:
        pytest.skip(reason)
    m = Mounts()
    try:
        yield m
    finally:
        m.unmount_all()


def leftovers(root: Path) -> list[str]:
    """Temporary files and folders anywhere under `root` (a write that was not cleaned up)."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.name.startswith("tmp-") or p.name.endswith((".tmp", ".part")) or ".tmp-" in p.name)
