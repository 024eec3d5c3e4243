"""What Bean & Burr sells and publishes, and its pricing experiment's cookie."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["POSTS", "PRODUCTS", "VARIANTS", "VARIANT_COOKIE", "Post", "Product"]

#: The cookie holding the visitor's pricing-page variant ("A" or "B").
VARIANT_COOKIE = "ab_pricing"
VARIANTS = ("A", "B")


@dataclass(frozen=True, slots=True)
class Product:
    """Something the shop sells; Brew Club plans are sold from the pricing page."""

    sku: str
    name: str
    price: float
    blurb: str
    plan: bool = False


@dataclass(frozen=True, slots=True)
class Post:
    """A journal article."""

    slug: str
    title: str
    body: str


PRODUCTS: Mapping[str, Product] = {
    p.sku: p
    for p in (
        Product("club-monthly", "Brew Club Monthly", 24.0, "Two 250 g bags a month.", plan=True),
        Product("club-fortnightly", "Brew Club Fortnightly", 42.0, "Every two weeks.", plan=True),
        Product("grinder-c2", "C2 Burr Grinder", 149.0, "Conical steel burrs, 40 clicks."),
        Product("kettle-g1", "G1 Gooseneck Kettle", 69.0, "Holds 92 °C to the degree."),
        Product("dripper-v60", "Ceramic Dripper", 29.0, "The pour-over classic."),
    )
}

POSTS: Mapping[str, Post] = {
    p.slug: p
    for p in (
        Post(
            "pour-over-basics",
            "Pour-over basics: 15 g, 250 g, three minutes",
            "Rinse the filter, bloom for 40 seconds, pour in slow circles.",
        ),
        Post(
            "choosing-a-grinder",
            "Why the grinder matters more than the machine",
            "Even particles extract evenly. Blades chop; burrs grind.",
        ),
        Post(
            "dialing-in",
            "Dialing in a new bag in four cups",
            "Change one thing at a time: grind first, then ratio, then temperature.",
        ),
    )
}
