"""The collect endpoint: micro conversions seen by the browser, recorded with the visit's ids.

Scrolling 75% of the pricing page, playing the demo video, clicking "compare plans",
staying 30 seconds: these happen in the browser only. The browser script
(:mod:`convsdk.integrations.browser`) sends them here, and :class:`BeaconEndpoint`
records them as micro conversions of the same visitor and session as the page views
the middleware records::

    endpoint = BeaconEndpoint(tracker, browser_events=["scroll_depth", "compare_plans"],
                              secret_key="...")
    application = endpoint.wrap_wsgi(application)   # or endpoint.wrap_asgi(app)

or, through the middleware, ``ConversionMiddleware(app, tracker, collect=True,
browser_events=[...])`` (see :func:`pop_beacon_options`), which shares its cookie,
proxy and privacy settings with the endpoint.

It answers two paths, and the app behind never sees them:

- ``POST /_convsdk/collect``: ``{"url": "<page>", "events": [{"name": "scroll_depth",
  "properties": {"depth": 75}}, ...]}`` as ``text/plain`` (what ``sendBeacon`` sends)
  or ``application/json``; ``204`` once recorded;
- ``GET /_convsdk/c.js``: the browser script, with an ``ETag`` (``304`` on a match)
  and cached for a year when asked for with the version the template helpers put
  in its URL (``?v=...``), an hour otherwise.

What the browser may say is little, because anyone can send anything:

- only micro events, only names the site allowlists (``browser_events``, or the
  ``event`` of goals marked ``source="browser"``); an event with ``kind`` ``macro``,
  a ``value`` (or ``currency``, ``transaction_id``, ids, ``goal``) is refused. A
  browser goal's fixed value is not applied either: values come from the server;
- the visitor and session come from convsdk's signed cookies, never the payload;
  a request without a valid visitor cookie is refused (in cookieless mode, without a
  secret key, the visitor is the daily hash page views get);
- the request comes from the site itself: its ``Origin`` (else ``Referer``) names one
  of ``allowed_hosts``; so does the page ``url``. Without ``allowed_hosts`` they must
  name the request's own ``Host``, which stops other sites' pages in a browser but not
  a client that writes its ``Host`` too (a warning says so at start-up);
- the body is at most ``max_body_bytes`` (from ``Content-Length`` before reading,
  and while reading), with at most ``max_events`` events;
- each visitor may send ``rate_limit`` events per period, and each client network
  (the IPv4 /24 or IPv6 /64 of the address the middleware records, proxies' headers
  only with ``trusted_proxies``) ``network_rate_limit``: new cookies, a new
  User-Agent or Do-Not-Track make a new visitor, not a new network. The limits are
  token buckets (see :mod:`convsdk.ratelimit`) counted where every worker sees them:
  ``rate_limit_url`` (``redis://...``, ``sqlite:///path``, ``memory:``), else the
  tracker's Redis backend, else a SQLite file (:data:`LIMITS_FILE`) in its
  ``spool_dir``, else each process's memory.

A request that breaks a rule is answered ``400`` (malformed), ``403`` (not allowed),
``405``, ``408`` (a body that takes over ``read_timeout``), ``411``, ``413`` (too
large), ``415`` or ``429`` (with ``Retry-After``), with a one-line plain-text reason,
and nothing of it is recorded: one bad event refuses the whole batch. Bots get
``204`` and nothing is recorded; visitors sending Do-Not-Track / Global Privacy
Control are recorded anonymously or skipped, as the middleware's ``dnt`` setting says.

Events carry ``context["source"] = "browser"`` and the page's URL and path (from the
payload's ``url``, else the ``Referer``), so reports tell them apart. A browser goal
whose ``event`` is the name (and whose ``path``, if any, matches the page) classifies
the event; otherwise it is ``kind="micro"`` with ``goal`` set to the name.
"""

from __future__ import annotations

import asyncio
import functools
import http
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any, TypeGuard
from urllib.parse import SplitResult, urlsplit, urlunsplit

