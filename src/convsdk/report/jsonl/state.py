"""One visitor while a log is streamed: first event, touches, variant and conversions."""

from __future__ import annotations

import operator
from typing import Any

from ..dataset import GoalHits, text_micros

__all__ = ["Touch", "VisitorState", "touch", "touches_before"]

#: A touch: (stored timestamp, event id, the ``context.utm`` dict).
Touch = tuple[str, str, Any]

_TOUCH_ORDER = operator.itemgetter(0, 1)


class VisitorState:
    """One visitor while a log is streamed; becomes a :class:`VisitorSummary`."""

    __slots__ = (
        "arrivals",
        "first",
        "first_id",
        "first_touch",
        "goals",
        "landing_utm",
        "last_touch",
        "referrer",
        "touch_first",
        "touch_first_id",
        "touch_last",
        "touch_last_id",
        "touches",
        "url",
        "user_agent",
        "variant",
        "variant_at",
        "variant_id",
    )

    def __init__(self, moment: str, event_id: str, referrer: object, url: object) -> None:
        # Times are stored timestamps (text; see canonical), ids break their ties.
        self.first = moment
        self.first_id = event_id
        self.referrer = referrer
        self.url = url
        self.user_agent: object = None
        self.landing_utm: object = None
        self.arrivals: list[tuple[str, tuple[Any, Any, Any]]] | None = None
        self.first_touch: Any = None
        self.touch_first = ""
        self.touch_first_id = ""
        self.last_touch: Any = None
        self.touch_last = ""
        self.touch_last_id = ""
        # Every touch, once there are two: which of them count is known only at the end
        # (those up to the first macro conversion), and most visitors have one.
        self.touches: list[Touch] | None = None
        self.variant: object = None
        self.variant_at = ""
        self.variant_id = ""
        self.goals: dict[str, GoalHits] = {}


def touch(state: VisitorState, utm: dict[str, Any], moment: str, event_id: str) -> None:
    """Keep ``utm`` as the visitor's first and/or last touch if it is."""
    if state.first_touch is not None:
        if state.touches is None:
            state.touches = [(state.touch_first, state.touch_first_id, state.first_touch)]
        state.touches.append((moment, event_id, utm))
    if (
        state.first_touch is None
        or moment < state.touch_first
        or (moment == state.touch_first and event_id < state.touch_first_id)
    ):
        state.first_touch = utm
        state.touch_first, state.touch_first_id = moment, event_id
    if (
        state.last_touch is None
        or moment > state.touch_last
        or (moment == state.touch_last and event_id > state.touch_last_id)
    ):
        state.last_touch = utm
        state.touch_last, state.touch_last_id = moment, event_id


def touches_before(state: VisitorState, macro_at: int | None) -> tuple[Touch | None, Touch | None]:
    """The visitor's first and last touch, of those up to ``macro_at`` if given."""
    if state.first_touch is None:
        return None, None
    first = (state.touch_first, state.touch_first_id, state.first_touch)
    if macro_at is None or text_micros(state.touch_last) <= macro_at:
        return first, (state.touch_last, state.touch_last_id, state.last_touch)
    kept = [touch for touch in state.touches or [first] if text_micros(touch[0]) <= macro_at]
    if not kept:
        return None, None
    # Ordered by (time, event id), never by the UTM dict.
    return min(kept, key=_TOUCH_ORDER), max(kept, key=_TOUCH_ORDER)
