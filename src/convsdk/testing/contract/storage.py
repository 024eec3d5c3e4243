"""Contract checks of what a backend stores: every field, batch sizes, accumulation,
Unicode, time zones, NUL and non-finite numbers, events at the size limits, the empty
batch and the empty store."""

from __future__ import annotations

import math
from typing import Any

from ...backends import Backend
from ..compare import assert_events_equal
from ..events import (
    awkward_events,
    numbered_events,
    offset_events,
    round_trip_events,
    unicode_events,
)
from ..large import large_events
from .base import ContractBase

__all__ = ["StorageChecks"]


class StorageChecks(ContractBase):
    """The events written come back as they were written."""

    def test_is_a_backend(self, contract_backend: Any) -> None:
        """The object has ``write(events)`` and ``close()``."""
        assert isinstance(contract_backend, Backend), (
            f"{type(contract_backend).__name__} lacks write(events) or close()"
        )

    def test_round_trip_every_field(self, contract_backend: Any) -> None:
        """Every field comes back as written: kinds, values, ids, microseconds, JSON data."""
        self.contract_write_and_check(contract_backend, round_trip_events())

    def test_batch_of_one(self, contract_backend: Any) -> None:
        """A batch of a single event is stored."""
        self.contract_write_and_check(contract_backend, numbered_events(1))

    def test_batch_of_a_thousand(self, contract_backend: Any) -> None:
        """A batch of 1,000 events is stored whole (in order, with ``preserves_order``)."""
        self.contract_write_and_check(contract_backend, numbered_events(1000))

    def test_batches_accumulate(self, contract_backend: Any) -> None:
        """Each batch adds to what the store holds; none replaces an earlier one."""
        first, second = numbered_events(3, tag="first"), numbered_events(4, tag="second")
        contract_backend.write(first)
        contract_backend.write(second)
        assert_events_equal(
            first + second, self.contract_read(contract_backend), ordered=self.preserves_order
        )

    def test_unicode(self, contract_backend: Any) -> None:
        """Emoji, right-to-left scripts, combining marks and escapes survive unchanged."""
        self.contract_write_and_check(contract_backend, unicode_events())

    def test_large_events(self, contract_backend: Any) -> None:
        """Events at the documented size limits (``convsdk.event.MAX_*``) are stored whole."""
        self.contract_write_and_check(contract_backend, large_events())

    def test_timestamps_in_other_time_zones(self, contract_backend: Any) -> None:
        """A timestamp keeps its instant whatever its offset: store it as UTC (or with
        its offset), and read it back aware. Writing the wall-clock time without the
        offset (a naive ``DATETIME`` column) stores it hours off."""
        try:
            self.contract_write_and_check(contract_backend, offset_events())
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}\nA timestamp came back at another instant: store it as UTC (or "
                "with its offset), never as the wall-clock time alone, which stores it "
                "hours off"
            ) from None

    def test_nul_characters_and_non_finite_numbers(self, contract_backend: Any) -> None:
        """An event with NUL characters in its text and ``NaN`` or infinities in its
        properties is stored, not refused: NUL kept or replaced by U+FFFD, non-finite
        numbers as ``None`` (JSON's ``null``)."""
        events = awkward_events()
        contract_backend.write(events)
        got = {event.event_id: event for event in self.contract_read(contract_backend)}
        missing = [event.name for event in events if event.event_id not in got]
        assert not missing, f"events with NUL characters or NaN were not stored: {missing}"
        for event in events:
            _assert_stored_alike(event.properties, got[event.event_id].properties, "properties")
            _assert_stored_alike(event.context, got[event.event_id].context, "context")

    def test_reading_before_the_first_write(self, contract_backend: Any) -> None:
        """A store nothing was written to yet reads back empty: a table or stream that
        does not exist yet is an empty store, for ``read_back`` and for your own readers."""
        assert list(self.contract_read(contract_backend)) == [], (
            "read_back() of a new store returned events"
        )

    def test_empty_batch_is_a_no_op(self, contract_backend: Any) -> None:
        """``write([])`` stores nothing, raises nothing, and later writes still work."""
        contract_backend.write([])
        assert self.contract_read(contract_backend) == [], "an empty batch stored something"
        self.contract_write_and_check(contract_backend, numbered_events(2))


def _assert_stored_alike(expected: Any, actual: Any, path: str = "") -> None:
    """``actual`` is ``expected`` with NUL characters kept or each replaced by U+FFFD."""
    __tracebackhide__ = True
    if isinstance(expected, str):
        assert actual in (expected, expected.replace("\x00", "\ufffd")), (
            f"{path or 'text'}: expected {expected!r} (NUL kept or as U+FFFD), got {actual!r}"
        )
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected a dict, got {actual!r:.200}"
        for key, item in expected.items():
            have = key if key in actual else key.replace("\x00", "\ufffd")
            assert have in actual, f"{path}: key {key!r} is missing"
            _assert_stored_alike(item, actual[have], f"{path}.{key}")
    elif isinstance(expected, float) and not math.isfinite(expected):
        kept = isinstance(actual, float) and (
            actual == expected
            or math.isnan(actual) == math.isnan(expected)
            and math.isnan(expected)
        )
        assert actual is None or kept, f"{path}: expected None (JSON null), got {actual!r}"
    else:
        assert actual == expected or (expected is None and actual is None), (
            f"{path}: expected {expected!r}, got {actual!r}"
        )
