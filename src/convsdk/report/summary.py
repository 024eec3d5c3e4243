"""The per-visitor summaries and the rules that build them, under their former name.

Kept so that existing imports work: the data is in :mod:`convsdk.report.dataset`, the
rules the readers share in :mod:`convsdk.report.rules`.
"""

from __future__ import annotations

from .dataset import (
    MAX_STEP_TIMES,
    NO_CURRENCY,
    UTM,
    Dataset,
    GoalHits,
    VisitorSummary,
    from_micros,
    text_micros,
    to_micros,
)
from .rules import (
    add_conversion,
    first_macro,
    merge_kind,
    merge_rows,
    referrer_domain,
    utm_of,
    variant_text,
)

__all__ = [
    "MAX_STEP_TIMES",
    "NO_CURRENCY",
    "UTM",
    "Dataset",
    "GoalHits",
    "VisitorSummary",
    "add_conversion",
    "first_macro",
    "from_micros",
    "merge_kind",
    "merge_rows",
    "referrer_domain",
    "text_micros",
    "to_micros",
    "utm_of",
    "variant_text",
]
