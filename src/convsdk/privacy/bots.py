"""Bots: telling crawlers, monitors and headless browsers from people.

:func:`is_bot` uses the maintained `crawlerdetect` patterns (the ``bots`` extra);
without it a small conservative check (``bot``, ``crawl``, ``spider``, ``slurp``,
``headless``) stands in. Checks are cached per user agent.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from typing import Any

__all__ = ["bot_family", "is_bot", "prepare", "rules_id"]

log = logging.getLogger("convsdk.privacy")

_CACHE_SIZE = 4096
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


@functools.cache
def rules_id() -> str:
    """What :func:`is_bot` decides by, as text: crawlerdetect's patterns (hashed), or
    the basic check. Verdicts made under other rules are not these rules' verdicts."""
    if _detector is None:
        return f"fallback:{_FALLBACK_BOTS.pattern}"
    from crawlerdetect.providers.crawlers import data as crawlers
    from crawlerdetect.providers.exclusions import data as exclusions

    text = "\n".join([*crawlers, "", *exclusions])
    return "crawlerdetect:" + hashlib.sha256(text.encode()).hexdigest()


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
