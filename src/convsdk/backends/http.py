"""``http(s)://``: POST batches as JSON to a collector (extra ``http``).

Each batch is one request, ``{"events": [event.to_dict(), ...]}``, to the URL as given
(:mod:`convsdk.collector` is a collector that speaks this protocol)::

    backend = HTTPBackend("https://collector.example.com/ingest", token="s3cret", gzip=True)
    tracker = convsdk.Tracker(backend="https://collector.example.com/ingest?gzip=1&timeout=2",
                              ...)  # options in the query work too (never the token)

How the answer is read:

- 2xx: delivered.
- 408, 429, 5xx, a timeout or a connection error: :class:`convsdk.BackendError` with
  ``retryable=True`` and ``retry_after`` taken from the ``Retry-After`` header (seconds
  or an HTTP date), so the dispatcher tries again later.
- 413 (payload too large): the batch is split in halves, each sent on its own; a
  single event that is still too large fails like any other 4xx.
- any other status (4xx, an unexpected 1xx or 3xx; redirects are not followed):
  ``retryable=False``, since sending the same batch again cannot succeed; the dispatcher
  dead-letters it.

One :class:`httpx.Client` (connection keep-alive) is opened on the first write, in the
writer thread, and opened again in a forked child. The token is sent only in the
``Authorization`` header: it is never logged nor shown in ``repr`` or error messages.
"""

from __future__ import annotations

import gzip as gziplib
import logging
import math
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import httpx

from .._json import dumps
from .._urls import redact_url
from ..errors import BackendError, ConfigError
from ..event import Event

__all__ = ["HTTPBackend", "parse_retry_after"]

log = logging.getLogger("convsdk.backends.http")

try:
    _VERSION = version("convsdk")
except PackageNotFoundError:  # running from a source tree that is not installed
    _VERSION = "0"

USER_AGENT = f"convsdk/{_VERSION}"

# Query parameters read as options and removed from the URL posted to.
_URL_OPTIONS = frozenset({"gzip", "gzip_level", "timeout", "connect_timeout", "token"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


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


class HTTPBackend:
    """Send each batch to a collector as one JSON POST.

    ``headers`` are added to every request (``token`` is the shorthand for
    ``Authorization: Bearer <token>``); ``gzip=True`` compresses the body
    (``Content-Encoding: gzip``); ``timeout`` bounds each request (seconds, default 5),
    ``connect_timeout`` the connection alone (default: ``timeout``); ``verify`` is
    passed to httpx (``False`` or a CA bundle path for private certificates).

    >>> backend = HTTPBackend("https://collector.example.com/ingest", token="s3cret")
    >>> backend.write(events)
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        gzip: bool = False,
        gzip_level: int = 6,
        timeout: float = 5.0,
        connect_timeout: float | None = None,
        verify: bool | str = True,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                "an HTTP backend URL looks like 'https://collector.example.com/ingest'",
                field="backend",
                source=redact_url(url),
            )
        if token is not None and not token:
            raise ConfigError("token is empty", field="token", source=redact_url(url))
        if not 1 <= gzip_level <= 9:
            raise ConfigError(f"gzip_level must be 1 to 9, got {gzip_level}", field="gzip_level")
        for name, seconds in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
                raise ConfigError(f"{name} must be a positive number of seconds", field=name)
        self.url = url
        self.gzip = gzip
        self.gzip_level = gzip_level
        self.timeout = timeout
        self.connect_timeout = timeout if connect_timeout is None else connect_timeout
        self._verify = verify
        self._headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        self._headers.update(headers or {})
        if token is not None:
            self._headers["Authorization"] = f"Bearer {token}"
        if gzip:
            self._headers["Content-Encoding"] = "gzip"
        self._client: httpx.Client | None = None
        self._pid = 0

    @classmethod
    def from_url(cls, url: str, **options: Any) -> HTTPBackend:
        """Build from ``http(s)://host/path?gzip=1&timeout=2&token=...``.

        ``token``, ``gzip``, ``gzip_level``, ``timeout`` and ``connect_timeout`` in the
        query are options (a keyword argument wins over the query) and are removed from
        the URL posted to; any other query parameter is kept.
        """
        parts = urlsplit(url)
        kept: list[str] = []
        from_query: dict[str, Any] = {}
        for piece in parts.query.split("&") if parts.query else ():
            raw_key, _, raw_value = piece.partition("=")
            key = unquote_plus(raw_key)
            if key not in _URL_OPTIONS:
                kept.append(piece)  # as written: re-encoding could change what the server sees
                continue
            from_query[key] = _parse_option(key, unquote_plus(raw_value), url)
        target = urlunsplit(parts._replace(query="&".join(kept)))
        return cls(target, **{**from_query, **options})

    def __repr__(self) -> str:
        url = redact_url(self.url)
        return f"HTTPBackend(url={url!r}, gzip={self.gzip}, timeout={self.timeout})"

    def write(self, events: Sequence[Event]) -> None:
        """POST the batch; raise :class:`convsdk.BackendError` unless the collector took it."""
        if not events:
            return
        response = self._post(events)
        status = response.status_code
        if 200 <= status < 300:
            return
        if status == 413 and len(events) > 1:
            # The collector caps request bodies: halves are smaller. Halves already sent
            # are sent again if a later one fails; the collector's sink drops duplicates.
            half = len(events) // 2
            log.debug("collector refused %d events as too large; splitting", len(events))
            self.write(events[:half])
            self.write(events[half:])
            return
        raise _status_error(response, len(events))

    def close(self) -> None:
        """Close the connection pool (a later write opens a new one)."""
        client, self._client = self._client, None
        if client is not None and self._pid == os.getpid():
            client.close()

    def _post(self, events: Sequence[Event]) -> httpx.Response:
        try:
            body = dumps({"events": [event.to_dict() for event in events]})
        except (TypeError, ValueError) as exc:
            raise BackendError(
                f"cannot serialise the batch as JSON: {exc}", backend="http", retryable=False
            ) from exc
        if self.gzip:
            body = gziplib.compress(body, compresslevel=self.gzip_level, mtime=0)
        client = self._client
        if client is None or self._pid != os.getpid():
            # A client inherited through fork shares its sockets with the parent: never
            # reuse (nor close) it in the child.
            client = self._client = self._open()
        try:
            return client.post(self.url, content=body)
        except httpx.TimeoutException as exc:
            raise BackendError(
                f"{redact_url(self.url)} did not answer in time ({type(exc).__name__})",
                backend="http",
                retryable=True,
            ) from exc
        except httpx.RequestError as exc:
            raise BackendError(
                f"cannot reach {redact_url(self.url)}: {type(exc).__name__}: {exc}",
                backend="http",
                retryable=True,
            ) from exc

    def _open(self) -> httpx.Client:
        self._pid = os.getpid()
        return httpx.Client(
            headers=self._headers,
            timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
            verify=self._verify,
            follow_redirects=False,
        )


def _status_error(response: httpx.Response, count: int) -> BackendError:
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


def _parse_option(key: str, value: str, url: str) -> Any:
    if key == "token":
        return value  # sent as "Authorization: Bearer ...", never in the URL
    if key == "gzip":
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ConfigError(
            f"gzip must be 1 or 0, got {value!r}", field="gzip", source=redact_url(url)
        )
    try:
        return int(value) if key == "gzip_level" else float(value)
    except ValueError:
        raise ConfigError(
            f"{key} must be a number, got {value!r}", field=key, source=redact_url(url)
        ) from None
