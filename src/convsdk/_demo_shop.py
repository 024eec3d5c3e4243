"""Bean & Burr: a small coffee shop site instrumented with convsdk.

It is the shop ``convsdk demo`` drives with simulated visitors, and the code behind
``examples/flask_shop`` (it ships inside the package so the demo works from a wheel).
It shows the three ways a site records conversions, working together:

- goals (:data:`GOALS`) classify what the middleware sees: page views of the journal,
  the pricing page and products; the add-to-cart and newsletter forms; the checkout;
- ``@track_macro("purchase")`` plus ``annotate(value=..., transaction_id=...)`` on the
  checkout view: the middleware's ``purchase`` goal and the decorator name the same
  goal, so they become one event carrying the decorator's details;
- an A/B test of the pricing page: the shop assigns each visitor a variant in the
  ``ab_pricing`` cookie, and the middleware stamps it on every event.

The checkout form posts an email address and a card number: neither is ever stored.

>>> app = create_app(tracker)             # tracker: a convsdk.Tracker, made the default
>>> app.run()
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import (
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from jinja2 import DictLoader
from werkzeug.wrappers import Response

from .context import current as current_request
from .decorators import annotate, track_macro
from .goals import Funnel, Goal
from .integrations.flask import ConvSDK
from .tracker import Tracker

__all__ = [
    "GOALS",
    "POSTS",
    "PRODUCTS",
    "VARIANTS",
    "VARIANT_COOKIE",
    "Post",
    "Product",
    "create_app",
]

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

_TEMPLATES = {
    "base.html": """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} · Bean &amp; Burr</title>
