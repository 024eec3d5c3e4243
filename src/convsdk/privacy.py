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
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
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

log = logging.getLogger("convsdk.privacy")

#: A field (form field, query parameter) whose name contains one of these
#: (case-insensitive, ignoring ``-``, ``_``, ``.`` and spaces: ``api-key`` is ``apikey``)
#: is never recorded, even when allowlisted.
SENSITIVE_FIELD_PARTS: tuple[str, ...] = (
    "password",
    "passwd",
    "passcode",
    "passphrase",
    "securitycode",
    "accesskey",
    "privatekey",
    "secretkey",
    "signature",
    "credential",
    "card",
    "cvv",
    "cvc",
    "iban",
    "ssn",
    "token",
    "secret",
    "csrf",
    "session",
    "cookie",
    "apikey",
    "ccnum",
    "ccv",
    "authoriz",
    "authent",
    "jwt",
    "sessid",
)
#: Short names that are sensitive only as a whole word of a field name (``cc_number``,
#: ``userPin``), so that ``success``, ``shipping`` or ``author`` stay readable.
SENSITIVE_FIELD_WORDS: frozenset[str] = frozenset(
    {"pass", "pwd", "pw", "cc", "pin", "auth", "otp", "cvn", "dob", "sid"}
)
#: Whole field names that are secrets on their own (an OAuth ``code``, a signed URL's
#: ``sig``), while ``promo_code`` or ``zip_code`` stay readable.
SENSITIVE_FIELD_NAMES: frozenset[str] = frozenset({"code", "key", "sig"})
_SEPARATORS = str.maketrans("", "", "-_. ")
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")

_SENSITIVE = re.compile("|".join(map(re.escape, SENSITIVE_FIELD_PARTS)), re.IGNORECASE)

# A run of 13 to 19 digits, single separators allowed between digits: spaces and
# dashes as people type them, and "+", "%20", "%2D" as they appear in query strings.
_CARD_RUN = re.compile(r"(?<![0-9])[0-9](?:(?:[ \-+]|%20|%2[dD])?[0-9]){12,18}(?![0-9])")
_NON_DIGITS = re.compile(r"[^0-9]+")
_REDACTED = "[redacted]"

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
_MAX_FIELD_CHARS = 1024
_MAX_FIELD_ITEMS = 32


# -- IP addresses ------------------------------------------------------------------


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("["):  # "[2001:db8::1]:443", as some proxies write it
        text = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.partition(":")[0]
    text = text.partition("%")[0]  # an IPv6 zone id ("fe80::1%eth0") identifies nothing
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=_CACHE_SIZE)
def anonymize_ip(ip: str) -> str | None:
    """``ip`` with its host part zeroed; ``None`` when it is not an IP address.

    IPv4 keeps 24 bits, IPv6 keeps 48 (an IPv4-mapped IPv6 address is treated as
    IPv4).

    >>> anonymize_ip("203.0.113.77")
    '203.0.113.0'
    >>> anonymize_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348")
    '2001:db8:85a3::'
    """
    addr = _parse_ip(ip)
    if addr is None:
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        mapped = addr.ipv4_mapped
        if mapped is None:
            return str(ipaddress.IPv6Address(int(addr) >> 80 << 80))
        addr = mapped
    return str(ipaddress.IPv4Address(int(addr) & 0xFFFFFF00))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def normalize_ip(ip: str) -> str | None:
    """``ip`` in canonical form (no port, no zone id); ``None`` when it is not an IP."""
    addr = _parse_ip(ip)
    return None if addr is None else str(addr)


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
    if trusted_proxies > 0 and forwarded_for:
        entries = forwarded_for.split(",")
        if len(entries) >= trusted_proxies:
            entry = entries[-trusted_proxies].strip()
            if entry:
                return entry
    return remote_addr


# -- consent -----------------------------------------------------------------------


