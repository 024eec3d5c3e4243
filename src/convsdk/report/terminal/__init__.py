"""The report as terminal tables: rich when installed (extra ``cli``), plain text otherwise.

>>> print(render_text(report))            # text, no colours: logs, e-mails, tests
>>> print_report(report)                  # to the terminal, with colours when it has them

Both show the same tables (:func:`tables`): summary, goals, each funnel, the micro →
macro lift ranking, breakdowns by channel and variant, and the time to convert. Long
tables show their first ``top`` rows; the JSON and HTML outputs have them all.

Modules: :mod:`.table` (what a table is), :mod:`.text` (safe strings), :mod:`.overview`,
:mod:`.analysis` and :mod:`.channels` (the tables by section), :mod:`.tables` (all of
them, in order) and :mod:`.draw` (plain or rich).
"""

from __future__ import annotations

import io
from typing import IO

from ..metrics import Report
from .draw import plain, rich_table
from .table import Align, Table
from .tables import tables
from .text import safe_text

__all__ = ["Align", "Table", "print_report", "render_text", "safe_text", "tables"]


def _have_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def render_text(report: Report, *, width: int = 120, color: bool = False, top: int = 10) -> str:
    """The terminal report as a string (rich box drawing if installed, else plain text)."""
    if not _have_rich():
        return "\n\n".join(plain(t) for t in tables(report, top=top)) + "\n"
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False
    )
    for table in tables(report, top=top):
        console.print(rich_table(table))
    return buffer.getvalue()


def print_report(report: Report, file: IO[str] | None = None, *, top: int = 10) -> None:
    """Write the terminal report to ``file`` (standard output), coloured on a terminal."""
    if not _have_rich():
        import sys

        out = file if file is not None else sys.stdout
        out.write("\n\n".join(plain(t) for t in tables(report, top=top)) + "\n")
        return
    from rich.console import Console

    console = Console(file=file, highlight=False)
    if not console.is_terminal:
        console.width = 120  # rich assumes 80 columns when piped: too narrow for the tables
    for table in tables(report, top=top):
        console.print(rich_table(table))
