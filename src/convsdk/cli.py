"""The ``convsdk`` command.

::

    convsdk report SOURCE [--goals goals.toml] [--since 2026-11-01|7d] [--until ...]
                          [--format table|json|html] [-o FILE] [--top N]
    convsdk demo [--visitors N] [--db PATH] [--html PATH] [--seed N]
    convsdk consume SOURCE --into DEST [--group G] [--idle-timeout S] [--max-events N]
                   [--claim-idle S]
    convsdk migrate URL
    convsdk collect BACKEND [--host 127.0.0.1] [--port 8000]
                    (--token-file PATH | env CONVSDK_COLLECT_TOKEN | --insecure)
                    [--max-value N] [--max-future-days N] [--earliest DATE]
    convsdk --version

``SOURCE`` is a backend URL (``sqlite:///convsdk.db``, ``file:///var/log/events.jsonl``,
``postgresql://host/db?table=convsdk_events``) or a path (``.db`` → SQLite, ``.jsonl`` →
JSON Lines). ``collect`` needs the bearer token senders present, read from a file
(``--token-file``) or the environment (``CONVSDK_COLLECT_TOKEN``), never from the
command line, where ``ps`` shows it to every user; ``--insecure`` runs without one
(a local demo). ``report --format json`` prints the JSON document described in
:mod:`convsdk.report.metrics` (stable keys; ``version`` changes when one changes
meaning); ``--format html`` writes a self-contained page (``convsdk-report.html``
unless ``-o`` says otherwise).

Exit status: 0 done; 1 the work failed (a store or server could not be read or
written); 2 a usage or configuration error (a bad option, source or goal file), told
in one line on standard error; 130 interrupted.

Each command imports what it needs when it runs, so a missing optional dependency
only breaks the command that needs it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

from . import __version__
from .errors import BackendError, ConfigError

__all__ = ["main"]

#: Reading that takes longer than this shows a progress bar (on a terminal).
PROGRESS_DELAY = 2.0

_USAGE, _FAILED, _INTERRUPTED = 2, 1, 130

#: Where ``convsdk collect`` reads its token when ``--token-file`` is not given.
COLLECT_TOKEN_ENV = "CONVSDK_COLLECT_TOKEN"


class _UsageError(Exception):
    """argparse found a bad command line (it has printed the usage already)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Unavailable(Exception):
    """The module a command needs cannot be imported."""


# The extra that brings what a command's module imports.
_EXTRAS = {".demo": "flask", ".collector": "collector", ".backends.postgres": "postgres"}


def _load(module: str, name: str) -> Any:
    """``module.name``, imported now, so that only the command needing it can fail."""
    try:
        return getattr(importlib.import_module(module, __package__), name)
    except ImportError as exc:
        extra = _EXTRAS.get(module)
        hint = f"; run: pip install 'convsdk[{extra}]'" if extra else ""
        raise _Unavailable(f"{module.lstrip('.')} cannot be loaded: {exc}{hint}") from exc


