"""What the rules make of a landing: cached, since a report sees the same few landings
and campaigns visitor after visitor (bounded caches, keyed by the text)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..channels import arrival, touchpoint
from ..dataset import UTM
from ..rules import landing_page, referrer_domain

__all__ = ["Landing", "campaign", "landing", "touch"]

_CACHE = 65_536
_TEXT = (str, type(None))

#: What an event without UTM parameters tells: (referrer domain, landing page, arrival,
#: touchpoint); see :mod:`convsdk.report.channels`.
Landing = tuple[str, str | None, UTM, UTM | None]


def landing(referrer: Any, url: Any) -> Landing:
    """What an event of ``referrer`` and ``url`` tells, UTM parameters aside."""
    if type(referrer) in _TEXT and type(url) in _TEXT:
        return _text_landing(referrer, url)
    return _landing(referrer, url)


def _landing(referrer: Any, url: Any) -> Landing:
    return (
        referrer_domain(referrer, url),
        landing_page(url),
        arrival(None, referrer, url),
        touchpoint(None, referrer, url),
    )


_text_landing = lru_cache(maxsize=_CACHE)(_landing)


def campaign(utm: dict[str, Any]) -> UTM:
    """The arrival of UTM parameters that have a source."""
    source, medium, name = utm.get("source"), utm.get("medium"), utm.get("campaign")
    if type(source) is str and type(medium) in _TEXT and type(name) in _TEXT:
        return _text_campaign(source, medium, name)
    return arrival(utm, None, None)


@lru_cache(maxsize=_CACHE)
def _text_campaign(source: str, medium: str | None, name: str | None) -> UTM:
    return arrival({"source": source, "medium": medium, "campaign": name}, None, None)


def touch(utm: dict[str, Any] | None, referrer: Any, url: Any) -> UTM | None:
    """:func:`~convsdk.report.channels.touchpoint`: the arrival an event marks, if any
    (UTM parameters with a source, else an ad click id or another site's referrer)."""
    if utm and utm.get("source"):
        return campaign(utm)
    return landing(referrer, url)[3]
