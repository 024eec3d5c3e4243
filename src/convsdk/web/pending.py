"""One request the middleware is handling, from its start to its response."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..identity import Issue
from .context import RequestContext
from .forms import Form
from .request import Request

if TYPE_CHECKING:
    from ..event import Event
    from ..tracker.core import Tracker

__all__ = ["Pending"]


class Pending:
    """One request the middleware is handling: its context and what is known so far.

    (:meth:`Recorder.start` builds it field by field: a new field goes there too.)
    """

    __slots__ = (
        "cookies",
        "ctx",
        "form",
        "held",
        "ip",
        "issue",
        "kind",
        "query",
        "request",
        "secure",
        "tracker",
        "wants_body",
    )

    def __init__(self, tracker: Tracker, ctx: RequestContext) -> None:
        self.tracker = tracker
        self.ctx = ctx
        #: "form_submit" / "checkout" when the request itself says so; page views
        #: need the response.
        self.kind: str | None = None
        #: The middleware should read the form body and pass it to read_form().
        self.wants_body = False
        self.form: Form | None = None
        self.query = ""
        #: Set-Cookie values for the response (known once :meth:`Recorder.finish` ran).
        self.cookies: list[str] = []
        #: The cookies the response must set if it records something (signed then).
        self.issue: Issue | None = None
        #: Events finish() held until the response body was sent (see complete()).
        self.held: list[Event] | None = None
        #: The request, and the client IP (for ids without cookies, see finish()).
        self.request: Request | None = None
        self.ip: str | None = None
        #: Whether the response's cookies are ``Secure`` (https).
        self.secure = False
