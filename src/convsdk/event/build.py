"""Building an event from what a caller passed: :func:`make_event`, on the request path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .model import Event, trusted_event
from .validation import check_currency, check_id, check_name, check_properties, check_value

__all__ = ["make_event"]

_KINDS = frozenset({"micro", "macro", None})


def make_event(
    name: str,
    *,
    kind: str | None = None,
    goal: str | None = None,
    value: Any = None,
    currency: str | None = None,
    default_currency: str = "USD",
    transaction_id: Any = None,
    visitor_id: Any = None,
    session_id: Any = None,
    user_id: Any = None,
    properties: Any = None,
    context: dict[str, Any] | None = None,
    timestamp: datetime | None = None,
) -> Event:
    """Validate the arguments and build an :class:`Event`; raise ``ValueError`` naming the field.

    A ``value`` given without a ``currency`` takes ``default_currency``.
    """
    check_name("name", name)
    if kind not in _KINDS:
        raise ValueError(f"kind must be 'micro', 'macro' or None, got {kind!r}")
    if goal is not None:
        check_name("goal", goal)
    if value is not None:
        value = check_value(value)
        currency = default_currency if currency is None else check_currency(currency)
    elif currency is not None:
        currency = check_currency(currency)
    if timestamp is not None:
        if not isinstance(timestamp, datetime):
            raise ValueError("timestamp must be a datetime")
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=UTC)
    if transaction_id is not None:
        transaction_id = check_id("transaction_id", transaction_id)
    if visitor_id is not None:
        visitor_id = check_id("visitor_id", visitor_id)
    if session_id is not None:
        session_id = check_id("session_id", session_id)
    if user_id is not None:
        user_id = check_id("user_id", user_id)
    return trusted_event(
        name,
        kind,  # type: ignore[arg-type]
        goal,
        value,
        currency,
        transaction_id,
        visitor_id,
        session_id,
        user_id,
        check_properties(properties) if properties is not None else {},
        context if context is not None else {},
        timestamp,
    )
