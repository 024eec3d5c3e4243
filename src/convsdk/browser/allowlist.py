"""Which events the browser may send: the allowlisted names and the goals that classify them.

The names are ``browser_events`` plus the ``event`` of the tracker's goals marked
``source="browser"``; never an interaction the middleware records
(:data:`RESERVED_EVENTS`) nor a macro goal's name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeGuard

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..goals import Goal
    from ..tracker import Tracker

__all__ = ["RESERVED_EVENTS", "Allowlist", "Policy", "name_ok"]

log = logging.getLogger("convsdk.beacon")

#: Interactions the middleware records; the browser may not send them.
RESERVED_EVENTS = frozenset({"page_view", "form_submit", "checkout"})


def name_ok(name: object) -> TypeGuard[str]:
    """Whether ``name`` can be an event name: 1-64 ASCII letters, digits or underscores."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= 64
        and name.isascii()
        and name.replace("_", "a").isalnum()
    )


def check_names(browser_events: Iterable[str]) -> frozenset[str]:
    """The ``browser_events`` option checked."""
    if isinstance(browser_events, str | bytes):
        raise ConfigError("must be a list of event names, not a string", field="browser_events")
    names = frozenset(browser_events)
    for name in names:
        if not name_ok(name):
            raise ConfigError(
                f"event names are 1-64 letters, digits or underscores, got {name!r}",
                field="browser_events",
            )
    reserved = sorted(names & RESERVED_EVENTS)
    if reserved:
        raise ConfigError(
            f"{', '.join(reserved)} are recorded by the server, never sent by the browser",
            field="browser_events",
        )
    return names


class Policy:
    """The allowlisted names for one tracker and the browser goals that classify them."""

    __slots__ = ("goals", "names")

    def __init__(self, tracker: Tracker, browser_events: frozenset[str]) -> None:
        browser_goals = [goal for goal in tracker.goals if goal.source == "browser"]
        names = set(browser_events)
        for goal in browser_goals:
            name = goal.event or goal.name
            if name in RESERVED_EVENTS:
                log.warning("goal %r: %r cannot come from the browser; ignored", goal.name, name)
                continue
            names.add(name)
            if goal.value is not None or goal.value_from is not None:
                log.warning(
                    "goal %r: events from the browser carry no value; its value is ignored",
                    goal.name,
                )
        # An event's goal is its name when no browser goal claims it: a name that is
        # also a macro goal's would let the browser record that macro conversion.
        macro = {goal.name for goal in tracker.goals if goal.kind == "macro"} & names
        for name in sorted(macro):
            log.warning("%r is a macro goal: the browser may not send it; refused", name)
        names -= macro
        self.names = frozenset(names)
        self.goals: dict[str, tuple[Goal, ...]] = {
            name: tuple(g for g in browser_goals if g.event in (name, None)) for name in names
        }
        if not names:
            log.warning(
                "no event may come from the browser: every beacon is refused; pass "
                "browser_events=[...] or mark goals source='browser'"
            )

    def classify(self, name: str, path: str | None) -> str:
        """The goal an allowed browser event counts for."""
        for goal in self.goals.get(name, ()):
            if goal.matches(name, path, None):
                return goal.name
        return name


class Allowlist:
    """The endpoint's ``browser_events``, and the :class:`Policy` of the tracker last served."""

    __slots__ = ("_bound", "names")

    def __init__(self, browser_events: Iterable[str]) -> None:
        #: ``browser_events``, checked
        self.names = check_names(browser_events)
        # (tracker, its goals, policy): replaced whole, so threads never see half an update.
        self._bound: tuple[Tracker, object, Policy] | None = None

    def policy(self, tracker: Tracker) -> Policy:
        """What the browser may send to ``tracker`` (rebuilt when its goals change)."""
        bound = self._bound
        if bound is not None and bound[0] is tracker and bound[1] is tracker.goals:
            return bound[2]
        policy = Policy(tracker, self.names)
        self._bound = (tracker, tracker.goals, policy)
        return policy
