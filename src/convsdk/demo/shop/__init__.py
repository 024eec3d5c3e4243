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

Modules: :mod:`~convsdk.demo.shop.catalog` (products, articles, the experiment's
cookie), :mod:`~convsdk.demo.shop.goals`, :mod:`~convsdk.demo.shop.templates`,
:mod:`~convsdk.demo.shop.views` (one function per page or form) and
:mod:`~convsdk.demo.shop.app` (:func:`create_app`).
"""

from __future__ import annotations

from .app import create_app
from .catalog import POSTS, PRODUCTS, VARIANT_COOKIE, VARIANTS, Post, Product
from .goals import GOALS

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
