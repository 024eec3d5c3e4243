"""One table of the terminal report, independent of how it is drawn."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Align", "Table"]

Align = Literal["left", "right"]


@dataclass(slots=True)
class Table:
    """One table of the terminal report, independent of how it is drawn."""

    title: str
    columns: list[tuple[str, Align]]
    rows: list[list[str]] = field(default_factory=list)
    dim_rows: set[int] = field(default_factory=set)
    """Rows shown dimmed (the anonymous line)."""
    note: str | None = None
