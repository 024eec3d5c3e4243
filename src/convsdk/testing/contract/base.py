"""What the contract's checks stand on: :class:`ContractBase`, the hooks a backend's test
class fills in (``make_backend``, ``read_back``...), the ``contract_backend`` fixture and
the helpers the checks share."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ...backends import Backend
from ...event import Event
from ..compare import assert_events_equal

__all__ = ["ContractBase"]

# The backends a test closed itself, or broke: the fixture does not close them as usual.
_CLOSED = pytest.StashKey[set[int]]()
_BROKEN = pytest.StashKey[set[int]]()


class ContractBase(abc.ABC):
    """The hooks and plumbing of :class:`~convsdk.testing.BackendContract` (see there)."""

    supports_dedupe: ClassVar[bool] = False
    preserves_order: ClassVar[bool] = True
    url_query_is_passed_on: ClassVar[bool] = False
    in_process_store: ClassVar[bool] = False
    #: The ``tmp_path`` of the running test, for :meth:`second_backend`.
    contract_tmp_path: Path

    @abc.abstractmethod
    def make_backend(self, tmp_path: Path) -> Backend:
        """A new backend writing to an empty store."""

    @abc.abstractmethod
    def read_back(self, backend: Any) -> Iterable[Event]:
        """Every event the store behind ``backend`` holds now."""

    def break_backend(self, backend: Any) -> None:
        """Make the store behind ``backend`` fail, so that the next write must raise."""
        raise NotImplementedError

    def repair_backend(self, backend: Any) -> None:
        """Undo :meth:`break_backend`: the store works again (the outage is over)."""
        raise NotImplementedError

    def second_backend(self, backend: Any) -> Any:
        """Another backend instance on the store behind ``backend``, as another process
        (or the same one after a restart) would build it. Default: ``make_backend`` with
        the test's ``tmp_path`` again, which reaches the same store when the store lives
        there (a file, a database in ``tmp_path``)."""
        return self.make_backend(self.contract_tmp_path)

    def make_url(self, tmp_path: Path) -> str | None:
        """A ``from_url`` URL reaching an empty store; ``None`` (the default) skips the
        URL checks."""
        return None

    def implements(self, hook: str) -> bool:
        """Whether this test class fills in the optional ``hook`` (``"break_backend"``...)."""
        return getattr(type(self), hook) is not getattr(ContractBase, hook)

    # -- plumbing ---------------------------------------------------------------------

    @pytest.fixture
    def contract_backend(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
        """The backend under test; closed after the test unless the test closed it."""
        stash = request.node.stash
        stash[_CLOSED] = set()
        stash[_BROKEN] = set()
        self.contract_tmp_path = tmp_path
        backend = self.make_backend(tmp_path)
        if backend is None:  # a skeleton's `...` body: say so once, not in every teardown
            pytest.fail(
                f"{type(self).__name__}.make_backend() returned None: return a new backend "
                "writing to an empty store",
                pytrace=False,
            )
        yield backend
        if id(backend) in stash[_CLOSED]:
            return
        if id(backend) in stash[_BROKEN]:
            try:
                backend.close()
            except Exception:  # a broken store may fail to close; that is not under test
                pass
        else:
            backend.close()

    def contract_read(self, backend: Any) -> list[Event]:
        """What the store behind ``backend`` holds, as a list."""
        return list(self.read_back(backend))

    def contract_write_and_check(self, backend: Any, events: list[Event]) -> None:
        """Write ``events`` as one batch and assert the store gives them back."""
        __tracebackhide__ = True
        backend.write(events)
        assert_events_equal(events, self.contract_read(backend), ordered=self.preserves_order)

    @staticmethod
    def closed_by_test(request: pytest.FixtureRequest, backend: Any) -> None:
        """Note that the test closes ``backend`` itself: the fixture leaves it alone."""
        request.node.stash[_CLOSED].add(id(backend))

    @staticmethod
    def broken_by_test(request: pytest.FixtureRequest, backend: Any) -> None:
        """Note that the test breaks ``backend``: the fixture closes it, ignoring errors."""
        request.node.stash[_BROKEN].add(id(backend))
