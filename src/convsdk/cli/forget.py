"""``convsdk forget``: erase people's events from a store (an erasure request)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .base import store_url

__all__ = ["add_forget", "add_forget_options", "run_forget"]


def add_forget(commands: Any) -> None:
    """Add the ``forget`` command to ``commands`` (argparse subparsers)."""
    forget = commands.add_parser(
        "forget",
        help="erase people's events from a store (an erasure request)",
        description="Delete every event of the people named: a user id with every visitor "
        "id linked to it, or a visitor id. A store with rollups gets them made again "
        "without them. --spool adds them to a tracker's spool's list of erased people: "
        "its trackers then deliver none of their events from before the erasure. Copies "
        "elsewhere (backups, the server's logs) are not touched.",
    )
    forget.add_argument(
        "url",
        type=store_url,
        metavar="URL",
        help="sqlite:///path.db[?table=T], a .db path, postgresql://...[?table=T], "
        "file:///path/events.jsonl or a .jsonl path",
    )
    add_forget_options(forget)
    forget.set_defaults(handler=run_forget)


def add_forget_options(forget: argparse.ArgumentParser) -> None:
    """The options of ``forget`` but URL (shared by ``manage.py convsdk_forget``)."""
    forget.add_argument(
        "--user", action="append", default=[], metavar="ID", help="a user id (repeatable)"
    )
    forget.add_argument(
        "--visitor", action="append", default=[], metavar="ID", help="a visitor id (repeatable)"
    )
    forget.add_argument(
        "--dry-run", action="store_true", help="count what would be erased, change nothing"
    )
    forget.add_argument(
        "--spool",
        action="append",
        default=[],
        metavar="DIR",
        help="a tracker's spool directory: their events waiting there are counted, and "
        "its trackers deliver none from before the erasure (repeatable)",
    )


def run_forget(args: argparse.Namespace) -> int:
    """Erase, and say what was erased."""
    from ..report.erasure import forget

    done = forget(
        args.url, users=args.user, visitors=args.visitor, dry_run=args.dry_run, spools=args.spool
    )
    ids = len(done.visitors)
    whose = f"{ids:,} visitor id{'s' if ids != 1 else ''}"
    if done.users:
        whose += f" (user{'s' if len(done.users) > 1 else ''} {', '.join(done.users)})"
    if done.dry_run:
        sys.stdout.write(f"would erase {done.events:,} events of {whose}; nothing changed\n")
    elif not done.events:
        sys.stdout.write(f"no events of {whose}: nothing erased\n")
    else:
        sys.stdout.write(f"erased {done.events:,} events of {whose}\n")
        if done.rollups is not None:
            sys.stdout.write(
                f"made the rollups again without them: {done.rollups.events:,} events in "
                f"{done.rollups.seconds:.1f} s\n"
            )
    if done.waiting:
        wait = (
            f"{done.waiting:,} event{'s' if done.waiting != 1 else ''} of theirs wait in the spool"
        )
        if done.dry_run:
            sys.stdout.write(f"{wait}: nothing changed there\n")
        else:
            sys.stdout.write(
                f"{wait}: its trackers leave them out when they replay it (a tracker of "
                "an earlier convsdk stores them: erase again once it has)\n"
            )
    return 0
