"""A computed report in each output format: the one place that knows the formats.

>>> format_report(report, "json")               # the text of a format
>>> write_report(report, "table", sys.stdout)   # coloured tables on a terminal
"""

from __future__ import annotations

from typing import IO, Literal

from ..errors import ConfigError
from .html import render_html
from .metrics import Report
from .terminal import print_report, render_text

__all__ = ["FORMATS", "Format", "check_format", "format_report", "write_report"]

Format = Literal["table", "json", "html"]
#: The output formats: terminal tables, JSON, a self-contained HTML page.
FORMATS = ("table", "json", "html")


def check_format(fmt: str) -> None:
    """Raise :class:`convsdk.ConfigError` unless ``fmt`` is one of :data:`FORMATS`."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; use table, json or html", field="format")


def format_report(report: Report, fmt: Format, *, top: int = 10) -> str:
    """``report`` as ``fmt``: plain tables (their first ``top`` rows), JSON or HTML."""
    check_format(fmt)
    if fmt == "json":
        return report.to_json() + "\n"
    if fmt == "html":
        return render_html(report)
    return render_text(report, top=top)


def write_report(report: Report, fmt: Format, stream: IO[str], *, top: int = 10) -> None:
    """Write ``report`` as ``fmt`` to ``stream``; tables are coloured on a terminal."""
    if fmt == "table":
        print_report(report, stream, top=top)
    else:
        stream.write(format_report(report, fmt, top=top))
