"""Who is recorded, and how: bots, Do-Not-Track and consent, the client's address and
experiment variant, and the context of a request built from them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..identity import cookie_value
from ..privacy import (
    anonymize_ip,
    bot_family,
    is_bot,
    normalize_ip,
    opted_out,
    scrub_text,
    scrub_url,
)
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
    family = bot_family(user_agent)
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
    tracker: Tracker | None,
    owned: bool,
) -> tuple[RequestContext, str | None]:
    """The context of ``request`` under the privacy rules, and the raw client IP.

    ``page`` is what is stored of the request's page; the privacy rules are
    ``tracker``'s (the strictest without one). ``owned``: a middleware recording with
    ``tracker`` owns the request (its conversions then wait for the response, and a
    bot is counted). The context's ``track`` is False (and the rest empty) for a bot,
    or for an opted-out visitor when ``dnt="skip"``. (One function, no layer per rule,
    and lengths checked before cutting, a slice costing more: every request runs it.)
    """
    filter_bots = respect_dnt = anonymize = True
    if tracker is not None:
        filter_bots, respect_dnt = tracker.filter_bots, tracker.respect_dnt
        anonymize = tracker.anonymize_ip
    owner = tracker if owned else None
    method = request.method
    if len(method) > 16:
        method = method[:16]
    user_agent = request.user_agent or None
    if user_agent is not None:
        # Bounded before the cached checks: the caches are keyed by it.
        if len(user_agent) > MAX_UA:
            user_agent = user_agent[:MAX_UA]
        if filter_bots and is_bot(user_agent):
            if owner is not None:
                dropped_bot(owner, user_agent)
            return untracked(method, owned, owner), None
    anonymous = False
    if settings.consent is not None or (respect_dnt and (request.gpc or request.dnt)):
        answer = _anonymous(settings, request, respect_dnt)
        if answer is None:
            return untracked(method, owned, owner), None
        anonymous = answer
    path, url, utm = page
    if utm is not None:
        utm = dict(utm)  # events may be changed after they are built: each its own
    referrer = request.referrer
    referrer = scrub_url(referrer) if referrer else None
    if referrer is not None and len(referrer) > MAX_URL:
        referrer = referrer[:MAX_URL]
    ip = request.remote_addr
    if settings.trusted_proxies:
        ip = client_ip(ip, request.forwarded_for, settings.trusted_proxies)
    stored_ip = None
    if ip and len(ip) <= MAX_IP:
        stored_ip = anonymize_ip(ip) if anonymize else normalize_ip(ip)
    variant = None
    if settings.variant_cookie is not None or request.variant:
        variant = _variant(settings, request)
    return new_context(
        method, path, url, referrer, user_agent, stored_ip, utm, variant, True,
        anonymous, owned, owner,
    ), ip  # fmt: skip


def _anonymous(settings: Settings, request: Request, respect_dnt: bool) -> bool | None:
    """Whether a request is recorded without ids (Do-Not-Track, Global Privacy Control,
    no consent); None when it is not recorded at all (``dnt="skip"``)."""
    gpc, dnt = request.gpc, request.dnt
    if respect_dnt and (gpc or dnt) and opted_out(gpc, dnt):
        return None if settings.dnt == "skip" else True
    consent = settings.consent
    if consent is None:
        return False
    try:
        return not consent(request)
    except Exception:
        log.exception("the consent callable failed: recording anonymously")
        return True


def _variant(settings: Settings, request: Request) -> str | None:
    """The experiment variant: from the variant cookie, else the variant header."""
    variant = None
    if settings.variant_cookie is not None:
        variant = cookie_value(request.cookie, settings.variant_cookie)
    if not variant and request.variant:
        variant = request.variant.strip()
    return scrub_text(variant[:MAX_VARIANT]) if variant else None


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
