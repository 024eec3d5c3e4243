"""How readers tell a caller how far they got (the CLI draws a progress bar from it)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressCallback", "report_progress"]

#: ``progress(phase, done, total)``: ``done`` of ``total`` units of the phase called
#: ``phase`` are behind us (bytes when reading a log, queries when asking a database).
ProgressCallback = Callable[[str, float, float], None]


def report_progress(
    progress: ProgressCallback | None, phase: str, done: float, total: float
) -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(phase, done, total)
