"""The backend contract kit on the destinations, each against a stand-in that takes
everything (or fails while broken).

A destination is no store: what reaches the service cannot be read back as the events
written (GA4's requests do not even carry the event ids). So the checks that compare
fields read back are switched off, as for any store that is not readable. Segment's
and Meta's requests carry each event's id (``messageId``, ``event_id``), so the checks
about losing nothing (threads, a fork, an outage) run on those by id. The check through
a tracker tracks micro conversions, which a tracker never forwards to a destination
(macro ones only, by default). Meta refuses events over 7 days old, which the kit's
numbered events are, so Meta keeps only the checks that write none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

pytest.importorskip("httpx")

from convsdk.destinations.ga4 import GA4Destination  # noqa: E402
from convsdk.destinations.meta import MetaDestination  # noqa: E402
from convsdk.destinations.segment import SegmentDestination  # noqa: E402
from convsdk.event import Event  # noqa: E402
from convsdk.testing import BackendContract  # noqa: E402

from .standin import Answer, Request, StandIn, serving  # noqa: E402

# Checks that compare the fields of what the store gives back.
READS_FIELDS = (
    "test_round_trip_every_field",
    "test_batch_of_one",
    "test_batch_of_a_thousand",
    "test_batches_accumulate",
    "test_unicode",
    "test_large_events",
    "test_timestamps_in_other_time_zones",
    "test_nul_characters_and_non_finite_numbers",
    "test_empty_batch_is_a_no_op",
    "test_resent_batch",
    "test_close_after_writes",
    "test_a_resend_from_another_instance",
    "test_from_url",
)
# Checks that find events by id in what the store gives back.
READS_IDS = (
    "test_concurrent_writes_from_four_threads",
    "test_a_forked_child_writes_on_its_own",
    "test_an_outage_loses_nothing",
)
# A tracker forwards a destination macro conversions only (its default_forward), and this
# check tracks micro ones: test_segment.py runs a tracker with its spool on macro ones.
TRACKS_MICRO = ("test_through_a_tracker_with_its_spool",)
# Checks that write the kit's numbered events, dated 2025.
WRITES_OLD_EVENTS = (
    "test_close_twice",
    "test_write_after_close_raises_a_permanent_error",
    "test_write_to_a_failed_store_raises",
    "test_a_forked_child_writes_on_its_own",
    "test_an_outage_loses_nothing",
    "test_concurrent_writes_from_four_threads",
)


class _Service:
    """A stand-in that takes every request, or answers 503 while ``broken``."""

    def __init__(self) -> None:
        self.broken = False
        self.standin = StandIn(self.answer)

    def answer(self, request: Request) -> Answer:
        if self.broken:
            return 503, {"error": {"message": "down"}}, {}
        return 200, {}, {}


@pytest.fixture(scope="module")
def service() -> Iterator[_Service]:
    service = _Service()
    with serving(service.standin):
        yield service


class _DestinationContract(BackendContract):
    id_field: ClassVar[str | None] = None
    items_field: ClassVar[str] = ""

    @pytest.fixture(autouse=True)
    def _service(self, service: _Service) -> None:
        self.service = service
        service.broken = False
        with service.standin.lock:
            service.standin.requests.clear()

    def read_back(self, backend: Any) -> list[Event]:
        """The events the service received, by id only (nothing else comes back)."""
        if self.id_field is None:
            return []
        return [
            Event("received", event_id=item[self.id_field])
            for body in self.service.standin.bodies()
            for item in body[self.items_field]
        ]

    def break_backend(self, backend: Any) -> None:
        self.service.broken = True

    def repair_backend(self, backend: Any) -> None:
        self.service.broken = False


def _switch_off(cls: type, names: tuple[str, ...]) -> None:
    for name in names:
        setattr(cls, name, None)


class TestGA4Contract(_DestinationContract):
    def make_backend(self, tmp_path: Path) -> GA4Destination:
        return GA4Destination("G-X", api_secret="s", endpoint=self.service.standin.base)

    def make_url(self, tmp_path: Path) -> str:
        return f"ga4://G-X?api_secret=s&endpoint={self.service.standin.base}"


class TestMetaContract(_DestinationContract):
    id_field = "event_id"
    items_field = "data"

    def make_backend(self, tmp_path: Path) -> MetaDestination:
        return MetaDestination("123", access_token="t", endpoint=self.service.standin.base)

    def make_url(self, tmp_path: Path) -> str:
        return f"meta://123?access_token=t&endpoint={self.service.standin.base}"


class TestSegmentContract(_DestinationContract):
    id_field = "messageId"
    items_field = "batch"

    def make_backend(self, tmp_path: Path) -> SegmentDestination:
        return SegmentDestination("key", endpoint=self.service.standin.base)

    def make_url(self, tmp_path: Path) -> str:
        return f"segment://key?endpoint={self.service.standin.base}"


_switch_off(TestGA4Contract, READS_FIELDS + READS_IDS + TRACKS_MICRO)
_switch_off(TestMetaContract, READS_FIELDS + WRITES_OLD_EVENTS + TRACKS_MICRO)
_switch_off(TestSegmentContract, READS_FIELDS + TRACKS_MICRO)
