"""What a run of ``convsdk rollup`` did, in any store."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RollupResult"]


@dataclass(frozen=True, slots=True)
class RollupResult:
    """What a run of :func:`~convsdk.report.rollup.roll_up` did."""

    events: int
    """Events rolled up by this run."""
    visitor_days: int
    """Visitor-day states written (new, or merged with late events)."""
    days: int
    """Distinct days whose totals changed."""
    seconds: float
    rebuilt: str | None
    """Why the rollups were made again from the first event; ``None`` if they were not."""
    watermark: object
    """How far the rollups go, as the store keeps it (a SQLite ``Watermark``, a
    PostgreSQL ``Mark``)."""
    upto: str
    """The same, told: ``"row 1,234"``, ``"snapshot 1041:1045:1042"``."""
    previous: str | None = None
    """The watermark before the run, as text (``None``: none, or made again): with no
    event rolled up, a report counted to it is counted to the new one too."""
