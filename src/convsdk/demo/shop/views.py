"""The shop's pages and forms, one function per view, and the cart they share.

The cart lives in the shop's own session cookie. The checkout posts an email address
and a card number: neither is ever stored, nor recorded (the middleware captures only
allowlisted form fields).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from ...decorators import annotate, track_macro
from .catalog import POSTS, PRODUCTS, Product

__all__ = [
    "add_to_cart",
    "blog",
    "cart",
    "cart_count",
    "checkout",
    "demo_request",
    "healthz",
    "home",
    "newsletter",
    "place_order",
    "pricing",
    "product",
    "thanks",
]


def _cart() -> dict[str, int]:
    cart = session.get("cart")
    return dict(cart) if isinstance(cart, dict) else {}


def _cart_lines(cart: Mapping[str, int]) -> list[tuple[Product, int]]:
    return [(PRODUCTS[sku], qty) for sku, qty in cart.items() if sku in PRODUCTS]


def _cart_total(cart: Mapping[str, int]) -> float:
    return round(sum(product.price * qty for product, qty in _cart_lines(cart)), 2)


def _local_path(target: str | None) -> str:
    # Only same-site paths: a "next" field must not turn the shop into an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def cart_count() -> int:
    """How many items the visitor's cart holds (the header's badge)."""
    return sum(_cart().values())


def home() -> str:
    """``GET /``: the products and the journal."""
    products = list(PRODUCTS.values())
    return render_template("home.html", products=products, posts=list(POSTS.values()))


def blog(slug: str) -> str:
    """``GET /blog/<slug>``: a journal article."""
    post = POSTS.get(slug) or abort(404)
    return render_template("post.html", post=post)


def pricing() -> str:
    """``GET /pricing``: the Brew Club plans, as the visitor's variant shows them."""
    plans = [p for p in PRODUCTS.values() if p.plan]
    return render_template("pricing.html", plans=plans, variant=g.variant)


def product(sku: str) -> str:
    """``GET /product/<sku>``: one product and its add-to-cart form."""
    item = PRODUCTS.get(sku) or abort(404)
    return render_template("product.html", product=item)


def cart() -> str:
    """``GET /cart``: what the cart holds."""
    current = _cart()
    return render_template("cart.html", lines=_cart_lines(current), total=_cart_total(current))


def add_to_cart() -> ResponseReturnValue:
    """``POST /cart``: add ``qty`` (1 to 9) of ``sku``."""
    sku = request.form.get("sku", "")
    if sku not in PRODUCTS:
        abort(400)
    try:
        qty = max(1, min(9, int(request.form.get("qty", "1"))))
    except ValueError:
        qty = 1
    current = _cart()
    current[sku] = min(9, current.get(sku, 0) + qty)
    session["cart"] = current
    return redirect(url_for("cart"), 303)


def newsletter() -> ResponseReturnValue:
    """``POST /newsletter``: sign up for the weekly notes, back to the page it came from."""
    if "@" not in request.form.get("email", ""):
        abort(400)
    # A real shop would hand the address to its mailing-list provider here.
    flash("Thanks! The first brew notes arrive on Friday.")
    return redirect(_local_path(request.form.get("next")), 303)


@track_macro("demo_booked")
def demo_request() -> ResponseReturnValue:
    """``POST /demo-request``: book an office tasting (a macro conversion)."""
    try:
        team_size = int(request.form.get("team_size", ""))
    except ValueError:
        return "Team size must be a number.", 400
    annotate(properties={"team_size": team_size})
    flash("We will be in touch to book your office tasting.")
    return redirect(url_for("thanks"), 303)


def checkout() -> ResponseReturnValue:
    """``GET /checkout``: the payment form (the cart when it is empty)."""
    current = _cart()
    if not current:
        return redirect(url_for("cart"))
    return render_template("checkout.html", total=_cart_total(current), error=None)


@track_macro("purchase", currency="USD")
def place_order() -> ResponseReturnValue:
    """``POST /checkout``: pay; the purchase is recorded with its value and order id."""
    current = _cart()
    if not current:
        # A second submit (or the back button) after the order: the empty cart with
        # a 409, so the decorator records no second, empty purchase.
        return render_template("cart.html", lines=[], total=0.0), 409
    total = _cart_total(current)
    card = "".join(ch for ch in request.form.get("card_number", "") if ch.isdigit())
    if "@" not in request.form.get("email", "") or not 12 <= len(card) <= 19:
        # A 4xx answer: the decorator records no purchase for this attempt.
        error = "Please check your email address and card number."
        return render_template("checkout.html", total=total, error=error), 422
    order_id = f"BB-{secrets.token_hex(5).upper()}"
    annotate(
        value=total,
        transaction_id=order_id,
        properties={"items": sum(current.values()), "skus": sorted(current)},
    )
    session.pop("cart", None)
    return redirect(url_for("thanks", order=order_id), 303)


def thanks() -> str:
    """``GET /thanks``: the order confirmation."""
    return render_template("thanks.html", order=request.args.get("order"))


def healthz() -> dict[str, str]:
    """``GET /healthz``: the shop is up."""
    return {"status": "ok"}