from . import privacy, runtime
from ._json import loads
from .context import Request
from .errors import ConfigError
from .event import Event, check_properties
from .goals import Goal
from .integrations.browser import (
    DEFAULT_COLLECT_PATH,
    DEFAULT_SCRIPT_PATH,
    DEFAULT_SCROLL_DEPTHS,
    DEFAULT_TIME_THRESHOLDS,
    Script,
    script_for,
)
from .interactions import Recorder, utm_fields
from .ratelimit import (
    FallbackStore,
    FileStore,
    Limit,
    MemoryStore,
    RateLimiter,
    RateStore,
    check_limit,
    network_of,
    store_from_url,
)

if TYPE_CHECKING:
    from .context import RequestContext
    from .identity import Identity
    from .tracker import Tracker

__all__ = [
    "DEFAULT_COLLECT_PATH",
    "DEFAULT_SCRIPT_PATH",
    "LIMITS_FILE",
    "RESERVED_EVENTS",
    "BeaconEndpoint",
    "RateLimiter",
    "pop_beacon_options",
]

log = logging.getLogger("convsdk.beacon")

StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The rate limits' file in the tracker's spool directory (see :mod:`convsdk.ratelimit`).
LIMITS_FILE = "beacon-limits.sqlite3"

#: Interactions the middleware records; the browser may not send them.
RESERVED_EVENTS = frozenset({"page_view", "form_submit", "checkout"})

# Keys of an event the server decides: the browser sending one is a forgery attempt.
_SERVER_KEYS = frozenset(
    {
        "value", "currency", "transaction_id", "goal", "visitor_id", "session_id",
        "user_id", "event_id", "timestamp", "context",
    }
)  # fmt: skip
_EVENT_KEYS = frozenset({"name", "kind", "properties"})
_BODY_TYPES = frozenset({"text/plain", "application/json"})
_MAX_URL, _MAX_PATH = 4096, 2048
_CHUNK = 64 * 1024
_YEAR = "public, max-age=31536000, immutable"
_HOUR = "public, max-age=3600"


def _name_ok(name: object) -> TypeGuard[str]:
    return (
        isinstance(name, str)
        and 0 < len(name) <= 64
        and name.isascii()
        and name.replace("_", "a").isalnum()
    )


# -- answers -----------------------------------------------------------------------


class _Answer:
    """A response: status, headers, body."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else []

    def status_line(self) -> str:
        return f"{self.status} {http.HTTPStatus(self.status).phrase}"


def _refuse(status: int, reason: str, *extra: tuple[str, str]) -> _Answer:
    body = (reason + "\n").encode("utf-8")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        *extra,
    ]
    return _Answer(status, body, headers)


def _no_content(cookies: Iterable[str] = ()) -> _Answer:
    headers = [("Cache-Control", "no-store"), *[("Set-Cookie", cookie) for cookie in cookies]]
    return _Answer(204, b"", headers)


# -- hosts -------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _split_host(netloc: str) -> tuple[str, str | None]:
    """(host, port) of a ``host[:port]``, lower-cased; default ports dropped."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):  # [2001:db8::1]:8080
        end = netloc.find("]")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        port = rest[1:] if rest.startswith(":") else None
    else:
        host, sep, port_text = netloc.partition(":")
        port = port_text if sep else None
    # Origin omits the default port and Host may carry it: they are the same site.
    if port in ("80", "443", ""):
        port = None
    return host.rstrip("."), port


def _parse_url(text: str) -> SplitResult | None:
    try:
        parts = urlsplit(text)
    except ValueError:  # a malformed IPv6 literal
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return parts


class _Hosts:
    """Which hosts may send events: ``allowed_hosts``, else the request's own Host."""

    __slots__ = ("_patterns",)

    def __init__(self, allowed: Iterable[str]) -> None:
        if isinstance(allowed, str | bytes):
            raise ConfigError("must be a list of host names, not a string", field="allowed_hosts")
        patterns: list[tuple[str, str | None]] = []
        for entry in allowed:
            if not isinstance(entry, str) or not entry.strip() or "/" in entry:
                raise ConfigError(
                    f"must hold host names like 'example.com', '*.example.com' or "
                    f"'localhost:8000', got {entry!r}",
                    field="allowed_hosts",
                )
            patterns.append(_split_host(entry))
        self._patterns = tuple(patterns)

    def allows(self, netloc: str, own_host: str) -> bool:
        """Whether a page or origin at ``netloc`` belongs to the site."""
        host, port = _split_host(netloc)
        if not self._patterns:
            return (host, port) == _split_host(own_host)
        for pattern, wanted_port in self._patterns:
            if wanted_port is not None and wanted_port != port:
                continue
            if pattern == host or (pattern.startswith("*.") and host.endswith(pattern[1:])):
                return True
        return False


