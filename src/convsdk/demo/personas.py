"""What the simulated visitors do: a person's journey through the shop, a crawler's sweep.

The planted effects live here: journal readers are the likeliest buyers, newsletter
subscribers next, and the pricing page's variant B persuades better than A. Every
random draw is made in the same order for a given seed, so a run repeats.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from types import ModuleType

from .browser import Browser
from .traffic import NEWSLETTER_QUERY, Channel

__all__ = ["Catalog", "crawler", "person"]


@dataclass(frozen=True, slots=True)
class Catalog:
    """What the visitors can find in the shop."""

    posts: list[str]
    gear: list[str]
    plans: list[str]
    prices: dict[str, float]
    variant_cookie: str

    @classmethod
    def of(cls, shop: ModuleType) -> Catalog:
        """The catalog of the shop module ``shop`` (:mod:`convsdk.demo.shop`)."""
        products = shop.PRODUCTS.values()
        return cls(
            posts=sorted(shop.POSTS),
            gear=sorted(p.sku for p in products if not p.plan),
            plans=sorted(p.sku for p in products if p.plan),
            prices={p.sku: p.price for p in products},
            variant_cookie=shop.VARIANT_COOKIE,
        )


@dataclass(slots=True)
class _Visit:
    """What one person has done so far."""

    landing: str
    read_blog: bool
    newsletter: bool = False
    viewed: str | None = None  # the product looked at last
    saw_pricing: bool = False
    variant: str | None = None


def person(browser: Browser, channel: Channel, shop: Catalog, rng: random.Random) -> str:
    """One human visitor's journey; returns how it ended."""
    visit = _arrive(browser, channel, shop, rng)
    _sign_up_maybe(browser, visit, rng)
    _look_around(browser, visit, shop, rng)
    if visit.saw_pricing and rng.random() < 0.012:
        form = {
            "company": f"Studio {rng.randrange(1000)}",
            "team_size": str(rng.randint(5, 80)),
            "email": f"office{rng.randrange(10**6)}@example.com",
        }
        browser.submit("/demo-request", form, rng)
        return "demo_booked"
    # The planted effects: journal readers are the likeliest buyers, newsletter
    # subscribers next, and pricing variant B persuades better than A.
    intent = channel.intent
    intent *= 3.0 if visit.read_blog else 1.0
    intent *= 1.5 if visit.newsletter else 1.0
    intent *= 2.0 if visit.saw_pricing and visit.variant == "B" else 1.0
    if rng.random() >= min(0.85, 0.07 * intent):
        return "browsed"
    return _buy(browser, visit, shop, intent, rng)


def _arrive(browser: Browser, channel: Channel, shop: Catalog, rng: random.Random) -> _Visit:
    """Land from the channel; perhaps read the journal, one article or two."""
    landing = _landing_path(channel, rng, shop.posts)
    browser.land(landing, channel.query, channel.referrer)
    visit = _Visit(landing, read_blog=landing.startswith("/blog/"))
    if not visit.read_blog and rng.random() < channel.blog_rate:
        browser.click(f"/blog/{rng.choice(shop.posts)}", rng)
        visit.read_blog = True
    if visit.read_blog and rng.random() < 0.35:
        browser.click(f"/blog/{rng.choice(shop.posts)}", rng)
    return visit


def _sign_up_maybe(browser: Browser, visit: _Visit, rng: random.Random) -> None:
    """Perhaps sign up for the newsletter; perhaps leave and come back later."""
    visit.newsletter = rng.random() < (0.12 if visit.read_blog else 0.06)
    if visit.newsletter:
        email = f"reader{rng.randrange(10**6)}@example.com"
        browser.submit("/newsletter", {"email": email, "next": "/"}, rng)
    if rng.random() < 0.3:
        # Subscribers come back through the weekly email, everyone else directly: the
        # reason first- and last-touch channels differ in the report.
        browser.leave_and_return(rng)
        browser.land("/", NEWSLETTER_QUERY if visit.newsletter else {}, None)


def _look_around(browser: Browser, visit: _Visit, shop: Catalog, rng: random.Random) -> None:
    """Perhaps look at a product, perhaps at the pricing page (and its variant)."""
    landing = visit.landing
    visit.viewed = landing.removeprefix("/product/") if landing.startswith("/product/") else None
    if rng.random() < 0.5:
        visit.viewed = rng.choice(shop.gear)
        browser.click(f"/product/{visit.viewed}", rng)
    visit.saw_pricing = landing == "/pricing"
    if not visit.saw_pricing and rng.random() < 0.6:
        browser.click("/pricing", rng)
        visit.saw_pricing = True
    visit.variant = browser.cookie(shop.variant_cookie)


def _buy(browser: Browser, visit: _Visit, shop: Catalog, intent: float, rng: random.Random) -> str:
    """Fill the cart, then check out or not; returns how it ended."""
    if visit.saw_pricing and (visit.viewed is None or rng.random() < 0.6):
        sku = rng.choice(shop.plans)
    else:
        sku = visit.viewed or rng.choice(shop.gear)
    qty = rng.choice((1, 1, 1, 2))
    browser.submit("/cart", {"sku": sku, "qty": str(qty)}, rng)
    if rng.random() < 0.25:
        browser.leave_and_return(rng)
        browser.land("/cart", {}, None)
    if rng.random() >= 0.7:
        return "cart_abandoned"

    browser.click("/checkout", rng)
    if rng.random() >= min(0.85, 0.42 * math.sqrt(intent)):
        return "checkout_abandoned"
    total = f"{shop.prices[sku] * qty:.2f}"
    if rng.random() < 0.1:
        browser.submit("/checkout", _checkout_form(total, rng, typo=True), rng)
    response = browser.submit("/checkout", _checkout_form(total, rng), rng)
    if response.request.path != "/thanks":
        return "checkout_failed"
    browser.stats.revenue += float(total)
    return "purchased"


def _landing_path(channel: Channel, rng: random.Random, posts: list[str]) -> str:
    path = rng.choice(channel.landings)
    return f"/blog/{rng.choice(posts)}" if path == "/blog/*" else path


def _checkout_form(total: str, rng: random.Random, *, typo: bool = False) -> dict[str, str]:
    card = "4242 4242 4242 4242" if not typo else "4242 4242 42"
    return {
        "total": total,
        "email": f"coffee.lover{rng.randrange(10**6)}@example.com",
        "card_number": card,
        "expiry": "12/29",
        "cvc": f"{rng.randrange(1000):03d}",
    }


def crawler(browser: Browser, shop: Catalog, rng: random.Random) -> str:
    """A crawler: many pages, quickly, no forms."""
    pages = [
        "/",
        "/pricing",
        *(f"/blog/{slug}" for slug in shop.posts),
        *(f"/product/{sku}" for sku in shop.prices),
    ]
    browser.land("/", {}, None)
    for path in rng.sample(pages, k=rng.randint(3, len(pages))):
        browser.fetch(path, rng.uniform(0.5, 3))
    return "crawled"
