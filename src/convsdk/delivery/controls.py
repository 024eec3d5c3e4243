"""Queue items that are not events: the worker runs them in queue order."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .files import Segment

__all__ = ["Control", "Marker", "Rotate"]


class Control:
    """A queue item that is not an event; the worker runs it in queue order."""

    __slots__ = ()


class Marker(Control):
    """Put in the queue by ``flush``; the worker sets it once everything before it is handled."""

    __slots__ = ("deadline", "done", "losses", "ok")

    def __init__(self, deadline: float, losses: int) -> None:
        self.done = threading.Event()
        self.ok = True
        self.deadline = deadline
        self.losses = losses


class Rotate(Control):
    """Follows the last event of a write-ahead segment: past it, the segment can go."""

    __slots__ = ("segment",)

    def __init__(self, segment: Segment) -> None:
        self.segment = segment
