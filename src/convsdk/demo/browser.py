"""A simulated visitor's browser, on a simulated clock the tracker stamps events with.

A :class:`Browser` is one cookie jar and its headers driving the shop through Flask's
test client; each step moves the visitor's own clock, and one that would fall after the
end of the simulation raises :class:`NotYet`.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..event import Event
from ..tracker import Tracker

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

__all__ = ["Browser", "Clock", "NotYet", "SimulatedTimeTracker", "Stats"]


@dataclass(slots=True)
class Stats:
    """What the simulated visitors did: the truth the report is an estimate of."""

    people: int = 0
    bots: int = 0
    private: int = 0  # people who sent DNT or GPC
    requests: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    revenue: float = 0.0


class Clock:
    """The simulated time; the tracker stamps events with it."""

    __slots__ = ("now",)

    def __init__(self, now: datetime) -> None:
        self.now = now

    def tick(self) -> datetime:
        # A millisecond per event keeps the events of one request in order.
        self.now += timedelta(milliseconds=1)
        return self.now


class SimulatedTimeTracker(Tracker):
    """A tracker whose events happen at the simulated time, not the wall clock."""

    def __init__(self, clock: Clock, **options: Any) -> None:
        super().__init__(**options)
        self._clock = clock

    def emit(self, event: Event) -> bool:
        event.timestamp = self._clock.tick()
        return super().emit(event)


class NotYet(Exception):
    """The visitor's next step falls after the end of the simulation."""


class Browser:
    """One visitor's browser: a cookie jar, headers, and the visitor's own clock."""

    def __init__(
        self,
        app: Flask,
        clock: Clock,
        stats: Stats,
        *,
        arrives: datetime,
        ends: datetime,
        user_agent: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.client: FlaskClient = app.test_client()
        self.clock = clock
        self.stats = stats
        self.time = arrives
        self.ends = ends
        self.headers = {
            "User-Agent": user_agent,
            "Accept": "text/html,application/xhtml+xml",
            "Accept-Language": "en-US,en;q=0.8",
            **(headers or {}),
        }
        self.page: str | None = None  # the page on screen, the referrer of the next request

    def _at(self, seconds: float) -> None:
        self.time += timedelta(seconds=seconds)
        if self.time > self.ends:
            raise NotYet
        self.clock.now = self.time

    def _request(self, method: str, path: str, referrer: str | None, **kwargs: Any) -> TestResponse:
        headers = dict(self.headers)
        if referrer:
            headers["Referer"] = referrer
        self.stats.requests += 1
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        # Redirects the browser followed count as requests too.
        self.stats.requests += len(response.history)
        self.page = f"http://localhost{response.request.path}"
        return response

    def land(self, path: str, query: Mapping[str, str], referrer: str | None) -> TestResponse:
        """Arrive from outside the site (an ad, a search result, an email)."""
        self._at(0)
        return self._request("GET", path, referrer, query_string=dict(query))

    def click(self, path: str, rng: random.Random) -> TestResponse:
        """Follow a link after reading the current page for a while."""
        self._at(rng.uniform(8, 150))
        return self._request("GET", path, self.page)

    def submit(self, path: str, form: Mapping[str, str], rng: random.Random) -> TestResponse:
        """Fill in and post a form on the current page."""
        self._at(rng.uniform(10, 90))
        return self._request("POST", path, self.page, data=dict(form), follow_redirects=True)

    def leave_and_return(self, rng: random.Random) -> None:
        """Close the tab; come back hours or days later, which starts a new session."""
        self._at(rng.uniform(2, 72) * 3600)
        self.page = None

    def fetch(self, path: str, after: float) -> TestResponse:
        """Request ``path`` ``after`` seconds from now, without a referrer (a crawler)."""
        self._at(after)
        return self._request("GET", path, None)

    def cookie(self, name: str) -> str | None:
        """The value of a cookie the site set, if any."""
        cookie = self.client.get_cookie(name)
        return cookie.value if cookie is not None else None
