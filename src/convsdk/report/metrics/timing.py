"""Time to convert: from a visitor's first event to their first macro conversion."""

from __future__ import annotations

from array import array

from ..dataset import Dataset, VisitorSummary
from .common import durations, fold, timing
from .model import HistogramBucket, TimeToConvert
from .states import State, bag, values_of

__all__ = ["HISTOGRAM_BUCKETS", "ConversionDelays", "time_to_convert"]

_MINUTE, _HOUR, _DAY = 60, 3600, 86400
#: Time-to-convert histogram buckets: (label, from seconds, to seconds or None).
HISTOGRAM_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("< 1 min", 0, _MINUTE),
    ("1–10 min", _MINUTE, 10 * _MINUTE),
    ("10–60 min", 10 * _MINUTE, _HOUR),
    ("1–6 h", _HOUR, 6 * _HOUR),
    ("6–24 h", 6 * _HOUR, _DAY),
    ("1–3 days", _DAY, 3 * _DAY),
    ("3–7 days", 3 * _DAY, 7 * _DAY),
    ("7–30 days", 7 * _DAY, 30 * _DAY),
    ("30+ days", 30 * _DAY, None),
)


class ConversionDelays:
    """Collects each converter's time from first event to first macro conversion."""

    def __init__(self, macro: list[str]) -> None:
        self.macro = macro
        self.delays: array[int] = durations()

    def add(self, visitor: VisitorSummary) -> None:
        """Count ``visitor``."""
        goals = visitor.goals
        if not goals:
            return
        first = None
        for name in self.macro:
            hits = goals.get(name)
            if hits is not None and (first is None or hits.first < first):
                first = hits.first
        if first is not None:
            self.delays.append(first - visitor.first_seen)

    def state(self) -> State:
        """The counts as plain data (:mod:`.states`)."""
        return {"delays": bag(self.delays, "q")}

    def restore(self, state: State) -> None:
        """Add the counts of ``state`` (as :meth:`state` gives them) to these."""
        self.delays.extend(values_of(state, "delays"))

    def report(self) -> TimeToConvert:
        """The timing and the histogram of the delays collected."""
        delays = self.delays
        counts = [0] * len(HISTOGRAM_BUCKETS)
        for delay in delays:
            seconds = delay / 1e6
            for i, (_, low, high) in enumerate(HISTOGRAM_BUCKETS):
                if seconds >= low and (high is None or seconds < high):
                    counts[i] += 1
                    break
        return TimeToConvert(
            timing=timing(delays),
            histogram=[
                HistogramBucket(label=label, min_seconds=low, max_seconds=high, visitors=count)
                for (label, low, high), count in zip(HISTOGRAM_BUCKETS, counts, strict=True)
            ],
        )


def time_to_convert(dataset: Dataset, macro: list[str]) -> TimeToConvert:
    """Time from first event to first macro conversion, with a histogram."""
    delays = ConversionDelays(macro)
    fold(dataset.visitors, delays)
    return delays.report()
