"""``convsdk demo``: two weeks of a coffee shop's traffic, simulated end to end.

:func:`run_demo` builds a tracker on a fresh SQLite file, drives simulated visitors
through the demo shop (``convsdk._demo_shop``, a Flask app) in-process with Flask's test
client, one cookie jar per visitor, then prints the report and writes it as HTML.

The traffic has effects planted in it, which the report should find:

- five channels (Google Ads, organic search, Facebook ads, the email newsletter,
  direct), each with its own landing pages, curiosity and intent;
- reading the journal raises a visitor's odds of buying the most; signing up for the
  newsletter raises them too, less;
- the pricing page's variant B converts better than variant A;
- carts and checkouts are abandoned, and some card numbers are mistyped (a 422);
- crawlers visit too: the tracker filters them, they are never counted;
- privacy-minded visitors send Do-Not-Track or Global Privacy Control: they are
  counted anonymously, without visitor or session ids.

Time is simulated: each visitor arrives at a random moment of the last
:data:`DAYS` days, and may leave and come back hours or days later (a new session).
The tracker stamps every event with the simulated time as it is emitted, so funnels,
windows and time to convert read like real traffic. A visitor whose next step would
fall after "now" has simply not come back yet.
"""

from __future__ import annotations

import math
import os
import random
import secrets
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import ConvSDKError
from .event import Event
from .tracker import Tracker, set_default

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

__all__ = ["BOTS", "DAYS", "PRIVATE_BROWSERS", "run_demo"]

#: How many days of traffic the demo simulates.
DAYS = 14


@dataclass(frozen=True, slots=True)
class _Channel:
    name: str
    weight: float
    landings: tuple[str, ...]  # "/blog/*" lands on a random journal article
    query: Mapping[str, str]
    referrer: str | None
    blog_rate: float  # chance of reading the journal when not landing on it
    intent: float  # how ready to buy visitors from here are


_CHANNELS = (
    _Channel(
        "google_ads",
        0.25,
        ("/product/grinder-c2", "/pricing", "/product/kettle-g1"),
        {
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_campaign": "brand_coffee",
            "utm_term": "burr grinder",
        },
        None,
        0.15,
        1.1,
    ),
    _Channel(
        "organic_search",
        0.25,
        ("/blog/*", "/blog/*", "/"),
        {},
        "https://www.google.com/",
        0.2,
        0.8,
    ),
    _Channel(
        "facebook_ads",
        0.20,
        ("/", "/pricing"),
        {
            "utm_source": "facebook",
            "utm_medium": "paid_social",
            "utm_campaign": "club_launch",
            "utm_content": "latte_art_video",
        },
        "https://l.facebook.com/",
        0.1,
        0.6,
    ),
    _Channel(
        "newsletter",
        0.10,
        ("/blog/*", "/pricing"),
        {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "weekly_notes"},
        None,
        0.5,
        1.4,
    ),
    _Channel("direct", 0.20, ("/",), {}, None, 0.2, 1.0),
)
_NEWSLETTER_QUERY = next(c.query for c in _CHANNELS if c.name == "newsletter")

_BROWSERS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
)

# Visitors who opt out of tracking use Firefox here (the browser most often set to send
# DNT or GPC), so the demo's data shows at a glance which events are anonymous.
PRIVATE_BROWSERS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
)

BOTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
)

_BOT_RATE = 0.06
_PRIVATE_RATE = 0.08


@dataclass(slots=True)
class _Stats:
    """What the simulated visitors did: the truth the report is an estimate of."""

    people: int = 0
    bots: int = 0
    private: int = 0  # people who sent DNT or GPC
    requests: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    revenue: float = 0.0


@dataclass(frozen=True, slots=True)
class _Catalog:
    """What the visitors can find in the shop."""

    posts: list[str]
    gear: list[str]
    plans: list[str]
    prices: dict[str, float]
    variant_cookie: str

    @classmethod
    def of(cls, shop: ModuleType) -> _Catalog:
        products = shop.PRODUCTS.values()
        return cls(
            posts=sorted(shop.POSTS),
            gear=sorted(p.sku for p in products if not p.plan),
            plans=sorted(p.sku for p in products if p.plan),
            prices={p.sku: p.price for p in products},
            variant_cookie=shop.VARIANT_COOKIE,
        )


class _Clock:
    """The simulated time; the tracker stamps events with it."""

    __slots__ = ("now",)

    def __init__(self, now: datetime) -> None:
        self.now = now

    def tick(self) -> datetime:
        # A millisecond per event keeps the events of one request in order.
        self.now += timedelta(milliseconds=1)
        return self.now


class _SimulatedTimeTracker(Tracker):
    """A tracker whose events happen at the simulated time, not the wall clock."""

    def __init__(self, clock: _Clock, **options: Any) -> None:
        super().__init__(**options)
        self._clock = clock

    def emit(self, event: Event) -> bool:
        event.timestamp = self._clock.tick()
        return super().emit(event)


class _NotYet(Exception):
    """The visitor's next step falls after the end of the simulation."""


