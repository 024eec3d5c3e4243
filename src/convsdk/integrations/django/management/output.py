"""What convsdk's management commands share: the project's store, and their output."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

__all__ = ["CommandStream", "project_store"]


class CommandStream:
    """``sys.stdout`` for a CLI command run by a management command: the command's own
    output, written as it is given."""

    def __init__(self, command: BaseCommand) -> None:
        self.out = command.stdout

    def write(self, text: str) -> int:
        """Write ``text`` as it is (no ending added)."""
        self.out.write(text, ending="")
        return len(text)

    def flush(self) -> None:
        """Flush the command's output."""
        self.out.flush()

    def isatty(self) -> bool:
        """Whether the command's output is a terminal."""
        return bool(self.out.isatty())


def project_store(given: str | None, tracker: dict[str, Any]) -> str:
    """The store a command reads: ``given``, else ``CONVSDK_BACKEND`` (the first of
    several backends). Raises :class:`CommandError` when that is no URL."""
    source = given or tracker["backend"]
    if isinstance(source, tuple):  # several backends: the first is the store
        source = source[0]
    if not isinstance(source, str):
        raise CommandError("CONVSDK_BACKEND is not a URL: give SOURCE")
    return source
