"""Events the backend contract writes: every field and shape (:func:`round_trip_events`),
many small ones (:func:`numbered_events`), awkward text (:func:`unicode_events`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ..event import Event, make_event

__all__ = [
    "T0",
    "awkward_events",
    "numbered_events",
    "offset_events",
    "round_trip_events",
    "unicode_events",
]

#: When the contract's events happen. Microseconds on purpose: a store that keeps
#: milliseconds (or none) fails the round trip.
T0 = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)

_CONTEXT: dict[str, Any] = {
    "method": "POST",
    "path": "/checkout",
    "url": "https://shop.example/checkout?utm_source=newsletter",
    "referrer": "https://shop.example/cart",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "ip": "203.0.113.0",
    "status": 303,
    "utm": {
        "source": "newsletter",
        "medium": "email",
        "campaign": "spring_sale",
        "term": "running shoes",
        "content": "hero_button",
    },
    "variant": "checkout_b",
    "source": "middleware",
}


# Every JSON shape: null, booleans, a float, the largest exact integer, empty
# containers, lists of dicts, nested dicts (make_event copies it for each event).
_PURCHASE_PROPERTIES: dict[str, Any] = {
    "items": 3,
    "coupon": None,
    "gift": False,
    "first_order": True,
    "ratio": 0.125,
    "big": 2**53 - 1,
    "negative": -7,
    "empty_text": "",
    "empty_list": [],
    "empty_dict": {},
    "cart": [
        {"sku": "SHOE-1", "qty": 1, "price": 39.9},
        {"sku": "SOCK-2", "qty": 2, "price": 5.0, "tags": ["sale", "cotton"]},
    ],
    "address": {"country": "DE", "geo": {"lat": 52.52, "lon": 13.405}},
}


def round_trip_events() -> list[Event]:
    """Events that between them use every field and the shapes each field can take."""
    return [
        make_event(
            "purchase",
            kind="macro",
            goal="purchase",
            value=49.9,
            currency="EUR",
            transaction_id="order-1001",
            visitor_id="0f8e6c2a9b7d4e1f8a3c5b6d7e8f9a0b",
            session_id="5d1c9e7b3a2f4d6e",
            user_id="user-42",
            properties=_PURCHASE_PROPERTIES,
            context=_CONTEXT,
            timestamp=T0,
        ),
        make_event(
            "newsletter",
            kind="micro",
            goal="newsletter",
            visitor_id="0f8e6c2a9b7d4e1f8a3c5b6d7e8f9a0b",
            session_id="5d1c9e7b3a2f4d6e",
            properties={"list": "weekly"},
            context={"method": "POST", "path": "/newsletter", "status": 200, "utm": {}},
            timestamp=T0 + timedelta(microseconds=1),
        ),
        # A value of zero is still a value; a store mapping falsy values to NULL loses it.
        make_event(
            "trial_started",
            kind="micro",
            goal="trial",
            value=0.0,
            currency="USD",
            timestamp=datetime(2025, 1, 1, tzinfo=UTC),
        ),
        make_event(
            "refund",
            kind="macro",
            goal="refund",
            value=-1234567.89,
            currency="JPY",
            transaction_id="r-1",
            timestamp=datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ),
        # A plain interaction: no kind, goal, value, ids, properties nor context.
        make_event("page_view", timestamp=T0 - timedelta(seconds=1)),
    ]


def numbered_events(count: int, *, tag: str = "batch") -> list[Event]:
    """``count`` small events whose timestamps are shuffled, so that a store sorting by
    time (rather than keeping write order) is told apart."""
    kinds: tuple[str | None, ...] = (None, "micro", "macro")
    events = []
    for i in range(count):
        kind = kinds[i % 3]
        events.append(
            make_event(
                "page_view" if kind is None else f"step_{i % 5}",
                kind=kind,
                goal=None if kind is None else f"step_{i % 5}",
                value=float(i) + 0.5 if kind == "macro" else None,
                properties={"i": i, "tag": tag},
                # 7919 is prime, so i * 7919 mod count visits every slot once, out of order.
                timestamp=T0 + timedelta(microseconds=(i * 7919) % max(count, 1) * 1000 + 1),
            )
        )
    return events


def unicode_events() -> list[Event]:
    """Events whose free text is emoji, right-to-left scripts, combining marks and
    characters that need escaping in CSV, JSON or SQL (never NUL)."""
    text = {
        "emoji": "🛒💳 👩\u200d👩\u200d👧\u200d👦 🇫🇷 🏳️\u200d🌈",
        "rtl": "مرحبا بالعالم — שלום עולם",
        # Decomposed on purpose: a store that normalises Unicode changes these.
        "combining": "e\u0301 n\u0303 a\u0308 \u0915\u094d\u0937",
        "cjk": "購入完了 결제 완료",
        "escapes": "quote \" apostrophe ' back\\slash, comma; tab\t cr\r lf\n crlf\r\n end",
        "ктоключ": "значение",
        "🔑": "emoji key",
    }
    return [
        make_event(
            "purchase",
            kind="macro",
            goal="purchase",
            value=19.99,
            currency="EUR",
            transaction_id="订单-42-🧾",
            user_id="usér-ßø-😀",
            properties=text,
            context={
                "method": "GET",
                "path": "/café/über/🛒",
                "url": "https://shop.example/café/über/🛒?q=☕",
                "referrer": "https://例え.jp/パス?q=検索",
                "user_agent": "Mozilla/5.0 (Linux; Android 14) 表示 ✓",
                "status": 200,
                "utm": {"source": "ñandú", "campaign": "été 🌞", "content": "عرض"},
                "variant": "B – ünïcödé",
            },
            timestamp=T0,
        ),
        make_event(
            "signup",
            kind="micro",
            properties={"nested": {"list": list(text.values())}},
            timestamp=T0 + timedelta(milliseconds=1),
        ),
    ]


def offset_events() -> list[Event]:
    """Events whose timestamps are in other time zones than UTC (India, California at
    midnight, Kiribati, Newfoundland): a store must keep their instant. One that writes
    the wall-clock time without its offset stores them hours off."""
    zones = [
        timezone(timedelta(hours=5, minutes=30)),
        timezone(timedelta(hours=-8)),
        timezone(timedelta(hours=14)),
        timezone(timedelta(hours=-3, minutes=-30)),
    ]
    moments = [T0.astimezone(zone) + timedelta(hours=n) for n, zone in enumerate(zones)]
    moments.append(datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=zones[1]))  # UTC's next morning
    return [
        make_event("page_view", properties={"zone": str(moment.tzinfo)}, timestamp=moment)
        for moment in moments
    ]


def awkward_events() -> list[Event]:
    """Events carrying what JSON or SQL stores trip on: NUL characters in text, ``NaN``
    and infinities in properties (JSON has no such numbers: a store keeps them as
    ``null``). (Events at the size limits are :func:`~convsdk.testing.large_events`.)

    What the contract accepts back: NUL kept or each replaced by U+FFFD (PostgreSQL
    cannot store it), non-finite numbers as ``None``. Never an error, never a lost event.
    """
    return [
        make_event(
            "form_submit",
            properties={"note": "before\x00after", "\x00key": "nul in a key"},
            context={"path": "/contact\x00", "user_agent": "bot\x00"},
            timestamp=T0,
        ),
        Event(
            "measured",
            properties={"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")},
            timestamp=T0 + timedelta(seconds=1),
        ),
    ]
