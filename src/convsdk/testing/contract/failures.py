"""Contract checks of a store that fails: the write raises, an outage is retryable, and
once the store is back every event of the failed batch is stored."""

from __future__ import annotations

from typing import Any

import pytest

from ...event import Event
from ..compare import assert_events_equal
from ..events import numbered_events
from .base import ContractBase

__all__ = ["FailureChecks"]


class FailureChecks(ContractBase):
    """A failing store makes ``write`` raise a retryable error, never return."""

    def test_write_to_a_failed_store_raises(
        self, contract_backend: Any, request: pytest.FixtureRequest
    ) -> None:
        """When the store fails, ``write`` raises (the dispatcher then retries or spools);
        it never returns as if the events were stored. The error of an outage is
        retryable: ``retryable=False`` would throw good events away."""
        if not self.implements("break_backend"):
            pytest.skip(f"{type(self).__name__} does not implement break_backend()")
        contract_backend.write(numbered_events(2, tag="before"))
        self.broken_by_test(request, contract_backend)
        self.break_backend(contract_backend)
        try:
            contract_backend.write(numbered_events(2, tag="after"))
        except Exception as exc:
            assert getattr(exc, "retryable", True) is not False, (
                f"a failed store raised a permanent error ({exc!r}): the dispatcher "
                "dead-letters the batch; raise a retryable error for an outage, and keep "
                "retryable=False for a batch the store can never take"
            )
            return
        raise AssertionError(
            f"{type(contract_backend).__name__}.write() returned normally after "
            "break_backend(): a failed write must raise, or events are lost silently"
        )

    def test_an_outage_loses_nothing(
        self, contract_backend: Any, request: pytest.FixtureRequest
    ) -> None:
        """A batch that failed during an outage is stored whole when it is written again
        after the store is back (``repair_backend``), by the same backend instance: it
        reconnects (or recreates what it needs) by itself. What was stored before the
        outage is not checked: breaking a store may destroy it."""
        if not (self.implements("break_backend") and self.implements("repair_backend")):
            pytest.skip(f"{type(self).__name__} does not implement break_/repair_backend()")
        before = numbered_events(3, tag="before")
        during = numbered_events(4, tag="during")
        contract_backend.write(before)
        self.broken_by_test(request, contract_backend)
        self.break_backend(contract_backend)
        with pytest.raises(Exception):  # noqa: B017 - any error: the dispatcher retries it
            contract_backend.write(during)
        self.repair_backend(contract_backend)
        try:
            contract_backend.write(during)
        except Exception as exc:
            raise AssertionError(
                f"write() still fails after repair_backend(): {exc!r}; a backend must "
                "recover (reconnect, recreate its table) once the store is back"
            ) from exc
        got = [e for e in self.contract_read(contract_backend) if e.event_id not in ids(before)]
        if self.supports_dedupe:
            assert_events_equal(during, got, ordered=False)
        else:
            missing = ids(during) - ids(got)
            assert not missing, f"{len(missing)} events of the failed batch are missing"


def ids(events: list[Event]) -> set[str]:
    """The event ids of ``events``."""
    return {event.event_id for event in events}
