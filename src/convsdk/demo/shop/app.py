"""Building the shop: the Flask app, its convsdk middleware, the pricing experiment's
hooks and the routes to :mod:`~convsdk.demo.shop.views`."""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from jinja2 import DictLoader
from werkzeug.wrappers import Response

from ...context import current as current_request
from ...integrations.flask import ConvSDK
from ...tracker import Tracker
from . import views
from .catalog import VARIANT_COOKIE, VARIANTS
from .templates import TEMPLATES

__all__ = ["ROUTES", "create_app"]

# The Flask name and root folder the shop has always had: its logger's name, and the
# package folder (whose static/ Flask serves at /static).
IMPORT_NAME = "convsdk._demo_shop"
ROOT = str(Path(os.path.abspath(__file__)).parents[2])

#: Every page and form: (rule, method, view); a view's name is its endpoint.
ROUTES: tuple[tuple[str, str, Callable[..., Any]], ...] = (
    ("/", "GET", views.home),
    ("/blog/<slug>", "GET", views.blog),
    ("/pricing", "GET", views.pricing),
    ("/product/<sku>", "GET", views.product),
    ("/cart", "GET", views.cart),
    ("/cart", "POST", views.add_to_cart),
    ("/newsletter", "POST", views.newsletter),
    ("/demo-request", "POST", views.demo_request),
    ("/checkout", "GET", views.checkout),
    ("/checkout", "POST", views.place_order),
    ("/thanks", "GET", views.thanks),
    ("/healthz", "GET", views.healthz),
)


def create_app(
    tracker: Tracker | None = None,
    *,
    rng: random.Random | None = None,
    secret_key: str | None = None,
    clock: Callable[[], float] | None = None,
) -> Flask:
    """Build the shop, tracked by ``tracker`` (the default tracker when ``None``).

    The decorators record through the default tracker, so pass the default one (the
    tracker ``convsdk.init`` returns) or make ``tracker`` the default yourself.
    ``rng`` picks the pricing variants (seed it for repeatable runs); ``secret_key``
    signs the shop's own session cookie (the cart), random when not given; ``clock``
    is the middleware's time source for sessions (the demo simulates time).
    """
    app = Flask(IMPORT_NAME, root_path=ROOT)
    app.config["SECRET_KEY"] = secret_key or secrets.token_hex(32)
    app.jinja_loader = DictLoader(TEMPLATES)
    pick = rng if rng is not None else random.Random()

    options: dict[str, Any] = {} if clock is None else {"clock": clock}
    # Only allowlisted form fields become event properties: never the email address
    # or the card number the checkout posts.
    ConvSDK(
        app,
        tracker=tracker,
        variant_cookie=VARIANT_COOKIE,
        capture_fields=("sku", "qty", "team_size"),
        **options,
    )
    app.before_request(partial(assign_variant, pick))
    app.after_request(remember_variant)
    app.context_processor(cart_badge)
    for rule, method, view in ROUTES:
        app.add_url_rule(rule, view_func=view, methods=[method])
    return app


def assign_variant(pick: random.Random) -> None:
    """Before a request: the visitor's pricing variant, picked on the first visit."""
    # The shop, not convsdk, runs the experiment: it picks a variant on the first
    # visit and keeps it in a cookie the middleware reads on every later request.
    variant = request.cookies.get(VARIANT_COOKIE)
    g.new_variant = variant not in VARIANTS
    g.variant = pick.choice(VARIANTS) if g.new_variant else variant
    tracked = current_request()
    if g.new_variant and tracked is not None:
        # The request that picks the variant has no cookie yet: tell convsdk, so
        # a visitor who leaves after one page still counts in their variant.
        tracked.variant = g.variant


def remember_variant(response: Response) -> Response:
    """After a request: the cookie keeping a newly picked variant."""
    if g.get("new_variant"):
        response.set_cookie(
            VARIANT_COOKIE, g.variant, max_age=90 * 86400, httponly=True, samesite="Lax"
        )
    return response


def cart_badge() -> dict[str, Any]:
    """Template context: the cart's item count for the header."""
    return {"cart_count": views.cart_count()}
