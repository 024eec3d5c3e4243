"""Playing the visitors: each arrives at a random moment of the last :data:`DAYS` days,
as a crawler or a person from one of the channels, some of them sending DNT or GPC."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from .browser import Browser, Clock, NotYet, Stats
from .personas import Catalog, crawler, person
from .traffic import (
    BOT_RATE,
    BOTS,
    BROWSERS,
    CHANNELS,
    DAYS,
    PRIVATE_BROWSERS,
    PRIVATE_RATE,
)

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["simulate"]


def simulate(
    app: Flask,
    shop: Catalog,
    visitors: int,
    rng: random.Random,
    clock: Clock,
    progress: Callable[[int], None] | None,
) -> Stats:
    """Play ``visitors`` journeys, one after the other, each from its arrival time."""
    stats = Stats()
    end = clock.now
    start = end - timedelta(days=DAYS)
    weights = [c.weight for c in CHANNELS]
    for _ in range(visitors):
        arrives = start + timedelta(seconds=rng.uniform(0, DAYS * 86400))
        browser = partial(Browser, app, clock, stats, arrives=arrives, ends=end)
        try:
            outcome = _visit(browser, shop, weights, rng, stats)
        except NotYet:
            outcome = "not_back_yet"
        stats.outcomes[outcome] += 1
        if progress is not None:
            progress(1)
    clock.now = end
    return stats


def _visit(
    browser: Callable[..., Browser],
    shop: Catalog,
    weights: list[float],
    rng: random.Random,
    stats: Stats,
) -> str:
    """One visitor, crawler or person, in a ``browser`` of their own; how it ended."""
    if rng.random() < BOT_RATE:
        stats.bots += 1
        return crawler(browser(user_agent=rng.choice(BOTS)), shop, rng)
    stats.people += 1
    channel = rng.choices(CHANNELS, weights)[0]
    if rng.random() < PRIVATE_RATE:
        stats.private += 1
        signal = rng.choice((("DNT", "1"), ("Sec-GPC", "1")))
        own = browser(user_agent=rng.choice(PRIVATE_BROWSERS), headers=dict([signal]))
    else:
        own = browser(user_agent=rng.choice(BROWSERS))
    return person(own, channel, shop, rng)
