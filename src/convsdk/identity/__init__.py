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
random per UTC day, shared by the processes that share the tracker's spool directory
(in a file there, readable by its owner only; in memory without one), never stored
with events, and deleted when the day ends, so yesterday's ids cannot be recomputed.
Sessions need a cookie, so there is no session id in this mode, and visitors are
counted once per day (per host, or per process without a spool).

The package, one job a module: ``policy`` (the :class:`Identity`: which ids, which
cookies), ``ids`` (new ids, minted in bulk), ``signing`` (signing and verifying cookie
values), ``cookies`` (names, headers, attributes), ``salt`` (cookieless ids),
``state`` (the signed click-id and user cookies) and ``traits`` (hashed traits).
"""

from __future__ import annotations

from .cookies import (
    CLICK_COOKIE,
    DEFAULT_SESSION_COOKIE,
    DEFAULT_VISITOR_COOKIE,
    DEFAULT_VISITOR_MAX_AGE,
    USER_COOKIE,
    cookie_value,
)
from .policy import Identity, Issue
from .salt import DailySalt
from .state import SignedState
from .traits import TRAITS, hash_traits

__all__ = [
    "CLICK_COOKIE",
    "DEFAULT_SESSION_COOKIE",
    "DEFAULT_VISITOR_COOKIE",
    "DEFAULT_VISITOR_MAX_AGE",
    "DailySalt",
    "Identity",
    "Issue",
    "SignedState",
    "TRAITS",
    "USER_COOKIE",
    "cookie_value",
    "hash_traits",
]
