"""Who the visitor is: a signed visitor cookie, a session cookie, or a cookieless hash.

With a secret key, two cookies identify a browser:

- the **visitor** cookie (default ``cv_vid``, two years) holds a random visitor id
  signed once, when it is issued; its value never changes, so it is refreshed
  (the same bytes sent again with a new expiry) at the start of each session rather
  than on every request;
- the **session** cookie (default ``cv_sid``) holds the session id and the minute the
  visitor was last seen, signed. A session ends after ``session_timeout`` seconds of
  inactivity, measured at minute granularity (so it ends between ``session_timeout``
  and ``session_timeout + 60`` seconds after the last request).

Why the minute: a cookie holding the exact last-seen time would need a new signature
(and a ``Set-Cookie``) on every request. With the minute, a visitor's requests within
the same minute carry identical cookie values, so the common request needs no signing
and no ``Set-Cookie`` at all, and verifying it is a dictionary hit: verified cookie
values are kept in an LRU (a value's meaning never changes; only the expiry check,
which is arithmetic, depends on the time). A re-signature happens at most once a
minute per active visitor.

Both cookies are ``HttpOnly``, ``SameSite=Lax``, ``Path=/`` and ``Secure`` on https. A
tampered, expired or garbage cookie is ignored and a new id issued: reading a cookie
never raises.

Without a secret key the middleware runs **cookieless**: the visitor id is a keyed
hash of a random salt, the IP address, the user agent and the host. The salt is
random per UTC day and per process, lives in memory only and is never stored with
events, so yesterday's ids cannot be recomputed. Sessions need a cookie, so there
is no session id in this mode, and visitors are counted once per day and per
worker process.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable

from itsdangerous import BadSignature, Signer

__all__ = [
    "DEFAULT_SESSION_COOKIE",
    "DEFAULT_VISITOR_COOKIE",
    "DEFAULT_VISITOR_MAX_AGE",
    "DailySalt",
    "Identity",
    "cookie_value",
]

log = logging.getLogger("convsdk.identity")

DEFAULT_VISITOR_COOKIE = "cv_vid"
DEFAULT_SESSION_COOKIE = "cv_sid"
DEFAULT_VISITOR_MAX_AGE = 2 * 365 * 24 * 3600

_VERIFIED_CACHE = 8192
_MAX_COOKIE = 256  # ours are under 100 characters; anything longer is not ours
# Whole Cookie headers are cached only up to this size, which bounds the cache's memory.
_HEADER_CACHE = 4096
_MAX_CACHED_HEADER = 1024


def cookie_value(header: str | None, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` request header, or ``None``.

    Looks for the one name instead of parsing every cookie (the header often holds
    a dozen cookies from other code on the site).

    >>> cookie_value("theme=dark; cv_vid=abc.def", "cv_vid")
    'abc.def'
    """
    if not header:
        return None
    key = name + "="
    start = 0
    while True:
        at = header.find(key, start)
        if at < 0:
            return None
        if at == 0 or header[at - 1] in "; \t":
            end = header.find(";", at)
            value = header[at + len(key) : None if end < 0 else end].strip()
            if len(value) >= 2 and value[0] == '"' == value[-1]:
                value = value[1:-1]
            return value
        start = at + 1


