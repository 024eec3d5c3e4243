"""The backend contract kit: :class:`BackendContract`, the tests every backend must pass,
made of one group of checks a module (:mod:`.storage`, :mod:`.lifecycle`) on the hooks
of :mod:`.base`."""

from __future__ import annotations

from .failures import FailureChecks
from .lifecycle import LifecycleChecks
from .sharing import SharingChecks
from .storage import StorageChecks

__all__ = ["BackendContract"]


class BackendContract(StorageChecks, LifecycleChecks, FailureChecks, SharingChecks):
    """Tests every backend must pass; subclass it (as ``Test...``) to run them on yours.

    ::

        from convsdk.testing import BackendContract

        class TestKafkaBackend(BackendContract):
            supports_dedupe = False          # a re-sent batch may be stored twice
            preserves_order = True           # read_back() returns a batch in write order

            def make_backend(self, tmp_path):
                return KafkaBackend(...)

            def read_back(self, backend):
                return [...]                 # every Event the store holds now

            def break_backend(self, backend):  # optional: make the store fail
                ...

            def make_url(self, tmp_path):      # optional: exercise from_url()
                return "kafka://localhost:9092/events"

    ``make_backend(tmp_path)`` returns a new backend on an empty store for each test.
    ``read_back(backend)`` returns what the store holds, as :class:`~convsdk.Event`
    objects; it is also called after ``close()``, so it should read through a
    connection of its own. ``break_backend(backend)`` makes the underlying store fail
    (stop the server, drop the table...); without it that test is skipped.
    ``make_url(tmp_path)`` (or a ``url`` class attribute) gives a URL for
    :func:`convsdk.backends.from_url` reaching an empty store; without one the
    ``from_url`` test is skipped. Fixtures your backend needs (a server's URL, say)
    come in through an ``autouse`` fixture method storing them on ``self``; it runs
    before ``make_backend``.

    A backend that declares ``destination_key`` (the key its spool is matched by, see
    :class:`~convsdk.backends.Backend`) is checked for it: a non-empty string, the same
    for a second backend on the same store.

    ``supports_dedupe``: a batch written again is stored once (sinks keyed by
    ``event_id``); otherwise each event must be stored at least once.
    ``preserves_order``: events come back in the order they were written.

    The base class is abstract and not named ``Test...``, so importing it into a test
    module does not make pytest collect it. Helpers to write more tests of your own:
    :func:`assert_events_equal`, :func:`round_trip_events`, :func:`numbered_events`,
    :func:`unicode_events`, :func:`large_events`.
    """
