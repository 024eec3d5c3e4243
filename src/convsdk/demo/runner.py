"""``run_demo``: a fresh SQLite file, a tracker on simulated time, the shop driven by the
simulated visitors, then the report, printed and written as HTML."""

from __future__ import annotations

import os
import random
import secrets
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

from ..checks import is_int
from ..errors import ConvSDKError
from ..goals import Funnel, Goal
from ..tracker import set_default
from .browser import Clock, SimulatedTimeTracker, Stats
from .console import fail, progress_bar, say, tell_planted, tell_what_happened, warn
from .personas import Catalog
from .simulation import simulate
from .traffic import DAYS

__all__ = ["run_demo"]

_SQLITE_MAGIC = b"SQLite format 3\x00"


class _DemoError(Exception):
    """A problem the demo reports in one line and exits with status 2."""


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
    if not is_int(visitors) or visitors < 1:
        return fail(f"the number of visitors must be a whole number >= 1, got {visitors!r}")
    try:
        from . import shop
    except ImportError as exc:
        return fail(f"the demo shop needs Flask: pip install 'convsdk[flask]' ({exc})")
    db, html = Path(db_path), Path(html_path)
    try:
        _check_paths(db, html)
    except (OSError, _DemoError) as exc:
        return fail(str(exc))
    if seed is None:
        seed = secrets.randbelow(1_000_000)
    rng = random.Random(seed)
    clock = Clock(datetime.now(UTC))
    try:
        tracker = _open_tracker(clock, db, shop.GOALS)
    except Exception as exc:
        return fail(f"cannot open {db}: {exc}")

    say(f"Simulating {visitors:,} visitors to Bean & Burr over {DAYS} days (seed {seed})...")
    stats, delivered, elapsed = _drive(tracker, shop, visitors, rng, clock)
    counts = tracker.stats()
    tell_what_happened(stats, counts, elapsed)
    complete = delivered and not counts.get("dropped", 0)
    if not complete:
        warn(f"not every event was stored ({counts}); the report is partial")
    try:
        _report(db, html, tracker)
    except (OSError, ConvSDKError) as exc:
        return fail(f"cannot report on {db}: {exc}", status=1)
    tell_planted(db, html)
    return 0 if complete else 1


def _check_paths(db: Path, html: Path) -> None:
    """Make way for the database; check the HTML report can be written where asked."""
    _fresh_database(db)
    if html.is_dir():
        raise _DemoError(f"{html} is a directory, not a file for the HTML report")
    if not html.parent.is_dir():
        raise _DemoError(f"the folder {html.parent} does not exist")


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


def _open_tracker(clock: Clock, db: Path, goals: Sequence[Goal | Funnel]) -> SimulatedTimeTracker:
    """A tracker storing into SQLite at ``db``, its events stamped with ``clock``."""
    return SimulatedTimeTracker(
        clock,
        backend=f"sqlite:///{quote(os.fspath(db))}",
        goals=goals,
        secret_key=secrets.token_hex(32),
        filter_bots=True,
        spool_dir=None,
        batch_size=500,
        flush_interval=0.2,
        # The simulation outruns any real site: hold every event rather than drop.
        max_queue_size=1_000_000,
        shutdown_timeout=60.0,
    )


def _drive(
    tracker: SimulatedTimeTracker,
    shop: ModuleType,
    visitors: int,
    rng: random.Random,
    clock: Clock,
) -> tuple[Stats, bool, float]:
    """Run the simulation through the shop; what happened, whether every event was
    delivered (the tracker is closed), and how long it took."""
    # The decorators record through the default tracker.
    previous = set_default(tracker)
    started = time.perf_counter()
    try:
        app = shop.create_app(
            tracker,
            rng=random.Random(rng.getrandbits(64)),
            clock=lambda: clock.now.timestamp(),
        )
        with progress_bar(visitors) as advance:
            stats = simulate(app, Catalog.of(shop), visitors, rng, clock, advance)
    finally:
        set_default(previous)
        delivered = tracker.close()
    return stats, delivered, time.perf_counter() - started


def _report(db: Path, html: Path, tracker: SimulatedTimeTracker) -> None:
    """Print the report on ``db`` and write it as HTML to ``html``."""
    from ..report import load_report, print_report, render_html

    # A URL, not the path: the demo's file may have any name (events.data). Two weeks
    # of traffic: a daily trend.
    source = f"sqlite:///{db.absolute().as_posix()}"
    report = load_report(source, goals=tracker.goals, interval="day")
    say()
    print_report(report, sys.stdout)
    title = "Bean & Burr (simulated): conversion report"
    html.write_text(render_html(report, title=title), encoding="utf-8")
