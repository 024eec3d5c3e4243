"""Dead letters: events the backend refused for good, or that do not validate, kept in
``dead-letter/`` with the reason, one JSON object a line."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._json import dumps
from ..event import Event
from .files import Segment, close_quietly, new_stem

__all__ = ["DeadLetters"]


class DeadLetters:
    """Appends to one dead-letter file at a time in ``directory``, created on first use.

    Each line is ``{"error": ..., "error_type": ..., "failed_at": ..., "event": {...}}``.
    """

    def __init__(self, directory: Path, *, segment_bytes: int, fsync: bool) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self._lock = threading.Lock()
        self._segment: Segment | None = None

    def refused(self, events: Sequence[Event], error: BaseException) -> None:
        """Append events refused with ``error``; raises ``OSError`` when the disk refuses."""
        head = _head(str(error), type(error).__name__)
        self.write(b"".join(dumps({**head, "event": e.to_dict()}) + b"\n" for e in events))

    def invalid(self, event: dict[str, Any], error: str) -> None:
        """Append a serialised event that does not validate, as it was read."""
        self.write(dumps({**_head(error, "ValidationError"), "event": event}) + b"\n")

    def write(self, data: bytes) -> None:
        """Append whole lines; no empty file is left behind when the first write fails."""
        with self._lock:
            segment = self._segment
            if segment is None or segment.broken or segment.size >= self.segment_bytes:
                if segment is not None:
                    os.close(segment.fd)
                    self._segment = None
                os.makedirs(self.directory, mode=0o700, exist_ok=True)
                path = self.directory / f"{new_stem()}.jsonl"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
                segment = self._segment = Segment(path, fd)
            try:
                segment.write(data)
            except OSError:
                if segment.size == 0:  # leave no empty file behind
                    segment.path.unlink(missing_ok=True)
                    os.close(segment.fd)
                    self._segment = None
                raise
            if self.fsync:
                os.fsync(segment.fd)

    def close(self, *, quietly: bool = False) -> None:
        """Close the open file (``quietly``: an inherited one, after a fork)."""
        segment, self._segment = self._segment, None
        if segment is not None:
            close_quietly(segment.fd) if quietly else os.close(segment.fd)

    def after_fork(self) -> None:
        """In a forked child: drop the parent's file and a lock it may have held."""
        self._lock = threading.Lock()
        self.close(quietly=True)


def _head(error: str, error_type: str) -> dict[str, str]:
    return {
        "error": error,
        "error_type": error_type,
        "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
