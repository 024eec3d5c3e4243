"""Scrubbing URLs, paths and referrers: secrets out, the rest kept readable.

:func:`scrub_text` removes card numbers, JSON Web Tokens, session path parameters
(``;jsessionid=``) and opaque tokens after a path segment naming a secret;
:func:`scrub_url` also removes the values of sensitive query and fragment parameters.
This runs on every page, so cheap substring checks come first and URLs are cached.
"""

from __future__ import annotations

import functools
import re

from .cards import CARD_RUN, REDACTED, redact_card
from .fields import is_sensitive_field

__all__ = ["scrub_text", "scrub_url"]

# A JSON Web Token: base64url header starting '{"' (eyJ), payload, signature (empty
# for alg none). Found anywhere: a path, a query value, a fragment, a UTM value.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
# A path parameter (";jsessionid=..."), its value up to the next delimiter.
_PATH_PARAM = re.compile(r";([^;/?#&=]+)=([^;/?#&]*)")
# A path segment after a segment naming a secret ("/reset-password/<token>", "/token/..."):
# redacted when it looks opaque (16+ characters mixing letters and digits), so that
# "/auth/callback" or "/password/reset" stay readable.
_PATH_SECRET = re.compile(r"/([^/;?#]+)/([A-Za-z0-9_.~-]{16,})(?=[/;?#]|\Z)")
_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"[0-9]")

_CACHE_SIZE = 4096
_MAX_CACHED_URL = 1024


def _unquote(text: str) -> str:
    if "%" not in text and "+" not in text:
        return text
    from urllib.parse import unquote_plus

    return unquote_plus(text)


def _redact_path_param(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    if value and is_sensitive_field(_unquote(name)):
        return f";{name}={REDACTED}"
    return match.group()


@functools.lru_cache(maxsize=1024)
def _names_secret(segment: str) -> bool:
    # Sites have a few path segments ("products", "orders"): check each once.
    return is_sensitive_field(_unquote(segment))


def _redact_path_secret(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    if (
        _names_secret(name)
        and _LETTER.search(value) is not None
        and _DIGIT.search(value) is not None
    ):
        return f"/{name}/{REDACTED}"
    return match.group()


def scrub_text(text: str) -> str:
    """``text`` without secrets: card numbers, JSON Web Tokens, session path parameters
    (``;jsessionid=...``) and opaque tokens after a path segment naming a secret
    (``/reset-password/<token>``), each replaced by ``[redacted]``.

    >>> scrub_text("paid with 4111 1111 1111 1111")
    'paid with [redacted]'
    """
    # Cheap substring checks first: most texts hold none of these, and this runs per page.
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    if ";" in text and "=" in text:
        text = _PATH_PARAM.sub(_redact_path_param, text)
    if len(text) > 17 and "/" in text:
        text = _PATH_SECRET.sub(_redact_path_secret, text)
    if CARD_RUN.search(text) is None:
        return text
    return CARD_RUN.sub(redact_card, text)


def _redact_query(query: str) -> str:
    parts = query.split("&")
    changed = False
    for i, part in enumerate(parts):
        key, eq, value = part.partition("=")
        if eq and value and is_sensitive_field(_unquote(key)):
            parts[i] = f"{key}={REDACTED}"
            changed = True
    return "&".join(parts) if changed else query


def scrub_url(url: str) -> str:
    """``url`` without the values of sensitive query and fragment parameters
    (``?sid=``, ``#access_token=``) and without what :func:`scrub_text` removes.

    >>> scrub_url("https://shop.example/reset?token=abc&plan=pro")
    'https://shop.example/reset?token=[redacted]&plan=pro'
    """
    # The same URLs and referrers come back request after request: cache them, up to
    # a length that bounds the cache's memory.
    return _scrub_url_cached(url) if len(url) <= _MAX_CACHED_URL else _scrub_url(url)


def _scrub_url(url: str) -> str:
    fragment_at = url.find("#")
    if fragment_at >= 0 and "=" in url[fragment_at:]:
        # OAuth implicit flows put tokens in the fragment ("#access_token=...&id_token=..."),
        # and a Referer may carry it as sent.
        url = url[: fragment_at + 1] + _redact_query(url[fragment_at + 1 :])
    query_at = url.find("?")
    if query_at >= 0 and (fragment_at < 0 or query_at < fragment_at):
        end = len(url) if fragment_at < 0 else fragment_at
        url = url[: query_at + 1] + _redact_query(url[query_at + 1 : end]) + url[end:]
    return scrub_text(url)


_scrub_url_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(_scrub_url)
