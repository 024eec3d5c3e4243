"""The browser feature: micro conversions seen by the browser, recorded with the visit's ids.

Scrolling 75% of the pricing page, playing the demo video, clicking "compare plans",
staying 30 seconds: these happen in the browser only. The browser script
(:mod:`convsdk.browser.script`) sends them here, and :class:`BeaconEndpoint`
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
The package, one job a module:

- :mod:`~convsdk.browser.endpoint`: :class:`BeaconEndpoint`, its options, routing and
  answers, without I/O; :mod:`~convsdk.browser.adapters`: WSGI and ASGI around it;
  :mod:`~convsdk.browser.io`: reading the body; :mod:`~convsdk.browser.answers`: the
  responses; :mod:`~convsdk.browser.config`: the options, :func:`pop_beacon_options`;
- the policy: :mod:`~convsdk.browser.hosts` (origins and pages),
  :mod:`~convsdk.browser.allowlist` (event names, browser goals),
  :mod:`~convsdk.browser.limits` (rate limits);
- a request: :mod:`~convsdk.browser.admission` (its headers),
  :mod:`~convsdk.browser.payload` (its body), :mod:`~convsdk.browser.record` (its events);
- the script: :mod:`~convsdk.browser.script` (the JavaScript) and
  :mod:`~convsdk.browser.templates` (the ``<script>`` tag for Flask, Starlette).
"""

from __future__ import annotations

from .allowlist import RESERVED_EVENTS
from .config import pop_beacon_options
from .endpoint import BeaconEndpoint
from .limits import LIMITS_FILE
from .script import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_COLLECT_PATH,
    DEFAULT_SCRIPT_PATH,
    DEFAULT_SCROLL_DEPTHS,
    DEFAULT_TIME_THRESHOLDS,
    Script,
    browser_script,
    script_for,
)
from .templates import register_flask_template_helper, render_script_tag, script_tag

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_COLLECT_PATH",
    "DEFAULT_SCRIPT_PATH",
    "DEFAULT_SCROLL_DEPTHS",
    "DEFAULT_TIME_THRESHOLDS",
    "LIMITS_FILE",
    "RESERVED_EVENTS",
    "BeaconEndpoint",
    "Script",
    "browser_script",
    "pop_beacon_options",
    "register_flask_template_helper",
    "render_script_tag",
    "script_for",
    "script_tag",
]
