"""A collect request's headers checked before its body is read: who sends it, from where.

The request comes from the site itself (its ``Origin``, else ``Referer``, names an
allowed host), announces a small enough body of a known type, and carries a visitor:
convsdk's signed cookies, never the payload, say who it is (in cookieless mode, the
daily hash page views get). Bots and visitors the site does not count get ``204``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import privacy, runtime
from ..ratelimit import network_of
from .answers import Answer, no_content, refuse
from .hosts import parse_url

if TYPE_CHECKING:
    from ..context import Request, RequestContext
    from ..identity import Identity
    from ..interactions import Recorder
    from ..tracker import Tracker
    from .hosts import Hosts

__all__ = ["Visit", "check_headers", "identify"]

BODY_TYPES = frozenset({"text/plain", "application/json"})


class Visit:
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


def check_headers(
    request: Request, origin: str | None, hosts: Hosts, max_body_bytes: int
) -> Answer | None:
    """The refusal of a request that is not a same-site ``POST`` of a small JSON or
    text body; ``None`` when it is one."""
    if request.method != "POST":
        return refuse(405, "use POST", ("Allow", "POST"))
    source = origin or request.referrer
    if not source:
        return refuse(403, "no Origin or Referer")
    parts = parse_url(source)
    if parts is None or not hosts.allows(parts.netloc, request.host):
        return refuse(403, "cross-site request")
    length = request.content_length
    if length is not None and length > max_body_bytes:
        return refuse(413, f"body larger than {max_body_bytes} bytes")
    mime = (request.content_type or "text/plain").partition(";")[0].strip().lower()
    if mime not in BODY_TYPES:
        return refuse(415, "send text/plain or application/json")
    return None


def identify(request: Request, tracker: Tracker | None, recorder: Recorder) -> Answer | Visit:
    """The visit sending the request, recorded with ``tracker`` (``None``: the default);
    ``204`` when nothing is to be recorded, ``403`` without a visitor cookie."""
    if tracker is None:
        tracker = runtime.default
    if tracker is None or tracker.closed:
        return no_content()
    ctx = recorder.read_context(request, tracker)
    if not ctx.track:
        return no_content()  # a bot, or an opted-out visitor the site does not count
    identity = recorder.identity(tracker)
    # The address the middleware records, proxies' headers only when trusted.
    ip = privacy.client_ip(request.remote_addr, request.forwarded_for, recorder.trusted_proxies)
    if ctx.anonymous:
        # No visitor id to count by: the raw address (a rate limit key, never stored
        # in an event; the network's limit holds whatever the address).
        key = f"ip:{ip or '-'}"
    elif ctx.visitor_id is None:
        return refuse(403, "no visitor cookie")
    else:
        key = f"v:{ctx.visitor_id}"
    network = f"net:{network_of(ip)}"
    return Visit(tracker, request, ctx, identity, key, network, request.referrer)
