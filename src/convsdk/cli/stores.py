"""``convsdk demo``, ``consume`` and ``migrate``: the commands that fill or prepare a store."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import BackendError, ConfigError
from .base import load, positive_int

__all__ = ["add_consume", "add_demo", "add_migrate"]


def add_demo(commands: Any) -> None:
    """Add the ``demo`` command to ``commands`` (argparse subparsers)."""
    demo = commands.add_parser(
        "demo", help="simulate a shop's traffic into SQLite and report on it"
    )
    demo.add_argument("--visitors", type=positive_int, metavar="N")
    demo.add_argument("--db", metavar="PATH", help="SQLite file to create")
    demo.add_argument("--html", metavar="PATH", help="where to write the HTML report")
    demo.add_argument("--seed", type=int, metavar="N", help="repeat a run")
    demo.set_defaults(handler=run_demo)


def add_consume(commands: Any) -> None:
    """Add the ``consume`` command to ``commands`` (argparse subparsers)."""
    consume = commands.add_parser(
        "consume", help="move events from a Redis stream or NATS JetStream into a store"
    )
    consume.add_argument("source", metavar="SOURCE", help="redis://... or nats://...")
    consume.add_argument("--into", required=True, metavar="DEST", help="backend URL")
    consume.add_argument("--group", metavar="G", help="consumer group (durable) name")
    consume.add_argument(
        "--idle-timeout", type=float, metavar="S", help="stop after S seconds without events"
    )
    consume.add_argument("--max-events", type=positive_int, metavar="N", help="stop after N")
    consume.add_argument(
        "--claim-idle",
        type=float,
        metavar="S",
        help="Redis: claim entries other consumers left unacknowledged for S seconds (300)",
    )
    consume.set_defaults(handler=run_consume)


def add_migrate(commands: Any) -> None:
    """Add the ``migrate`` command to ``commands`` (argparse subparsers)."""
    migrate = commands.add_parser("migrate", help="create the events table of a SQL store")
    migrate.add_argument("url", metavar="URL", help="postgresql://... or sqlite:///...")
    migrate.set_defaults(handler=run_migrate)


def run_demo(args: argparse.Namespace) -> int:
    """Run :func:`convsdk.demo.run_demo` with the options given (its defaults otherwise)."""
    demo = load(".demo", "run_demo")
    options = {
        "visitors": args.visitors,
        "db_path": args.db,
        "html_path": args.html,
        "seed": args.seed,
    }
    return int(demo(**{k: v for k, v in options.items() if v is not None}))


def run_consume(args: argparse.Namespace) -> int:
    """Run :func:`convsdk.consume.consume` and say how many events it moved."""
    consume = load(".consume", "consume")
    options: dict[str, Any] = {
        "group": args.group,
        "idle_timeout": args.idle_timeout,
        "max_events": args.max_events,
        "claim_idle": args.claim_idle,
    }
    moved = consume(args.source, args.into, **{k: v for k, v in options.items() if v is not None})
    sys.stdout.write(f"moved {moved:,} events\n")
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    """Create the events table of the PostgreSQL or SQLite store at ``args.url``."""
    from urllib.parse import urlsplit

    url: str = args.url
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme in ("postgresql", "postgres"):
        load(".backends.postgres", "migrate")(url)
    elif scheme == "sqlite":
        _create_sqlite(url)
    else:
        raise ConfigError(
            "migrate creates the events table of a SQL store: give a postgresql:// or "
            "sqlite:/// URL",
            field="url",
            source=url,
        )
    sys.stdout.write("the events table is ready\n")
    return 0


def _create_sqlite(url: str) -> None:
    import sqlite3

    from ..backends.sqlite import SQLiteBackend, connect

    path = SQLiteBackend.from_url(url).path
    try:
        connect(path).close()
    except (OSError, sqlite3.Error) as exc:
        raise BackendError(f"cannot create {path}: {exc}", backend="sqlite") from exc
