"""``convsdk demo``, ``consume`` and ``migrate``: the commands that fill or prepare a store."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import BackendError, ConfigError
from .base import load, positive_int, store_url

__all__ = ["add_consume", "add_demo", "add_migrate"]


def add_demo(commands: Any) -> None:
    """Add the ``demo`` command to ``commands`` (argparse subparsers)."""
    demo = commands.add_parser(
        "demo",
        help="simulate a shop's traffic into SQLite and report on it",
        description="Run the demo shop (a Flask app wrapped with convsdk), send simulated "
        "visitors through it, store their events in a new SQLite file, and print the "
        "report (also written as HTML).",
    )
    demo.add_argument(
        "--visitors", type=positive_int, metavar="N", help="visitors to simulate (2000)"
    )
    demo.add_argument(
        "--db", metavar="PATH", help="SQLite file to create, replacing a demo's (convsdk-demo.db)"
    )
    demo.add_argument(
        "--html", metavar="PATH", help="where to write the HTML report (convsdk-report.html)"
    )
    demo.add_argument(
        "--seed", type=int, metavar="N", help="repeat a run (default: a random seed, shown)"
    )
    demo.set_defaults(handler=run_demo)


def add_consume(commands: Any) -> None:
    """Add the ``consume`` command to ``commands`` (argparse subparsers)."""
    consume = commands.add_parser(
        "consume",
        help="move events from a Redis stream or NATS JetStream into a store",
        description="Read events from a Redis stream or a JetStream stream (the URL of the "
        "site's redis:// or nats:// backend) and store them in DEST; each is acknowledged "
        "once stored. It runs until interrupted, unless --idle-timeout or --max-events "
        "says when to stop.",
    )
    consume.add_argument(
        "source", metavar="SOURCE", help="redis://host:6379/0/stream or nats://host:4222/subject"
    )
    consume.add_argument(
        "--into",
        required=True,
        type=store_url,
        metavar="DEST",
        help="backend URL or path to store into",
    )
    consume.add_argument(
        "--group", metavar="G", help="consumer group (Redis) or durable (NATS) name (convsdk)"
    )
    consume.add_argument(
        "--idle-timeout",
        type=float,
        metavar="S",
        help="stop after S seconds without events (default: never)",
    )
    consume.add_argument(
        "--max-events", type=positive_int, metavar="N", help="stop after N (default: no limit)"
    )
    consume.add_argument(
        "--claim-idle",
        type=float,
        metavar="S",
        help="Redis: claim entries other consumers left unacknowledged for S seconds (300)",
    )
    consume.add_argument(
        "--create-stream",
        action="store_true",
        help="create the stream if it does not exist yet, and wait for events "
        "(without it, a missing stream is an error: the name may be misspelt)",
    )
    consume.set_defaults(handler=run_consume)


def add_migrate(commands: Any) -> None:
    """Add the ``migrate`` command to ``commands`` (argparse subparsers)."""
    migrate = commands.add_parser(
        "migrate",
        help="create the events table of a SQL store",
        description="Create the events table (and its indexes) of a PostgreSQL or SQLite "
        "store, as the backend does on first use: run it once where the app's database "
        "user may not create tables.",
    )
    migrate.add_argument(
        "url",
        type=store_url,
        metavar="URL",
        help="postgresql://user@host/db[?table=T] or sqlite:///path.db",
    )
    migrate.set_defaults(handler=run_migrate)


def run_demo(args: argparse.Namespace) -> int:
    """Run :func:`convsdk.demo.run_demo` with the options given (its defaults otherwise)."""
    demo = load(".demo", "run_demo", "demo")
    options = {
        "visitors": args.visitors,
        "db_path": args.db,
        "html_path": args.html,
        "seed": args.seed,
    }
    return int(demo(**{k: v for k, v in options.items() if v is not None}))


def run_consume(args: argparse.Namespace) -> int:
    """Run :func:`convsdk.consume.consume` and say how many events it moved."""
    consume = load(".consume", "consume", "consume")
    options: dict[str, Any] = {
        "group": args.group,
        "idle_timeout": args.idle_timeout,
        "max_events": args.max_events,
        "claim_idle": args.claim_idle,
        "create_stream": args.create_stream or None,
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
        load(".backends.postgres", "migrate", "migrate")(url)
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