# -- per tracker: what the browser may send ------------------------------------------


class _Policy:
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


class _Visit:
    """A collect request that passed the header checks: who sends it, for which tracker."""

    __slots__ = ("ctx", "identity", "key", "network", "origin_url", "request", "tracker")

    def __init__(
        self,
        tracker: Tracker,
        request: Request,
        ctx: RequestContext,
        identity: Identity,
        key: str,
        network: str,
        origin_url: str | None,
    ) -> None:
        self.tracker = tracker
        self.request = request
        self.ctx = ctx
        self.identity = identity
        #: the visitor's rate limit key
        self.key = key
        #: the client network's rate limit key
        self.network = network
        #: the Referer: the page, when the payload does not say (checked like a url)
        self.origin_url = origin_url


# -- the endpoint ------------------------------------------------------------------


def _positive_int(option: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"must be a positive whole number, got {value!r}", field=option)
    return value


def _path_option(option: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 256:
        raise ConfigError(f"must be a URL path starting with '/', got {value!r}", field=option)
    return value


def _etag_matches(header: str, etag: str) -> bool:
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


class BeaconEndpoint:
    """Receives the browser's micro conversions and serves the browser script.

    ``tracker``: the :class:`~convsdk.Tracker` to record with (``None``: the default
    tracker, looked up per request; with none, requests are answered and nothing is
    recorded). The other options, all keyword-only:

    - ``path``, ``script_path``: where the endpoint and the script are
      (``/_convsdk/collect``, ``/_convsdk/c.js``); ``serve_script=False`` leaves the
      script to the site.
    - ``browser_events``: event names the browser may send, on top of the ``event``
      of the tracker's goals marked ``source="browser"``. Never ``page_view``,
      ``form_submit``, ``checkout``.
    - ``allowed_hosts``: hosts the requests (``Origin`` / ``Referer``) and pages may
      come from (``"example.com"``, ``"*.example.com"``, ``"localhost:8000"``);
      empty: the request's own ``Host`` (set it in production: a forged ``Host`` is
      only stopped by ``allowed_hosts``).
    - ``max_body_bytes`` (16 KiB), ``max_events`` (20 a request), ``read_timeout``
      (seconds an ASGI client may take to send the body).
    - ``rate_limit`` (``(60, 60.0)``: 60 events a minute per visitor) and
      ``network_rate_limit`` (``(600, 60.0)`` per IPv4 /24 or IPv6 /64); ``None``
      disables one. ``rate_limit_url``: where they are counted (``redis://host/0``,
      ``sqlite:///path``, ``memory:``; default: the tracker's Redis backend, else
      :data:`LIMITS_FILE` in its ``spool_dir``, else memory). ``max_visitors``: keys
      kept when counting in memory (10,000).
    - ``auto_scroll``, ``time_thresholds``, ``scroll_depths``: the served script's
      defaults (see :func:`convsdk.integrations.browser.browser_script`).
    - ``recorder``: the :class:`~convsdk.interactions.Recorder` of the middleware in
      front of the app (``middleware.recorder``), so cookies, proxies, consent and
      ``dnt`` are read the same way; or, instead, the Recorder options themselves
      (``secret_key``, ``visitor_cookie``, ``session_cookie``, ``trusted_proxies``,
      ``dnt``, ``consent``, ...).
    - ``rate_clock``: the rate limit's time source (tests inject one).

    Call it as a WSGI app (:meth:`wsgi`) or an ASGI app (:meth:`asgi`) for the paths
    it :meth:`handles`, or let :meth:`wrap_wsgi` / :meth:`wrap_asgi` route them.
    """

    def __init__(
        self,
        tracker: Tracker | None = None,
        *,
        path: str = DEFAULT_COLLECT_PATH,
        script_path: str = DEFAULT_SCRIPT_PATH,
        browser_events: Iterable[str] = (),
        allowed_hosts: Iterable[str] = (),
        max_body_bytes: int = 16_384,
        max_events: int = 20,
        rate_limit: tuple[int, float] | None = (60, 60.0),
        network_rate_limit: tuple[int, float] | None = (600, 60.0),
        rate_limit_url: str | None = None,
        max_visitors: int = 10_000,
        read_timeout: float = 10.0,
        auto_scroll: bool = True,
        time_thresholds: Iterable[int] = DEFAULT_TIME_THRESHOLDS,
        scroll_depths: Iterable[int] = DEFAULT_SCROLL_DEPTHS,
        serve_script: bool = True,
        recorder: Recorder | None = None,
        rate_clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        self.tracker = tracker
        self.path = _path_option("path", path)
        self.script_path = _path_option("script_path", script_path)
        if self.path == self.script_path:
            raise ConfigError("must differ from path", field="script_path")
        if isinstance(browser_events, str | bytes):
            raise ConfigError("must be a list of event names, not a string", field="browser_events")
        names = frozenset(browser_events)
        for name in names:
            if not _name_ok(name):
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
        self.browser_events = names
        hosts = allowed_hosts if isinstance(allowed_hosts, str | bytes) else tuple(allowed_hosts)
        self._hosts = _Hosts(hosts)
        self.allowed_hosts: tuple[str, ...] = tuple(hosts)
        if not hosts:
            log.warning(
                "allowed_hosts is not set: the collect endpoint accepts requests whose Origin "
                "is their own Host header, which a client other than a browser writes as it "
                "likes; set allowed_hosts=[...] to the site's host names"
            )
        self.max_body_bytes = _positive_int("max_body_bytes", max_body_bytes)
        self.max_events = _positive_int("max_events", max_events)
        self.rate_limit = self._limit_option("rate_limit", rate_limit)
        self.network_rate_limit = self._limit_option("network_rate_limit", network_rate_limit)
        self.max_visitors = _positive_int("max_visitors", max_visitors)
        self.rate_limit_url = rate_limit_url
        self._rate_clock = rate_clock
        self._store_lock = threading.Lock()
        # (tracker, store) of the limits; with rate_limit_url, one store for every tracker
        self._store_bound: tuple[Tracker | None, RateStore] | None = None
        if rate_limit_url is not None:
            self._store_bound = (None, self._shared(store_from_url(rate_limit_url)))
        if isinstance(read_timeout, bool) or not isinstance(read_timeout, int | float):
            raise ConfigError("must be a number of seconds", field="read_timeout")
        if not read_timeout > 0:
            raise ConfigError("must be positive", field="read_timeout")
        self.read_timeout = float(read_timeout)
        self.serve_script = bool(serve_script)
        self._script_settings = (
            bool(auto_scroll),
            tuple(time_thresholds),
            tuple(scroll_depths),
            self.max_events,
        )
        self._paths = frozenset({self.path, self.script_path} if serve_script else {self.path})
        if recorder is not None and options:
            raise ConfigError(
                f"give the recorder or its options ({', '.join(sorted(options))}), not both",
                field="recorder",
            )
        self.recorder = recorder if recorder is not None else Recorder(**options)
        # (tracker, its goals, policy) of the last tracker served: replaced whole, so
        # threads never see half an update.
        self._bound: tuple[Tracker, object, _Policy] | None = None
        self.script()  # a bad script setting fails here, not on the first request
        privacy.prepare()
        if tracker is not None:
            self._policy(tracker)
            self.recorder.identity(tracker)
            self._store(tracker)  # an unusable store is reported at startup

    def _limit_option(self, option: str, limit: Any) -> tuple[int, float] | None:
        if limit is None:
            return None
        events, per = check_limit(option, limit)
        if events < self.max_events:
            raise ConfigError(
                f"allows {events} events per period, fewer than max_events "
                f"({self.max_events}): a full batch could never be accepted",
                field=option,
            )
        return events, per

    # -- the rate limits' store -----------------------------------------------------------

    def _shared(self, store: RateStore) -> RateStore:
        if isinstance(store, MemoryStore):
            return store
        return FallbackStore(store, MemoryStore(self.max_visitors))

    def _store(self, tracker: Tracker) -> RateStore:
        """Where the limits of requests recorded with ``tracker`` are counted."""
        bound = self._store_bound
        if bound is not None and (bound[0] is None or bound[0] is tracker):
            return bound[1]
        with self._store_lock:
            bound = self._store_bound
            if bound is None or bound[0] is not tracker:
                bound = self._store_bound = (tracker, self._default_store(tracker))
            return bound[1]

    def _default_store(self, tracker: Tracker) -> RateStore:
        """The store the site already has: its Redis backend, else a file in its spool."""
        redis_backend = sys.modules.get("convsdk.backends.redis")  # loaded if in use
        if redis_backend is not None and isinstance(tracker.backend, redis_backend.RedisBackend):
            from .ratelimit.redis import RedisStore

            return self._shared(RedisStore(tracker.backend.client))
        if tracker.spool_dir is not None:
            path = os.path.join(tracker.spool_dir, LIMITS_FILE)
            try:
                return self._shared(FileStore(path))
            except ConfigError as exc:
                log.warning("%s: rate limits are kept per process", exc)
        else:
            log.info(
                "no spool_dir and no rate_limit_url: the collect endpoint's rate limits are "
                "kept per process"
            )
        return MemoryStore(self.max_visitors)

    # -- routing ----------------------------------------------------------------------

    def handles(self, path: str, root_path: str = "") -> bool:
        """Whether ``path`` is the collect or the script path (the app never sees them).

        ``root_path``: the ASGI ``root_path``, for servers whose ``path`` includes it.
        """
        if path in self._paths:
            return True
        return (
            bool(root_path) and path.startswith(root_path) and path[len(root_path) :] in self._paths
        )

    def _relative(self, path: str, root_path: str) -> str:
        if path not in self._paths and root_path and path.startswith(root_path):
            return path[len(root_path) :]
        return path

    def wrap_wsgi(self, app: WSGIApp) -> WSGIApp:
        """A WSGI app answering the endpoint's paths and handing every other request to ``app``.

        >>> application = endpoint.wrap_wsgi(ConversionMiddleware(application, tracker))
        """

        def routed(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            if self.handles(environ.get("PATH_INFO") or "/"):
                return self.wsgi(environ, start_response)
            return app(environ, start_response)

        return routed

    def wrap_asgi(self, app: ASGIApp) -> ASGIApp:
        """An ASGI app answering the endpoint's paths and handing everything else to ``app``."""

        async def routed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and self.handles(scope["path"], scope.get("root_path", "")):
                await self.asgi(scope, receive, send)
            else:
                await app(scope, receive, send)

        return routed

    # -- the script -------------------------------------------------------------------

    def script(self, prefix: str = "") -> Script:
        """The served script for an app mounted at ``prefix`` (its collect path included),
        which sends only the event names this endpoint accepts."""
        auto_scroll, times, depths, batch = self._script_settings
        names = tuple(sorted(self.allowed_events()))
        try:
            return script_for(prefix + self.path, auto_scroll, times, depths, batch, names)
        except ConfigError:
            if not prefix:
                raise
            # A mount prefix no URL path can hold: the unprefixed path is the best guess.
            return script_for(self.path, auto_scroll, times, depths, batch, names)

    def script_url(self, prefix: str = "") -> str:
        """The script's URL with its version, for a ``<script src>`` (cached for a year)."""
        return f"{prefix}{self.script_path}?v={self.script(prefix).version}"

    def _script_answer(
        self, method: str, prefix: str, query: str, if_none_match: str | None
    ) -> _Answer:
        if method not in ("GET", "HEAD"):
            return _refuse(405, "use GET", ("Allow", "GET, HEAD"))
        script = self.script(prefix)
        versioned = f"v={script.version}" in query.split("&")
        headers = [("Cache-Control", _YEAR if versioned else _HOUR), ("ETag", script.etag)]
        if if_none_match and _etag_matches(if_none_match, script.etag):
            return _Answer(304, b"", headers)
        headers += [
            ("Content-Type", "text/javascript; charset=utf-8"),
            ("Content-Length", str(len(script.body))),
            ("X-Content-Type-Options", "nosniff"),
        ]
        return _Answer(200, script.body, headers)

    # -- collecting: the checks on the headers ------------------------------------------

    def _policy(self, tracker: Tracker) -> _Policy:
        bound = self._bound
        if bound is not None and bound[0] is tracker and bound[1] is tracker.goals:
            return bound[2]
        policy = _Policy(tracker, self.browser_events)
        self._bound = (tracker, tracker.goals, policy)
        return policy

    def allowed_events(self, tracker: Tracker | None = None) -> frozenset[str]:
        """The event names the browser may send to ``tracker`` (default: the endpoint's)."""
        tracker = tracker or self.tracker or runtime.default
        if tracker is None:
            return self.browser_events
        return self._policy(tracker).names

    def _admit(self, request: Request, origin: str | None) -> _Answer | _Visit:
        """Decide from the headers alone: an answer now, or a visit whose body to read."""
        if request.method != "POST":
            return _refuse(405, "use POST", ("Allow", "POST"))
        referrer = request.referrer
        source = origin or referrer
        if not source:
            return _refuse(403, "no Origin or Referer")
        parts = _parse_url(source)
        if parts is None or not self._hosts.allows(parts.netloc, request.host):
            return _refuse(403, "cross-site request")
        length = request.content_length
        if length is not None and length > self.max_body_bytes:
            return _refuse(413, f"body larger than {self.max_body_bytes} bytes")
        mime = (request.content_type or "text/plain").partition(";")[0].strip().lower()
        if mime not in _BODY_TYPES:
            return _refuse(415, "send text/plain or application/json")
        tracker = self.tracker
        if tracker is None:
            tracker = runtime.default
        if tracker is None or tracker.closed:
            return _no_content()
        ctx = self.recorder.read_context(request, tracker)
        if not ctx.track:
            return _no_content()  # a bot, or an opted-out visitor the site does not count
        identity = self.recorder.identity(tracker)
        # The address the middleware records, proxies' headers only when trusted.
        ip = privacy.client_ip(
            request.remote_addr, request.forwarded_for, self.recorder.trusted_proxies
        )
        if ctx.anonymous:
            # No visitor id to count by: the raw address (a rate limit key, never stored
            # in an event; the network's limit holds whatever the address).
            key = f"ip:{ip or '-'}"
        elif ctx.visitor_id is None:
            return _refuse(403, "no visitor cookie")
        else:
            key = f"v:{ctx.visitor_id}"
        return _Visit(tracker, request, ctx, identity, key, f"net:{network_of(ip)}", referrer)

    # -- collecting: the body ----------------------------------------------------------

    def _page(
        self, url: Any, visit: _Visit
    ) -> _Answer | tuple[str | None, str | None, dict[str, str | None] | None]:
        """(url, path, utm) of the page the events come from, checked and scrubbed."""
        from_payload = url is not None
        if url is None:
            url = visit.origin_url
            if url is None:
                return None, None, None
        if not isinstance(url, str) or len(url) > _MAX_URL:
            return _refuse(400, f"url must be a URL of at most {_MAX_URL} characters")
        parts = _parse_url(url)
        if parts is None:
            if not from_payload:
                return None, None, None
            return _refuse(400, "url must be an http(s) URL")
        if not self._hosts.allows(parts.netloc, visit.request.host):
            if not from_payload:
                return None, None, None
            return _refuse(403, "url is not a page of this site")
        path = privacy.scrub_text(parts.path or "/")[:_MAX_PATH]
        # The fragment stays out: single-page apps and OAuth flows put tokens there.
        clean = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))
        utm = utm_fields(parts.query) if "utm_" in parts.query else None
        return privacy.scrub_url(clean)[:_MAX_URL], path, utm

    def _collect(self, visit: _Visit, body: bytes) -> _Answer:
        """Check the payload, rate-limit, record: the answer to a collect request."""
        try:
            payload = loads(body)
        except ValueError:  # includes UnicodeDecodeError and orjson's JSONDecodeError
            return _refuse(400, "body is not JSON")
        if not isinstance(payload, dict):
            return _refuse(400, 'expected {"events": [...]}')
        items = payload.get("events")
        if not isinstance(items, list) or not items:
            return _refuse(400, "events must be a non-empty list")
        if len(items) > self.max_events:
            return _refuse(413, f"at most {self.max_events} events per request")
        policy = self._policy(visit.tracker)
        checked: list[tuple[str, dict[str, Any]]] = []
        for item in items:
            if not isinstance(item, dict):
                return _refuse(400, "each event must be an object")
            for key in item:
                if key in _SERVER_KEYS:
                    return _refuse(403, f"{key} cannot come from the browser")
                if key not in _EVENT_KEYS:
                    return _refuse(400, f"unknown event field {str(key)[:64]!r}")
            kind = item.get("kind")
            if kind == "macro":
                return _refuse(403, "macro conversions cannot come from the browser")
            if kind not in (None, "micro"):
                return _refuse(400, "kind must be micro")
            name = item.get("name")
            if not _name_ok(name):
                return _refuse(400, "event names are 1-64 letters, digits or underscores")
            if name not in policy.names:
                return _refuse(403, f"event {name!r} is not allowed")
            properties = item.get("properties")
            if properties is None:
                properties = {}
            elif not isinstance(properties, dict):
                return _refuse(400, "properties must be an object")
            try:
                check_properties(properties)
            except ValueError as exc:
                return _refuse(400, str(exc)[:200])
            checked.append((name, properties))
        page = self._page(payload.get("url"), visit)
        if isinstance(page, _Answer):
            return page
        if self.rate_limit is not None or self.network_rate_limit is not None:
            limits = []
            if self.rate_limit is not None:
                limits.append(Limit(visit.key, *self.rate_limit))
            if self.network_rate_limit is not None:
                limits.append(Limit(visit.network, *self.network_rate_limit))
            store = self._store(visit.tracker)
            wait = store.take(limits, len(checked), self._rate_clock())
            if wait > 0:
                retry = str(max(1, math.ceil(wait)))
                return _refuse(429, "too many events", ("Retry-After", retry))
        return self._record(visit, checked, page, policy)

    def _record(
        self,
        visit: _Visit,
        checked: list[tuple[str, dict[str, Any]]],
        page: tuple[str | None, str | None, dict[str, str | None] | None],
        policy: _Policy,
    ) -> _Answer:
        ctx = visit.ctx
        identity = visit.identity
        cookies: list[str] = []
        visitor_id = session_id = None
        if not ctx.anonymous:
            visitor_id = ctx.visitor_id
            if not identity.cookieless:
                # Activity in the page keeps the session going, like a request would.
                secure = self.recorder.secure_cookies
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
        return _no_content(cookies)

    # -- WSGI ------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer a request for one of the endpoint's paths, as a WSGI app."""
        try:
            answer = self._serve_wsgi(environ)
        except Exception:
            log.exception("the convsdk collect endpoint failed")
            answer = _refuse(500, "internal error")
        start_response(answer.status_line(), answer.headers)
        if environ.get("REQUEST_METHOD") == "HEAD" or not answer.body:
            return []
        return [answer.body]

    def _serve_wsgi(self, environ: dict[str, Any]) -> _Answer:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD") or "GET"
        if path != self.path:
            prefix = (environ.get("SCRIPT_NAME") or "").rstrip("/")
            return self._script_answer(
                method, prefix, environ.get("QUERY_STRING") or "", environ.get("HTTP_IF_NONE_MATCH")
            )
        request = Request.from_environ(environ, self.recorder.variant_header)
        admitted = self._admit(request, environ.get("HTTP_ORIGIN"))
        if isinstance(admitted, _Answer):
            return admitted
        body = self._read_wsgi(environ, request.content_length)
        if isinstance(body, _Answer):
            return body
        return self._collect(admitted, body)

    def _read_wsgi(self, environ: dict[str, Any], length: int | None) -> bytes | _Answer:
        stream = environ.get("wsgi.input")
        limit = self.max_body_bytes
        if length is None:
            # Without a length only a server that ends the stream may be read to its end.
            if not environ.get("wsgi.input_terminated"):
                return _refuse(411, "Content-Length required")
            remaining = limit + 1
        else:
            remaining = length
        chunks: list[bytes] = []
        size = 0
        try:
            while remaining > 0 and stream is not None:
                chunk = stream.read(min(remaining, _CHUNK))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                remaining -= len(chunk)
                if size > limit:
                    return _refuse(413, f"body larger than {limit} bytes")
        except Exception:  # the client went away mid-body
            log.debug("could not read a beacon body", exc_info=True)
            return _refuse(400, "incomplete body")
        if length is not None and size < length:
            return _refuse(400, "incomplete body")
        return b"".join(chunks)

    # -- ASGI ------------------------------------------------------------------------

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a request for one of the endpoint's paths, as an ASGI app."""
        try:
            answer = await self._serve_asgi(scope, receive)
        except Exception:
            log.exception("the convsdk collect endpoint failed")
            answer = _refuse(500, "internal error")
        if answer is None:
            return  # the client left before sending the body
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in answer.headers
                ],
            }
        )
        body = b"" if scope.get("method") == "HEAD" else answer.body
        await send({"type": "http.response.body", "body": body})

    async def _serve_asgi(self, scope: Scope, receive: Receive) -> _Answer | None:
        root_path = scope.get("root_path") or ""
        path = self._relative(scope.get("path") or "/", root_path)
        method = scope.get("method") or "GET"
        origin = if_none_match = None
        for name, value in scope.get("headers") or ():
            if name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        if path != self.path:
            query = (scope.get("query_string") or b"").decode("latin-1")
            return self._script_answer(method, root_path.rstrip("/"), query, if_none_match)
        request = Request.from_scope(scope, self.recorder.variant_header)
        admitted = self._admit(request, origin)
        if isinstance(admitted, _Answer):
            return admitted
        try:
            async with asyncio.timeout(self.read_timeout):
                body = await self._read_asgi(receive)
        except TimeoutError:
            return _refuse(408, "body too slow")
        if body is None or isinstance(body, _Answer):
            return body
        return self._collect(admitted, body)

    async def _read_asgi(self, receive: Receive) -> bytes | _Answer | None:
        limit = self.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message.get("type") != "http.request":
                return None  # http.disconnect
            chunk = message.get("body") or b""
            size += len(chunk)
            if size > limit:
                return _refuse(413, f"body larger than {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def __repr__(self) -> str:
        return (
            f"<BeaconEndpoint path={self.path!r} script_path={self.script_path!r} "
            f"browser_events={sorted(self.browser_events)!r}>"
        )


# -- the middleware's options --------------------------------------------------------

# middleware option -> BeaconEndpoint argument
_MIDDLEWARE_OPTIONS = {
    "browser_events": "browser_events",
    "allowed_hosts": "allowed_hosts",
    "collect_path": "path",
    "script_path": "script_path",
    "max_beacon_bytes": "max_body_bytes",
    "max_beacon_events": "max_events",
    "beacon_rate_limit": "rate_limit",
    "beacon_network_rate_limit": "network_rate_limit",
    "beacon_rate_limit_url": "rate_limit_url",
    "beacon_max_visitors": "max_visitors",
    "auto_scroll": "auto_scroll",
    "time_thresholds": "time_thresholds",
    "scroll_depths": "scroll_depths",
    "serve_script": "serve_script",
}


def pop_beacon_options(options: dict[str, Any]) -> dict[str, Any] | None:
    """Take the collect endpoint's options out of a middleware's ``**options``.

    Returns the :class:`BeaconEndpoint` keyword arguments, or ``None`` when the
    endpoint is off. It is on with ``collect=True``, or when any of its options is
    given and ``collect`` is not ``False``. The middleware names:

    ``collect``, ``browser_events``, ``allowed_hosts``, ``collect_path``,
    ``script_path``, ``max_beacon_bytes``, ``max_beacon_events``,
    ``beacon_rate_limit``, ``beacon_network_rate_limit``, ``beacon_rate_limit_url``,
    ``beacon_max_visitors``, ``auto_scroll``,
    ``time_thresholds``, ``scroll_depths``, ``serve_script``.

    >>> options = {"collect": True, "browser_events": ["scroll_depth"], "trusted_proxies": 1}
    >>> pop_beacon_options(options), options
    ({'browser_events': ['scroll_depth']}, {'trusted_proxies': 1})
    """
    collect = options.pop("collect", None)
    found = {
        target: options.pop(name) for name, target in _MIDDLEWARE_OPTIONS.items() if name in options
    }
    if collect is None:
        collect = bool(found)
    elif not isinstance(collect, bool):
        raise ConfigError(f"must be True or False, got {collect!r}", field="collect")
    if not collect:
        if found:
            names = ", ".join(sorted(k for k, v in _MIDDLEWARE_OPTIONS.items() if v in found))
            raise ConfigError(f"{names} given, but collect=False", field="collect")
        return None
    return found
