"""The events of a recorded request: the interaction (page view, form submit,
checkout) with its goal's value, and the view's conversions, as they stand."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .. import privacy
from ..event import Event, check_currency, make_event, trusted_event
from .context import RequestContext
from .pending import Pending

if TYPE_CHECKING:
    from ..goals import Goal, GoalSet
    from ..tracker.core import Tracker

__all__ = [
    "GoalMatcher",
    "conversion_events",
    "interaction",
    "interaction_event",
    "merge",
    "request_events",
    "standing_conversions",
]

log = logging.getLogger("convsdk.interactions")


def standing_conversions(ctx: RequestContext, status: int) -> dict[str, Event]:
    """The view's conversions that stand for a response of ``status``.

    A goal's ``status=`` rule decides; without one, any answer under 400.
    """
    conversions = ctx.conversions
    if not conversions:
        return {}
    rules = ctx.statuses
    if rules is not None:
        return {
            goal: event
            for goal, event in conversions.items()
            if (status in rules[goal] if goal in rules else status < 400)
        }
    return {} if status >= 400 else conversions


def interaction_event(
    pending: Pending,
    kind: str,
    status: int,
    context: dict[str, Any],
    goal: Goal | None,
    capture_fields: tuple[str, ...],
) -> Event:
    """The interaction's event: its goal, its value, the captured form fields, and
    what the view annotated (when the request succeeded)."""
    form = pending.form
    properties: dict[str, Any] = {}
    if form and capture_fields:
        properties.update(privacy.capture_fields(form, capture_fields))
    # Like the decorators' conversions, what the view annotated stands only when
    # the request succeeded.
    ctx = pending.ctx
    notes = ctx.annotations if status < 400 else _NO_NOTES
    value = currency = None
    if goal is not None:
        currency = goal.currency
        if goal.value_from is None:
            value = goal.value
        else:
            value = _goal_value(goal, pending, {**properties, **notes.get("properties", {})})
    if not notes and not properties and ctx.user_id is None:
        # Everything here is already valid (goal fields were checked when the goal was
        # built, ids are ours): skip make_event's checks.
        if not currency:
            currency = pending.tracker.currency if value is not None else None
        anonymous = ctx.anonymous
        return trusted_event(
            kind,
            goal.kind if goal is not None else None,
            goal.name if goal is not None else None,
            value,
            currency,
            None,
            None if anonymous else ctx.visitor_id,
            None if anonymous else ctx.session_id,
            None,
            properties,  # empty, and the event's own
            context,
        )
    fields: dict[str, Any] = {
        "kind": goal.kind if goal else None,
        "goal": goal.name if goal else None,
        "value": value,
        "currency": currency,
        "default_currency": pending.tracker.currency,
        "properties": properties,
        "context": context,
        **_ids(ctx),
    }
    return _annotated(kind, fields, notes, properties)


# The annotations of a failed request: none (never changed).
_NO_NOTES: dict[str, Any] = {}


def _goal_value(goal: Goal, pending: Pending, properties: dict[str, Any]) -> Any:
    """The goal's value: fixed, or read from the form, the query or the properties."""
    spec = goal.value_from
    if spec is None:
        return goal.value
    query = parse_qs(pending.query) if spec.startswith("query:") and pending.query else None
    return goal.extract_value(form=pending.form, query=query, properties=properties)


def _ids(ctx: RequestContext) -> dict[str, Any]:
    anonymous = ctx.anonymous
    return {
        "visitor_id": None if anonymous else ctx.visitor_id,
        "session_id": None if anonymous else ctx.session_id,
        "user_id": None if anonymous else ctx.user_id,
        "transaction_id": None,
    }


def _annotated(
    kind: str, fields: dict[str, Any], notes: dict[str, Any], properties: dict[str, Any]
) -> Event:
    """The event of ``fields`` with what annotate() said; without it if that is invalid."""
    if not notes:
        return make_event(kind, **fields)
    noted = dict(fields)
    for key in ("value", "currency", "transaction_id", "user_id"):
        if notes.get(key) is not None:
            noted[key] = notes[key]
    if notes.get("properties"):
        noted["properties"] = privacy.scrub_properties({**properties, **notes["properties"]})
    try:
        return make_event(kind, **noted)
    except ValueError as exc:
        log.warning("annotate() values ignored for this %s: %s", kind, exc)
        return make_event(kind, **fields)


