"""Contract checks of a backend's life: a batch sent again (by the same instance or
another), ``close()`` (twice, and writes after it), and building it with ``from_url``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ...backends import from_url
from ...errors import BackendError, ConfigError
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

    def test_a_resend_from_another_instance(
        self, contract_backend: Any, request: pytest.FixtureRequest
    ) -> None:
        """A batch re-sent by another backend instance on the same store (the next
        process replaying its spool) is stored once with ``supports_dedupe``: a dedupe
        kept in one instance's memory does not do."""
        events = numbered_events(6, tag="replayed")
        contract_backend.write(events)
        other = self.second_backend(contract_backend)
        try:
            other.write(events)
        finally:
            other.close()
        got = self.contract_read(contract_backend)
        if self.supports_dedupe:
            assert_events_equal(events, got, ordered=False)
        else:
            assert {e.event_id for e in got} == {e.event_id for e in events}, (
                "events re-sent by a second instance are missing"
            )

    def test_destination_key_names_the_store(self, contract_backend: Any) -> None:
        """A ``destination_key``, when declared, is a non-empty string, the same for
        another instance on the same store (the next process), so the spool of what this
        one missed replays into that one."""
        key = getattr(contract_backend, "destination_key", None)
        if key is None:
            return  # none declared: the class name serves
        assert isinstance(key, str) and key.strip(), f"destination_key is {key!r}"
        other = self.second_backend(contract_backend)
        try:
            assert other.destination_key == key, "another instance on the store has another key"
        finally:
            other.close()

    def test_close_twice(self, contract_backend: Any, request: pytest.FixtureRequest) -> None:
        """``close()`` may be called again (the tracker's and the app's exit both close):
        the second call returns normally."""
        contract_backend.write(numbered_events(1, tag="twice"))
        self.closed_by_test(request, contract_backend)
        contract_backend.close()
        contract_backend.close()

    def test_write_after_close_raises_a_permanent_error(
        self, contract_backend: Any, request: pytest.FixtureRequest
    ) -> None:
        """A ``write`` after ``close()`` raises ``BackendError(retryable=False)`` and
        stores nothing: quietly connecting again would leak a connection nobody closes."""
        contract_backend.write(numbered_events(1, tag="open"))
        self.closed_by_test(request, contract_backend)
        contract_backend.close()
        late = numbered_events(2, tag="late")
        try:
            contract_backend.write(late)
        except BackendError as exc:
            assert exc.retryable is False, (
                "a write after close() raised a retryable BackendError: it can never "
                "succeed, so raise BackendError(..., retryable=False)"
            )
        else:
            raise AssertionError(
                f"{type(contract_backend).__name__}.write() after close() returned "
                "normally: raise BackendError(..., retryable=False)"
            )
        stored = {e.event_id for e in self.contract_read(contract_backend)}
        assert not stored & {e.event_id for e in late}, "a write after close() stored events"

    def test_close_without_writes(
        self, contract_backend: Any, request: pytest.FixtureRequest
    ) -> None:
        """``close()`` on a backend that never wrote (nor connected) returns normally."""
        self.closed_by_test(request, contract_backend)
        contract_backend.close()

    def test_from_url(self, tmp_path: Path) -> None:
        """``convsdk.backends.from_url(url)`` builds a working backend for the scheme."""
        url = self.make_url(tmp_path)
        if url is None:
            pytest.skip(f"{type(self).__name__} does not implement make_url()")
        backend = from_url(url)
        try:
            self.contract_write_and_check(backend, round_trip_events())
        finally:
            backend.close()

    def test_an_unknown_url_option_is_a_config_error(self, tmp_path: Path) -> None:
        """``from_url`` refuses an option it does not know with a ``ConfigError`` naming
        it, at once, not at the first write (set ``url_query_is_passed_on`` when the
        query belongs to the destination, as an HTTP endpoint's does)."""
        url = self.make_url(tmp_path)
        if url is None:
            pytest.skip(f"{type(self).__name__} does not implement make_url()")
        if self.url_query_is_passed_on:
            pytest.skip("the URL's query is passed on to the destination")
        misspelt = f"{url}{'&' if '?' in url else '?'}tiemout=5"
        try:
            backend = from_url(misspelt)
        except ConfigError as exc:
            assert "tiemout" in str(exc), f"the ConfigError does not name the option: {exc}"
            return
        backend.close()
        raise AssertionError(f"from_url({misspelt!r}) accepted an unknown option 'tiemout'")
