"""The rules every reader follows, so that the same events give the same report anywhere.

Readers (:mod:`convsdk.report.sql`, :mod:`convsdk.report.jsonl`) fold events into the
per-visitor summaries of :mod:`convsdk.report.dataset` with these helpers:

- an event's goal is its ``goal``, or its ``name`` when a conversion has no goal;
- duplicates are dropped: by ``event_id``, and a conversion repeating the
  ``transaction_id`` of an earlier conversion of the same goal counts once (the
  earliest, by timestamp then event id, wins, with its value);
- first and last are by timestamp, then by event id;
- a visitor's first touch is the earliest of their events that carries UTM
  parameters (a non-empty ``context.utm``), the last touch the latest one; for a
  visitor with a macro conversion only the touches up to their first one count (a
  campaign that brought a customer back after they bought gets no credit for it), and
  for visitor ids linked into one person, up to the person's first one, whichever
  device it was on (see :mod:`convsdk.report.people`); their
  referrer is the one of their first event; their variant the ``context.variant`` of
  the earliest event that carries one;
- values without a currency are counted under ``"XXX"`` (ISO 4217: no currency).
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urlsplit

from .._json import dumps_str
from ..privacy.bots import is_bot
from .dataset import MAX_STEP_TIMES, UTM, GoalHits

__all__ = [
    "add_conversion",
    "crawler",
    "device",
    "host_of",
    "landing_page",
    "first_macro",
    "merge_kind",
    "merge_rows",
    "referrer_domain",
    "utm_of",
    "variant_text",
]


def crawler(user_agent: object) -> bool:
    """Whether a visitor whose first event has ``user_agent`` is a known bot: left out
    of the report by default (the middleware drops bots, but events tracked another way,
    or by an older version, may hold some)."""
    return isinstance(user_agent, str) and is_bot(user_agent)


def landing_page(url: object) -> str | None:
    """The path of a first event's URL, without its query: ``/pricing``."""
    if not isinstance(url, str) or not url:
        return None
    return _path_of(url)


# A report asks the same few URLs and user agents of thousands of visitors: the parsing
# below is cached by the text (bounded, so a log of distinct URLs does not grow it).
_CACHE = 65_536


@lru_cache(maxsize=_CACHE)
def _path_of(url: str) -> str | None:
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return None


_TABLET = ("ipad", "tablet", "kindle", "silk/", "playbook")
_MOBILE = ("mobi", "iphone", "ipod", "android", "windows phone", "blackberry", "opera mini")


def device(user_agent: object) -> str | None:
    """``tablet``, ``mobile`` or ``desktop`` by a user agent's common tokens (an Android
    user agent without "Mobile" is a tablet); ``None`` without one.

    >>> device("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148")
    'mobile'
    """
    if not isinstance(user_agent, str):
        return None
    return _device(user_agent)


@lru_cache(maxsize=_CACHE)
def _device(user_agent: str) -> str | None:
    if not user_agent.strip():
        return None
    agent = user_agent.lower()
    if any(token in agent for token in _TABLET) or ("android" in agent and "mobile" not in agent):
        return "tablet"
    if any(token in agent for token in _MOBILE):
        return "mobile"
    return "desktop"


def utm_of(utm: object) -> UTM | None:
    """(source, medium, campaign) of a ``context.utm`` value; ``None`` if it carries none."""
    if not isinstance(utm, dict) or not utm:
        return None
    source, medium, campaign = utm.get("source"), utm.get("medium"), utm.get("campaign")
    if type(source) is str and type(medium) is str and type(campaign) is str:
        return source or None, medium or None, campaign or None  # the usual case, quickly
    return _text(source), _text(medium), _text(campaign)


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def referrer_domain(referrer: object, url: object) -> str:
    """The host a visitor came from: lower case, without ``www.`` nor port.

    ``"(direct)"`` when there is no referrer (or it is not a URL), ``"(internal)"``
    when it is the site itself (the host of the event's own ``url``).

    >>> referrer_domain("https://www.Google.com/search?q=x", "https://shop.example/")
    'google.com'
    """
    host = host_of(referrer)
    if host is None:
        return "(direct)"
    if host == host_of(url):
        return "(internal)"
    return host


def host_of(url: object) -> str | None:
    """The host of a URL, lower case, without ``www.``; ``None`` if it has none."""
    if not isinstance(url, str) or not url:
        return None
    return _host(url)


@lru_cache(maxsize=_CACHE)
def _host(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def variant_text(value: object) -> str | None:
    """A ``context.variant`` as text (JSON for a value that is not a string)."""
    if value is None:
        return None
    return value if isinstance(value, str) else dumps_str(value)


def merge_kind(kinds: dict[str, str], goal: str, kind: str) -> None:
    """Record that an event of ``goal`` had ``kind``: any ``"macro"`` one makes it macro."""
    # "macro" sorts before "micro", so this is MIN(kind), which the SQL readers use.
    previous = kinds.get(goal)
    if previous is None or kind < previous:
        kinds[goal] = kind


def first_macro(goals: dict[str, GoalHits], kinds: dict[str, str]) -> int | None:
    """When a visitor first converted on a macro goal (microseconds); ``None`` if never.

    ``kinds`` maps goal names to their kind, as :func:`merge_kind` builds it.
    """
    times = [hits.first for goal, hits in goals.items() if kinds.get(goal) == "macro"]
    return min(times) if times else None


def add_conversion(
    goals: dict[str, GoalHits],
    goal: str,
    moment: int,
    value: float | None,
    currency: str | None,
    keep_times: bool,
) -> None:
    """Count one conversion of ``goal`` at ``moment``; ``keep_times`` for funnel steps."""
    hits = goals.get(goal)
    if hits is None:
        hits = goals[goal] = GoalHits(count=0, first=moment, last=moment)
    hits.count += 1
    if moment < hits.first:
        hits.first = moment
    if moment > hits.last:
        hits.last = moment
    if keep_times:
        times = hits.times
        if times is None:
            hits.times = [moment]
        elif len(times) < MAX_STEP_TIMES:
            insort(times, moment)
        else:
            hits.capped = True
            if moment < times[-1]:
                insort(times, moment)
                times.pop()
    if value is not None:
        hits.add_value(value, currency)


def merge_rows(
    goals: dict[str, GoalHits],
    goal: str,
    count: int,
    first: int,
    revenue: float | None,
    currency: str | None,
    times: Sequence[int] | None,
    last: int | None = None,
) -> None:
    """Fold ``count`` conversions already summed up (a row of a SQL aggregate) into ``goals``.

    ``times`` are their sorted times, for funnel steps; ``last`` the time of the last.
    """
    last = first if last is None else last
    hits = goals.get(goal)
    if hits is None:
        hits = goals[goal] = GoalHits(count=0, first=first, last=last)
    hits.count += count
    if first < hits.first:
        hits.first = first
    if last > hits.last:
        hits.last = last
    if times:
        merged = sorted([*(hits.times or ()), *times])
        if len(merged) > MAX_STEP_TIMES:
            hits.capped = True
            del merged[MAX_STEP_TIMES:]
        hits.times = merged
    if revenue is not None:
        hits.add_value(revenue, currency)
