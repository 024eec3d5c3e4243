"""The ``http(s)://`` backend: :class:`HTTPBackend` posts each batch as one JSON request
on a keep-alive client of its own, splitting a batch the collector finds too large."""

from __future__ import annotations

import gzip as gziplib
import logging
import math
import os
import threading
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..._json import dumps
from ..._urls import redact_url, url_key
from ...errors import BackendError, ConfigError
from ...event import Event
from .answer import status_error
from .url import split_url

__all__ = ["USER_AGENT", "HTTPBackend"]

log = logging.getLogger("convsdk.backends.http")

try:
    _VERSION = version("convsdk")
except PackageNotFoundError:  # running from a source tree that is not installed
    _VERSION = "0"

USER_AGENT = f"convsdk/{_VERSION}"


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
        self._pid = os.getpid()
        self._closed = False
        # Guards the client's creation and closing: httpx's client itself is thread-safe.
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> HTTPBackend:
        """Build from ``http(s)://host/path?gzip=1&timeout=2&token=...``.

        ``token``, ``gzip``, ``gzip_level``, ``timeout`` and ``connect_timeout`` in the
        query are options (a keyword argument wins over the query) and are removed from
        the URL posted to; any other query parameter is kept.
        """
        target, from_query = split_url(url)
        return cls(target, **{**from_query, **options})

    @property
    def destination_key(self) -> str:
        """The key of its spool: the one its URL gives (scheme, host and path)."""
        return url_key(self.url)

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
        raise status_error(response, len(events))

    def close(self) -> None:
        """Close the connection pool (more than once is fine); a later :meth:`write`
        raises a permanent :class:`~convsdk.BackendError`."""
        with self._lock:
            self._closed = True
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
        client = self._client_for_this_process()
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

    def _client_for_this_process(self) -> httpx.Client:
        if self._pid != os.getpid():
            # A client (and lock) inherited through fork shares its sockets with the
            # parent: never reuse (nor close) it in the child.
            self._lock = threading.Lock()
            self._client = None
            self._pid = os.getpid()
        with self._lock:
            if self._closed:
                raise BackendError("written after close()", backend="http", retryable=False)
            client = self._client
            if client is None:
                client = self._client = self._open()
            return client

    def _open(self) -> httpx.Client:
        return httpx.Client(
            headers=self._headers,
            timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
            verify=self._verify,
            follow_redirects=False,
        )
