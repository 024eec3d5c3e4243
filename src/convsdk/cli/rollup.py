"""``convsdk rollup``: keep a SQLite or PostgreSQL store's per-day summaries up to date,
for reports."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import ConfigError
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
        "(an erasure request), run it with --rebuild. With --goals, it also counts the "
        "report of those goals (and of the options given, as convsdk report takes them) "
        "and keeps its counts: that report then recounts only the people changed since.",
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
    kept = rollup.add_argument_group(
        "a report kept counted (the whole store, as convsdk report reads it with the same "
        "goals and options)"
    )
    kept.add_argument("--goals", metavar="FILE", help="goal file (.toml or .json)")
    kept.add_argument("--interval", choices=("day", "week", "month"), help="with its trend")
    kept.add_argument(
        "--tz", dest="timezone", metavar="ZONE", help="the trend's days in this time zone"
    )
    kept.add_argument(
        "--by",
        choices=("channel", "source", "campaign", "variant", "landing_page", "device"),
        help="with goals and funnels broken down by this",
    )
    kept.add_argument("--experiment-goal", metavar="GOAL", help="variants compared on this goal")
    kept.add_argument("--include-bots", action="store_true", help="known bots counted")
    rollup.set_defaults(handler=run_rollup)


def run_rollup(args: argparse.Namespace) -> int:
    """Bring the rollups up to date and say what was done."""
    from ..report.rollup import KeptReport, roll_up

    keep = None
    if args.goals is not None:
        from ..goals import load_goals

        goals = load_goals(args.goals)
        keep = KeptReport(
            goals, args.experiment_goal, args.interval, args.by, args.include_bots, args.timezone
        )
    elif args.interval or args.by or args.experiment_goal or args.include_bots or args.timezone:
        raise ConfigError(
            "--interval, --tz, --by, --experiment-goal and --include-bots say which report to "
            "keep counted: give its --goals too",
            field="goals",
        )
    done = roll_up(args.url, rebuild=args.rebuild, keep=keep)
    if done.rebuilt is not None and done.rebuilt != "asked":
        sys.stdout.write(f"rebuilt the rollups: {done.rebuilt}\n")
    sys.stdout.write(
        f"rolled up {done.events:,} events into {done.visitor_days:,} visitor-days over "
        f"{done.days:,} days in {done.seconds:.1f} s (up to {done.upto})\n"
    )
    if keep is not None:
        sys.stdout.write(f"kept the counts of the report of {args.goals}\n")
    return 0
