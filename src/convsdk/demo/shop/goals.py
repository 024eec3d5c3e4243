"""The shop's goals: what the middleware classifies as micro and macro conversions."""

from __future__ import annotations

from ...goals import Funnel, Goal

__all__ = ["GOALS"]

#: Page views, forms and the checkout, as goals; the purchase funnel over them.
GOALS: list[Goal | Funnel] = [
    Goal.micro(
        "read_blog",
        event="page_view",
        path="/blog/*",
        stage="awareness",
        description="Read a journal article",
    ),
    Goal.micro(
        "viewed_pricing",
        event="page_view",
        path="/pricing",
        stage="consideration",
        description="Saw the Brew Club plans",
    ),
    Goal.micro(
        "viewed_product",
        event="page_view",
        path="/product/*",
        stage="consideration",
        description="Looked at a product",
    ),
    Goal.micro(
        "added_to_cart",
        event="form_submit",
        path="/cart",
        method="POST",
        stage="intent",
        description="Put something in the cart",
    ),
    Goal.micro(
        "started_checkout",
        event="page_view",
        path="/checkout",
        stage="intent",
        description="Opened the checkout form",
    ),
    Goal.micro(
        "newsletter",
        event="form_submit",
        path="/newsletter",
        method="POST",
        role="secondary",
        description="Signed up for the weekly brew notes",
    ),
    Goal.macro(
        "purchase",
        event="checkout",
        path="/checkout",
        method="POST",
        value_from="form:total",
        currency="USD",
        stage="decision",
        description="Paid for an order",
    ),
    Goal.macro(
        "demo_booked",
        event="form_submit",
        path="/demo-request",
        method="POST",
        value=250.0,
        currency="USD",
        stage="decision",
        description="Booked an office tasting",
    ),
    Funnel(
        "purchase_path",
        ["viewed_pricing", "added_to_cart", "started_checkout", "purchase"],
        window="7d",
    ),
]
