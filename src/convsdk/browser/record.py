"""The checked events recorded: micro conversions of the visit's visitor and session.

Each carries ``context["source"] = "browser"`` and the page's URL and path, so reports
tell them apart. A browser goal whose ``event`` is the name (and whose ``path``, if
any, matches the page) classifies the event; otherwise its goal is the name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import privacy
from ..event import Event
from .answers import Answer, no_content

if TYPE_CHECKING:
    from .admission import Visit
    from .allowlist import Policy
    from .payload import Page

__all__ = ["record"]


def record(
    visit: Visit,
    checked: list[tuple[str, dict[str, Any]]],
    page: Page,
    policy: Policy,
    secure_cookies: bool | None,
) -> Answer:
    """Emit the events and answer ``204`` with the visit's refreshed cookies.

    ``secure_cookies``: the recorder's setting (``None``: secure on an https page).
    """
    ctx = visit.ctx
    identity = visit.identity
    cookies: list[str] = []
    visitor_id = session_id = None
    if not ctx.anonymous:
        visitor_id = ctx.visitor_id
        if not identity.cookieless:
            # Activity in the page keeps the session going, like a request would.
            secure = secure_cookies
            if secure is None:
                secure = (ctx.url or "").startswith("https:")
            request = visit.request
            visitor_id, session_id, cookies = identity.resolve(request.cookie, secure=secure)
    ctx.url, ctx.path, ctx.utm = page
    ctx.method = ctx.referrer = None
    ctx.status = None
    ctx.source = "browser"
    context = ctx.event_context()
    emit = visit.tracker.emit
    for name, properties in checked:
        emit(
            Event(
                name,
                kind="micro",
                goal=policy.classify(name, ctx.path),
                visitor_id=visitor_id,
                session_id=session_id,
                properties=privacy.scrub_properties(properties),
                context=dict(context),
            )
        )
    answer = no_content(cookies)
    answer.recorded_by = visit.tracker
    return answer
