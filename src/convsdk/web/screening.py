"""Who is recorded, and how: bots, Do-Not-Track and consent, the client's address and
experiment variant, and the context of a request built from them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .. import privacy
from ..identity import cookie_value
from .bounds import MAX_IP, MAX_UA, MAX_URL, MAX_VARIANT
from .context import RequestContext, TrackerLike, new_context
from .forwarded import client_ip
from .pages import Page
from .request import Request
from .settings import Settings

if TYPE_CHECKING:
    from ..identity import Identity
    from ..tracker.core import Tracker
    from .pending import Pending

__all__ = ["dropped_bot", "identify_uncookied", "request_context", "untracked"]

log = logging.getLogger("convsdk.interactions")

# Bot families already reported (bounded: privacy.bot_family names a small set).
_bot_families_seen: set[str] = set()


def dropped_bot(tracker: Tracker, user_agent: str) -> None:
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


def untracked(method: str, deferred: bool, tracker: TrackerLike | None) -> RequestContext:
    """The context of a request nothing is recorded for (a bot, an opted-out visitor)."""
    return new_context(
        method, None, None, None, None, None, None, None, False, False, deferred, tracker
    )


def request_context(
    settings: Settings,
    request: Request,
    page: Page,
    privacy_rules: tuple[bool, bool, bool],
    tracker: Tracker | None,
) -> tuple[RequestContext, str | None]:
    """The context of ``request`` under the privacy rules, and the raw client IP.

    ``page`` is what is stored of the request's page; ``privacy_rules`` the tracker's
    ``(filter_bots, respect_dnt, anonymize_ip)``. ``tracker`` is the tracker of a
    middleware that owns the request (its conversions then wait for the response), or
    None. The context's ``track`` is False (and the rest empty) for a bot, or for an
    opted-out visitor when ``dnt="skip"``.
    """
    method = request.method[:16]
    deferred = tracker is not None
    filter_bots, respect_dnt, anonymize_ip = privacy_rules
    screened = _screen(settings, request, filter_bots, respect_dnt, tracker)
    if screened is None:
        return untracked(method, deferred, tracker), None
    user_agent, anonymous = screened
    path, url, utm = page
    if utm is not None:
        utm = dict(utm)  # events may be changed after they are built: each its own
    referrer = request.referrer
    referrer = privacy.scrub_url(referrer)[:MAX_URL] if referrer else None
    ip, stored_ip = _client(settings, request, anonymize_ip)
    variant = _variant(settings, request)
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


def _screen(
    settings: Settings,
    request: Request,
    filter_bots: bool,
    respect_dnt: bool,
    tracker: Tracker | None,
) -> tuple[str | None, bool] | None:
    """``(user_agent, anonymous)`` of a request to record; None for one never recorded."""
    user_agent = request.user_agent
    if user_agent:
        # Bounded before the cached checks: the caches are keyed by it.
        user_agent = user_agent[:MAX_UA]
        if filter_bots and privacy.is_bot(user_agent):
            if tracker is not None:
                dropped_bot(tracker, user_agent)
            return None
    else:
        user_agent = None
    gpc, dnt = request.gpc, request.dnt
    if respect_dnt and (gpc or dnt) and privacy.opted_out(gpc, dnt):
        if settings.dnt == "skip":
            return None
        return user_agent, True
    consent = settings.consent
    if consent is None:
        return user_agent, False
    try:
        return user_agent, not consent(request)
    except Exception:
        log.exception("the consent callable failed: recording anonymously")
        return user_agent, True


def _client(
    settings: Settings, request: Request, anonymize_ip: bool
) -> tuple[str | None, str | None]:
    """The client's address as sent (behind the trusted proxies), and as stored."""
    ip = request.remote_addr
    if settings.trusted_proxies:
        ip = client_ip(ip, request.forwarded_for, settings.trusted_proxies)
    stored = None
    if ip and len(ip) <= MAX_IP:
        stored = privacy.anonymize_ip(ip) if anonymize_ip else privacy.normalize_ip(ip)
    return ip, stored


def _variant(settings: Settings, request: Request) -> str | None:
    """The experiment variant: from the variant cookie, else the variant header."""
    variant = None
    if settings.variant_cookie is not None:
        variant = cookie_value(request.cookie, settings.variant_cookie)
    if not variant and request.variant:
        variant = request.variant.strip()
    return privacy.scrub_text(variant[:MAX_VARIANT]) if variant else None


def identify_uncookied(identity: Identity, pending: Pending) -> None:
    """Identify the visitor of a response a shared cache may store, without cookies:
    by the valid cookies the browser sent, else as in cookieless mode."""
    ctx = pending.ctx
    request = pending.request
    if ctx.anonymous or request is None or identity.cookieless:
        return  # no ids at all, or cookieless ones already
    visitor_id, session_id = identity.read(
        request.cookie, ip=pending.ip, user_agent=request.user_agent, host=request.host
    )
    if visitor_id is None:
        visitor_id = identity.cookieless_id(pending.ip, request.user_agent, request.host)
    ctx.visitor_id, ctx.session_id = visitor_id, session_id
