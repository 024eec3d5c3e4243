"""Contract checks of what a backend stores: every field, batch sizes, accumulation,
Unicode, events at the size limits, the empty batch."""

from __future__ import annotations

from typing import Any

from ...backends import Backend
from ..compare import assert_events_equal
from ..events import numbered_events, round_trip_events, unicode_events
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

    def test_empty_batch_is_a_no_op(self, contract_backend: Any) -> None:
        """``write([])`` stores nothing, raises nothing, and later writes still work."""
        contract_backend.write([])
        assert self.contract_read(contract_backend) == [], "an empty batch stored something"
        self.contract_write_and_check(contract_backend, numbered_events(2))