def conversion_events(
    pending: Pending,
    conversions: dict[str, Event],
    context: dict[str, Any],
    status: int,
    cached: bool,
) -> list[Event]:
    """The view's conversions made ready to emit: currency, context, scrubbed
    properties, the annotated user id, and the ids of a cookieless (cached) answer."""
    ctx = pending.ctx
    currency = pending.tracker.currency
    user_id = ctx.annotations.get("user_id") if status < 400 else None
    events = []
    for event in conversions.values():
        if event.currency is None and event.value is not None:
            event.currency = currency
        event.context = dict(context)
        event.properties = privacy.scrub_properties(event.properties)
        if event.user_id is None and user_id is not None:
            event.user_id = str(user_id)[:128]
        if cached:  # built with the ids the cookies would have carried
            event.visitor_id, event.session_id = ctx.visitor_id, ctx.session_id
        events.append(event)
    return events


def merge(event: Event, decorated: Event, goal_currency: str | None, default_currency: str) -> None:
    """One request, one conversion per goal: the decorator's details win.

    The currency is the decorator's (or annotate()'s) if it named one, else the goal's,
    else the tracker's default; ``decorated.currency`` is ``None`` unless named.
    """
    event.kind = decorated.kind
    if decorated.value is not None:
        event.value = decorated.value
    if event.value is not None:
        currency = decorated.currency or goal_currency or event.currency
        event.currency = currency or check_currency(default_currency)
    if decorated.transaction_id is not None:
        event.transaction_id = decorated.transaction_id
    if decorated.user_id is not None:
        event.user_id = decorated.user_id
    if decorated.properties:
        event.properties = privacy.scrub_properties({**event.properties, **decorated.properties})


#: An interaction as goals see it: (event, path, method, status).
_Interaction = tuple[str, str | None, str | None, int]
# The most interactions a matcher remembers the goal of.
_MATCHES = 1024


class GoalMatcher:
    """Which goal an interaction matches, cached, and the form fields to capture."""

    __slots__ = ("capture_fields", "last")

    def __init__(self, capture_fields: tuple[str, ...]) -> None:
        self.capture_fields = capture_fields
        # (goals, their matches) of the last goal set matched against: goals are
        # immutable, and a site's pages are few, so each (event, path, method, status)
        # is matched once. Replaced whole, so threads never see half an update.
        self.last: tuple[GoalSet, dict[_Interaction, Goal | None]] | None = None

    def match(self, tracker: Tracker, ctx: RequestContext, kind: str, status: int) -> Goal | None:
        """The goal the interaction matches, if any (none for a cancelled request)."""
        goals = tracker.goals
        if not goals.goals or ctx.cancelled:
            return None
        last = self.last
        if last is None or last[0] is not goals:
            last = self.last = (goals, {})
        matches = last[1]
        interaction = (kind, ctx.path, ctx.method, status)
        goal = matches.get(interaction)
        if goal is None and interaction not in matches:
            goal = goals.match(kind, ctx.path, ctx.method, status)
            # Paths here are bounded (MAX_PATH), and so is the number kept: so is memory.
            if len(matches) >= _MATCHES:
                matches.clear()
            matches[interaction] = goal
        return goal

    def needs_form(self, tracker: Tracker, kind: str, path: str, method: str) -> bool:
        """Whether an interaction's form body is read: fields to capture, or its goal's
        value comes from the form."""
        if self.capture_fields:
            return True
        goal = tracker.goals.match(kind, path, method) if tracker.goals else None
        return goal is not None and (goal.value_from or "").startswith("form:")


def interaction(
    goals: GoalMatcher,
    pending: Pending,
    kind: str,
    status: int,
    context: dict[str, Any],
    conversions: dict[str, Event] | None,
) -> Event:
    """The interaction's event, merged with the decorator conversion of its goal."""
    tracker = pending.tracker
    goal = goals.match(tracker, pending.ctx, kind, status)
    event = interaction_event(pending, kind, status, context, goal, goals.capture_fields)
    if conversions and goal is not None:
        decorated = conversions.pop(goal.name, None)
        if decorated is not None:
            merge(event, decorated, goal.currency, tracker.currency)
    return event


def request_events(
    goals: GoalMatcher,
    pending: Pending,
    kind: str | None,
    status: int,
    context: dict[str, Any],
    conversions: dict[str, Event],
    cached: bool,
) -> list[Event]:
    """The interaction (if any) merged with its goal's conversion, then the others."""
    events: list[Event] = []
    others = dict(conversions)
    if kind is not None:
        events.append(interaction(goals, pending, kind, status, context, others))
    events.extend(conversion_events(pending, others, context, status, cached))
    if pending.ctx.anonymous:
        # Do-Not-Track / no consent: no identifier at all, whatever the view said.
        for event in events:
            event.visitor_id = event.session_id = event.user_id = None
    return events
