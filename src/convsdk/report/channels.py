"""Where a visitor came from: the source and medium of their first arrival, and its
default channel group, following GA4's published default channel group rules.

A visit's **source / medium** comes from the first of:

1. its UTM parameters (``utm_source``, ``utm_medium``, ``utm_campaign``);
2. an ad click id in the landing URL: ``gclid``, ``gbraid`` or ``wbraid`` (Google Ads),
   ``msclkid`` (Microsoft Ads) → ``cpc``; ``fbclid`` (Meta), ``ttclid`` (TikTok) →
   ``paid_social``;
3. the referrer: a search engine → ``organic``, any other site → ``referral`` (the
   source is the referring host, or the engine or network's name);
4. else ``(direct) / (none)``.

The **channel** is the first rule of :data:`DEFAULT_CHANNEL_RULES` the source, medium
and campaign match: data, not code, so a site can pass rules of its own
(:func:`channel`'s ``rules``). Each rule names a channel and conditions, all of which
must hold: ``source_in`` / ``medium_in`` (a list name of :data:`SOURCE_LISTS` or a list
of values), ``source_matches`` / ``medium_matches`` / ``campaign_matches`` (regular
expressions, case-insensitive, matched from the start).

>>> arrival({}, "https://www.google.com/search?q=coffee", "https://shop.example/")
('google', 'organic', None)
>>> channel("google", "organic", None)
'Organic Search'
>>> channel(*arrival({"source": "newsletter", "medium": "email"}, None, None))
'Email'
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..errors import ConfigError
from ..options import did_you_mean
from .dataset import UTM
from .rules import host_of

__all__ = [
    "CLICK_IDS",
    "DEFAULT_CHANNEL_RULES",
    "SOURCE_LISTS",
    "ChannelRules",
    "arrival",
    "channel",
    "load_channel_rules",
    "touchpoint",
]

#: Ad click ids in a landing URL, and the (source, medium) they stand for.
CLICK_IDS: dict[str, tuple[str, str]] = {
    "gclid": ("google", "cpc"),
    "gbraid": ("google", "cpc"),
    "wbraid": ("google", "cpc"),
    "msclkid": ("bing", "cpc"),
    "fbclid": ("facebook", "paid_social"),
    "ttclid": ("tiktok", "paid_social"),
}

#: The sites GA4's rules name by category (its lists are longer; these are the ones
#: that matter for most sites, and a site may pass its own).
SOURCE_LISTS: dict[str, tuple[str, ...]] = {
    "search": (
        "google",
        "bing",
        "yahoo",
        "duckduckgo",
        "baidu",
        "yandex",
        "ecosia",
        "naver",
        "seznam",
        "qwant",
        "startpage",
        "brave",
        "search.brave",
        "so.com",
        "sogou",
        "aol",
        "ask",
        "msn",
        "perplexity",
        "kagi",
    ),
    "social": (
        "facebook",
        "fb",
        "m.facebook",
        "l.facebook",
        "lm.facebook",
        "instagram",
        "l.instagram",
        "linkedin",
        "lnkd.in",
        "twitter",
        "t.co",
        "x",
        "pinterest",
        "reddit",
        "tiktok",
        "snapchat",
        "youtube",
        "threads",
        "bsky",
        "mastodon",
        "tumblr",
        "quora",
        "vk",
        "weibo",
        "whatsapp",
        "telegram",
        "discord",
    ),
    "video": ("youtube", "vimeo", "twitch", "dailymotion", "wistia", "tiktok"),
    "shopping": (
        "amazon",
        "ebay",
        "etsy",
        "shopping.google",
        "shopify",
        "walmart",
        "aliexpress",
        "idealo",
        "shopzilla",
        "pricegrabber",
    ),
}

_PAID = r"(.*cp.*|ppc|retargeting|paid.*)$"

#: GA4's default channel group rules, in order (the first that matches wins).
DEFAULT_CHANNEL_RULES: tuple[Mapping[str, Any], ...] = (
    {"channel": "Direct", "source_in": ["(direct)"], "medium_in": ["(none)", "(not set)"]},
    {"channel": "Cross-network", "campaign_matches": r".*cross-network.*"},
    {"channel": "Paid Shopping", "source_in": "shopping", "medium_matches": _PAID},
    {
        "channel": "Paid Shopping",
        "campaign_matches": r"^(.*(([^a-df-z]|^)shop|shopping).*)$",
        "medium_matches": _PAID,
    },
    {"channel": "Paid Search", "source_in": "search", "medium_matches": _PAID},
    {"channel": "Paid Social", "source_in": "social", "medium_matches": _PAID},
    {"channel": "Paid Video", "source_in": "video", "medium_matches": _PAID},
    {
        "channel": "Display",
        "medium_in": ["display", "banner", "expandable", "interstitial", "cpm"],
    },
    {"channel": "Paid Other", "medium_matches": _PAID},
    {"channel": "Organic Shopping", "source_in": "shopping"},
    {"channel": "Organic Shopping", "campaign_matches": r"^(.*(([^a-df-z]|^)shop|shopping).*)$"},
    {"channel": "Organic Social", "source_in": "social"},
    {
        "channel": "Organic Social",
        "medium_in": [
            "social",
            "social-network",
            "social-media",
            "sm",
            "social network",
            "social media",
        ],
    },
    {"channel": "Organic Video", "source_in": "video"},
    {"channel": "Organic Video", "medium_matches": r".*video.*"},
    {"channel": "Organic Search", "source_in": "search"},
    {"channel": "Organic Search", "medium_in": ["organic"]},
    {"channel": "Referral", "medium_in": ["referral", "app", "link"]},
    {"channel": "Email", "source_in": ["email", "e-mail", "e_mail", "e mail"]},
    {"channel": "Email", "medium_in": ["email", "e-mail", "e_mail", "e mail"]},
    {"channel": "Affiliates", "medium_in": ["affiliate"]},
    {"channel": "Audio", "medium_in": ["audio"]},
    {"channel": "SMS", "source_in": ["sms"]},
    {"channel": "SMS", "medium_in": ["sms"]},
    {
        "channel": "Mobile Push Notifications",
        "medium_matches": r"(.*push$|.*mobile.*|.*notification.*)",
    },
    {"channel": "Mobile Push Notifications", "source_in": ["firebase"]},
)

#: Channel rules: each a mapping with ``channel`` and its conditions.
ChannelRules = Sequence[Mapping[str, Any]]

_CONDITIONS = frozenset(
    f"{field}_{kind}" for field in ("source", "medium", "campaign") for kind in ("in", "matches")
)


def load_channel_rules(path: str | os.PathLike[str]) -> ChannelRules:
    """A site's own rules from a TOML or JSON file (``[[channel]]`` tables, or a JSON
    list), tried before the defaults::

        [[channel]]
        channel = "Partners"
        source_in = ["acme", "globex"]

    Raises :class:`~convsdk.ConfigError` naming a bad rule or condition.
    """
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
        data = json.loads(text) if source.endswith(".json") else tomllib.loads(text)
    except OSError as exc:
        message = f"cannot read: {exc.strerror or exc}"
        raise ConfigError(message, field="channels", source=source) from exc
    except ValueError as exc:
        raise ConfigError(f"not a rules file: {exc}", field="channels", source=source) from exc
    rules = data.get("channel") if isinstance(data, dict) else data
    if not isinstance(rules, list) or not rules:
        raise ConfigError("no [[channel]] rules", field="channels", source=source)
    for n, rule in enumerate(rules, 1):
        if not isinstance(rule, dict) or not isinstance(rule.get("channel"), str):
            raise ConfigError(f"rule {n} has no channel name", field="channels", source=source)
        for key, test in rule.items():
            if key != "channel" and key not in _CONDITIONS:
                raise ConfigError(
                    f"rule {n}: unknown condition {key!r}" + did_you_mean(key, _CONDITIONS),
                    field="channels",
                    source=source,
                )
            if key.endswith("_matches"):
                try:
                    re.compile(test)
                except (re.error, TypeError) as exc:
                    raise ConfigError(
                        f"rule {n}: {key} is not a regular expression: {exc}",
                        field="channels",
                        source=source,
                    ) from exc
    return (*rules, *DEFAULT_CHANNEL_RULES)


#: The channel of a visit no rule matches.
UNASSIGNED = "Unassigned"


def arrival(utm: object, referrer: object, url: object) -> UTM:
    """``(source, medium, campaign)`` of a visit from its first event's UTM parameters,
    landing URL and referrer (see the module's docstring for the order)."""
    if isinstance(utm, Mapping) and utm.get("source"):
        medium = utm.get("medium") or "(not set)"
        campaign = utm.get("campaign") or None
        return str(utm["source"]).lower(), str(medium).lower(), campaign and str(campaign)
    clicked = _click(url)
    if clicked is not None:
        return clicked[0], clicked[1], None
    host = host_of(referrer)
    if host is None or host == host_of(url):
        return "(direct)", "(none)", None
    name = _site_name(host)
    if name in SOURCE_LISTS["search"] or host in SOURCE_LISTS["search"]:
        return name, "organic", None
    if name in SOURCE_LISTS["social"]:
        return name, "referral", None
    return host, "referral", None


def touchpoint(utm: object, referrer: object, url: object) -> UTM | None:
    """The arrival an event marks, if it marks one: UTM parameters, an ad click id, or a
    referrer from another site. ``None`` for a move within the site or an event without
    any of them (a direct return is not a touch: as GA4's last non-direct click)."""
    has_utm = isinstance(utm, Mapping) and bool(utm.get("source"))
    if not has_utm and _click(url) is None:
        host = host_of(referrer)
        if host is None or host == host_of(url):
            return None
    return arrival(utm, referrer, url)


def channel(
    source: str | None,
    medium: str | None,
    campaign: str | None,
    rules: Sequence[Mapping[str, Any]] = DEFAULT_CHANNEL_RULES,
) -> str:
    """The channel group of a visit: the first of ``rules`` that matches, else
    ``"Unassigned"``."""
    if rules is DEFAULT_CHANNEL_RULES:  # a report asks for few distinct visits, often
        return _default_channel(source, medium, campaign)
    return _classify(source, medium, campaign, rules)


@lru_cache(maxsize=65_536)
def _default_channel(source: str | None, medium: str | None, campaign: str | None) -> str:
    return _classify(source, medium, campaign, DEFAULT_CHANNEL_RULES)


def _classify(
    source: str | None,
    medium: str | None,
    campaign: str | None,
    rules: Sequence[Mapping[str, Any]],
) -> str:
    values = {
        "source": (source or "").lower(),
        "medium": (medium or "").lower(),
        "campaign": (campaign or "").lower(),
    }
    for rule in rules:
        if all(_holds(key, test, values) for key, test in rule.items() if key != "channel"):
            return str(rule["channel"])
    return UNASSIGNED


def _holds(key: str, test: Any, values: Mapping[str, str]) -> bool:
    field, _, kind = key.partition("_")
    value = values[field]
    if kind == "in":
        listed = SOURCE_LISTS.get(test, ()) if isinstance(test, str) else tuple(test)
        return value in listed or _site_name(value) in listed
    if kind == "matches":
        return _pattern(test).match(value) is not None
    raise ValueError(f"unknown channel rule condition {key!r}")


@lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text, re.IGNORECASE)


def _click(url: object) -> tuple[str, str] | None:
    if not isinstance(url, str) or "=" not in url:
        return None
    return _click_in(url)


@lru_cache(maxsize=65_536)  # the same landing URLs, visitor after visitor
def _click_in(url: str) -> tuple[str, str] | None:
    try:
        query = urlsplit(url).query
    except ValueError:
        return None
    for name, value in parse_qsl(query):
        found = CLICK_IDS.get(name.lower())
        if found is not None and value:
            return found
    return None


def _site_name(host: str) -> str:
    """``google`` for ``google.co.uk``, ``m.facebook`` for ``m.facebook.com``: the host
    without its public suffix (approximately: the last label, and a two-letter one
    before a country code)."""
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and len(labels[-2]) <= 3:
        labels = labels[:-2]
    elif len(labels) >= 2:
        labels = labels[:-1]
    return ".".join(labels)
