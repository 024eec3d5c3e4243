"""The request an event belongs to, carried in a context variable.

The middleware (or a framework integration) builds one :class:`RequestContext` per
request and activates it; ``track()`` and the decorators inside the view read it to
attach the visitor, session and request details to their events.

Conversions declared by decorators while a middleware handles the request are not
emitted at once: they wait in :attr:`RequestContext.conversions` until the response
status is known, so that a 4xx/5xx answer records nothing and a middleware goal that
names the same goal becomes one event (the decorator's details win).

This module imports nothing of the tracker: a context names its tracker through
:class:`TrackerLike`, so the tracker can read the context without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..event import Event

__all__ = [
    "SKIPPED_METHODS",
    "RequestContext",
    "TrackerLike",
    "activate",
    "current",
    "current_request",
    "deactivate",
    "new_context",
]


class TrackerLike(Protocol):
    """What a context needs to know of the tracker recording its request."""

    @property
    def closed(self) -> bool: ...


#: The request context of the view running in this thread or task, or ``None``.
current_request: ContextVar[RequestContext | None] = ContextVar("convsdk_request", default=None)


#: Request methods that are no visit (a link checker's HEAD, a CORS preflight): never
#: recorded, by the middleware or by a decorator.
SKIPPED_METHODS = frozenset({"HEAD", "OPTIONS"})


@dataclass(slots=True, eq=False)
class RequestContext:
    """What convsdk knows about the request being served.

    ``track`` is False when nothing may be recorded for this request (a bot, or a
    visitor whose consent says no and the site chose not to count them at all);
    ``anonymous`` is True when events are recorded without visitor or session ids
    (Do-Not-Track / Global Privacy Control).
    """

    method: str | None = None
    path: str | None = None
    url: str | None = None
    referrer: str | None = None
    user_agent: str | None = None
    ip: str | None = None
    utm: dict[str, str | None] | None = None
    variant: str | None = None
    visitor_id: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    track: bool = True
    anonymous: bool = False
    status: int | None = None
    source: str | None = None
    #: True while a middleware owns the request: conversions wait for the response.
    deferred: bool = False
    #: The tracker the middleware records this request with (None: the default one).
    tracker: TrackerLike | None = None
    #: goal name -> conversion declared by a decorator, emitted by the middleware.
    conversions: dict[str, Event] = field(default_factory=dict)
    #: values given to ``annotate()`` outside a decorated view (for middleware goals).
    annotations: dict[str, Any] = field(default_factory=dict)
    #: goal name -> the statuses a decorator conversion needs (when not "below 400").
    statuses: dict[str, frozenset[int]] | None = None
    #: ``cancel_conversion()`` was called: this request converts nobody.
    cancelled: bool = False
    #: The ASGI scope the app sees (its router records the matched route there).
    scope: Mapping[str, Any] | None = None
    #: The visitor's marks for ad platforms, merged into ``context``: ``click_ids``,
    #: ``fbc``, ``fbp``, ``ga_client_id``, ``traits`` (see :mod:`convsdk.web.marks`).
    identifiers: dict[str, Any] | None = None
    #: ``identify()`` was called in this request: the response keeps the user id.
    identified: bool = False

    def cancel(self) -> None:
        """This request converts nobody (``cancel_conversion()``, or an answer no view
        made): its decorators' conversions and its goal are dropped."""
        self.cancelled = True
        self.conversions.clear()

    def event_context(self) -> dict[str, Any]:
        """The ``context`` dict stored with an event."""
        ctx: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "url": self.url,
            "referrer": self.referrer,
            "user_agent": self.user_agent,
            "ip": self.ip,
            "status": self.status,
            "utm": self.utm,
        }
        if self.variant is not None:
            ctx["variant"] = self.variant
        if self.source is not None:
            ctx["source"] = self.source
        if self.identifiers:
            ctx.update(self.identifiers)
        return ctx


_new_object = object.__new__


def new_context(
    method: str | None,
    path: str | None,
    url: str | None,
    referrer: str | None,
    user_agent: str | None,
    ip: str | None,
    utm: dict[str, str | None] | None,
    variant: str | None,
    track: bool,
    anonymous: bool,
    deferred: bool,
    tracker: TrackerLike | None,
) -> RequestContext:
    """``RequestContext(method=method, ...)`` (other fields at their defaults), built
    on the request path at half the cost: calling a class with keyword arguments packs
    them into a dict on the way to ``__init__`` (CPython 3.11)."""
    ctx = _new_object(RequestContext)
    ctx.method = method
    ctx.path = path
    ctx.url = url
    ctx.referrer = referrer
    ctx.user_agent = user_agent
    ctx.ip = ip
    ctx.utm = utm
    ctx.variant = variant
    ctx.visitor_id = None
    ctx.session_id = None
    ctx.user_id = None
    ctx.track = track
    ctx.anonymous = anonymous
    ctx.status = None
    ctx.source = None
    ctx.deferred = deferred
    ctx.tracker = tracker
    ctx.conversions = {}
    ctx.annotations = {}
    ctx.statuses = None
    ctx.cancelled = False
    ctx.scope = None
    ctx.identifiers = None
    ctx.identified = False
    return ctx


def current() -> RequestContext | None:
    """The active request context, or ``None`` outside a request."""
    return current_request.get()


def activate(ctx: RequestContext) -> Token[RequestContext | None]:
    """Make ``ctx`` the active request context; pass the token to :func:`deactivate`."""
    return current_request.set(ctx)


def deactivate(token: Token[RequestContext | None]) -> None:
    """Restore the request context that was active before :func:`activate`."""
    current_request.reset(token)
