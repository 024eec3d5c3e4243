"""Contract checks of a backend shared the ways convsdk shares it: by threads, across a
fork, and by a real :class:`~convsdk.Tracker` with its disk spool."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from ...tracker import Tracker
from ..compare import assert_events_equal
from ..events import numbered_events
from .base import ContractBase

__all__ = ["SharingChecks"]

THREADS = 4
BATCHES = 10
BATCH = 25


class SharingChecks(ContractBase):
    """One backend, written by several threads, a forked child and a tracker."""

    def test_concurrent_writes_from_four_threads(self, contract_backend: Any) -> None:
        """Four threads writing at once lose nothing: a backend guards its connection
        (one lock around each write is enough), as an app may share one."""
        batches = [
            numbered_events(BATCH, tag=f"thread{t}-batch{b}")
            for t in range(THREADS)
            for b in range(BATCHES)
        ]
        start = threading.Barrier(THREADS)
        errors: list[BaseException] = []

        def writer(index: int) -> None:
            start.wait()
            for batch in batches[index * BATCHES : (index + 1) * BATCHES]:
                try:
                    contract_backend.write(batch)
                except BaseException as exc:  # reported below, with the others
                    errors.append(exc)

        workers = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert not errors, (
            f"{len(errors)} of {THREADS * BATCHES} writes from {THREADS} threads at once "
            f"raised, first: {errors[0]!r}: guard the connection with a lock"
        )
        written = [event for batch in batches for event in batch]
        got = self.contract_read(contract_backend)
        missing = {e.event_id for e in written} - {e.event_id for e in got}
        assert not missing, (
            f"{len(missing)} of {len(written)} events written by {THREADS} threads at once "
            "are missing: guard the connection with a lock"
        )
        if self.supports_dedupe:
            assert_events_equal(written, got, ordered=False)

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
    def test_a_forked_child_writes_on_its_own(self, contract_backend: Any) -> None:
        """After a fork (gunicorn's ``--preload``), the child writes through a connection
        of its own and the parent's keeps working: connect lazily, and again in a new
        process (compare ``os.getpid()``), leaving the parent's connection alone."""
        parent_first = numbered_events(2, tag="parent-first")
        child = numbered_events(3, tag="child")
        parent_then = numbered_events(2, tag="parent-then")
        contract_backend.write(parent_first)  # the parent's connection is open now
        pid = os.fork()
        if pid == 0:  # the child: report by exit status only
            status = 1
            try:
                contract_backend.write(child)
                contract_backend.close()
                status = 0
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, (
            "the forked child's write() or close() raised: a connection made before the "
            "fork cannot be used in the child"
        )
        try:
            contract_backend.write(parent_then)
        except Exception as exc:
            raise AssertionError(
                f"the parent's write() failed after its child closed: {exc!r}; the child "
                "must not close or reuse the parent's connection"
            ) from exc
        # A store inside the process (memory) cannot see what a child wrote.
        written = (
            parent_first + parent_then
            if self.in_process_store
            else parent_first + child + parent_then
        )
        missing = {e.event_id for e in written} - {
            e.event_id for e in self.contract_read(contract_backend)
        }
        assert not missing, f"{len(missing)} events of the parent or the child are missing"

    def test_through_a_tracker_with_its_spool(
        self, contract_backend: Any, request: pytest.FixtureRequest
    ) -> None:
        """A real :class:`~convsdk.Tracker`, spool on, delivers what it tracked to the
        store and closes the backend on ``close()``."""
        spool = self.contract_tmp_path / "contract-spool"
        tracker = Tracker(backend=contract_backend, spool_dir=spool, batch_size=10)
        self.closed_by_test(request, contract_backend)
        try:
            tracked = [
                tracker.track("contract_step", kind="micro", properties={"n": n}) for n in range(45)
            ]
            assert tracker.flush(timeout=30), f"the tracker could not deliver: {tracker.stats()}"
        finally:
            tracker.close()
        stats = tracker.stats()
        assert stats["dropped"] == 0 and stats["delivered"] == 45, stats
        events = [event for event in tracked if event is not None]
        got = self.contract_read(contract_backend)
        missing = {e.event_id for e in events} - {e.event_id for e in got}
        assert not missing, f"{len(missing)} tracked events are not in the store"
