"""Bean & Burr, a coffee shop, tracked with convsdk: run it as a Flask app.

    pip install 'convsdk[flask]'
    CONVSDK_SECRET_KEY=change-me flask --app app run

The shop itself (pages, the ``@track_macro("purchase")`` checkout, the pricing A/B
test) is ``convsdk._demo_shop``: it ships inside convsdk so ``convsdk demo`` works from
an installed wheel. This file is the part every site writes: build the tracker from a
goal file and hand it to the app.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

import convsdk
from convsdk._demo_shop import create_app as create_shop

GOALS_FILE = Path(__file__).with_name("goals.toml")


def create_app(tracker: convsdk.Tracker | None = None) -> Flask:
    """The shop, tracked by ``tracker`` or by a new default tracker built from the environment.

    ``CONVSDK_BACKEND`` picks where events go (``sqlite:///shop-events.db`` by default);
    ``CONVSDK_SECRET_KEY`` signs the visitor and session cookies.
    """
    if tracker is None:
        tracker = convsdk.init(
            backend=os.environ.get("CONVSDK_BACKEND", "sqlite:///shop-events.db"),
            goals=GOALS_FILE,
            secret_key=os.environ.get("CONVSDK_SECRET_KEY"),
        )
    return create_shop(tracker, secret_key=os.environ.get("SHOP_SECRET_KEY"))


if __name__ == "__main__":
    create_app().run(debug=True)