def opted_out(gpc: str | None, dnt: str | None) -> bool:
    """Whether the browser asked not to be tracked (``Sec-GPC: 1`` or ``DNT: 1``)."""
    return (gpc is not None and gpc.strip() == "1") or (dnt is not None and dnt.strip() == "1")


# -- bots --------------------------------------------------------------------------

_FALLBACK_BOTS = re.compile(r"bot|crawl|spider|slurp|headless", re.IGNORECASE)

try:
    from crawlerdetect import CrawlerDetect as _CrawlerDetect
except ImportError:  # the "bots" extra is not installed
    _detector: Any = None
else:
    _detector = _CrawlerDetect()

_warned_fallback = False


@functools.lru_cache(maxsize=_CACHE_SIZE)
def is_bot(user_agent: str) -> bool:
    """Whether ``user_agent`` belongs to a crawler, bot, monitor or headless browser.

    An empty user agent is not counted as a bot (the check is conservative: a person
    wrongly filtered out is a lost conversion).

    >>> is_bot("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    True
    """
    if not user_agent or user_agent.isspace():
        return False
    if _detector is not None:
        try:
            return bool(_detector.is_crawler(user_agent))
        except Exception:
            log.debug("crawlerdetect failed on %r", user_agent, exc_info=True)
    else:
        _warn_fallback()
    return _FALLBACK_BOTS.search(user_agent) is not None


# Families a dropped bot is reported under (a bounded set: one debug line each).
_BOT_FAMILIES = re.compile(
    r"curl|wget|python-requests|python-httpx|python-urllib|aiohttp|httpie|go-http-client|"
    r"okhttp|postmanruntime|insomnia|googlebot|bingbot|yandex|baiduspider|duckduckbot|"
    r"applebot|gptbot|claudebot|ahrefsbot|semrushbot|facebookexternalhit|twitterbot|"
    r"slackbot|linkedinbot|uptimerobot|pingdom|headlesschrome|phantomjs|selenium|"
    r"lighthouse|java/|node-fetch|axios",
    re.IGNORECASE,
)
_FAMILY_NAMES = {
    "java/": "Java",
    "headlesschrome": "HeadlessChrome",
    "googlebot": "Googlebot",
    "bingbot": "bingbot",
    "postmanruntime": "PostmanRuntime",
}


@functools.lru_cache(maxsize=256)
def bot_family(user_agent: str) -> str:
    """A short name for the kind of bot a user agent is (``"curl"``, ``"Googlebot"``...);
    ``"other"`` for the rest, so the set of names stays small.

    >>> bot_family("curl/8.5.0")
    'curl'
    """
    m = _BOT_FAMILIES.search(user_agent)
    if m is None:
        return "other"
    found = m[0].lower()
    return _FAMILY_NAMES.get(found, found)


def prepare() -> None:
    """Compile the bot patterns now (a few tens of milliseconds) instead of on the first request."""
    is_bot("Mozilla/5.0")


def _warn_fallback() -> None:
    global _warned_fallback
    if not _warned_fallback:
        _warned_fallback = True
        log.warning(
            "crawlerdetect is not installed: bots are detected with a basic check only "
            "(install convsdk[bots])"
        )


# -- card numbers and sensitive fields ---------------------------------------------


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i & 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _is_card(run: str) -> bool:
    """Whether a digit run found by ``_CARD_RUN`` holds a card number.

    The regex takes the longest run, so "4111 1111 1111 1111 12" (a card followed by
    other digits) is tried as a whole and then as every sequence of whole groups.
    """
    digits = _NON_DIGITS.sub("", run)
    if 13 <= len(digits) <= 19 and _luhn(digits):
        return True
    groups = _NON_DIGITS.split(run)
    if len(groups) < 2:
        return False
    for i in range(len(groups)):
        joined = ""
        for group in groups[i:]:
            joined += group
            if len(joined) > 19:
                break
            if len(joined) >= 13 and _luhn(joined):
                return True
    return False


