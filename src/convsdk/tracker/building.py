"""Building events: :class:`EventBuilder`, the part of a :class:`~convsdk.Tracker` that
turns a name and its fields into an :class:`~convsdk.event.Event`, classified by the
tracker's goals and carrying the current request's visitor, session and details."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..event import Event, make_event
from ..goals import GoalSet
from ..web.context import RequestContext, current_request

__all__ = ["EventBuilder"]


def _not_a_goal(goal: str) -> ValueError:
    return ValueError(f"kind: {goal!r} is not a configured goal; give kind='micro' or 'macro'")


class EventBuilder:
    """Builds the events of a tracker: its :attr:`goals` classify them, its
    :attr:`currency` is that of values given without one."""

    goals: GoalSet
    currency: str

    def build_event(
        self,
        name: str,
        *,
        kind: str | None = None,
        goal: str | None = None,
        value: Any = None,
        currency: str | None = None,
        transaction_id: Any = None,
        properties: dict[str, Any] | None = None,
        user_id: Any = None,
        timestamp: datetime | None = None,
        ctx: RequestContext | None = None,
    ) -> Event | None:
        """Build (without emitting) the event :meth:`track` would record, or ``None``.

        ``ctx`` defaults to the active request context.
        """
        return self._build(
            name,
            kind,
            goal,
            value,
            currency,
            transaction_id,
            properties,
            user_id,
            timestamp,
            current_request.get() if ctx is None else ctx,
        )

    def _build(
        self,
        name: str,
        kind: str | None,
        goal: str | None,
        value: Any,
        currency: str | None,
        transaction_id: Any,
        properties: dict[str, Any] | None,
        user_id: Any,
        timestamp: datetime | None,
        ctx: RequestContext | None,
    ) -> Event | None:
        if ctx is not None and not ctx.track:
            return None
        if kind is None:
            matched = None
            if goal is not None:  # named without a kind: the configured goal says what it is
                if (matched := self.goals.get(goal)) is None:
                    raise _not_a_goal(goal)
            elif self.goals:
                path, method = (ctx.path, ctx.method) if ctx else (None, None)
                matched = self.goals.match(name, path, method)
            if matched is not None:
                kind, goal = matched.kind, matched.name
                if value is None:
                    value = matched.extract_value(properties=properties)
                if currency is None:
                    currency = matched.currency
        elif goal is None:
            goal = name
        if ctx is None:
            return make_event(
                name,
                kind=kind,
                goal=goal,
                value=value,
                currency=currency,
                default_currency=self.currency,
                transaction_id=transaction_id,
                user_id=user_id,
                properties=properties,
                timestamp=timestamp,
            )
        anonymous = ctx.anonymous
        return make_event(
            name,
            kind=kind,
            goal=goal,
            value=value,
            currency=currency,
            default_currency=self.currency,
            transaction_id=transaction_id,
            visitor_id=None if anonymous else ctx.visitor_id,
            session_id=None if anonymous else ctx.session_id,
            user_id=user_id if user_id is not None else (None if anonymous else ctx.user_id),
            properties=properties,
            context=ctx.event_context(),
            timestamp=timestamp,
        )