class _Parser(argparse.ArgumentParser):
    def exit(self, status: int = 0, message: str | None = None) -> Any:  # type: ignore[override]
        # argparse exits the process; a caller of main() wants a status back instead.
        if message:
            self._print_message(message, sys.stderr)
        raise _UsageError(status)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="convsdk",
        description="Server-side micro and macro conversion tracking: reports and tools.",
    )
    parser.add_argument("--version", action="version", version=f"convsdk {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    report = commands.add_parser(
        "report",
        help="goals, funnels, micro → macro lift and channels from stored events",
        description="Read stored events and report on them.",
    )
    report.add_argument(
        "source",
        metavar="SOURCE",
        help="sqlite:///convsdk.db, file:///path/events.jsonl, postgresql://..., "
        "or a .db / .jsonl path",
    )
    report.add_argument("--goals", metavar="FILE", help="goal file (.toml or .json)")
    report.add_argument(
        "--since", metavar="WHEN", help="from this date or time (2026-11-01, or 7d ago)"
    )
    report.add_argument(
        "--until", metavar="WHEN", help="up to this date (included) or time (excluded)"
    )
    report.add_argument(
        "--format", choices=("table", "json", "html"), default="table", help="default: table"
    )
    report.add_argument(
        "-o", "--output", metavar="FILE", help="write here (html default: convsdk-report.html)"
    )
    report.add_argument(
        "--top", type=_positive_int, default=10, metavar="N", help="rows per table (default 10)"
    )
    report.set_defaults(handler=_report)

    demo = commands.add_parser(
        "demo", help="simulate a shop's traffic into SQLite and report on it"
    )
    demo.add_argument("--visitors", type=_positive_int, metavar="N")
    demo.add_argument("--db", metavar="PATH", help="SQLite file to create")
    demo.add_argument("--html", metavar="PATH", help="where to write the HTML report")
    demo.add_argument("--seed", type=int, metavar="N", help="repeat a run")
    demo.set_defaults(handler=_demo)

    consume = commands.add_parser(
        "consume", help="move events from a Redis stream or NATS JetStream into a store"
    )
    consume.add_argument("source", metavar="SOURCE", help="redis://... or nats://...")
    consume.add_argument("--into", required=True, metavar="DEST", help="backend URL")
    consume.add_argument("--group", metavar="G", help="consumer group (durable) name")
    consume.add_argument(
        "--idle-timeout", type=float, metavar="S", help="stop after S seconds without events"
    )
    consume.add_argument("--max-events", type=_positive_int, metavar="N", help="stop after N")
    consume.add_argument(
        "--claim-idle",
        type=float,
        metavar="S",
        help="Redis: claim entries other consumers left unacknowledged for S seconds (300)",
    )
    consume.set_defaults(handler=_consume)

    migrate = commands.add_parser("migrate", help="create the events table of a SQL store")
    migrate.add_argument("url", metavar="URL", help="postgresql://... or sqlite:///...")
    migrate.set_defaults(handler=_migrate)

    collect = commands.add_parser(
        "collect", help="run an HTTP collector that stores the batches it receives"
    )
    collect.add_argument("backend", metavar="BACKEND", help="backend URL to store into")
    collect.add_argument("--host", default="127.0.0.1")
    collect.add_argument("--port", type=int, default=8000)
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
    collect.set_defaults(handler=_collect)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``convsdk`` command with ``argv`` (default: the process's); return its status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        return exc.status
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return _USAGE
    try:
        return handler(args)
    except ConfigError as exc:
        _error(str(exc))
        return _USAGE
    except (BackendError, _Unavailable) as exc:
        _error(str(exc))
        return _FAILED
    except KeyboardInterrupt:
        _error("interrupted")
        return _INTERRUPTED


def _warning(message: str) -> None:
    sys.stderr.write(f"convsdk: warning: {' '.join(message.split())}\n")


def _error(message: str) -> None:
    # One line: the message is for a person at a terminal, not a traceback.
    text = " ".join(message.split())
    sys.stderr.write(f"convsdk: error: {text}\n")


# -- report ----------------------------------------------------------------------------


class _ProgressBar:
    """A progress callback that draws a rich bar once reading has lasted a while.

    Nothing is drawn for a quick read, nor when standard output is not a terminal
    (a pipe, a file, a test), nor without rich.
    """

    def __init__(self, stream: IO[str], delay: float = PROGRESS_DELAY) -> None:
        self.stream = stream
        self.delay = delay
        self.started = time.monotonic()
        self.enabled = _is_terminal(stream)
        self._progress: Any = None
        self._task: Any = None

    def __call__(self, phase: str, done: float, total: float) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            if time.monotonic() - self.started < self.delay:
                return
            if not self._start():
                return
        self._progress.update(
            self._task, description=phase.capitalize(), completed=done, total=total or None
        )

    def _start(self) -> bool:
        try:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
        except ImportError:
            self.enabled = False
            return False
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            console=Console(file=self.stream),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("Reading", total=None)
        return True

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _report(args: argparse.Namespace) -> int:
    from .report import load_report, print_report, render_html, render_text

    bar = _ProgressBar(sys.stdout)
    try:
        report = load_report(args.source, args.goals, args.since, args.until, progress=bar)
    finally:
        bar.close()
    if args.format == "html":
        output = args.output or "convsdk-report.html"
        _write(output, render_html(report))
        sys.stdout.write(f"wrote {output}\n")
    elif args.format == "json":
        text = report.to_json() + "\n"
        if args.output:
            _write(args.output, text)
        else:
            sys.stdout.write(text)
    elif args.output:
        _write(args.output, render_text(report, top=args.top))
    else:
        print_report(report, sys.stdout, top=args.top)
    return 0


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise ConfigError(
            f"cannot write: {exc.strerror or exc}", field="output", source=path
        ) from exc


# -- the other commands ----------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    run_demo = _load(".demo", "run_demo")
    options = {
        "visitors": args.visitors,
        "db_path": args.db,
        "html_path": args.html,
        "seed": args.seed,
    }
    return int(run_demo(**{k: v for k, v in options.items() if v is not None}))


def _consume(args: argparse.Namespace) -> int:
    consume = _load(".consume", "consume")
    options: dict[str, Any] = {
        "group": args.group,
        "idle_timeout": args.idle_timeout,
        "max_events": args.max_events,
        "claim_idle": args.claim_idle,
    }
    moved = consume(args.source, args.into, **{k: v for k, v in options.items() if v is not None})
    sys.stdout.write(f"moved {moved:,} events\n")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    url: str = args.url
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme in ("postgresql", "postgres"):
        _load(".backends.postgres", "migrate")(url)
    elif scheme == "sqlite":
        import sqlite3

        from .backends.sqlite import SQLiteBackend, connect

        path = SQLiteBackend.from_url(url).path
        try:
            connect(path).close()
        except (OSError, sqlite3.Error) as exc:
            raise BackendError(f"cannot create {path}: {exc}", backend="sqlite") from exc
    else:
        raise ConfigError(
            "migrate creates the events table of a SQL store: give a postgresql:// or "
            "sqlite:/// URL",
            field="url",
            source=url,
        )
    sys.stdout.write("the events table is ready\n")
    return 0


def _collect(args: argparse.Namespace) -> int:
    token = _collect_token(args)
    collector = _load(".collector", "serve")
    options: dict[str, Any] = {"host": args.host, "port": args.port, "token": token}
    bounds = _collect_bounds(args)
    if bounds:
        options["bounds"] = _load(".collector", "Bounds")(**bounds)
    collector(args.backend, **options)
    return 0


def _collect_token(args: argparse.Namespace) -> str | None:
    """The collector's token: from ``--token-file`` or the environment, never argv."""
    if args.token is not None:
        raise ConfigError(
            "a token on the command line is visible to every user of this machine (ps, "
            f"shell history): put it in a file for --token-file, or in {COLLECT_TOKEN_ENV}",
            field="token",
        )
    if args.token_file is not None:
        try:
            with open(args.token_file, encoding="utf-8") as fh:
                token = fh.read().strip()
            mode = os.stat(args.token_file).st_mode
        except OSError as exc:
            raise ConfigError(
                f"cannot read: {exc.strerror or exc}", field="token_file", source=args.token_file
            ) from exc
        if not token:
            raise ConfigError("the file is empty", field="token_file", source=args.token_file)
        if mode & 0o077:
            _warning(f"{args.token_file} is readable by other users: chmod 600 it")
        return token
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
    _warning(
        f"running without a token: anyone who can reach {args.host}:{args.port} can store events"
    )
    return None


def _collect_bounds(args: argparse.Namespace) -> dict[str, Any]:
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


if __name__ == "__main__":  # pragma: no cover - python -m convsdk.cli
    raise SystemExit(main())
