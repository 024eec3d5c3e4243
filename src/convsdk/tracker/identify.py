"""``identify()``: link the current visitor to the app's user id; ``forget()``: unlink.

Inside a request the visitor becomes the user: an ``identify`` event is recorded, and
the events after it (of this request, and of later ones through the signed user
cookie the middleware sets) carry ``user_id`` and the hashed traits in
``context["traits"]``. Outside a request the event carries the user id only. A visitor
under Do-Not-Track / Global Privacy Control (or refused by the consent callback) is
not linked: nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..destinations.events import IDENTIFY
from ..event import Event, make_event
from ..identity import hash_traits
from ..web.context import current_request

__all__ = ["forget_user", "identify_event"]

_MAX_USER_ID = 128


def identify_event(
    user_id: Any, traits: Mapping[str, Any] | None, phone_country_code: str | None
) -> Event | None:
    """The identify event for the current request (its context updated), or ``None``
    when the visitor may not be linked. Raises ``ValueError`` for an empty user id and
    :class:`~convsdk.ConfigError` for an unknown trait."""
    text = "" if user_id is None else str(user_id).strip()
    if not text:
        raise ValueError("user_id: identify() needs a user id")
    if len(text) > _MAX_USER_ID:
        raise ValueError(f"user_id: longer than {_MAX_USER_ID} characters")
    hashed = hash_traits(traits or {}, phone_country_code)
    ctx = current_request.get()
    if ctx is None:
        return make_event(IDENTIFY, user_id=text)
    if not ctx.track or ctx.anonymous:
        return None
    identifiers = dict(ctx.identifiers or {})
    if ctx.user_id != text:
        identifiers.pop("traits", None)  # another user's traits are not this one's
    if hashed:
        identifiers["traits"] = {**identifiers.get("traits", {}), **hashed}
    ctx.identifiers = identifiers or None
    ctx.user_id = text
    ctx.identified = True
    return make_event(
        IDENTIFY,
        visitor_id=ctx.visitor_id,
        session_id=ctx.session_id,
        user_id=text,
        context=ctx.event_context(),
    )


def forget_user() -> bool:
    """Unlink the current request's visitor from their user id (a logout): later events
    carry no ``user_id`` nor traits, and the response removes the user cookie. True
    inside a request that records its visitor; records no event."""
    ctx = current_request.get()
    if ctx is None or not ctx.track or ctx.anonymous:
        return False
    if ctx.identifiers:
        kept = {key: value for key, value in ctx.identifiers.items() if key != "traits"}
        ctx.identifiers = kept or None
    ctx.user_id = None
    ctx.identified = True  # the response says so to the browser
    return True
