"""The forwarded headers (``X-Forwarded-For``, ``X-Forwarded-Proto``) read as werkzeug's
``ProxyFix`` does: only the entries the trusted proxies vouch for.

A client writes these headers as easily as a proxy does, so they are read only when
the number of proxies in front of the app is configured; the ``trusted``-th entry
from the right is the one the nearest trusted proxy saw.

>>> forwarded_value("198.51.100.4, 203.0.113.9", 1)
'203.0.113.9'
"""

from __future__ import annotations

__all__ = ["client_ip", "forwarded_proto", "forwarded_value"]


def forwarded_value(values: str | None, trusted: int) -> str | None:
    """The entry of a comma-separated forwarded header that ``trusted`` proxies vouch
    for, or ``None`` (nothing trusted, too few entries, an empty entry)."""
    if trusted > 0 and values:
        entries = values.split(",")
        if len(entries) >= trusted:
            return entries[-trusted].strip() or None
    return None


def client_ip(
    remote_addr: str | None, forwarded_for: str | None = None, trusted_proxies: int = 0
) -> str | None:
    """The client's address: the socket peer, or the ``X-Forwarded-For`` entry it vouches for.

    When the header has fewer entries than ``trusted_proxies``, the socket peer is used.

    >>> client_ip("10.0.0.2", "198.51.100.4, 203.0.113.9", trusted_proxies=1)
    '203.0.113.9'
    """
    return forwarded_value(forwarded_for, trusted_proxies) or remote_addr


def forwarded_proto(values: str | None, trusted_proxies: int) -> str | None:
    """The scheme ``X-Forwarded-Proto`` gives (lower-case), when proxies are trusted."""
    value = forwarded_value(values, trusted_proxies)
    return value.lower() if value is not None else None
