"""The two cookies as HTTP sees them: their default names, finding one in a ``Cookie``
header, and the attributes every ``Set-Cookie`` of ours carries.
"""

from __future__ import annotations

__all__ = [
    "CLICK_COOKIE",
    "CLICK_MAX_AGE",
    "DEFAULT_SESSION_COOKIE",
    "DEFAULT_VISITOR_COOKIE",
    "DEFAULT_VISITOR_MAX_AGE",
    "MARK_COOKIES",
    "USER_COOKIE",
    "cookie_attributes",
    "cookie_value",
]

DEFAULT_VISITOR_COOKIE = "cv_vid"
DEFAULT_SESSION_COOKIE = "cv_sid"
DEFAULT_VISITOR_MAX_AGE = 2 * 365 * 24 * 3600
#: The visitor's first and last ad click ids (signed); kept as long as the ad platforms
#: credit a click (Google Ads and Meta: 90 days).
CLICK_COOKIE = "cv_clk"
CLICK_MAX_AGE = 90 * 24 * 3600
#: The user id and hashed traits ``identify()`` gave (signed; as long as the visitor).
USER_COOKIE = "cv_uid"
#: Every other cookie the middleware reads: its own click-id and user cookies, Meta's
#: ``_fbc`` / ``_fbp`` and Google Analytics' ``_ga``.
MARK_COOKIES = (CLICK_COOKIE, USER_COOKIE, "_fbc", "_fbp", "_ga")


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


def cookie_attributes(max_age: int, domain: str | None) -> tuple[str, str]:
    """The ``Set-Cookie`` attributes after the value, for http and for https (``Secure``).

    Both cookies are ``HttpOnly``, ``SameSite=Lax`` and ``Path=/``; the attributes are
    fixed, so they are built once and indexed by ``secure`` on each response.
    """
    domain_part = f"; Domain={domain}" if domain else ""
    common = f"; Max-Age={max_age}; Path=/{domain_part}; HttpOnly; SameSite=Lax"
    return common, f"{common}; Secure"