class _Browser:
    """One visitor's browser: a cookie jar, headers, and the visitor's own clock."""

    def __init__(
        self,
        app: Flask,
        clock: _Clock,
        stats: _Stats,
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
            raise _NotYet
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


def _landing_path(channel: _Channel, rng: random.Random, posts: list[str]) -> str:
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


def _person(browser: _Browser, channel: _Channel, shop: _Catalog, rng: random.Random) -> str:
    """One human visitor's journey; returns how it ended."""
    landing = _landing_path(channel, rng, shop.posts)
    browser.land(landing, channel.query, channel.referrer)
    read_blog = landing.startswith("/blog/")
    if not read_blog and rng.random() < channel.blog_rate:
        browser.click(f"/blog/{rng.choice(shop.posts)}", rng)
        read_blog = True
    if read_blog and rng.random() < 0.35:
        browser.click(f"/blog/{rng.choice(shop.posts)}", rng)

    newsletter = rng.random() < (0.12 if read_blog else 0.06)
    if newsletter:
        email = f"reader{rng.randrange(10**6)}@example.com"
        browser.submit("/newsletter", {"email": email, "next": "/"}, rng)

    if rng.random() < 0.3:
        # Subscribers come back through the weekly email, everyone else directly: the
        # reason first- and last-touch channels differ in the report.
        browser.leave_and_return(rng)
        browser.land("/", _NEWSLETTER_QUERY if newsletter else {}, None)

    viewed = landing.removeprefix("/product/") if landing.startswith("/product/") else None
    if rng.random() < 0.5:
        viewed = rng.choice(shop.gear)
        browser.click(f"/product/{viewed}", rng)
    saw_pricing = landing == "/pricing"
    if not saw_pricing and rng.random() < 0.6:
        browser.click("/pricing", rng)
        saw_pricing = True
    variant = browser.cookie(shop.variant_cookie)

    if saw_pricing and rng.random() < 0.012:
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
    intent *= 3.0 if read_blog else 1.0
    intent *= 1.5 if newsletter else 1.0
    intent *= 2.0 if saw_pricing and variant == "B" else 1.0
    if rng.random() >= min(0.85, 0.07 * intent):
        return "browsed"

    if saw_pricing and (viewed is None or rng.random() < 0.6):
        sku = rng.choice(shop.plans)
    else:
        sku = viewed or rng.choice(shop.gear)
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


def _crawler(browser: _Browser, shop: _Catalog, rng: random.Random) -> str:
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


def _simulate(
    app: Flask,
    shop: _Catalog,
    visitors: int,
    rng: random.Random,
    clock: _Clock,
    progress: Callable[[int], None] | None,
) -> _Stats:
    """Play ``visitors`` journeys, one after the other, each from its arrival time."""
    stats = _Stats()
    end = clock.now
    start = end - timedelta(days=DAYS)
    weights = [c.weight for c in _CHANNELS]
    for _ in range(visitors):
        arrives = start + timedelta(seconds=rng.uniform(0, DAYS * 86400))
        try:
            if rng.random() < _BOT_RATE:
                stats.bots += 1
                bot = _Browser(
                    app, clock, stats, arrives=arrives, ends=end, user_agent=rng.choice(BOTS)
                )
                outcome = _crawler(bot, shop, rng)
            else:
                stats.people += 1
                channel = rng.choices(_CHANNELS, weights)[0]
                if rng.random() < _PRIVATE_RATE:
                    stats.private += 1
                    signal = rng.choice((("DNT", "1"), ("Sec-GPC", "1")))
                    person = _Browser(
                        app,
                        clock,
                        stats,
                        arrives=arrives,
                        ends=end,
                        user_agent=rng.choice(PRIVATE_BROWSERS),
                        headers=dict([signal]),
                    )
                else:
                    person = _Browser(
                        app,
                        clock,
                        stats,
                        arrives=arrives,
                        ends=end,
                        user_agent=rng.choice(_BROWSERS),
                    )
                outcome = _person(person, channel, shop, rng)
        except _NotYet:
            outcome = "not_back_yet"
        stats.outcomes[outcome] += 1
        if progress is not None:
            progress(1)
    clock.now = end
    return stats


# -- the demo ------------------------------------------------------------------------

_SQLITE_MAGIC = b"SQLite format 3\x00"


class _DemoError(Exception):
    """A problem the demo reports in one line and exits with status 2."""


def _fresh_database(path: Path) -> None:
    """Delete the previous demo database at ``path``; refuse to touch any other file."""
    if path.is_dir():
        raise _DemoError(f"{path} is a directory, not a database file")
    if path.exists():
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
        if head and head != _SQLITE_MAGIC:
            raise _DemoError(f"{path} exists and is not a SQLite database: not replacing it")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if not path.parent.is_dir():
        raise _DemoError(f"the folder {path.parent} does not exist")


@contextmanager
def _progress_bar(total: int) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on a terminal; nothing when output goes to a file or a pipe."""
    if not sys.stdout.isatty():
        yield None
        return
    try:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    except ImportError:
        yield None
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task("Simulating visitors", total=total)
        yield lambda n: progress.advance(task, n)


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _fail(message: str) -> int:
    sys.stderr.write(f"convsdk demo: {message}\n")
    return 2


def run_demo(
    visitors: int = 2000,
    db_path: str | os.PathLike[str] = "convsdk-demo.db",
    html_path: str | os.PathLike[str] = "convsdk-report.html",
    seed: int | None = None,
) -> int:
    """Simulate ``visitors`` visitors to the demo shop, store their events, report on them.

    The events go to a fresh SQLite database at ``db_path`` (a previous SQLite file
    there is replaced; any other file is left alone and the demo stops). The report is
    printed to standard output and written as HTML to ``html_path``. ``seed`` makes a
    run repeatable; without one a random seed is picked and shown.

    Returns the exit status: 0 when done, 1 when some events could not be stored or
    the report could not be made, 2 for a bad argument or a missing dependency (the
    demo shop needs Flask).

    ::

        status = run_demo(visitors=500, db_path="demo.db", html_path="demo.html", seed=7)
    """
    if isinstance(visitors, bool) or not isinstance(visitors, int) or visitors < 1:
        return _fail(f"the number of visitors must be a whole number >= 1, got {visitors!r}")
    try:
        from . import _demo_shop
    except ImportError as exc:
        return _fail(f"the demo shop needs Flask: pip install 'convsdk[flask]' ({exc})")
    from .report import load_report, print_report, render_html

    db = Path(db_path)
    html = Path(html_path)
    try:
        _fresh_database(db)
        if html.is_dir():
            raise _DemoError(f"{html} is a directory, not a file for the HTML report")
        if not html.parent.is_dir():
            raise _DemoError(f"the folder {html.parent} does not exist")
    except (OSError, _DemoError) as exc:
        return _fail(str(exc))
    if seed is None:
        seed = secrets.randbelow(1_000_000)
    rng = random.Random(seed)
    clock = _Clock(datetime.now(UTC))
    try:
        tracker = _SimulatedTimeTracker(
            clock,
            backend=f"sqlite:///{quote(os.fspath(db))}",
            goals=_demo_shop.GOALS,
            secret_key=secrets.token_hex(32),
            filter_bots=True,
            spool_dir=None,
            batch_size=500,
            flush_interval=0.2,
            # The simulation outruns any real site: hold every event rather than drop.
            max_queue_size=1_000_000,
            shutdown_timeout=60.0,
        )
    except Exception as exc:
        return _fail(f"cannot open {db}: {exc}")

    _say(f"Simulating {visitors:,} visitors to Bean & Burr over {DAYS} days (seed {seed})...")
    # The decorators record through the default tracker.
    previous = set_default(tracker)
    started = time.perf_counter()
    try:
        app = _demo_shop.create_app(
            tracker,
            rng=random.Random(rng.getrandbits(64)),
            clock=lambda: clock.now.timestamp(),
        )
        with _progress_bar(visitors) as advance:
            stats = _simulate(app, _Catalog.of(_demo_shop), visitors, rng, clock, advance)
    finally:
        set_default(previous)
        delivered = tracker.close()
    elapsed = time.perf_counter() - started
    counts = tracker.stats()
    outcomes = stats.outcomes
    _say(
        f"{stats.requests:,} requests in {elapsed:.1f} s "
        f"({stats.requests / max(elapsed, 1e-9):,.0f} a second): {stats.people:,} people "
        f"({stats.private:,} with Do-Not-Track or GPC) and {stats.bots:,} crawlers; "
        f"{counts.get('delivered', 0):,} events stored."
    )
    _say(
        f"What they did: {outcomes['purchased']:,} bought (USD {stats.revenue:,.2f}), "
        f"{outcomes['demo_booked']:,} booked an office tasting, "
        f"{outcomes['cart_abandoned']:,} left a cart, "
        f"{outcomes['checkout_abandoned']:,} left the checkout, "
        f"{outcomes['not_back_yet']:,} have not come back yet."
    )
    if not delivered or counts.get("dropped", 0):
        sys.stderr.write(
            f"convsdk demo: not every event was stored ({counts}); the report is partial\n"
        )

    try:
        report = load_report(db, goals=tracker.goals)
        _say()
        print_report(report, sys.stdout)
        title = "Bean & Burr (simulated): conversion report"
        html.write_text(render_html(report, title=title), encoding="utf-8")
    except (OSError, ConvSDKError) as exc:
        sys.stderr.write(f"convsdk demo: cannot report on {db}: {exc}\n")
        return 1
    _say()
    _say("What the simulation planted, for you to find above:")
    _say("  - journal readers (read_blog) are the likeliest buyers: the top lift on purchase;")
    _say("  - newsletter signups raise the odds too, less;")
    _say("  - pricing variant B converts better than A;")
    _say("  - crawlers are not counted; DNT/GPC visitors are counted anonymously.")
    _say()
    _say(f"Events:      {db}  (report on them again: convsdk report {shlex.quote(str(db))})")
    _say(f"HTML report: {html}")
    return 0 if delivered and not counts.get("dropped", 0) else 1
