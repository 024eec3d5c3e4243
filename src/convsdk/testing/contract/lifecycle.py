"""Contract checks of a backend's life and failures: a batch sent again, ``close()``, a
store that fails, and building the backend with ``from_url``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ...backends import from_url
from ...event import Event
from ..compare import assert_events_equal
from ..events import numbered_events, round_trip_events
from .base import ContractBase

__all__ = ["LifecycleChecks"]


class LifecycleChecks(ContractBase):
    """Delivery is at least once, closing keeps what was written, failures raise."""

    def test_resent_batch(self, contract_backend: Any) -> None:
        """A batch written again after a partial failure is stored once with
        ``supports_dedupe``, and at least once otherwise."""
        events = numbered_events(10, tag="resent")
        contract_backend.write(events[:4])
        contract_backend.write(events)
        got = self.contract_read(contract_backend)
        if self.supports_dedupe:
            assert_events_equal(events, got, ordered=False)
            return
        written = {e.event_id for e in events}
        seen = {e.event_id for e in got}
        assert seen == written, (
            f"a re-sent batch must be stored at least once: {len(written - seen)} missing, "
            f"{len(seen - written)} unknown events"
        )
        first: dict[str, Event] = {}
        for event in got:
            first.setdefault(event.event_id, event)
        assert_events_equal(events, list(first.values()), ordered=False)

    def test_close_after_writes(
        self, contract_backend: Any, request: pytest.FixtureRequest
    ) -> None:
        """``close()`` after writes returns normally and keeps what was written."""
        events = numbered_events(5, tag="close")
        contract_backend.write(events)
        self.closed_by_test(request, contract_backend)
        contract_backend.close()
        assert_events_equal(
            events, self.contract_read(contract_backend), ordered=self.preserves_order
        )

    def test_close_without_writes(
        self, contract_backend: Any, request: pytest.FixtureRequest
    ) -> None:
        """``close()`` on a backend that never wrote (nor connected) returns normally."""
        self.closed_by_test(request, contract_backend)
        contract_backend.close()

    def test_write_to_a_failed_store_raises(
        self, contract_backend: Any, request: pytest.FixtureRequest
    ) -> None:
        """When the store fails, ``write`` raises (the dispatcher then retries or spools);
        it never returns as if the events were stored."""
        if type(self).break_backend is ContractBase.break_backend:
            pytest.skip(f"{type(self).__name__} does not implement break_backend()")
        contract_backend.write(numbered_events(2, tag="before"))
        self.broken_by_test(request, contract_backend)
        self.break_backend(contract_backend)
        try:
            contract_backend.write(numbered_events(2, tag="after"))
        except Exception:
            return
        raise AssertionError(
            f"{type(contract_backend).__name__}.write() returned normally after "
            "break_backend(): a failed write must raise, or events are lost silently"
        )

    def test_from_url(self, tmp_path: Path) -> None:
        """``convsdk.backends.from_url(url)`` builds a working backend for the scheme."""
        url = self.make_url(tmp_path)
        if url is None:
            pytest.skip(f"{type(self).__name__} sets neither url nor make_url()")
        backend = from_url(url)
        try:
            self.contract_write_and_check(backend, round_trip_events())
        finally:
            backend.close()
