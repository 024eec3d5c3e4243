"""The progress bar ``convsdk report`` draws while reading a large store."""

from __future__ import annotations

import time
from typing import IO, Any

__all__ = ["PROGRESS_DELAY", "ProgressBar"]

#: Reading that takes longer than this shows a progress bar (on a terminal).
PROGRESS_DELAY = 2.0


class ProgressBar:
    """A progress callback that draws a rich bar once reading has lasted a while.

    Nothing is drawn for a quick read, nor when its stream (``convsdk report``'s
    standard error) is not a terminal (a pipe, a file, a test), nor without rich.
    """

    def __init__(self, stream: IO[str], delay: float = PROGRESS_DELAY) -> None:
        self.stream = stream
        self.delay = delay
        self.started = time.monotonic()
        self.enabled = is_terminal(stream)
        self._progress: Any = None
        self._task: Any = None

    def __call__(self, phase: str, done: float, total: float) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            if time.monotonic() - self.started < self.delay:
                return
            if not self._start():
                return
        self._progress.update(
            self._task, description=phase.capitalize(), completed=done, total=total or None
        )

    def _start(self) -> bool:
        try:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
        except ImportError:
            self.enabled = False
            return False
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            console=Console(file=self.stream),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("Reading", total=None)
        return True

    def close(self) -> None:
        """Take the bar off the screen, if one was drawn."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def is_terminal(stream: IO[str]) -> bool:
    """Whether ``stream`` is a terminal (False for anything that cannot tell)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
