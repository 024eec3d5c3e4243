"""The :class:`Identity`: which ids a request gets, and which cookies its response sets.

A new visitor gets a new visitor id; a session ends after ``session_timeout`` seconds
of inactivity, measured at minute granularity; the session cookie is re-signed at most
once a minute, and the visitor cookie refreshed at the start of each session. Without
a secret key, ids are cookieless hashes (:mod:`convsdk.identity.salt`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .cookies import (
    CLICK_COOKIE,
    CLICK_MAX_AGE,
    DEFAULT_SESSION_COOKIE,
    DEFAULT_VISITOR_COOKIE,
    DEFAULT_VISITOR_MAX_AGE,
    MARK_COOKIES,
    USER_COOKIE,
    cookie_attributes,
)
from .ids import new_ids
from .salt import DailySalt, cookieless_hash
from .signing import MAX_CACHED_HEADER, CookieSigner
from .state import SignedState

__all__ = ["Identity", "Issue"]

#: The cookies a response must set, as :meth:`Identity.begin` decides them: (visitor id,
#: its signed value or ``None`` when it is still to sign, session id, minute last seen,
#: secure, both cookies or the session cookie only).
Issue = tuple[str, str | None, str, int, bool, bool]

log = logging.getLogger("convsdk.identity")


class Identity:
    """Issues and verifies the visitor and session cookies (or cookieless ids).

    One instance per tracker and middleware; thread-safe, no per-request state::

        identity = Identity("secret", session_timeout=1800)
        visitor_id, session_id, set_cookies = identity.resolve(
            request_cookie_header, secure=True, ip=ip, user_agent=ua, host=host)

    ``set_cookies`` holds ``Set-Cookie`` header values for the response (empty for
    the common request: a known visitor in a fresh session, seen this minute).
    ``salt_directory``: where the processes serving the site share the daily salt of
    cookieless ids (the tracker's spool directory; see :mod:`convsdk.identity.salt`).
    """

    __slots__ = (
        "_clock",
        "_read_cookies",
        "_read_cookies_cached",
        "_salt",
        "_session_suffix",
        "_signer",
        "_visitor_suffix",
        "clicks",
        "cookieless",
        "session_cookie",
        "session_timeout",
        "user",
        "visitor_cookie",
    )

    def __init__(
        self,
        secret_key: str | bytes | None,
        *,
        session_timeout: int = 1800,
        visitor_cookie: str = DEFAULT_VISITOR_COOKIE,
        session_cookie: str = DEFAULT_SESSION_COOKIE,
        visitor_max_age: int = DEFAULT_VISITOR_MAX_AGE,
        cookie_domain: str | None = None,
        clock: Callable[[], float] = time.time,
        salt_directory: str | None = None,
    ) -> None:
        self.session_timeout = session_timeout
        self.visitor_cookie = visitor_cookie
        self.session_cookie = session_cookie
        self._clock = clock
        self.cookieless = not secret_key
        self._salt = DailySalt(clock, salt_directory)
        # The cookie attributes are fixed: build the two variants (http, https) once.
        self._visitor_suffix = cookie_attributes(visitor_max_age, cookie_domain)
        self._session_suffix = cookie_attributes(session_timeout + 60, cookie_domain)
        self._signer: CookieSigner | None = None
        #: The click-id and user cookies (``None`` in cookieless mode: nothing persists).
        self.clicks: SignedState | None = None
        self.user: SignedState | None = None
        if secret_key:
            self.clicks = SignedState(
                secret_key,
                CLICK_COOKIE,
                "convsdk.clicks",
                max_age=CLICK_MAX_AGE,
                domain=cookie_domain,
            )
            self.user = SignedState(
                secret_key,
                USER_COOKIE,
                "convsdk.user",
                max_age=visitor_max_age,
                domain=cookie_domain,
            )
            self._signer = signer = CookieSigner(
                secret_key, visitor_cookie, session_cookie, MARK_COOKIES
            )
            # Bound here, so reading a request's cookies is one call.
            self._read_cookies = signer.read
            self._read_cookies_cached = signer.read_cached
        else:
            log.warning(
                "no secret key: convsdk runs cookieless (daily visitor hashes, no sessions); "
                "set secret_key or CONVSDK_SECRET_KEY for visitor and session cookies"
            )

    def cookieless_id(self, ip: str | None, user_agent: str | None, host: str | None) -> str:
        """The visitor id of cookieless mode: a keyed hash, stable for one UTC day."""
        return cookieless_hash(self._salt.current(), ip, user_agent, host)

    def resolve(
        self,
        cookie_header: str | None,
        *,
        secure: bool = False,
        ip: str | None = None,
        user_agent: str | None = None,
        host: str | None = None,
    ) -> tuple[str, str | None, list[str]]:
        """``(visitor_id, session_id, set_cookie_headers)`` for a request.

        Issues a new visitor id when the visitor cookie is missing or does not verify,
        a new session when the session cookie is missing, does not verify, belongs
        to a new visitor or has been idle for ``session_timeout``. ``ip``,
        ``user_agent`` and ``host`` are used in cookieless mode only. (:meth:`begin`
        and :meth:`set_cookies` in one call.)
        """
        visitor_id, session_id, issue, _ = self.begin(
            cookie_header, secure=secure, ip=ip, user_agent=user_agent, host=host
        )
        return visitor_id, session_id, [] if issue is None else self.set_cookies(issue)

    def begin(
        self,
        cookie_header: str | None,
        secure: bool = False,
        ip: str | None = None,
        user_agent: str | None = None,
        host: str | None = None,
    ) -> tuple[str, str | None, Issue | None, bool]:
        """``(visitor_id, session_id, issue, marked)``: :meth:`resolve` without the signing.

        ``issue`` says which cookies the response must set (``None``: none); give it
        to :meth:`set_cookies` once the response is known to need them, so a response
        that records nothing costs no signature. ``marked``: the header may name one
        of the other cookies the middleware reads (click ids, the user, Meta's and
        Google's; always True for a header in cookieless mode). (The arguments may be
        positional: the middleware calls this on every request.)
        """
        if self._signer is None:
            return self.cookieless_id(ip, user_agent, host), None, None, bool(cookie_header)
        now = self._clock()
        minute = int(now // 60)
        if cookie_header:
            visitor_id, signed_visitor, session, marked = (
                self._read_cookies_cached(cookie_header)
                if len(cookie_header) <= MAX_CACHED_HEADER
                else self._read_cookies(cookie_header)
            )
        else:
            visitor_id = signed_visitor = session = None
            marked = False
        if visitor_id is None or signed_visitor is None:
            # A new visitor (the common first request): both ids minted at once.
            visitor_id, session_id = new_ids()
            issue = (visitor_id, None, session_id, minute, secure, True)
            return visitor_id, session_id, issue, marked
        if session is not None:
            session_id, last_minute = session
            # Inactivity counts from the end of the minute last seen: never early.
            if now < (last_minute + 1) * 60 + self.session_timeout:
                if last_minute == minute:
                    return visitor_id, session_id, None, marked
                issue = (visitor_id, None, session_id, minute, secure, False)
                return visitor_id, session_id, issue, marked
        # A new session refreshes the visitor cookie's expiry with the same signed
        # value: no re-signing.
        session_id = new_ids()[1]
        return (
            visitor_id,
            session_id,
            (visitor_id, signed_visitor, session_id, minute, secure, True),
            marked,
        )

    def set_cookies(self, issue: Issue) -> list[str]:
        """The ``Set-Cookie`` values :meth:`begin` said the response needs (the visitor
        cookie first), signed now."""
        visitor_id, signed_visitor, session_id, minute, secure, both = issue
        signer = self._signer
        if signer is None:  # begin() issues nothing in cookieless mode
            return []
        if not both:
            signed_session = signer.sign_session(session_id, minute)
            return [f"{self.session_cookie}={signed_session}{self._session_suffix[secure]}"]
        if signed_visitor is None:
            signed_visitor, signed_session = signer.sign_both(visitor_id, session_id, minute)
        else:
            signed_session = signer.sign_session(session_id, minute)
        return [
            f"{self.visitor_cookie}={signed_visitor}{self._visitor_suffix[secure]}",
            f"{self.session_cookie}={signed_session}{self._session_suffix[secure]}",
        ]

    def read(
        self,
        cookie_header: str | None,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
        host: str | None = None,
    ) -> tuple[str | None, str | None]:
        """``(visitor_id, session_id)`` from the request's cookies, issuing nothing.

        For code that cannot set cookies (a decorated view without the middleware):
        ids are ``None`` when the cookies are missing, invalid or expired.
        """
        if self._signer is None:
            return self.cookieless_id(ip, user_agent, host), None
        if not cookie_header:
            return None, None
        visitor_id, _, session, _ = (
            self._read_cookies_cached(cookie_header)
            if len(cookie_header) <= MAX_CACHED_HEADER
            else self._read_cookies(cookie_header)
        )
        if visitor_id is None or session is None:
            return visitor_id, None
        session_id, last_minute = session
        if self._clock() >= (last_minute + 1) * 60 + self.session_timeout:
            return visitor_id, None
        return visitor_id, session_id
