"""Which pages are recorded and what is stored of them: path globs (:class:`PathSet`),
static assets, HTML answers, and the stored page (path, URL, UTM parameters)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .. import privacy
from ..errors import ConfigError
from .bounds import MAX_PATH, MAX_URL
from .utm import utm_of

__all__ = [
    "DEFAULT_CHECKOUT_PATHS",
    "DEFAULT_EXCLUDED_PATHS",
    "STATIC_EXTENSIONS",
    "Page",
    "PathSet",
    "html_answer",
    "is_html",
    "is_static",
    "shared",
    "stored_page",
]

DEFAULT_CHECKOUT_PATHS: tuple[str, ...] = ("/checkout*",)
DEFAULT_EXCLUDED_PATHS: tuple[str, ...] = (
    "/static/*",
    # Health checks, not the pages that share their first letters (/healthcare, /live-demo).
    "/health",
    "/health/*",
    "/healthz",
    "/ready",
    "/ready/*",
    "/readyz",
    "/live",
    "/live/*",
    "/livez",
    "/metrics",
    "/favicon.ico",
    "/robots.txt",
    # FastAPI's own API documentation, no page of the site.
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
)
#: Paths ending in one of these extensions are assets, never interactions.
STATIC_EXTENSIONS = frozenset(
    {
        "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp",
        "avif", "bmp", "woff", "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "ogg",
        "wav", "wasm",
    }
)  # fmt: skip

#: (path, URL, UTM parameters) of a request as stored.
Page = tuple[str, str, dict[str, str | None] | None]


class PathSet:
    """A set of path globs, decided with the cheapest test: ``*`` matches any run
    of characters (``/`` included), ``?`` one character.

    >>> PathSet(["/checkout*", "/cart"])("/checkout/pay")
    True
    """

    __slots__ = ("_exact", "_prefixes", "_regex", "patterns")

    def __init__(self, patterns: Iterable[str], *, option: str = "paths") -> None:
        if isinstance(patterns, str | bytes):
            raise ConfigError("must be a list of path patterns, not a string", field=option)
        self.patterns = tuple(patterns)
        exact: set[str] = set()
        prefixes: list[str] = []
        regexes: list[str] = []
        for pattern in self.patterns:
            if not isinstance(pattern, str) or not pattern.startswith(("/", "*")):
                raise ConfigError(
                    f"path patterns start with '/' or '*', got {pattern!r}", field=option
                )
            stem = pattern.rstrip("*")
            if "*" not in pattern and "?" not in pattern:
                exact.add(pattern)
            elif "*" not in stem and "?" not in stem:
                prefixes.append(stem)
            else:
                regexes.append(
                    "".join(
                        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
                    )
                )
        self._exact = frozenset(exact)
        self._prefixes = tuple(prefixes)
        self._regex = re.compile("|".join(regexes), re.DOTALL) if regexes else None

    def __call__(self, path: str) -> bool:
        """Whether ``path`` matches one of the patterns."""
        if path in self._exact or path.startswith(self._prefixes):
            return True
        regex = self._regex
        return regex is not None and regex.fullmatch(path) is not None

    def __bool__(self) -> bool:
        return bool(self.patterns)


def is_static(path: str) -> bool:
    """Whether ``path`` ends in an asset's extension (never an interaction)."""
    dot = path.rfind(".")
    if dot < 0 or dot < path.rfind("/"):
        return False
    return path[dot + 1 :].lower() in STATIC_EXTENSIONS


def is_html(content_type: str | None) -> bool:
    """Whether a response ``Content-Type`` is an HTML page."""
    if content_type is None:
        return False  # no body to show (or the app did not say): no page seen
    mime = content_type.partition(";")[0].strip().lower()
    html = mime == "text/html" or mime == "application/xhtml+xml"
    if len(_HTML_TYPES) < 256 and len(content_type) <= 256:
        _HTML_TYPES[content_type] = html
    return html


# An app answers with a handful of content types: whether each is HTML, remembered
# (bounded) by _is_html.
_HTML_TYPES: dict[str, bool] = {}


def html_answer(content_type: str | None) -> bool:
    """:func:`is_html`, answered from what was seen before when it can be."""
    if content_type is None:
        return False  # no Content-Type, no page (an empty or unknown answer)
    html = _HTML_TYPES.get(content_type)
    return is_html(content_type) if html is None else html


def stored_page(scheme: str, host: str, path: str, query: str) -> Page:
    """What is stored of the page a request asks for: path, URL and UTM parameters,
    scrubbed and bounded. The UTM dict is to be copied (the page is cached)."""
    url = f"{scheme}://{host}{path}?{query}" if query else f"{scheme}://{host}{path}"
    return (
        privacy.scrub_text(path)[:MAX_PATH],
        privacy.scrub_url(url)[:MAX_URL],
        utm_of(query) if "utm_" in query else None,
    )


def shared(cache_control: str) -> bool:
    """Whether a ``Cache-Control`` value lets a shared cache (a CDN) store the response."""
    value = cache_control.lower()
    return "public" in value or "s-maxage" in value
