"""Faults the tests inject: a disk that fills up, a backend that hangs."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from convsdk import Event
from convsdk.backends.memory import MemoryBackend


class FullDisk:
    """``os.write`` for files under ``directory``: ``room`` bytes more, the last write
    short (as a file system does at its edge), then ENOSPC; other files as usual.

    >>> monkeypatch.setattr(os, "write", FullDisk(tmp_path, room=1000))
    """

    def __init__(self, directory: Path, room: int) -> None:
        self.directory = str(directory)
        self.room = room
        self.real = os.write

    def __call__(self, fd: int, data: bytes | memoryview) -> int:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if not target.startswith(self.directory):
            return self.real(fd, data)
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = self.real(fd, bytes(data[: self.room]))
        self.room -= n
        return n


class BlockingBackend(MemoryBackend):
    """A backend whose write hangs until :attr:`release` is set (for at most 30 s);
    :attr:`entered` is set once a write began."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def write(self, events: Sequence[Event]) -> None:
        self.entered.set()
        self.release.wait(30)
        super().write(events)
