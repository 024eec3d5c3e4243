"""What the middleware records: classifying requests, matching goals, building the events.

The WSGI and ASGI middlewares differ only in I/O; both hand the request to a
:class:`Recorder`:

1. :meth:`Recorder.start` reads the :class:`~convsdk.context.Request` and returns
   ``None`` for requests that are never recorded (static assets, health checks,
   ``HEAD``/``OPTIONS``, excluded paths), or a :class:`Pending` request holding the
   :class:`~convsdk.context.RequestContext` (privacy rules applied, visitor and
   session resolved) for the middleware to activate while the app runs;
2. when :attr:`Pending.wants_body` is set the middleware reads the form body (and
   hands the same bytes back to the app) and passes it to :meth:`Recorder.read_form`;
3. when the response starts, :meth:`Recorder.finish` classifies the interaction with
   the status and content type, matches the goals, merges the conversions the view's
   decorators declared, emits the events, and returns the ``Set-Cookie`` values to
   add to the response: only when something is recorded for an identified visitor,
   and never on a response a shared cache may store (``Cache-Control: public`` or
   ``s-maxage``);
4. with ``hold=True`` a page view waits in the pending request until the middleware
   calls :meth:`Recorder.complete` (the body was sent in full).

Interactions
------------
- ``page_view``: a ``GET`` answered 2xx (not 204) with an HTML body (``Content-Type``
  ``text/html``); the ASGI middleware records it once the body was sent in full (a
  client that went away saw no page);
- ``form_submit``: a ``POST``/``PUT``/``PATCH`` of an ``application/x-www-form-urlencoded``
  or ``multipart/form-data`` body;
- ``checkout``: a form submit, or any ``POST``, to a checkout path (``/checkout*``).

Every interaction is recorded, as a plain event (``kind`` ``None``) when no goal
matches, the answer is 4xx/5xx (or not a status the goal names, see ``status=``) or
the view called :func:`convsdk.cancel_conversion`: reports need the denominators. Goals classify it,
first match wins. A goal whose ``value_from`` is ``form:<field>`` reads that field
from the submitted form; the field itself is never stored (only allowlisted fields
are, see ``capture_fields``).

Conversions from decorators
---------------------------
A ``track_micro``/``track_macro`` view running under the middleware declares its
conversion in the request context instead of emitting it. At the end:

- nothing the decorators declared is emitted when the status is 400 or more (or,
  for a decorator given ``status=``, not one it names);
- a decorator conversion naming the goal the interaction matched becomes ONE event:
  the decorator's value, currency, transaction id, properties and kind win, the
  interaction's name and context stay;
- other decorator conversions are emitted as their own events, with the final
  request context (``status`` included);
- values given to ``annotate()`` outside a decorated view apply to the interaction's
  event (``value``, ``currency``, ``transaction_id``, ``properties``); ``user_id``
  applies to every event of the request.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs

from . import options as _options
from . import privacy, runtime
from .errors import ConfigError
from .event import Event, check_currency, make_event, trusted_event
from .identity import (
    DEFAULT_SESSION_COOKIE,
    DEFAULT_VISITOR_COOKIE,
    DEFAULT_VISITOR_MAX_AGE,
    Identity,
    cookie_value,
)
from .web.bounds import MAX_CACHED_PAGE, MAX_IP, MAX_UA, MAX_URL, MAX_VARIANT
from .web.context import SKIPPED_METHODS as _SKIPPED_METHODS
from .web.context import RequestContext, new_context
from .web.forms import FORM_METHODS, Form, is_form_type, parse_form
from .web.forwarded import client_ip, forwarded_proto
from .web.pages import (
    DEFAULT_CHECKOUT_PATHS,
    DEFAULT_EXCLUDED_PATHS,
    STATIC_EXTENSIONS,
    Page,
    PathSet,
    html_answer,
    is_static,
    shared,
    stored_page,
)
from .web.request import Request

if TYPE_CHECKING:
    from .goals import Goal, GoalSet
    from .tracker.core import Tracker

__all__ = [
    "DEFAULT_CHECKOUT_PATHS",
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_EXCLUDED_PATHS",
    "DEFAULT_MAX_BODY_SIZE",
    "STATIC_EXTENSIONS",
    "PathSet",
    "Pending",
    "Recorder",
    "default_recorder",
    "is_form_type",
    "parse_form",
]

log = logging.getLogger("convsdk.interactions")

DEFAULT_MAX_BODY_SIZE = 1024 * 1024
#: Seconds the ASGI middleware waits for a form body before letting the request through.
DEFAULT_BODY_TIMEOUT = 5.0

_new_object = object.__new__

DntMode = Literal["anonymous", "skip"]


# -- per request -------------------------------------------------------------------


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
        "kind",
        "query",
        "request",
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
        #: Set-Cookie values for the response.
        self.cookies: list[str] = []
        #: Events finish() held until the response body was sent (see complete()).
        self.held: list[Event] | None = None
        #: The request, and the client IP (for ids without cookies, see finish()).
        self.request: Request | None = None
        self.ip: str | None = None


class Recorder:
    """Classifies requests, matches goals and builds events; shared by the middlewares.

    Holds configuration and caches only (no per-request state), so one instance
    serves every thread and task. Options (all keyword-only; the middleware
    constructors take the same):

    - ``trusted_proxies``: how many proxies in front of the app append to
      ``X-Forwarded-For`` (and set ``X-Forwarded-Proto``); 0 trusts the socket only.
    - ``checkout_paths``: globs of checkout pages (default ``["/checkout*"]``).
    - ``exclude_paths``: globs never recorded, on top of static assets and health
      checks (``exclude_defaults=False`` drops those built-in exclusions except
      assets by extension).
    - ``capture_fields``: form fields recorded as event properties (never the
      sensitive ones, see :func:`convsdk.privacy.is_sensitive_field`).
    - ``max_body_size``: the largest form body read (bytes, default 1 MiB); a larger
      form is recorded without its fields.
    - ``body_timeout``: seconds the ASGI middleware waits for a form body (default 5);
      a client still sending past it is recorded without its form fields, and the app
      gets the request at once (with the body read so far, then the rest).
    - ``variant_cookie`` / ``variant_header``: where the experiment variant is.
    - ``consent``: a callable of the :class:`~convsdk.context.Request` returning
      whether the visitor agreed to be identified (a cookie banner's answer); False
      records the request anonymously.
    - ``dnt``: ``"anonymous"`` (default: count the request without identifiers) or
      ``"skip"`` (record nothing) when the browser sends ``Sec-GPC: 1`` or ``DNT: 1``
      and the tracker respects them.
    - ``visitor_cookie``, ``session_cookie``, ``visitor_max_age`` (seconds),
      ``cookie_domain``, ``secure_cookies`` (default: on for https).
    - ``secret_key``: signs the cookies (default: the tracker's).
    - ``clock``: the time source for sessions (tests inject one).
    """

    __slots__ = (
        "_bound",
        "_checkout",
        "_exclude",
        "_matcher",
        "_pages",
        "body_timeout",
        "capture_fields",
        "clock",
        "consent",
        "cookie_domain",
        "dnt",
        "max_body_size",
        "secret_key",
        "secure_cookies",
        "session_cookie",
        "trusted_proxies",
        "variant_cookie",
        "variant_header",
        "visitor_cookie",
        "visitor_max_age",
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
        # Each option's type is checked where it is defined (convsdk.options).
        trusted_proxies = _options.check("trusted_proxies", trusted_proxies)
        max_body_size = _options.check("max_body_size", max_body_size)
        body_timeout = _options.check("body_timeout", body_timeout)
        dnt = _options.check("dnt", dnt)
        consent = _options.check("consent", consent)
        if not callable(clock):
            raise ConfigError("must be a callable returning seconds", field="clock")
        capture_fields = _options.check("capture_fields", capture_fields)
        fields = tuple(capture_fields)
        for name in fields:
            if not name:
                raise ConfigError("field names are not empty", field="capture_fields")
        never = [name for name in fields if privacy.is_sensitive_field(name)]
        if never:
            log.warning("capture_fields %s look sensitive and are never recorded", never)
        named: tuple[tuple[str, str | None], ...] = (
            ("visitor_cookie", visitor_cookie),
            ("session_cookie", session_cookie),
            ("variant_cookie", variant_cookie),
            ("variant_header", variant_header),
        )
        for option, label in named:
            if label is None and option.startswith("variant"):
                continue
            if not isinstance(label, str) or re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", label) is None:
                raise ConfigError(f"must be a cookie or header name, got {label!r}", field=option)
        if visitor_cookie == session_cookie:
            raise ConfigError("must differ from visitor_cookie", field="session_cookie")
        visitor_max_age = _options.check("visitor_max_age", visitor_max_age)
        secure_cookies = _options.check("secure_cookies", secure_cookies)
        if cookie_domain is not None and (
            not isinstance(cookie_domain, str)
            or re.fullmatch(r"[A-Za-z0-9.\-]+", cookie_domain) is None
        ):
            raise ConfigError(
                f"must be a domain name, got {cookie_domain!r}", field="cookie_domain"
            )
        secret_key = _options.check("secret_key", secret_key)
        self.trusted_proxies = trusted_proxies
        self._checkout = PathSet(checkout_paths, option="checkout_paths")
        excluded = [*DEFAULT_EXCLUDED_PATHS] if exclude_defaults else []
        self._exclude = PathSet([*excluded, *exclude_paths], option="exclude_paths")
        # Every visitor asks for the same few pages: what is stored of a page (or that
        # it is never recorded) is worked out once per URL (bounded).
        self._pages = functools.lru_cache(maxsize=4096)(self._page)
        self.capture_fields = tuple(name for name in fields if name not in never)
        self.max_body_size = max_body_size
        self.body_timeout = float(body_timeout)
        self.variant_cookie = variant_cookie
        self.variant_header = variant_header
        self.consent = consent
        self.dnt = dnt
        self.visitor_cookie = visitor_cookie
        self.session_cookie = session_cookie
        self.visitor_max_age = visitor_max_age
        self.cookie_domain = cookie_domain
        self.secure_cookies = secure_cookies
        self.secret_key = secret_key
        self.clock = clock
        # (tracker, Identity) of the last tracker served: trackers rarely change, and
        # replacing the tuple is atomic, so threads never see half an update.
        self._bound: tuple[Tracker, Identity] | None = None
        # (goals, cached goals.match) of the last goal set matched against: goals are
        # immutable, and a site's pages are few, so each (event, path, method) is
        # matched once. Replaced whole, like _bound.
        self._matcher: tuple[GoalSet, Callable[..., Goal | None]] | None = None

    # -- identity -------------------------------------------------------------------

    def identity(self, tracker: Tracker) -> Identity:
        """The cookie signer/verifier for ``tracker`` (built once per tracker)."""
        bound = self._bound
        if bound is not None and bound[0] is tracker:
            return bound[1]
        identity = Identity(
            self.secret_key or tracker.secret_key,
            session_timeout=tracker.session_timeout,
            visitor_cookie=self.visitor_cookie,
            session_cookie=self.session_cookie,
            visitor_max_age=self.visitor_max_age,
            cookie_domain=self.cookie_domain,
            clock=self.clock,
        )
        self._bound = (tracker, identity)
        return identity

    # -- the request ----------------------------------------------------------------

    def excluded(self, method: str, path: str) -> bool:
        """Whether a request is never recorded (assets, health checks, HEAD, ...)."""
        return method in _SKIPPED_METHODS or is_static(path) or self._exclude(path)

    def _page(self, scheme: str, host: str, path: str, query: str) -> Page | None:
        """The request's :func:`_stored_page`, or None for a path never recorded."""
        if is_static(path) or self._exclude(path):
            return None
        return stored_page(scheme, host, path, query)

    def _context(
        self,
        request: Request,
        page: Page,
        filter_bots: bool,
        respect_dnt: bool,
        anonymize_ip: bool,
        tracker: Tracker | None,
    ) -> tuple[RequestContext, str | None]:
        """The context of ``request`` under the privacy rules, and the raw client IP.

        ``page`` is the request's :func:`_stored_page`. ``tracker`` is the tracker of a
        middleware that owns the request (its conversions then wait for the
        response), or None. The context's ``track`` is False (and the rest empty) for
        a bot, or for an opted-out visitor when ``dnt="skip"``.
        """
        method = request.method[:16]
        deferred = tracker is not None
        user_agent = request.user_agent
        if user_agent:
            # Bounded before the cached checks: the caches are keyed by it.
            user_agent = user_agent[:MAX_UA]
            if filter_bots and privacy.is_bot(user_agent):
                if tracker is not None:
                    _dropped_bot(tracker, user_agent)
                return _untracked(method, deferred, tracker), None
        else:
            user_agent = None
        anonymous = False
        gpc, dnt = request.gpc, request.dnt
        if respect_dnt and (gpc or dnt) and privacy.opted_out(gpc, dnt):
            if self.dnt == "skip":
                return _untracked(method, deferred, tracker), None
            anonymous = True
        elif self.consent is not None:
            try:
                anonymous = not self.consent(request)
            except Exception:
                log.exception("the consent callable failed: recording anonymously")
                anonymous = True
        path, url, utm = page
        if utm is not None:
            utm = dict(utm)  # events may be changed after they are built: each its own
        referrer = request.referrer
        if referrer:
            referrer = privacy.scrub_url(referrer)[:MAX_URL]
        else:
            referrer = None
        ip = request.remote_addr
        if self.trusted_proxies:
            ip = client_ip(ip, request.forwarded_for, self.trusted_proxies)
        stored_ip = None
        if ip and len(ip) <= MAX_IP:
            stored_ip = privacy.anonymize_ip(ip) if anonymize_ip else privacy.normalize_ip(ip)
        variant = None
        if self.variant_cookie is not None:
            variant = cookie_value(request.cookie, self.variant_cookie)
        if not variant and request.variant:
            variant = request.variant.strip()
        if variant:
            variant = privacy.scrub_text(variant[:MAX_VARIANT])
        else:
            variant = None
        ctx = new_context(
            method,
            path,
            url,
            referrer,
            user_agent,
            stored_ip,
            utm,
            variant,
            True,
            anonymous,
            deferred,
            tracker,
        )
        return ctx, ip

    def start(self, tracker: Tracker, request: Request) -> Pending | None:
        """Begin recording a request; ``None`` when it is never recorded.

        The returned :class:`Pending` holds the context to activate while the app
        runs (``deferred=True``: the decorators leave their conversions to
        :meth:`finish`).
        """
        method = request.method
        if method in _SKIPPED_METHODS:
            return None
        scheme = request.scheme
        if self.trusted_proxies:
            scheme = forwarded_proto(request.forwarded_proto, self.trusted_proxies) or scheme
        host, path, query = request.host, request.path, request.query
        if len(host) + len(path) + len(query) <= MAX_CACHED_PAGE:
            page = self._pages(scheme, host, path, query)
        else:
            page = self._page(scheme, host, path, query)
        if page is None:
            return None
        ctx, ip = self._context(
            request, page, tracker.filter_bots, tracker.respect_dnt, tracker.anonymize_ip, tracker
        )
        # Pending(tracker, ctx), without the cost of calling a class (see new_context).
        pending = _new_object(Pending)
        pending.tracker = tracker
        pending.ctx = ctx
        pending.kind = None
        pending.wants_body = False
        pending.form = None
        pending.query = query
        pending.cookies = []
        pending.held = None
        pending.request = request
        pending.ip = ip
        if not ctx.track:
            return pending
        if not ctx.anonymous:
            secure = self.secure_cookies
            if secure is None:
                secure = scheme == "https"
            bound = self._bound
            identity = bound[1] if bound is not None and bound[0] is tracker else None
            if identity is None:
                identity = self.identity(tracker)
            ctx.visitor_id, ctx.session_id, pending.cookies = identity.resolve(
                request.cookie,
                secure=secure,
                ip=ip,
                user_agent=request.user_agent,
                host=request.host,
            )
        if method in FORM_METHODS:
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
                    and self._needs_form(tracker, pending.kind, ctx.path or path, method)
                )
        return pending

    def _needs_form(self, tracker: Tracker, kind: str, path: str, method: str) -> bool:
        if self.capture_fields:
            return True
        goal = tracker.goals.match(kind, path, method) if tracker.goals else None
        return goal is not None and (goal.value_from or "").startswith("form:")

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
        if tracker is None:
            return self._context(request, page, True, True, True, None)[0]
        ctx, ip = self._context(
            request, page, tracker.filter_bots, tracker.respect_dnt, tracker.anonymize_ip, None
        )
        if ctx.track and not ctx.anonymous:
            ctx.visitor_id, ctx.session_id = self.identity(tracker).read(
                request.cookie, ip=ip, user_agent=request.user_agent, host=request.host
            )
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
            rules = ctx.statuses
            if rules is not None:
                conversions = {
                    goal: event
                    for goal, event in conversions.items()
                    if (status in rules[goal] if goal in rules else status < 400)
                }
            elif status >= 400:
                conversions = {}
        if kind is None and not conversions:
            return []  # nothing recorded: no cookies either
        cookies = pending.cookies
        cached = cache_control is not None and shared(cache_control)
        if cached:
            cookies = []
            self._uncookied(pending)
        context = ctx.event_context()
        tracker = pending.tracker
        held = hold and kind == "page_view"
        if kind is not None and not conversions and not ctx.annotations:
            # The common request: one interaction, nothing from the view.
            event = self._interaction(pending, kind, status, context, None)
            if held:
                pending.held = [event]
            else:
                tracker.emit(event)
            return cookies
        events: list[Event] = []
        others = dict(conversions) if conversions else {}
        if kind is not None:
            events.append(self._interaction(pending, kind, status, context, others))
        user_id = ctx.annotations.get("user_id") if status < 400 else None
        for event in others.values():
            if event.currency is None and event.value is not None:
                event.currency = tracker.currency
            event.context = dict(context)
            event.properties = privacy.scrub_properties(event.properties)
            if event.user_id is None and user_id is not None:
                event.user_id = str(user_id)[:128]
            if cached:  # built with the ids the cookies would have carried
                event.visitor_id, event.session_id = ctx.visitor_id, ctx.session_id
            events.append(event)
        if ctx.anonymous:
            # Do-Not-Track / no consent: no identifier at all, whatever the view said.
            for event in events:
                event.visitor_id = event.session_id = event.user_id = None
        if held:
            pending.held = events
            return cookies
        emit = tracker.emit
        for event in events:
            emit(event)
        return cookies

    def complete(self, pending: Pending) -> None:
        """The response body was sent in full: record what :meth:`finish` held."""
        held = pending.held
        if held:
            pending.held = None
            emit = pending.tracker.emit
            for event in held:
                emit(event)

    def _uncookied(self, pending: Pending) -> None:
        """Identify the visitor of a response a shared cache may store, without cookies:
        by the valid cookies the browser sent, else as in cookieless mode."""
        ctx = pending.ctx
        request = pending.request
        if ctx.anonymous or request is None:
            return
        identity = self.identity(pending.tracker)
        if identity.cookieless:
            return  # the ids are cookieless already
        visitor_id, session_id = identity.read(
            request.cookie, ip=pending.ip, user_agent=request.user_agent, host=request.host
        )
        if visitor_id is None:
            visitor_id = identity.cookieless_id(pending.ip, request.user_agent, request.host)
        ctx.visitor_id, ctx.session_id = visitor_id, session_id

    def _interaction(
        self,
        pending: Pending,
        kind: str,
        status: int,
        context: dict[str, Any],
        conversions: dict[str, Event] | None,
    ) -> Event:
        """The interaction's event, merged with the decorator conversion of its goal."""
        tracker = pending.tracker
        ctx = pending.ctx
        goals = tracker.goals
        goal = None
        if goals.goals and not ctx.cancelled:
            matcher = self._matcher
            if matcher is None or matcher[0] is not goals:
                # Paths here are bounded (MAX_PATH): so is the cache's memory.
                matcher = self._matcher = (goals, functools.lru_cache(maxsize=1024)(goals.match))
            goal = matcher[1](kind, ctx.path, ctx.method, status)
        form = pending.form
        properties: dict[str, Any] = {}
        if form and self.capture_fields:
            properties.update(privacy.capture_fields(form, self.capture_fields))
        # Like the decorators' conversions, what the view annotated stands only when
        # the request succeeded.
        notes = ctx.annotations if status < 400 else {}
        value = currency = None
        if goal is not None:
            spec = goal.value_from
            if spec is not None:
                query = (
                    parse_qs(pending.query) if spec.startswith("query:") and pending.query else None
                )
                value = goal.extract_value(
                    form=form, query=query, properties={**properties, **notes.get("properties", {})}
                )
            else:
                value = goal.value
            currency = goal.currency
        anonymous = ctx.anonymous
        if not notes and not properties and ctx.user_id is None:
            # Everything here is already valid (goal fields were checked when the
            # goal was built, ids are ours): skip make_event's checks.
            event = trusted_event(
                kind,
                goal.kind if goal is not None else None,
                goal.name if goal is not None else None,
                value,
                currency or (tracker.currency if value is not None else None),
                None,
                None if anonymous else ctx.visitor_id,
                None if anonymous else ctx.session_id,
                None,
                {},
                context,
            )
        else:
            fields: dict[str, Any] = {
                "kind": goal.kind if goal else None,
                "goal": goal.name if goal else None,
                "value": value,
                "currency": currency,
                "default_currency": tracker.currency,
                "visitor_id": None if anonymous else ctx.visitor_id,
                "session_id": None if anonymous else ctx.session_id,
                "user_id": None if anonymous else ctx.user_id,
                "transaction_id": None,
                "properties": properties,
                "context": context,
            }
            noted = fields
            if notes:
                noted = dict(fields)
                for key in ("value", "currency", "transaction_id", "user_id"):
                    if notes.get(key) is not None:
                        noted[key] = notes[key]
                if notes.get("properties"):
                    noted["properties"] = privacy.scrub_properties(
                        {**properties, **notes["properties"]}
                    )
            try:
                event = make_event(kind, **noted)
            except ValueError as exc:
                if noted is fields:
                    raise
                log.warning("annotate() values ignored for this %s: %s", kind, exc)
                event = make_event(kind, **fields)
        if conversions and goal is not None:
            decorated = conversions.pop(goal.name, None)
            if decorated is not None:
                _merge(event, decorated, goal.currency, tracker.currency)
        return event

    def __repr__(self) -> str:
        return f"<Recorder checkout={self._checkout.patterns!r} exclude={self._exclude.patterns!r}>"


def _merge(
    event: Event, decorated: Event, goal_currency: str | None, default_currency: str
) -> None:
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


# Bot families already reported (bounded: privacy.bot_family names a small set).
_bot_families_seen: set[str] = set()


def _dropped_bot(tracker: Tracker, user_agent: str) -> None:
    """Count a request dropped as a bot; say why once per kind of bot (curl, Googlebot...)."""
    tracker.count_bot()
    family = privacy.bot_family(user_agent)
    if family not in _bot_families_seen:
        _bot_families_seen.add(family)
        log.debug(
            "not recording requests from bots (%s: %r); they are counted in "
            "tracker.stats()['bots'] (filter_bots=False records them)",
            family,
            user_agent,
        )


def _untracked(method: str, deferred: bool, tracker: Tracker | None) -> RequestContext:
    return new_context(
        method, None, None, None, None, None, None, None, False, False, deferred, tracker
    )


_default: Recorder | None = None


def default_recorder() -> Recorder:
    """The :class:`Recorder` with default options, for code running without a middleware."""
    global _default
    recorder = _default
    if recorder is None:
        recorder = _default = Recorder()
    return recorder
