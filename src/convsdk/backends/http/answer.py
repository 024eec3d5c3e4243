"""Reading a collector's answer: which statuses are worth a retry, and when
(``Retry-After``), as the :class:`~convsdk.BackendError` the dispatcher acts on."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from ..._urls import redact_url
from ...errors import BackendError

__all__ = ["parse_retry_after", "status_error"]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    ``None`` when the header is absent or unreadable; a date in the past gives ``0.0``.

    >>> parse_retry_after("120")
    120.0
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def status_error(response: httpx.Response, count: int) -> BackendError:
    """The error for an answer that is not 2xx (nor a 413 to split), for ``count`` events."""
    status = response.status_code
    retryable = status in (408, 429) or status >= 500
    detail = response.text[:200].strip() if response.content else ""
    message = f"{redact_url(str(response.request.url))} answered {status} to {count} events"
    if 300 <= status < 400 and "location" in response.headers:
        message += f" (redirected to {response.headers['location']}; use that URL)"
    if detail:
        message += f": {detail}"
    retry_after = parse_retry_after(response.headers.get("retry-after")) if retryable else None
    return BackendError(message, backend="http", retryable=retryable, retry_after=retry_after)
