"""What the consume loop reads from a source: messages, and the source's interface."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ConfigError

__all__ = ["Message", "Source", "missing_stream"]


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


def missing_stream(stream: str, where: str, existing: Iterable[str]) -> ConfigError:
    """The error for a source stream that does not exist, naming the closest that does.

    A consumer does not create the stream it reads: a misspelt name would otherwise
    give a new, empty stream and "moved 0 events".
    """
    close = difflib.get_close_matches(stream, sorted(set(existing)), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(
        f"there is no stream {stream!r}{hint}: check the name (a site's backend creates "
        "the stream with its first event), or create it now and wait for events "
        "with create_stream=True (convsdk consume --create-stream)",
        field="source",
        source=where,
    )
