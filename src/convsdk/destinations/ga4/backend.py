"""The ``ga4://`` destination: :class:`GA4Destination` sends events to Google Analytics 4
with the Measurement Protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from ...adapters import OptionType, url_key
from ...errors import BackendError, ConfigError
from ...event import Event
from ...options import choice, seconds
from ..transport import Poster
from ..url import destination_url, endpoint_type, event_names_type, service_url
from .names import check_event_name
from .payload import requests

__all__ = ["GA4Destination"]

_HOSTS = {
    "global": "https://www.google-analytics.com",
    "eu": "https://region1.google-analytics.com",
}
_OPTIONS: dict[str, OptionType] = {
    "api_secret": str,
    "region": choice(*_HOSTS),
    "validate": bool,
    "endpoint": endpoint_type(),
    "events": event_names_type(check_event_name),
    "timeout": seconds(),
}


class GA4Destination:
    """Forward events to a GA4 web data stream (Measurement Protocol), extra ``http``.

    ::

        backend=["sqlite:///convsdk.db", "ga4://G-XXXXXXX?api_secret=..."]

    Google's guide: "POST /mp/collect" on ``www.google-analytics.com``, with
    ``api_secret`` ("generated in the Google Analytics UI") and ``measurement_id`` in the
    request URL. ``region="eu"`` posts to ``region1.google-analytics.com`` (data
    collected in the EU); ``validate=True`` posts to ``/debug/mp/collect``, whose answer
    lists "validation messages", and raises a permanent error for any (the collect
    endpoint answers 2xx to anything). ``endpoint`` replaces the scheme and host (a
    test server, a proxy). ``events`` maps goal names to GA4 event names
    (``{"demo_booked": "generate_lead"}``, or ``events=demo_booked:generate_lead,...``
    in the URL); see :func:`~convsdk.destinations.ga4.payload.ga4_event_name` for the
    rest. The API secret never appears in ``repr``, logs or errors.

    GA4 keeps no event ids, so it cannot drop a duplicate: when a later request of a
    batch fails, the whole batch is sent again, its first requests included.
    """

    default_forward = "macro"
    """Forwarded by default: macro conversions (the fan-out's ``forward=`` changes it)."""

    def __init__(
        self,
        measurement_id: str,
        *,
        api_secret: str,
        region: str = "global",
        validate: bool = False,
        endpoint: str | None = None,
        events: Mapping[str, str] | None = None,
        timeout: float = 5.0,
    ) -> None:
        if not measurement_id or not isinstance(measurement_id, str):
            raise ConfigError("the measurement id is missing", field="measurement_id")
        if not api_secret or not isinstance(api_secret, str):
            raise ConfigError(
                "the Measurement Protocol API secret is missing: ga4://G-XXXX?api_secret=...",
                field="api_secret",
            )
        self.measurement_id = measurement_id
        self.region = region
        self.validate = validate
        self.endpoint = endpoint
        self.events = dict(events or {})
        path = "/debug/mp/collect" if validate else "/mp/collect"
        query = urlencode({"measurement_id": measurement_id})
        self.collect_url = service_url(endpoint, _HOSTS[region], path)
        """Where requests go (the measurement id and API secret are added to its query)."""
        self._url = f"{self.collect_url}?{query}"
        self._poster = Poster("ga4", timeout=timeout, secret_query={"api_secret": api_secret})

    @classmethod
    def from_url(cls, url: str, **options: Any) -> GA4Destination:
        """Build from ``ga4://MEASUREMENT_ID?api_secret=...&region=eu&validate=1``
        (options: ``api_secret``, ``region``, ``validate``, ``endpoint``, ``events``,
        ``timeout``; a keyword argument wins over the query)."""
        ident, parsed = destination_url(url, "ga4", "measurement_id", _OPTIONS, overrides=options)
        if "api_secret" not in parsed.options:
            raise ConfigError(
                "the Measurement Protocol API secret is missing: ga4://G-XXXX?api_secret=...",
                field="api_secret",
                source=parsed.source,
            )
        return cls(ident, **parsed.options)

    @property
    def destination_key(self) -> str:
        """The key of its spool: the one ``ga4://MEASUREMENT_ID`` gives."""
        return url_key(f"ga4://{quote(self.measurement_id)}")

    def __repr__(self) -> str:
        return (
            f"GA4Destination(measurement_id={self.measurement_id!r}, region={self.region!r}, "
            f"validate={self.validate}, endpoint={self.endpoint!r})"
        )

    def write(self, events: Sequence[Event]) -> None:
        """Send the batch, one request per client and 25 events; raise
        :class:`~convsdk.BackendError` unless GA4 took every request."""
        self._poster.check_open()
        for body in requests(events, self.events):
            count = len(body["events"])
            response = self._poster.post(self._url, body, count)
            if self.validate:
                self._check_validation(response, count)

    def _check_validation(self, response: httpx.Response, count: int) -> None:
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            raise BackendError(
                "the validation server's answer is not JSON", backend="ga4"
            ) from None
        messages = answer.get("validationMessages") if isinstance(answer, dict) else None
        if not messages:
            return
        described = "; ".join(
            f"{m.get('fieldPath', '?')}: {m.get('description', m)}"
            if isinstance(m, dict)
            else str(m)
            for m in messages
        )
        raise BackendError(
            self._poster.scrub(f"GA4 validation refused {count} events: {described}"),
            backend="ga4",
            retryable=False,
        )

    def close(self) -> None:
        """Close the HTTP client (more than once is fine); a later write raises."""
        self._poster.close()
