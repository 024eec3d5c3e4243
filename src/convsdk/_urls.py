"""Store and server URLs as they appear in messages (without their secrets), and the
key a URL's destination goes by on disk (:func:`url_key`, no secret either).

A URL may carry a password in its user info (``postgresql://shop:s3cret@db/x``) or in
its query (``?password=...``, ``?token=...``, ``?write_key=...``); neither may reach a
log line or an error message. A password with an unencoded ``#`` or ``?`` is refused,
as those characters end the host part of a URL, and a password cut there would reach
the server half-sent.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit

from .errors import ConfigError

__all__ = ["check_userinfo", "redact_url", "url_key", "with_query"]

_HIDDEN = "***"
# Schemes whose host part is itself a secret (``segment://WRITE_KEY``).
_SECRET_HOSTS = ("segment://",)


def _userinfo(url: str) -> tuple[int, int] | None:
    """``(start, end)`` of the URL's user info (before its ``@``), if it has one.

    Read from the raw text rather than by ``urlsplit``, which ends the host part at a
    ``#`` or ``?`` that a password may hold.
    """
    start = url.find("://")
    if start < 0:
        return None
    start += 3
    slash = url.find("/", start)
    at = url.rfind("@", start, len(url) if slash < 0 else slash)
    return None if at < 0 else (start, at)


def with_query(url: str, query: str) -> str:
    """``url`` with its query replaced by ``query`` (none if empty), the rest as written.

    ``urlunsplit`` would drop the empty host of a local-socket URL:
    ``postgresql:///shop`` would come back as ``postgresql:/shop``.

    >>> with_query("postgresql:///shop?table=t", "connect_timeout=10")
    'postgresql:///shop?connect_timeout=10'
    """
    base, hash_, fragment = url.partition("#")
    base = base.split("?", 1)[0]
    return f"{base}{'?' if query else ''}{query}{hash_}{fragment}"


def url_key(url: str) -> str:
    """The key of the destination ``url`` names, stable across processes: its scheme and
    a digest of its host and path, never its user info or query (secrets, and options
    that may change). It names the destination's spool directory.

    >>> url_key("postgresql://shop:s3cret@DB/analytics?table=events")
    'postgresql-0bdb590389b712b5'
    """
    parts = urlsplit(url)
    where = f"{parts.netloc.rpartition('@')[2].lower()}{parts.path}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:16]
    return f"{parts.scheme.lower()}-{digest}"


def redact_url(url: str) -> str:
    """``url`` with its password and secret query values replaced by ``***``.

    >>> redact_url("postgresql://shop:s3cret@db/x?sslmode=require&password=p")
    'postgresql://shop:***@db/x?sslmode=require&password=***'
    >>> redact_url("segment://WRITE_KEY?timeout=2")
    'segment://***?timeout=2'
    """
    if url.lower().startswith(_SECRET_HOSTS):
        scheme, _, rest = url.partition("://")
        end = min(
            (i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0),
            default=len(rest),
        )
        url = f"{scheme}://{_HIDDEN}{rest[end:]}"
    span = _userinfo(url)
    if span is not None:
        start, at = span
        user, colon, _ = url[start:at].partition(":")
        if colon:
            url = f"{url[:start]}{user}:{_HIDDEN}{url[at:]}"
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    from .privacy import is_sensitive_field  # here: privacy loads the bot patterns

    pairs = parse_qsl(parts.query, keep_blank_values=True)
    hidden = [is_sensitive_field(key) or _names_a_key(key) for key, _ in pairs]
    if not any(hidden):
        return url
    query = urlencode(
        [
            (key, _HIDDEN if hide else value)
            for (key, value), hide in zip(pairs, hidden, strict=True)
        ],
        safe="*",
    )
    return parts._replace(query=query).geturl()


def _names_a_key(name: str) -> bool:
    """``write_key``, ``writeKey``, ``api-key``: a key, whatever it keys."""
    lowered = name.lower()
    return lowered.endswith("key") or "key" in lowered.replace("-", "_").split("_")


def check_userinfo(url: str) -> None:
    """Raise :class:`ConfigError` for a password holding an unencoded ``#`` or ``?``."""
    span = _userinfo(url)
    if span is None:
        return
    start, at = span
    _, colon, password = url[start:at].partition(":")
    if colon and ("#" in password or "?" in password):
        raise ConfigError(
            "the password holds '#' or '?', which end a URL's host part: "
            "percent-encode them (%23, %3F)",
            field="backend",
            source=redact_url(url),
        )