def contains_card_number(text: str) -> bool:
    """Whether ``text`` contains something that looks like a payment card number."""
    for match in _CARD_RUN.finditer(text):
        if _is_card(match.group()):
            return True
    return False


def _redact_card(match: re.Match[str]) -> str:
    run = match.group()
    return _REDACTED if _is_card(run) else run


def _redact_path_param(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    if value and is_sensitive_field(_unquote(name)):
        return f";{name}={_REDACTED}"
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
        return f"/{name}/{_REDACTED}"
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
        text = _JWT.sub(_REDACTED, text)
    if ";" in text and "=" in text:
        text = _PATH_PARAM.sub(_redact_path_param, text)
    if len(text) > 17 and "/" in text:
        text = _PATH_SECRET.sub(_redact_path_secret, text)
    if _CARD_RUN.search(text) is None:
        return text
    return _CARD_RUN.sub(_redact_card, text)


def is_sensitive_field(name: str) -> bool:
    """Whether a field called ``name`` may hold a secret (see :data:`SENSITIVE_FIELD_PARTS`).

    >>> is_sensitive_field("new_password"), is_sensitive_field("plan")
    (True, False)
    """
    if _SENSITIVE.search(name.translate(_SEPARATORS)) is not None:
        return True
    if name.lower() in SENSITIVE_FIELD_NAMES:
        return True
    return any(word.lower() in SENSITIVE_FIELD_WORDS for word in _WORDS.findall(name))


def _redact_query(query: str) -> str:
    parts = query.split("&")
    changed = False
    for i, part in enumerate(parts):
        key, eq, value = part.partition("=")
        if eq and value and is_sensitive_field(_unquote(key)):
            parts[i] = f"{key}={_REDACTED}"
            changed = True
    return "&".join(parts) if changed else query


def _unquote(text: str) -> str:
    if "%" not in text and "+" not in text:
        return text
    from urllib.parse import unquote_plus

    return unquote_plus(text)


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


def _clean_value(value: Any) -> tuple[bool, Any]:
    """(keep, value) for one property value: values holding a card number are dropped."""
    t = type(value)
    if t is str:
        return (not contains_card_number(value), value)
    if t is dict:
        return True, scrub_properties(value)
    if t is list or t is tuple:
        kept = []
        changed = False
        for item in value:
            keep, cleaned = _clean_value(item)
            if keep:
                kept.append(cleaned)
                changed = changed or cleaned is not item
            else:
                changed = True
        return True, (kept if changed else value)
    if t is int and value >= 10**12 and contains_card_number(str(value)):
        return False, None
    return True, value


def scrub_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """``properties`` without any value that holds a card number (at any depth).

    Returns the same dict when nothing had to go, so the common case copies nothing.
    """
    result: dict[str, Any] | None = None
    for key, value in properties.items():
        keep, cleaned = _clean_value(value)
        if keep and cleaned is value:
            if result is not None:
                result[key] = value
            continue
        if result is None:
            result = {}
            for k, v in properties.items():
                if k == key:
                    break
                result[k] = v
        if keep:
            result[key] = cleaned
    return properties if result is None else result


def capture_fields(
    form: Mapping[str, list[str]], allowed: Iterable[str]
) -> dict[str, str | list[str]]:
    """The allowlisted fields of a submitted form, as event properties.

    A field is kept only when it is in ``allowed``, its name is not sensitive
    (:func:`is_sensitive_field`) and no value holds a card number. Values are
    truncated to 1024 characters; a field sent once gives a string, a repeated field
    a list.
    """
    captured: dict[str, str | list[str]] = {}
    for name in allowed:
        values = form.get(name)
        if not values or is_sensitive_field(name):
            continue
        values = values[:_MAX_FIELD_ITEMS]
        # Checked whole, before the cut: a card number across the cut would leave digits.
        if any(contains_card_number(v) for v in values):
            continue
        kept = [v[:_MAX_FIELD_CHARS] for v in values]
        captured[name] = kept[0] if len(kept) == 1 else kept
    return captured