<style>
 body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto;
        padding: 0 1rem; color: #2b2118; }
 header, footer { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; }
 header a:first-child { font-weight: 700; margin-right: auto; }
 .plans { display: flex; gap: 1rem; } .plan { border: 1px solid #d8cfc4; padding: 1rem; }
 .popular { border: 2px solid #7a4a21; } .badge { color: #7a4a21; font-weight: 700; }
 .flash { background: #f3ece3; padding: .5rem 1rem; } .error { color: #a11; }
</style>
</head>
<body>
<header>
 <a href="{{ url_for('home') }}">Bean &amp; Burr</a>
 <a href="{{ url_for('pricing') }}">Brew Club</a>
 <a href="{{ url_for('product', sku='grinder-c2') }}">Grinders</a>
 <a href="{{ url_for('blog', slug='pour-over-basics') }}">Journal</a>
 <a href="{{ url_for('cart') }}">Cart ({{ cart_count }})</a>
</header>
{% for message in get_flashed_messages() %}<p class="flash">{{ message }}</p>{% endfor %}
<main>{% block main %}{% endblock %}</main>
<footer>
 <form method="post" action="{{ url_for('newsletter') }}">
  <input type="hidden" name="next" value="{{ request.path }}">
  <label>Weekly brew notes <input type="email" name="email" required></label>
  <button>Subscribe</button>
 </form>
</footer>
</body>
</html>""",
    "home.html": """{% extends "base.html" %}{% block title %}Fresh coffee{% endblock %}
{% block main %}
<h1>Roasted on Monday, in your cup by Thursday</h1>
<p>Single-origin beans and the gear to brew them well.</p>
<p><a href="{{ url_for('pricing') }}">Join the Brew Club</a></p>
<ul>{% for p in products if not p.plan %}
 <li><a href="{{ url_for('product', sku=p.sku) }}">{{ p.name }}</a> ${{ '%.2f' % p.price }}</li>
{% endfor %}</ul>
<h2>From the journal</h2>
<ul>{% for post in posts %}
 <li><a href="{{ url_for('blog', slug=post.slug) }}">{{ post.title }}</a></li>
{% endfor %}</ul>
{% endblock %}""",
    "post.html": """{% extends "base.html" %}{% block title %}{{ post.title }}{% endblock %}
{% block main %}
<article><h1>{{ post.title }}</h1><p>{{ post.body }}</p></article>
<p>Brew it with <a href="{{ url_for('product', sku='grinder-c2') }}">the C2 grinder</a>.</p>
{% endblock %}""",
    "pricing.html": """{% extends "base.html" %}{% block title %}Brew Club{% endblock %}
{% block main %}
<h1>Brew Club</h1>
{% if variant == "B" %}
<p>Fresh beans on your schedule. Free shipping; skip or cancel any time.</p>
{% endif %}
<div class="plans">
{% for p in plans %}{% set popular = variant == "B" and p.sku == "club-fortnightly" %}
 <form class="plan{% if popular %} popular{% endif %}"
       method="post" action="{{ url_for('add_to_cart') }}">
  {% if popular %}<p class="badge">Most popular</p>{% endif %}
  <h2>{{ p.name }}</h2><p>{{ p.blurb }}</p>
  <p>${{ '%.2f' % p.price }} a month
  {% if variant == "B" %}(about ${{ '%.2f' % (p.price / (30 if p.sku == 'club-monthly' else 60)) }}
  a cup){% endif %}</p>
  <input type="hidden" name="sku" value="{{ p.sku }}">
  <button>{% if variant == "B" %}Start brewing{% else %}Subscribe{% endif %}</button>
 </form>
{% endfor %}
</div>
<h2>Coffee for your office?</h2>
<form method="post" action="{{ url_for('demo_request') }}">
 <label>Company <input name="company" required></label>
 <label>Team size <input name="team_size" type="number" min="1" required></label>
 <label>Email <input name="email" type="email" required></label>
 <button>Book a tasting</button>
</form>
{% endblock %}""",
    "product.html": """{% extends "base.html" %}{% block title %}{{ product.name }}{% endblock %}
{% block main %}
<h1>{{ product.name }}</h1><p>{{ product.blurb }}</p><p>${{ '%.2f' % product.price }}</p>
<form method="post" action="{{ url_for('add_to_cart') }}">
 <input type="hidden" name="sku" value="{{ product.sku }}">
 <label>Quantity <input type="number" name="qty" value="1" min="1" max="9"></label>
 <button>Add to cart</button>
</form>
{% endblock %}""",
    "cart.html": """{% extends "base.html" %}{% block title %}Your cart{% endblock %}
{% block main %}
<h1>Your cart</h1>
{% if lines %}
<ul>{% for product, qty in lines %}
 <li>{{ qty }} × {{ product.name }}: ${{ '%.2f' % (qty * product.price) }}</li>
{% endfor %}</ul>
<p>Total: ${{ '%.2f' % total }}</p>
<p><a href="{{ url_for('checkout') }}">Check out</a></p>
{% else %}<p>Nothing here yet. <a href="{{ url_for('home') }}">Browse the shop</a>.</p>{% endif %}
{% endblock %}""",
    "checkout.html": """{% extends "base.html" %}{% block title %}Checkout{% endblock %}
{% block main %}
<h1>Checkout</h1>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
<p>Total: ${{ '%.2f' % total }}</p>
<form method="post" action="{{ url_for('place_order') }}">
 <input type="hidden" name="total" value="{{ '%.2f' % total }}">
 <label>Email <input type="email" name="email" required></label>
 <label>Card number <input name="card_number" inputmode="numeric" autocomplete="cc-number"
   required></label>
 <label>Expiry <input name="expiry" placeholder="MM/YY" required></label>
 <label>CVC <input name="cvc" inputmode="numeric" required></label>
 <button>Pay ${{ '%.2f' % total }}</button>
</form>
{% endblock %}""",
    "thanks.html": """{% extends "base.html" %}{% block title %}Thank you{% endblock %}
{% block main %}
<h1>Thank you!</h1>
{% if order %}<p>Your order {{ order }} is on its way to the roaster.</p>{% endif %}
{% endblock %}""",
}


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
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret_key or secrets.token_hex(32)
    app.jinja_loader = DictLoader(_TEMPLATES)
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

    @app.before_request
    def assign_variant() -> None:
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

    @app.after_request
    def remember_variant(response: Response) -> Response:
        if g.get("new_variant"):
            response.set_cookie(
                VARIANT_COOKIE, g.variant, max_age=90 * 86400, httponly=True, samesite="Lax"
            )
        return response

    @app.context_processor
    def cart_badge() -> dict[str, Any]:
        return {"cart_count": sum(_cart().values())}

    @app.get("/")
    def home() -> str:
        products = list(PRODUCTS.values())
        return render_template("home.html", products=products, posts=list(POSTS.values()))

    @app.get("/blog/<slug>")
    def blog(slug: str) -> str:
        post = POSTS.get(slug) or abort(404)
        return render_template("post.html", post=post)

    @app.get("/pricing")
    def pricing() -> str:
        plans = [p for p in PRODUCTS.values() if p.plan]
        return render_template("pricing.html", plans=plans, variant=g.variant)

    @app.get("/product/<sku>")
    def product(sku: str) -> str:
        item = PRODUCTS.get(sku) or abort(404)
        return render_template("product.html", product=item)

    @app.get("/cart")
    def cart() -> str:
        current = _cart()
        return render_template("cart.html", lines=_cart_lines(current), total=_cart_total(current))

    @app.post("/cart")
    def add_to_cart() -> ResponseReturnValue:
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

    @app.post("/newsletter")
    def newsletter() -> ResponseReturnValue:
        if "@" not in request.form.get("email", ""):
            abort(400)
        # A real shop would hand the address to its mailing-list provider here.
        flash("Thanks! The first brew notes arrive on Friday.")
        return redirect(_local_path(request.form.get("next")), 303)

    @app.post("/demo-request")
    @track_macro("demo_booked")
    def demo_request() -> ResponseReturnValue:
        try:
            team_size = int(request.form.get("team_size", ""))
        except ValueError:
            return "Team size must be a number.", 400
        annotate(properties={"team_size": team_size})
        flash("We will be in touch to book your office tasting.")
        return redirect(url_for("thanks"), 303)

    @app.get("/checkout")
    def checkout() -> ResponseReturnValue:
        current = _cart()
        if not current:
            return redirect(url_for("cart"))
        return render_template("checkout.html", total=_cart_total(current), error=None)

    @app.post("/checkout")
    @track_macro("purchase", currency="USD")
    def place_order() -> ResponseReturnValue:
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

    @app.get("/thanks")
    def thanks() -> str:
        return render_template("thanks.html", order=request.args.get("order"))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
