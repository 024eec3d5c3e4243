"""The collect endpoint: its options, the paths it answers, and its answers, without I/O
(one helper a job: see :mod:`convsdk.browser`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .. import privacy, runtime
from ..errors import ConfigError
from . import adapters
from .admission import Visit, check_headers, identify
from .allowlist import Allowlist
from .answers import Answer, refuse, script_answer
from .config import path_option, positive_int, recorder_option, seconds_option
from .hosts import hosts_option
from .limits import RateLimits
from .payload import check_events, page_of, parse_body
from .record import record
from .script import (
    DEFAULT_COLLECT_PATH,
    DEFAULT_SCRIPT_PATH,
    DEFAULT_SCROLL_DEPTHS,
    DEFAULT_TIME_THRESHOLDS,
    Script,
    script_for,
)

if TYPE_CHECKING:
    from ..context import Request
    from ..interactions import Recorder
    from ..tracker import Tracker
    from ..web.types import ASGIApp, Receive, Scope, Send, StartResponse, WSGIApp

__all__ = ["BeaconEndpoint"]


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
      defaults (see :func:`convsdk.browser.browser_script`).
    - ``recorder``: the :class:`~convsdk.interactions.Recorder` of the middleware in
      front of the app (``middleware.recorder``), so cookies, proxies, consent and
      ``dnt`` are read the same way; or, instead, the Recorder options themselves
      (``secret_key``, ``visitor_cookie``, ``session_cookie``, ``trusted_proxies``,
      ``dnt``, ``consent``, ...).
    - ``rate_clock``: the rate limit's time source (tests inject one).

    Call it as a WSGI app (:meth:`wsgi`) or an ASGI app (:meth:`asgi`) for the paths
    it :meth:`handles`, or let :meth:`wrap_wsgi` / :meth:`wrap_asgi` route them. Those
    are thin adapters (:mod:`convsdk.browser.adapters`) around its sans-IO answers:
    :meth:`script_answer`, and :meth:`admit` (the headers) then :meth:`collect` (the body).
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
        self.path = path_option("path", path)
        self.script_path = path_option("script_path", script_path)
        if self.path == self.script_path:
            raise ConfigError("must differ from path", field="script_path")
        self._allowlist = Allowlist(browser_events)
        self.browser_events = self._allowlist.names
        self._hosts = hosts_option(allowed_hosts)
        self.allowed_hosts: tuple[str, ...] = self._hosts.names
        self.max_body_bytes = positive_int("max_body_bytes", max_body_bytes)
        self.max_events = positive_int("max_events", max_events)
        self._limits = limits = RateLimits(
            rate_limit, network_rate_limit, rate_limit_url, max_visitors, max_events, rate_clock
        )
        self.rate_limit, self.network_rate_limit = limits.rate_limit, limits.network_rate_limit
        self.max_visitors, self.rate_limit_url = limits.max_visitors, rate_limit_url
        self.read_timeout = seconds_option("read_timeout", read_timeout)
        self.serve_script = bool(serve_script)
        self._script_settings = (
            bool(auto_scroll),
            tuple(time_thresholds),
            tuple(scroll_depths),
            self.max_events,
        )
        self._paths = frozenset({self.path, self.script_path} if serve_script else {self.path})
        self.recorder = recorder_option(recorder, options)
        self._prepare(tracker)

    def _prepare(self, tracker: Tracker | None) -> None:
        """Report a bad setting at startup, and build now what the first request needs."""
        self.script()  # a bad script setting fails here, not on the first request
        privacy.prepare()
        if tracker is not None:
            self._allowlist.policy(tracker)
            self.recorder.identity(tracker)
            self._limits.store(tracker)  # an unusable store is reported at startup

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

    def relative(self, path: str, root_path: str) -> str:
        """``path`` inside an app mounted at ``root_path`` (ASGI servers may include it)."""
        if path not in self._paths and root_path and path.startswith(root_path):
            return path[len(root_path) :]
        return path

    def wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer a request for one of the endpoint's paths, as a WSGI app."""
        return adapters.serve_wsgi(self, environ, start_response)

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a request for one of the endpoint's paths, as an ASGI app."""
        await adapters.serve_asgi(self, scope, receive, send)

    def wrap_wsgi(self, app: WSGIApp) -> WSGIApp:
        """A WSGI app answering the endpoint's paths and handing every other request to ``app``.

        >>> application = endpoint.wrap_wsgi(ConversionMiddleware(application, tracker))
        """
        return adapters.route_wsgi(self, app)

    def wrap_asgi(self, app: ASGIApp) -> ASGIApp:
        """An ASGI app answering the endpoint's paths and handing everything else to ``app``."""
        return adapters.route_asgi(self, app)

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

    def script_answer(
        self, method: str, prefix: str, query: str, if_none_match: str | None
    ) -> Answer:
        """The answer to a request for the script of an app mounted at ``prefix``."""
        if method not in ("GET", "HEAD"):
            return refuse(405, "use GET", ("Allow", "GET, HEAD"))
        return script_answer(self.script(prefix), query, if_none_match)

    # -- collecting ---------------------------------------------------------------------

    def allowed_events(self, tracker: Tracker | None = None) -> frozenset[str]:
        """The event names the browser may send to ``tracker`` (default: the endpoint's)."""
        tracker = tracker or self.tracker or runtime.default
        if tracker is None:
            return self.browser_events
        return self._allowlist.policy(tracker).names

    def admit(self, request: Request, origin: str | None) -> Answer | Visit:
        """Decide from the headers alone: an answer now, or a visit whose body to read."""
        refused = check_headers(request, origin, self._hosts, self.max_body_bytes)
        if refused is not None:
            return refused
        return identify(request, self.tracker, self.recorder)

    def collect(self, visit: Visit, body: bytes) -> Answer:
        """Check the payload, rate-limit, record: the answer to an admitted request."""
        batch = parse_body(body, self.max_events)
        if isinstance(batch, Answer):
            return batch
        items, url = batch
        policy = self._allowlist.policy(visit.tracker)
        checked = check_events(items, policy.names)
        if isinstance(checked, Answer):
            return checked
        page = page_of(url, visit, self._hosts)
        if isinstance(page, Answer):
            return page
        refused = self._limits.take(visit.key, visit.network, len(checked), visit.tracker)
        if refused is not None:
            return refused
        return record(visit, checked, page, policy, self.recorder.secure_cookies)

    def __repr__(self) -> str:
        return (
            f"<BeaconEndpoint path={self.path!r} script_path={self.script_path!r} "
            f"browser_events={sorted(self.browser_events)!r}>"
        )
