"""``convsdk report``: its options, and rendering the report where they say."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import ConfigError
from .base import positive_int
from .progress import ProgressBar

__all__ = ["add_report", "add_report_options", "run_report", "write_output"]

#: Where ``--format html`` writes without ``-o``.
DEFAULT_HTML = "convsdk-report.html"


def add_report(commands: Any) -> None:
    """Add the ``report`` command to ``commands`` (argparse subparsers)."""
    report = commands.add_parser(
        "report",
        help="goals, funnels, micro → macro lift and channels from stored events",
        description="Read stored events and report on them.",
    )
    report.add_argument(
        "source",
        metavar="SOURCE",
        help="sqlite:///convsdk.db, file:///path/events.jsonl, postgresql://..., "
        "a .db / .jsonl path, or a URL a reader plugin reads (convsdk.readers)",
    )
    report.add_argument("--goals", metavar="FILE", help="goal file (.toml or .json)")
    add_report_options(report)
    report.set_defaults(handler=run_report)


def add_report_options(report: argparse.ArgumentParser) -> None:
    """The report's options but SOURCE and ``--goals``: the period, the format, the
    breakdowns (shared by ``manage.py convsdk_report``)."""
    report.add_argument(
        "--since",
        metavar="WHEN",
        help="from this date or time: 2026-11-01, 2026-11-01T09:30, "
        "or a duration ago such as 7d, 24h, 30m",
    )
    report.add_argument(
        "--until", metavar="WHEN", help="up to this date (included) or time (excluded)"
    )
    report.add_argument(
        "--format", choices=("table", "json", "html"), default="table", help="default: table"
    )
    report.add_argument(
        "-o", "--output", metavar="FILE", help=f"write here (html default: {DEFAULT_HTML})"
    )
    report.add_argument(
        "--top", type=positive_int, default=10, metavar="N", help="rows per table (default 10)"
    )
    report.add_argument(
        "--interval",
        choices=("day", "week", "month"),
        help="add a trend of visitors, conversions, rate and revenue by this period",
    )
    report.add_argument(
        "--tz",
        dest="timezone",
        metavar="ZONE",
        help="the time zone of the dates given and of the trend's days, such as "
        "America/New_York (default: UTC)",
    )
    _add_analysis_options(report)


def _add_analysis_options(report: argparse.ArgumentParser) -> None:
    """The options of what the report breaks down, compares, converts and reads with."""
    report.add_argument(
        "--by",
        choices=("channel", "source", "campaign", "variant", "landing_page", "device"),
        help="break goals and funnels down by this property of the first visit",
    )
    report.add_argument(
        "--channels",
        metavar="FILE",
        help="channel rules of your own (.toml or .json), tried before GA4's defaults",
    )
    report.add_argument(
        "--rates",
        metavar="FILE",
        help="report revenue in one currency, at the rates of this file (.toml or .json)",
    )
    report.add_argument(
        "--compare",
        choices=("previous",),
        help="compare with the period as long just before --since",
    )
    report.add_argument(
        "--experiment-goal",
        metavar="GOAL",
        help="compare the experiment variants on this goal (default: any macro goal)",
    )
    report.add_argument(
        "--engine",
        metavar="{auto,duckdb,python}",
        default="auto",
        # Checked by the report (convsdk.report.reader.ENGINES), which this module
        # imports only when a report runs.
        help="how to read a JSON Lines log: duckdb (extra duckdb), python (streamed), "
        "or auto (default: duckdb when installed, else python)",
    )
    report.add_argument(
        "--no-rollups",
        action="store_true",
        help="read a SQLite or PostgreSQL store's events even where convsdk rollup summed "
        "them up "
        "(the same figures, slower)",
    )
    report.add_argument(
        "--include-bots",
        action="store_true",
        help="count visitors whose user agent is a known bot (default: left out, counted)",
    )


def run_report(args: argparse.Namespace) -> int:
    """Read the store and print or write the report in the format asked."""
    from ..report import format_report, load_report, write_report

    # On standard error: the report itself may go to a file or a pipe (--format json >).
    bar = ProgressBar(sys.stderr)
    try:
        report = load_report(
            args.source,
            args.goals,
            args.since,
            args.until,
            progress=bar,
            include_bots=args.include_bots,
            experiment_goal=args.experiment_goal,
            interval=args.interval,
            compare=args.compare,
            by=args.by,
            rates=args.rates,
            channels=args.channels,
            engine=args.engine,
            rollups=not args.no_rollups,
            timezone=args.timezone,
        )
    finally:
        bar.close()
    output = args.output or (DEFAULT_HTML if args.format == "html" else None)
    if output is None:
        # Tables on a terminal are coloured, which only writing to it can do.
        write_report(report, args.format, sys.stdout, top=args.top)
        return 0
    write_output(output, format_report(report, args.format, top=args.top))
    if args.format == "html":
        sys.stdout.write(f"wrote {output}\n")
    return 0


def write_output(path: str, text: str) -> None:
    """Write ``text`` to ``path``; a failure is the person's to fix (a ConfigError)."""
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise ConfigError(
            f"cannot write: {exc.strerror or exc}", field="output", source=path
        ) from exc
