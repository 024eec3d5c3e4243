"""The :class:`Recorder`: which requests are recorded, with what context, and their
events; shared by the WSGI and ASGI middlewares (see :mod:`convsdk.interactions`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .. import runtime
from ..identity import (
    DEFAULT_SESSION_COOKIE,
    DEFAULT_VISITOR_COOKIE,
    DEFAULT_VISITOR_MAX_AGE,
    Identity,
)
from .bounds import MAX_CACHED_PAGE
from .clicks import maybe_click
from .context import SKIPPED_METHODS, RequestContext
from .events import GoalMatcher, interaction_event, request_events, standing_conversions
from .forms import FORM_METHODS, is_form_type, parse_form
from .forwarded import forwarded_proto
from .marks import Marks
from .pages import DEFAULT_CHECKOUT_PATHS, Page, html_answer, is_static, shared, stored_page
from .pending import Pending
from .request import Request
from .screening import identify_uncookied, request_context
from .settings import DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_SIZE, DntMode, Settings

if TYPE_CHECKING:
    from ..event import Event
    from ..tracker.core import Tracker

__all__ = ["Recorder", "default_recorder", "record"]

_new_object = object.__new__
# The most pages a recorder remembers (see Recorder._page).
_PAGES = 4096


class Recorder:
    """Classifies requests, matches goals and builds events; shared by the middlewares.

    Holds configuration and caches only (no per-request state), so one instance
    serves every thread and task. Its options (keyword-only; the middleware
    constructors take the same) are those of :class:`~convsdk.web.settings.Settings`,
    which checks them.
    """

    __slots__ = (
        "_bound",
        "_checkout",
        "_exclude",
        "_goals",
        "_pages",
        "body_timeout",
        "capture_fields",
        "max_body_size",
        "secret_key",
        "secure_cookies",
        "settings",
        "trusted_proxies",
        "variant_header",
    )

    def __init__(
        self,
        *,
        trusted_proxies: int = 0,
        checkout_paths: Iterable[str] = DEFAULT_CHECKOUT_PATHS,
        exclude_paths: Iterable[str] = (),
        exclude_defaults: bool = True,
        capture_fields: Iterable[str] = (),
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        variant_cookie: str | None = None,
        variant_header: str | None = None,
        consent: Callable[[Request], bool] | None = None,
        dnt: DntMode = "anonymous",
        visitor_cookie: str = DEFAULT_VISITOR_COOKIE,
        session_cookie: str = DEFAULT_SESSION_COOKIE,
        visitor_max_age: int = DEFAULT_VISITOR_MAX_AGE,
        cookie_domain: str | None = None,
        secure_cookies: bool | None = None,
        secret_key: str | bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        options = dict(locals())
        del options["self"]
        settings = self.settings = Settings(**options)
        self.trusted_proxies = settings.trusted_proxies
        self._checkout = settings.checkout
        self._exclude = settings.exclude
        # Every visitor asks for the same few pages: what is stored of a page (or that
        # it is never recorded) is worked out once per URL (see _page).
        self._pages: dict[tuple[str, str, str, str], Page | None] = {}
        self.capture_fields: tuple[str, ...] = tuple(settings.capture_fields)
        self.max_body_size = settings.max_body_size
        self.body_timeout = settings.body_timeout
        self.variant_header = settings.variant_header
        self.secure_cookies = settings.secure_cookies
        self.secret_key = settings.secret_key
        # (tracker, Identity, Marks) of the last tracker served: trackers rarely change,
        # and replacing the tuple is atomic, so threads never see half an update.
        self._bound: tuple[Tracker, Identity, Marks] | None = None
        self._goals = GoalMatcher(self.capture_fields)

    # -- identity -------------------------------------------------------------------

    def identity(self, tracker: Tracker) -> Identity:
        """The cookie signer/verifier for ``tracker`` (built once per tracker)."""
        return self._bind(tracker)[1]

    def _bind(self, tracker: Tracker) -> tuple[Tracker, Identity, Marks]:
        bound = self._bound
        if bound is not None and bound[0] is tracker:
            return bound
        identity = Identity(
            self.secret_key or tracker.secret_key,
            session_timeout=tracker.session_timeout,
            visitor_cookie=self.settings.visitor_cookie,
            session_cookie=self.settings.session_cookie,
            visitor_max_age=self.settings.visitor_max_age,
            cookie_domain=self.settings.cookie_domain,
            clock=self.settings.clock,
            # The processes sharing a spool share the cookieless ids' daily salt (a
            # disabled tracker writes nothing: then each keeps its own).
            salt_directory=tracker.spool_dir if tracker.enabled else None,
        )
        bound = self._bound = (tracker, identity, Marks(identity.clicks, identity.user))
        return bound

    # -- the request ----------------------------------------------------------------

    def excluded(self, method: str, path: str) -> bool:
        """Whether a request is never recorded (assets, health checks, HEAD, ...)."""
        return method in SKIPPED_METHODS or is_static(path) or self._exclude(path)

    def _page(self, url: tuple[str, str, str, str]) -> Page | None:
        """What is stored of the page at ``url`` (scheme, host, path, query), or None for
        a path never recorded; kept in ``_pages`` when short enough.

        A dict, not an ``lru_cache``: a hit is one lookup on every request. It holds
        at most :data:`_PAGES` pages, and starts again empty when full.
        """
        scheme, host, path, query = url
        page = None
        if not (is_static(path) or self._exclude(path)):
            page = stored_page(scheme, host, path, query)
        if len(host) + len(path) + len(query) <= MAX_CACHED_PAGE:
            pages = self._pages
            if len(pages) >= _PAGES:
                pages.clear()
            pages[url] = page
        return page

    def start(self, tracker: Tracker, request: Request) -> Pending | None:
        """Begin recording a request; ``None`` when it is never recorded.

        The returned :class:`Pending` holds the context to activate while the app
        runs (``deferred=True``: the decorators leave their conversions to
        :meth:`finish`).
        """
        method = request.method
        if method in SKIPPED_METHODS:
            return None
        scheme = request.scheme
        if self.trusted_proxies:
            scheme = forwarded_proto(request.forwarded_proto, self.trusted_proxies) or scheme
        url = (scheme, request.host, request.path, request.query)
        pages = self._pages
        page = pages.get(url)
        if page is None and url not in pages:
            page = self._page(url)
        if page is None:
            return None
        return self._pending(tracker, request, page, scheme)

    def _pending(self, tracker: Tracker, request: Request, page: Page, scheme: str) -> Pending:
        """The pending request: its context, ids and cookies, and what its form is."""
        ctx, ip = request_context(self.settings, request, page, tracker, True)
        # Pending(tracker, ctx), without the cost of calling a class (see new_context).
        pending = _new_object(Pending)
        pending.tracker = tracker
        pending.ctx = ctx
        pending.kind = None
        pending.wants_body = False
        pending.form = None
        pending.query = request.query
        pending.cookies = []
        pending.issue = None
        pending.held = None
        pending.request = request
        pending.ip = ip
        pending.secure = False
        if not ctx.track:
            return pending
        if not ctx.anonymous:
            secure = self.secure_cookies
            if secure is None:
                secure = scheme == "https"
            pending.secure = secure
            bound = self._bound
            if bound is None or bound[0] is not tracker:
                bound = self._bind(tracker)
            # Ids now (the view may read them); cookies signed only if finish() needs them.
            cookie = request.cookie
            ctx.visitor_id, ctx.session_id, pending.issue, marked = bound[1].begin(
                cookie, secure, ip, request.user_agent, request.host
            )
            # Click ids, Meta's and Google's cookies, the user: rarely there (begin() says).
            query = request.query
            if marked or (query and maybe_click(query)):
                marks = bound[2]
                found = marks.find(cookie) if marked else None
                pending.cookies = marks.apply(ctx, found, query, self.settings.clock, secure)
        if request.method in FORM_METHODS:
            self._form(pending, request)
        return pending

    def _form(self, pending: Pending, request: Request) -> None:
        """Whether the request submits a form or a checkout, and if its body is read."""
        method, path = request.method, request.path
        is_form = is_form_type(request.content_type)
        if self._checkout(path) and (is_form or method == "POST"):
            pending.kind = "checkout"
        elif is_form:
            pending.kind = "form_submit"
        if is_form and pending.kind is not None:
            length = request.content_length
            pending.wants_body = (
                length is not None
                and 0 < length <= self.max_body_size
                and self._goals.needs_form(
                    pending.tracker, pending.kind, pending.ctx.path or path, method
                )
            )

    def read_form(self, pending: Pending, content_type: str | None, body: bytes) -> None:
        """Give the request's form body (as read by the middleware) to ``pending``."""
        pending.form = parse_form(content_type, body)

    def read_context(self, request: Request, tracker: Tracker | None = None) -> RequestContext:
        """A context for code without the middleware: privacy applied, cookies only read.

        ``tracker`` defaults to the default tracker; with none the privacy defaults
        apply and no visitor is identified.
        """
        if tracker is None:
            tracker = runtime.default
        scheme = forwarded_proto(request.forwarded_proto, self.trusted_proxies) or request.scheme
        page = stored_page(scheme, request.host, request.path, request.query)
        ctx, ip = request_context(self.settings, request, page, tracker, False)
        if tracker is not None and ctx.track and not ctx.anonymous:
            _, identity, marks = self._bind(tracker)
            ctx.visitor_id, ctx.session_id = identity.read(
                request.cookie, ip=ip, user_agent=request.user_agent, host=request.host
            )
            found = marks.find(request.cookie)
            marks.apply(ctx, found, request.query, self.settings.clock, False)  # no cookie here
        return ctx

    # -- the response ---------------------------------------------------------------

    def finish(
        self,
        pending: Pending,
        status: int,
        content_type: str | None,
        cache_control: str | None = None,
        hold: bool = False,
    ) -> list[str]:
        """Record the request now that the response starts; return ``Set-Cookie`` values.

        ``content_type`` is the response's (only looked at for page views),
        ``cache_control`` its ``Cache-Control`` header. Cookies are returned only when
        an event is recorded for an identified visitor, and never for a response a
        shared cache may store (``public``, ``s-maxage``): that visitor is counted by
        the cookies the browser sent, else as in cookieless mode. With ``hold`` a page
        view is kept in the pending request until :meth:`complete` says the page was
        delivered.
        """
        ctx = pending.ctx
        if not ctx.track:
            return []
        ctx.status = status
        kind = pending.kind
        if kind is None and 200 <= status < 300 and status != 204 and ctx.method == "GET":
            # 204 has no body; no Content-Type, no page (an empty or unknown answer).
            if html_answer(content_type):
                kind = "page_view"
        conversions = ctx.conversions
        if conversions:
            conversions = standing_conversions(ctx, status)
        cached = cache_control is not None and shared(cache_control)
        if kind is None and not conversions:
            if ctx.identified and not cached:  # identify() recorded: the visitor keeps it
                return self._set_cookies(pending)
            return []  # nothing recorded: no cookies either
        if cached:
            cookies: list[str] = []
            identify_uncookied(self.identity(pending.tracker), pending)
        elif pending.issue is None and not ctx.identified:
            cookies = pending.cookies  # nothing to sign (a visitor seen this minute)
        else:
            cookies = pending.cookies = self._set_cookies(pending)
        record(self._goals, pending, kind, status, conversions, cached, hold)
        return cookies

    def _set_cookies(self, pending: Pending) -> list[str]:
        """The response's ``Set-Cookie`` values: the cookies issued at the start, signed,
        the click cookie of a new click id, and the user cookie after ``identify()``."""
        issue, cookies = pending.issue, pending.cookies
        if issue is not None:
            pending.issue = None
            bound = self._bound
            if bound is None or bound[0] is not pending.tracker:
                bound = self._bind(pending.tracker)
            cookies = bound[1].set_cookies(issue) + cookies
        if pending.ctx.identified:
            marks = self._bind(pending.tracker)[2]
            cookies = [*cookies, *marks.user_cookies(pending.ctx, pending.secure)]
        return cookies

    def complete(self, pending: Pending) -> None:
        """The response body was sent in full: record what :meth:`finish` held."""
        held = pending.held
        if held:
            pending.held = None
            emit = pending.tracker.emit
            for event in held:
                emit(event)

    def __repr__(self) -> str:
        return f"<Recorder checkout={self._checkout.patterns!r} exclude={self._exclude.patterns!r}>"


def record(
    goals: GoalMatcher,
    pending: Pending,
    kind: str | None,
    status: int,
    conversions: dict[str, Event],
    cached: bool,
    hold: bool,
) -> None:
    """Emit the events of a request that ends with ``status`` (see :meth:`Recorder.finish`);
    with ``hold``, keep a page view's in ``pending`` until the page is delivered."""
    ctx = pending.ctx
    context = ctx.event_context()
    tracker = pending.tracker
    held = hold and kind == "page_view"
    if kind is not None and not conversions and not ctx.annotations:
        # The common request: one interaction, nothing from the view to merge.
        goal = goals.match(tracker, ctx, kind, status)
        event = interaction_event(pending, kind, status, context, goal, goals.capture_fields)
        if held:
            pending.held = [event]
        else:
            tracker.emit(event)
        return
    events = request_events(goals, pending, kind, status, context, conversions, cached)
    if held:
        pending.held = events
    else:
        emit = tracker.emit
        for event in events:
            emit(event)


_default: Recorder | None = None


def default_recorder() -> Recorder:
    """The :class:`Recorder` with default options, for code running without a middleware."""
    global _default
    recorder = _default
    if recorder is None:
        recorder = _default = Recorder()
    return recorder
