"""Who visits the demo shop: channels with their landing pages, curiosity and intent,
the browsers people use, the crawlers, and how often each comes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "BOTS",
    "BOT_RATE",
    "BROWSERS",
    "CHANNELS",
    "DAYS",
    "NEWSLETTER_QUERY",
    "PRIVATE_BROWSERS",
    "PRIVATE_RATE",
    "Channel",
]

#: How many days of traffic the demo simulates.
DAYS = 14


@dataclass(frozen=True, slots=True)
class Channel:
    """Where visitors come from, and how they behave once there."""

    name: str
    weight: float
    landings: tuple[str, ...]  # "/blog/*" lands on a random journal article
    query: Mapping[str, str]
    referrer: str | None
    blog_rate: float  # chance of reading the journal when not landing on it
    intent: float  # how ready to buy visitors from here are


#: The five channels; their weights are their shares of the people.
CHANNELS = (
    Channel(
        "google_ads",
        0.25,
        ("/product/grinder-c2", "/pricing", "/product/kettle-g1"),
        {
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_campaign": "brand_coffee",
            "utm_term": "burr grinder",
        },
        None,
        0.15,
        1.1,
    ),
    Channel(
        "organic_search",
        0.25,
        ("/blog/*", "/blog/*", "/"),
        {},
        "https://www.google.com/",
        0.2,
        0.8,
    ),
    Channel(
        "facebook_ads",
        0.20,
        ("/", "/pricing"),
        {
            "utm_source": "facebook",
            "utm_medium": "paid_social",
            "utm_campaign": "club_launch",
            "utm_content": "latte_art_video",
        },
        "https://l.facebook.com/",
        0.1,
        0.6,
    ),
    Channel(
        "newsletter",
        0.10,
        ("/blog/*", "/pricing"),
        {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "weekly_notes"},
        None,
        0.5,
        1.4,
    ),
    Channel("direct", 0.20, ("/",), {}, None, 0.2, 1.0),
)
NEWSLETTER_QUERY = next(c.query for c in CHANNELS if c.name == "newsletter")

#: What most people browse with.
BROWSERS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
)

# Visitors who opt out of tracking use Firefox here (the browser most often set to send
# DNT or GPC), so the demo's data shows at a glance which events are anonymous.
PRIVATE_BROWSERS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
)

#: The crawlers, which the tracker filters out.
BOTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
)

#: The share of visitors that are crawlers, and of people who send DNT or GPC.
BOT_RATE = 0.06
PRIVATE_RATE = 0.08
