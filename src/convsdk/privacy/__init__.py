"""What may be stored about a visitor: IP anonymisation, consent, bots and field scrubbing.

Everything here runs on the request path, so the expensive checks are cached per
input string (an LRU keyed by the IP or the user agent: a site sees the same few
thousand of each over and over).

- :func:`anonymize_ip` zeroes the last octet of an IPv4 address and the last 80 bits
  of an IPv6 address (the host part), which keeps the network for geography and
  drops the person.
- :func:`opted_out` reads ``Sec-GPC: 1`` (Global Privacy Control) and ``DNT: 1``.
- :func:`is_bot` uses the maintained `crawlerdetect` patterns (the ``bots`` extra);
  without it a small conservative check (``bot``, ``crawl``, ``spider``, ``slurp``,
  ``headless``) stands in.
- :func:`is_sensitive_field`, :func:`capture_fields` and :func:`scrub_properties`
  keep passwords, card numbers, tokens and the like out of events, and
  :func:`scrub_text` / :func:`scrub_url` remove card numbers (13-19 digits, spaces or
  dashes allowed, passing the Luhn check), JSON Web Tokens, session and token
  parameters (query, fragment, ``;jsessionid=`` path parameters) and opaque tokens in
  paths from URLs, paths and referrers.

The package, one job a module: ``ip`` (anonymising addresses), ``consent``, ``bots``,
``fields`` (sensitive field names, form capture), ``cards`` (card numbers, properties)
and ``scrub`` (URLs, paths and referrers). :func:`client_ip`, which picks the client's
address from the socket peer and ``X-Forwarded-For``, is here.
"""

from __future__ import annotations

from ..web import forwarded
from .bots import bot_family, is_bot, prepare
from .cards import contains_card_number, scrub_properties
from .consent import opted_out
from .fields import (
    SENSITIVE_FIELD_NAMES,
    SENSITIVE_FIELD_PARTS,
    SENSITIVE_FIELD_WORDS,
    capture_fields,
    is_sensitive_field,
)
from .ip import anonymize_ip, normalize_ip
from .scrub import scrub_text, scrub_url

__all__ = [
    "SENSITIVE_FIELD_NAMES",
    "SENSITIVE_FIELD_PARTS",
    "SENSITIVE_FIELD_WORDS",
    "anonymize_ip",
    "capture_fields",
    "client_ip",
    "contains_card_number",
    "bot_family",
    "is_bot",
    "is_sensitive_field",
    "normalize_ip",
    "opted_out",
    "prepare",
    "scrub_properties",
    "scrub_text",
    "scrub_url",
]


def client_ip(
    remote_addr: str | None, forwarded_for: str | None = None, trusted_proxies: int = 0
) -> str | None:
    """The client's address: the socket peer, or the ``X-Forwarded-For`` entry it vouches for.

    ``X-Forwarded-For`` is written by the client as much as by proxies, so it is read
    only when ``trusted_proxies`` (the number of proxies in front of the app) is set,
    and then the ``trusted_proxies``-th entry from the right is the one the nearest
    trusted proxy saw (as werkzeug's ``ProxyFix`` does). When the header has fewer
    entries, the socket peer is used.

    >>> client_ip("10.0.0.2", "198.51.100.4, 203.0.113.9", trusted_proxies=1)
    '203.0.113.9'
    """
    return forwarded.client_ip(remote_addr, forwarded_for, trusted_proxies)