class DailySalt:
    """A random salt that changes every UTC day, kept in memory only."""

    __slots__ = ("_clock", "_day", "_lock", "_salt")

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._day = -1
        self._salt = b""

    def current(self) -> bytes:
        """Today's salt (a new random one the first time it is asked for each day)."""
        day = int(self._clock() // 86400)
        if day != self._day:
            with self._lock:
                if day != self._day:
                    # The previous salt is dropped here: ids of past days can no
                    # longer be linked to an IP address and user agent.
                    self._salt = secrets.token_bytes(32)
                    self._day = day
        return self._salt


class Identity:
    """Issues and verifies the visitor and session cookies (or cookieless ids).

    One instance per tracker and middleware; thread-safe, no per-request state::

        identity = Identity("secret", session_timeout=1800)
        visitor_id, session_id, set_cookies = identity.resolve(
            request_cookie_header, secure=True, ip=ip, user_agent=ua, host=host)

    ``set_cookies`` holds ``Set-Cookie`` header values for the response (empty for
    the common request: a known visitor in a fresh session, seen this minute).
    """

    __slots__ = (
        "_clock",
        "_read_cookies",
        "_salt",
        "_session_signer",
        "_session_suffix",
        "_verify_session",
        "_verify_visitor",
        "_visitor_signer",
        "_visitor_suffix",
        "cookieless",
        "session_cookie",
        "session_timeout",
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
    ) -> None:
        self.session_timeout = session_timeout
        self.visitor_cookie = visitor_cookie
        self.session_cookie = session_cookie
        self._clock = clock
        self.cookieless = not secret_key
        self._salt = DailySalt(clock)
        # The cookie attributes are fixed: build the two variants (http, https) once.
        domain = f"; Domain={cookie_domain}" if cookie_domain else ""
        common = f"; Path=/{domain}; HttpOnly; SameSite=Lax"
        self._visitor_suffix = (
            f"; Max-Age={visitor_max_age}{common}",
            f"; Max-Age={visitor_max_age}{common}; Secure",
        )
        session_age = session_timeout + 60
        self._session_suffix = (
            f"; Max-Age={session_age}{common}",
            f"; Max-Age={session_age}{common}; Secure",
        )
        self._visitor_signer: Signer | None
        self._session_signer: Signer | None
        if secret_key:
            # Separate salts: a visitor cookie can never pass as a session cookie.
            self._visitor_signer = Signer(
                secret_key, salt="convsdk.visitor", digest_method=hashlib.sha256
            )
            self._session_signer = Signer(
                secret_key, salt="convsdk.session", digest_method=hashlib.sha256
            )
        else:
            self._visitor_signer = self._session_signer = None
            log.warning(
                "no secret key: convsdk runs cookieless (daily visitor hashes, no sessions); "
                "set secret_key or CONVSDK_SECRET_KEY for visitor and session cookies"
            )
        # lru_cache is thread-safe and C-implemented: a repeat cookie costs a dict hit.
        # A browser sends the same Cookie header until one of its cookies changes, so
        # the whole header is a key too (one lookup for the common request).
        self._verify_visitor = functools.lru_cache(maxsize=_VERIFIED_CACHE)(self._unsign_visitor)
        self._verify_session = functools.lru_cache(maxsize=_VERIFIED_CACHE)(self._unsign_session)
        self._read_cookies = functools.lru_cache(maxsize=_HEADER_CACHE)(self._parse_cookies)

    # -- verification (cached) ------------------------------------------------------

    def _unsign_visitor(self, value: str) -> str | None:
        signer = self._visitor_signer
        if signer is None or len(value) > _MAX_COOKIE:
            return None
        try:
            visitor_id = signer.unsign(value).decode("ascii")
        except (BadSignature, UnicodeError, ValueError):
            return None
        except Exception:  # whatever a forged cookie triggers, it is only not ours
            log.debug("unreadable visitor cookie", exc_info=True)
            return None
        return visitor_id or None

    def _unsign_session(self, value: str) -> tuple[str, int] | None:
        signer = self._session_signer
        if signer is None or len(value) > _MAX_COOKIE:
            return None
        try:
            payload = signer.unsign(value).decode("ascii")
            session_id, _, minute = payload.rpartition(".")
            return (session_id, int(minute, 16)) if session_id else None
        except (BadSignature, UnicodeError, ValueError):
            return None
        except Exception:  # whatever a forged cookie triggers, it is only not ours
            log.debug("unreadable session cookie", exc_info=True)
            return None

    def _parse_cookies(self, header: str) -> tuple[str | None, str | None, tuple[str, int] | None]:
        """(visitor id, signed visitor value, (session id, minute)) from a Cookie header.

        Ids are ``None`` when missing or not verified; no session without a visitor.
        """
        # Values longer than ours never verify: keep them out of the caches.
        signed_visitor = cookie_value(header, self.visitor_cookie)
        if not signed_visitor or len(signed_visitor) > _MAX_COOKIE:
            return None, None, None
        visitor_id = self._verify_visitor(signed_visitor)
        if visitor_id is None:
            return None, None, None
        signed_session = cookie_value(header, self.session_cookie)
        session = None
        if signed_session and len(signed_session) <= _MAX_COOKIE:
            session = self._verify_session(signed_session)
        return visitor_id, signed_visitor, session

    # -- issuing --------------------------------------------------------------------

    def _session_header(self, session_id: str, minute: int, secure: bool) -> str:
        assert self._session_signer is not None
        signed = self._session_signer.sign(f"{session_id}.{minute:x}").decode("ascii")
        return f"{self.session_cookie}={signed}{self._session_suffix[secure]}"

    def cookieless_id(self, ip: str | None, user_agent: str | None, host: str | None) -> str:
        """The visitor id of cookieless mode: a keyed hash, stable for one UTC day."""
        data = f"{ip or ''}\x00{user_agent or ''}\x00{host or ''}".encode("utf-8", "replace")
        return hashlib.blake2b(data, key=self._salt.current(), digest_size=16).hexdigest()

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
        ``user_agent`` and ``host`` are used in cookieless mode only.
        """
        if self._visitor_signer is None:
            return self.cookieless_id(ip, user_agent, host), None, []
        now = self._clock()
        minute = int(now // 60)
        if cookie_header:
            visitor_id, signed_visitor, session = (
                self._read_cookies(cookie_header)
                if len(cookie_header) <= _MAX_CACHED_HEADER
                else self._parse_cookies(cookie_header)
            )
        else:
            visitor_id = signed_visitor = session = None
        if visitor_id is None or signed_visitor is None:
            visitor_id = secrets.token_urlsafe(16)
            signed_visitor = self._visitor_signer.sign(visitor_id).decode("ascii")
        if session is not None:
            session_id, last_minute = session
            # Inactivity counts from the end of the minute last seen: never early.
            if now < (last_minute + 1) * 60 + self.session_timeout:
                if last_minute == minute:
                    return visitor_id, session_id, []
                return visitor_id, session_id, [self._session_header(session_id, minute, secure)]
        session_id = secrets.token_urlsafe(12)
        return (
            visitor_id,
            session_id,
            [
                # A new session refreshes the visitor cookie's expiry with the same
                # signed value: no re-signing.
                f"{self.visitor_cookie}={signed_visitor}{self._visitor_suffix[secure]}",
                self._session_header(session_id, minute, secure),
            ],
        )

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
        if self._visitor_signer is None:
            return self.cookieless_id(ip, user_agent, host), None
        if not cookie_header:
            return None, None
        visitor_id, _, session = (
            self._read_cookies(cookie_header)
            if len(cookie_header) <= _MAX_CACHED_HEADER
            else self._parse_cookies(cookie_header)
        )
        if visitor_id is None or session is None:
            return visitor_id, None
        session_id, last_minute = session
        if self._clock() >= (last_minute + 1) * 60 + self.session_timeout:
            return visitor_id, None
        return visitor_id, session_id
