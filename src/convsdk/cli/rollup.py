"""``convsdk rollup``: keep a SQLite or PostgreSQL store's per-day summaries up to date,
for reports."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .base import store_url

__all__ = ["add_rollup", "run_rollup"]


def add_rollup(commands: Any) -> None:
    """Add the ``rollup`` command to ``commands`` (argparse subparsers)."""
    rollup = commands.add_parser(
        "rollup",
        help="sum up a SQLite or PostgreSQL store's events per visitor and day, so reports "
        "read less",
        description="Fold the events stored since the last run into per-visitor and "
        "per-day summaries kept in the same database (late and replayed events too). "
        "Reports then read those and only the newer events: the same figures, faster. "
        "Run it from cron, as often as reports are wanted fast; after deleting events "
        "(an erasure request), run it with --rebuild.",
    )
    rollup.add_argument(
        "url",
        type=store_url,
        metavar="URL",
        help="sqlite:///path.db[?table=T], a .db path, or postgresql://...[?table=T]",
    )
    rollup.add_argument(
        "--rebuild", action="store_true", help="make the rollups again from the first event"
    )
    rollup.set_defaults(handler=run_rollup)


def run_rollup(args: argparse.Namespace) -> int:
    """Bring the rollups up to date and say what was done."""
    from ..report.rollup import roll_up

    done = roll_up(args.url, rebuild=args.rebuild)
    if done.rebuilt is not None and done.rebuilt != "asked":
        sys.stdout.write(f"rebuilt the rollups: {done.rebuilt}\n")
    sys.stdout.write(
        f"rolled up {done.events:,} events into {done.visitor_days:,} visitor-days over "
        f"{done.days:,} days in {done.seconds:.1f} s (up to {done.upto})\n"
    )
    return 0
