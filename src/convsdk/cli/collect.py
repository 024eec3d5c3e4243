"""``convsdk collect``: its options, where its token comes from, and its bounds."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..errors import ConfigError
from .base import load, store_url, warning

__all__ = ["COLLECT_TOKEN_ENV", "add_collect", "run_collect"]

#: Where ``convsdk collect`` reads its token when ``--token-file`` is not given.
COLLECT_TOKEN_ENV = "CONVSDK_COLLECT_TOKEN"


def add_collect(commands: Any) -> None:
    """Add the ``collect`` command to ``commands`` (argparse subparsers)."""
    collect = commands.add_parser(
        "collect",
        help="run an HTTP collector that stores the batches it receives",
        description="Serve POST /ingest, where sites with an http:// backend send their "
        "batches, and store them in BACKEND; GET /health answers when it is up. It runs "
        "until interrupted.",
    )
    collect.add_argument(
        "backend", type=store_url, metavar="BACKEND", help="backend URL or path to store into"
    )
    collect.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    collect.add_argument(
        "--port", type=port_number, default=8000, help="port to listen on (%(default)s)"
    )
    collect.add_argument(
        "--token-file",
        metavar="PATH",
        help="file holding the bearer token senders must present "
        f"(default: env {COLLECT_TOKEN_ENV})",
    )
    collect.add_argument(
        "--insecure",
        action="store_true",
        help="run without a token: anyone who reaches the collector can store events",
    )
    # Refused with a pointer to the safe ways: a token on the command line is in `ps`.
    collect.add_argument("--token", help=argparse.SUPPRESS)
    collect.add_argument(
        "--max-value", type=float, metavar="N", help="largest event value accepted (1e9)"
    )
    collect.add_argument(
        "--max-future-days",
        type=float,
        metavar="N",
        help="how far ahead of this clock a timestamp may be, in days (7)",
    )
    collect.add_argument(
        "--earliest", metavar="DATE", help="earliest timestamp accepted (2000-01-01)"
    )
    collect.set_defaults(handler=run_collect)


def run_collect(args: argparse.Namespace) -> int:
    """Serve the collector until interrupted."""
    token = collect_token(args)
    serve = load(".collector", "serve", "collect")
    options: dict[str, Any] = {"host": args.host, "port": args.port, "token": token}
    bounds = collect_bounds(args)
    if bounds:
        options["bounds"] = load(".collector", "Bounds", "collect")(**bounds)
    serve(args.backend, **options)
    return 0


def port_number(text: str) -> int:
    """An argparse ``type``: a TCP port, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, got {value}")
    return value


def collect_token(args: argparse.Namespace) -> str | None:
    """The collector's token: from ``--token-file`` or the environment, never argv."""
    if args.token is not None:
        raise ConfigError(
            "a token on the command line is visible to every user of this machine (ps, "
            f"shell history): put it in a file for --token-file, or in {COLLECT_TOKEN_ENV}",
            field="token",
        )
    if args.token_file is not None:
        return _token_from_file(args.token_file)
    token = os.environ.get(COLLECT_TOKEN_ENV, "").strip()
    if token:
        return token
    if not args.insecure:
        raise ConfigError(
            "the collector needs a token: --token-file PATH or "
            f"{COLLECT_TOKEN_ENV}; --insecure runs without one (anyone who can reach it "
            "can store events)",
            field="token",
        )
    warning(
        f"running without a token: anyone who can reach {args.host}:{args.port} can store events"
    )
    return None


def _token_from_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            token = fh.read().strip()
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ConfigError(
            f"cannot read: {exc.strerror or exc}", field="token_file", source=path
        ) from exc
    if not token:
        raise ConfigError("the file is empty", field="token_file", source=path)
    if mode & 0o077:
        warning(f"{path} is readable by other users: chmod 600 it")
    return token


def collect_bounds(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`~convsdk.collector.Bounds` arguments the options give (checked)."""
    from datetime import UTC, datetime, timedelta

    bounds: dict[str, Any] = {}
    if args.max_value is not None:
        bounds["max_value"] = args.max_value
    if args.max_future_days is not None:
        if not 0 <= args.max_future_days <= 36_500:
            raise ConfigError("must be 0 to 36500 days", field="max_future_days")
        bounds["max_future"] = timedelta(days=args.max_future_days)
    if args.earliest is not None:
        try:
            earliest = datetime.fromisoformat(args.earliest)
        except ValueError:
            raise ConfigError(
                f"must be a date like 2020-01-01, got {args.earliest!r}", field="earliest"
            ) from None
        bounds["earliest"] = earliest if earliest.tzinfo else earliest.replace(tzinfo=UTC)
    return bounds
