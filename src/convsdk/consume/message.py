"""What the consume loop reads from a source: messages, and the source's interface."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Message", "Source"]


@dataclass(slots=True)
class Message:
    """One message read from a source: what acknowledges it, and its payload."""

    ref: Any
    data: bytes | None  # None: the entry's content is gone (trimmed from the stream)
    label: str  # for log lines: stream entry id / stream sequence


class Source(Protocol):
    """A broker stream read through a consumer group or durable consumer."""

    def read(self, count: int, wait: float) -> list[Message]:
        """Up to ``count`` messages, waiting at most ``wait`` seconds for the first."""
        ...

    def ack(self, messages: Sequence[Message]) -> None:
        """Acknowledge ``messages``: they are not delivered again."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
