"""The ``meta://`` destination: :class:`MetaDestination` sends events to Meta's
Conversions API."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from ...adapters import OptionType, url_key
from ...errors import BackendError, ConfigError
from ...event import Event
from ...options import Type, seconds
from ..events import IDENTIFY, chunks, forwardable
from ..transport import Poster
from ..url import destination_url, endpoint_type, event_names_type, service_url
from .names import check_event_name
from .payload import MAX_EVENTS, server_event, too_old

__all__ = ["DEFAULT_VERSION", "MetaDestination"]

#: The Graph API version posted to unless ``version=`` says another.
DEFAULT_VERSION = "v25.0"
_HOST = "https://graph.facebook.com"
_VERSION = re.compile(r"v?(\d+\.\d+)")
# Graph API error codes that are worth a retry: temporary errors and rate limits
# (1, 2, 4, 17, 32, 613), and an invalid or expired access token (190, 102), which
# someone fixes while the events wait in the spool.
_RETRY_CODES = frozenset({1, 2, 4, 17, 32, 102, 190, 613})


def _version(value: Any) -> str:
    found = _VERSION.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"must be a Graph API version such as {DEFAULT_VERSION!r}, got {value!r}")
    return f"v{found[1]}"


_OPTIONS: dict[str, OptionType] = {
    "access_token": str,
    "version": Type("version", _version, _version),
    "test_event_code": str,
    "send_ip": bool,
    "endpoint": endpoint_type(),
    "events": event_names_type(check_event_name),
    "timeout": seconds(),
}


class MetaDestination:
    """Forward events to a Meta pixel by the Conversions API, extra ``http``.

    ::

        backend=["sqlite:///convsdk.db", "meta://1234567890?access_token=..."]

    Each batch goes in requests of at most 1000 events ("you can send up to 1,000
    events in data") to ``POST https://graph.facebook.com/<version>/<PIXEL_ID>/events``
    with ``{"data": [...], "access_token": ..., "test_event_code": ...}``. ``version``
    defaults to :data:`DEFAULT_VERSION`; ``test_event_code`` sends to the Events
    Manager's test tab; ``events`` maps goal names to event names
    (``{"quote": "Lead"}``, or ``events=quote:Lead`` in the URL).

    ``send_ip`` (default off) adds ``client_ip_address``: the IP as the tracker stored
    it, which is anonymised (last octet zeroed) unless the tracker has
    ``anonymize_ip=False``; an anonymised IP lowers match quality. The access token
    never appears in the URL, ``repr``, logs or errors.
    """

    default_forward = "macro"
    """Forwarded by default: macro conversions (the fan-out's ``forward=`` changes it)."""

    def __init__(
        self,
        pixel_id: str,
        *,
        access_token: str,
        version: str = DEFAULT_VERSION,
        test_event_code: str | None = None,
        send_ip: bool = False,
        endpoint: str | None = None,
        events: Mapping[str, str] | None = None,
        timeout: float = 5.0,
    ) -> None:
        if not isinstance(pixel_id, str) or not pixel_id.isdigit():
            raise ConfigError(f"a pixel id is digits, got {pixel_id!r}", field="pixel_id")
        if not access_token or not isinstance(access_token, str):
            raise ConfigError(
                "the Conversions API access token is missing: meta://PIXEL_ID?access_token=...",
                field="access_token",
            )
        self.pixel_id = pixel_id
        self.version = _version(version)
        self.test_event_code = test_event_code
        self.send_ip = send_ip
        self.endpoint = endpoint
        self.events = dict(events or {})
        self.events_url = service_url(endpoint, _HOST, f"/{self.version}/{pixel_id}/events")
        """Where requests go."""
        self._token = access_token
        self._poster = Poster("meta", timeout=timeout, secrets=(access_token,))

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MetaDestination:
        """Build from ``meta://PIXEL_ID?access_token=...&test_event_code=TEST123``
        (options: ``access_token``, ``version``, ``test_event_code``, ``send_ip``,
        ``endpoint``, ``events``, ``timeout``; a keyword argument wins over the query)."""
        ident, parsed = destination_url(url, "meta", "pixel_id", _OPTIONS, overrides=options)
        if "access_token" not in parsed.options:
            raise ConfigError(
                "the Conversions API access token is missing: meta://PIXEL_ID?access_token=...",
                field="access_token",
                source=parsed.source,
            )
        return cls(ident, **parsed.options)

    @property
    def destination_key(self) -> str:
        """The key of its spool: the one ``meta://PIXEL_ID`` gives."""
        return url_key(f"meta://{quote(self.pixel_id)}")

    def __repr__(self) -> str:
        return (
            f"MetaDestination(pixel_id={self.pixel_id!r}, version={self.version!r}, "
            f"send_ip={self.send_ip}, endpoint={self.endpoint!r})"
        )

    def write(self, events: Sequence[Event]) -> None:
        """Send the batch in requests of 1000; raise :class:`~convsdk.BackendError`
        unless Meta took them all."""
        self._poster.check_open()
        sent = [e for e in events if e.name != IDENTIFY and forwardable(e)]
        now = time.time()
        old = sum(1 for e in sent if too_old(e, now))
        if old:
            # Meta refuses the whole request for one: refuse the batch here, so that the
            # dispatcher splits it and dead-letters only the old events.
            raise BackendError(
                f"{old} of {len(sent)} events are more than 7 days old; Meta refuses them",
                backend="meta",
                retryable=False,
            )
        for part in chunks(sent, MAX_EVENTS):
            data = [server_event(e, self.events, send_ip=self.send_ip) for e in part]
            body: dict[str, Any] = {"data": data, "access_token": self._token}
            if self.test_event_code:
                body["test_event_code"] = self.test_event_code
            response = self._poster.send(self.events_url, body)
            if not 200 <= response.status_code < 300:
                raise self._poster.refusal(response, len(data), retryable=_retryable(response))

    def close(self) -> None:
        """Close the HTTP client (more than once is fine); a later write raises."""
        self._poster.close()


def _retryable(response: httpx.Response) -> bool | None:
    """Whether the Graph API's error says a retry may succeed; ``None`` when it says
    nothing (the status decides)."""
    try:
        answer = response.json()
    except ValueError:
        return None
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return None
    if error.get("is_transient") or error.get("code") in _RETRY_CODES:
        return True
    return None
