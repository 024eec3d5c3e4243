"""The ``segment://`` destination: :class:`SegmentDestination` posts Segment Spec calls
to Segment's batch endpoint (or RudderStack's, with ``endpoint=``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ...adapters import OptionType, url_key
from ...errors import BackendError, ConfigError
from ...event import Event
from ...options import seconds
from ..events import forwardable
from ..transport import Poster, encode
from ..url import destination_url, endpoint_type, event_names_type, service_url
from .payload import message

__all__ = ["MAX_BATCH_BYTES", "MAX_MESSAGE_BYTES", "SegmentDestination"]

#: "The batch API endpoint accepts a maximum of 500KB per request, with a limit of
#: 32KB per event in the batch" (Segment's HTTP API, "Errors").
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
_ENVELOPE_BYTES = 100  # {"batch":[...],"sentAt":"..."} around the messages
_HOST = "https://api.segment.io"


def _event_name(name: str) -> str:
    if not name.strip():
        raise ValueError("an event name is not empty")
    return name


_OPTIONS: dict[str, OptionType] = {
    "endpoint": endpoint_type(),
    "events": event_names_type(_event_name),
    "timeout": seconds(),
}


class SegmentDestination:
    """Forward events to a Segment source (HTTP API) or RudderStack, extra ``http``.

    ::

        backend=["sqlite:///convsdk.db", "segment://WRITE_KEY"]
        backend=["segment://WRITE_KEY?endpoint=https://hosted.rudderlabs.com"]

    ``POST https://api.segment.io/v1/batch`` with the write key as the basic-auth user
    name and ``{"batch": [...], "sentAt": ...}``; a batch is sent in requests of at most
    500 KB, and a call over 32 KB is refused for good (dead-lettered) rather than sent.
    ``events`` renames goals (``{"demo_booked": "Demo Booked"}``). The write key never
    appears in ``repr``, logs or errors (the URL shows as ``segment://***``).
    """

    default_forward = "macro"
    """Forwarded by default: macro conversions (the fan-out's ``forward=`` changes it)."""

    takes_identify = True
    """The fan-out also forwards identify events, whatever ``forward=`` says: each is an
    ``identify`` call linking the visitor to the user id (hashed traits only)."""

    def __init__(
        self,
        write_key: str,
        *,
        endpoint: str | None = None,
        events: Mapping[str, str] | None = None,
        timeout: float = 5.0,
    ) -> None:
        if not write_key or not isinstance(write_key, str):
            raise ConfigError("the write key is missing: segment://WRITE_KEY", field="write_key")
        self.endpoint = endpoint
        self.events = dict(events or {})
        self.batch_url = service_url(endpoint, _HOST, "/v1/batch")
        """Where requests go."""
        self.destination_key = url_key(f"segment://{quote(write_key)}")
        """The key of its spool: the one ``segment://WRITE_KEY`` gives (a digest only)."""
        self._poster = Poster(
            "segment", timeout=timeout, secrets=(write_key,), auth=(write_key, "")
        )

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SegmentDestination:
        """Build from ``segment://WRITE_KEY?endpoint=...&events=...&timeout=...``
        (a keyword argument wins over the query)."""
        key, parsed = destination_url(
            url, "segment", "write_key", _OPTIONS, overrides=options, secret_id=True
        )
        return cls(key, **parsed.options)

    def __repr__(self) -> str:
        return f"SegmentDestination(write_key='***', endpoint={self.endpoint!r})"

    def write(self, events: Sequence[Event]) -> None:
        """Send the batch in requests of at most 500 KB; raise
        :class:`~convsdk.BackendError` unless Segment took them all."""
        self._poster.check_open()
        calls = [message(e, self.events) for e in events if forwardable(e)]
        sizes = [len(encode(call, "segment")) for call in calls]
        large = sum(1 for size in sizes if size > MAX_MESSAGE_BYTES)
        if large:
            # Refused before sending anything: the dispatcher splits the batch and
            # dead-letters only the calls too large.
            raise BackendError(
                f"{large} of {len(calls)} calls are over Segment's 32 KB limit",
                backend="segment",
                retryable=False,
            )
        for part in _parts(calls, sizes):
            sent_at = datetime.now(UTC).isoformat()
            self._poster.post(self.batch_url, {"batch": part, "sentAt": sent_at}, len(part))

    def close(self) -> None:
        """Close the HTTP client (more than once is fine); a later write raises."""
        self._poster.close()


def _parts(calls: list[dict[str, Any]], sizes: list[int]) -> Iterator[list[dict[str, Any]]]:
    """``calls`` in consecutive requests of at most :data:`MAX_BATCH_BYTES`."""
    part: list[dict[str, Any]] = []
    total = _ENVELOPE_BYTES
    for call, size in zip(calls, sizes, strict=True):
        if part and total + size + 1 > MAX_BATCH_BYTES:
            yield part
            part, total = [], _ENVELOPE_BYTES
        part.append(call)
        total += size + 1
    if part:
        yield part
