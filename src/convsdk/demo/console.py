"""What ``convsdk demo`` shows: the progress bar, what the visitors did, the report,
and what the simulation planted for the reader to find."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .browser import Stats

__all__ = ["fail", "progress_bar", "say", "tell_planted", "tell_what_happened", "warn"]


def say(text: str = "") -> None:
    """A line on standard output."""
    sys.stdout.write(text + "\n")


def fail(message: str, status: int = 2) -> int:
    """Tell why the demo cannot go on, in one line on standard error; return ``status``.

    2 (the default) for a bad argument or a missing dependency, 1 for a failure.
    """
    sys.stderr.write(f"convsdk: error: demo: {' '.join(message.split())}\n")
    return status


def warn(message: str) -> None:
    """Tell that something went half right, in one line on standard error."""
    sys.stderr.write(f"convsdk: warning: demo: {' '.join(message.split())}\n")


@contextmanager
def progress_bar(total: int) -> Iterator[Callable[[int], None] | None]:
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


def tell_what_happened(stats: Stats, counts: Mapping[str, Any], elapsed: float) -> None:
    """The traffic, the events stored, and what the visitors did: the report's truth."""
    outcomes = stats.outcomes
    say(
        f"{stats.requests:,} requests in {elapsed:.1f} s "
        f"({stats.requests / max(elapsed, 1e-9):,.0f} a second): {stats.people:,} people "
        f"({stats.private:,} with Do-Not-Track or GPC) and {stats.bots:,} crawlers; "
        f"{counts.get('delivered', 0):,} events stored."
    )
    say(
        f"What they did: {outcomes['purchased']:,} bought (USD {stats.revenue:,.2f}), "
        f"{outcomes['demo_booked']:,} booked an office tasting, "
        f"{outcomes['cart_abandoned']:,} left a cart, "
        f"{outcomes['checkout_abandoned']:,} left the checkout, "
        f"{outcomes['not_back_yet']:,} have not come back yet."
    )


def tell_planted(db: Path, html: Path) -> None:
    """What the report should find, and where the events and the HTML report are."""
    say()
    say("What the simulation planted, for you to find above:")
    say("  - journal readers (read_blog) are the likeliest buyers: the top lift on purchase;")
    say("  - newsletter signups raise the odds too, less;")
    say("  - pricing variant B converts better than A;")
    say("  - crawlers are not counted; DNT/GPC visitors are counted anonymously.")
    say()
    # A path the report recognises by its suffix, or else the store's URL.
    known = db.suffix.lower() in (".db", ".sqlite", ".sqlite3")
    source = str(db) if known else f"sqlite:///{db.absolute().as_posix()}"
    say(f"Events:      {db}  (report on them again: convsdk report {shlex.quote(source)})")
    say(f"HTML report: {html}")
