"""``nats://``: events published to NATS JetStream (extra ``nats``).

::

    nats://broker.internal:4222/convsdk.events?stream=CONVSDK
    nats://user:password@broker.internal:4222/convsdk.events

The path is the subject (default ``convsdk.events``); ``stream`` names the JetStream
stream (default ``CONVSDK``), created with that one subject if it does not exist (create
it yourself to choose retention, replicas and limits). Query options, all in seconds:
``timeout`` (default 10) bounds a batch's acknowledgements, ``connect_timeout``
(default 5) a connection attempt, ``ack_wait`` (default 30) is how long a consumer
(:func:`convsdk.consume.consume`) has before JetStream delivers an unacknowledged
message again.

Every message carries the header ``Nats-Msg-Id: <event_id>``, so JetStream drops a
batch sent again within the stream's duplicate window (two minutes by default).

nats-py is asyncio; the backend is not. It runs one event loop in a daemon thread of
its own (:class:`EventLoopThread`, started on the first write) and waits for each batch
there with a timeout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import re
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from .._json import dumps
from .._urls import redact_url
from ..errors import BackendError, ConfigError
from ..event import Event

__all__ = [
    "DEFAULT_STREAM",
    "DEFAULT_SUBJECT",
    "EventLoopThread",
    "NATSBackend",
    "NATSTarget",
    "ensure_stream",
    "open_connection",
]

logger = logging.getLogger("convsdk.nats")

DEFAULT_SUBJECT = "convsdk.events"
DEFAULT_STREAM = "CONVSDK"
_BACKEND = "nats"
_T = TypeVar("_T")

_SUBJECT = re.compile(r"[^\s.*>]+(\.[^\s.*>]+)*\Z")
_STREAM = re.compile(r"[A-Za-z0-9_-]{1,255}\Z")
_SECONDS = ("timeout", "connect_timeout", "ack_wait")


@dataclass(frozen=True)
class NATSTarget:
    """Where a ``nats://`` URL points: server, subject, stream and timeouts (seconds)."""

    server: str
    subject: str = DEFAULT_SUBJECT
    stream: str = DEFAULT_STREAM
    timeout: float = 10.0
    connect_timeout: float = 5.0
    ack_wait: float = 30.0
    source: str = ""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> NATSTarget:
        """Parse ``nats://[user:pass@]host:port/subject?stream=...``; keywords win."""
        parts = urlsplit(url)
        source = redact_url(url)
        if parts.scheme != "nats" or not parts.hostname:
            raise ConfigError(
                "a NATS URL looks like nats://host:4222/subject", field="backend", source=source
            )
        given: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        given.update(options)
        known = {"stream", *_SECONDS}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ConfigError(
                f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                field=unknown[0],
                source=source,
            )
        subject = unquote(parts.path.lstrip("/")) or DEFAULT_SUBJECT
        if not _SUBJECT.match(subject):
            raise ConfigError(
                "subject must be dot-separated tokens without spaces or wildcards, "
                f"got {subject!r}",
                field="subject",
                source=source,
            )
        stream = given.get("stream", DEFAULT_STREAM)
        if not isinstance(stream, str) or not _STREAM.match(stream):
            raise ConfigError(
                f"stream must be letters, digits, '-' and '_', got {stream!r}",
                field="stream",
                source=source,
            )
        seconds = {name: _seconds(given[name], name, source) for name in _SECONDS if name in given}
        server = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        return cls(server=server, subject=subject, stream=stream, source=source, **seconds)


def _seconds(value: Any, name: str, source: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ConfigError(
            f"{name} must be a number of seconds, got {value!r}", field=name, source=source
        )
    return seconds


class EventLoopThread:
    """An asyncio event loop in a daemon thread, for calling async code from sync code.

    >>> loop = EventLoopThread("convsdk-nats")
    >>> loop.run(asyncio.sleep(0.1, "done"), timeout=1.0)
    'done'
    >>> loop.stop(timeout=1.0)

    The thread starts on the first :meth:`run`.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float) -> _T:
        """Run ``coro`` on the loop and return its result; cancel it after ``timeout``.

        Raises :class:`TimeoutError` when it did not finish in time, and whatever the
        coroutine raised otherwise.
        """
        loop = self._start()
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            if future.done():  # the coroutine's own TimeoutError (the same class)
                raise
            future.cancel()
            raise TimeoutError(f"no answer within {timeout:g}s") from None

    def stop(self, timeout: float) -> None:
        """Stop the loop (cancelling what still runs there) and join the thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            logger.warning("the %s event loop did not stop within %gs", self._name, timeout)

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=self._main, args=(loop,), name=self._name)
                thread.daemon = True
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    @staticmethod
    def _main(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            # Let cancelled tasks unwind so nothing is destroyed while pending.
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=2.0))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


async def open_connection(target: NATSTarget) -> Client:
    """Connect to ``target.server`` within ``target.connect_timeout``.

    The client reconnects by itself after a drop (buffering what is published
    meanwhile); once connected, its errors and state changes are logged on
    ``convsdk.nats``. Raises :class:`~convsdk.BackendError` when it cannot connect.
    """
    client = Client()
    connected = False
    last_error = ""

    async def on_error(exc: Exception) -> None:
        nonlocal last_error
        if connected:
            logger.warning("NATS error: %s", _describe(exc))
        else:  # reported by the exception below instead
            last_error = _describe(exc)

    async def on_disconnect() -> None:
        if connected and not client.is_closed:  # closing on purpose says nothing
            logger.warning("disconnected from NATS at %s", target.source)

    async def on_reconnect() -> None:
        logger.info("reconnected to NATS at %s", target.source)

    try:
        await asyncio.wait_for(
            client.connect(
                servers=[target.server],
                name="convsdk",
                connect_timeout=target.connect_timeout,  # type: ignore[arg-type]
                max_reconnect_attempts=-1,
                drain_timeout=target.timeout,  # type: ignore[arg-type]
                error_cb=on_error,
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
            ),
            timeout=target.connect_timeout,
        )
        connected = True
    except TimeoutError:
        detail = f" ({last_error})" if last_error else ""
        raise BackendError(
            f"cannot connect to {target.source} within {target.connect_timeout:g}s{detail}",
            backend=_BACKEND,
        ) from None
    except Exception as exc:
        raise BackendError(
            f"cannot connect to {target.source}: {_describe(exc)}", backend=_BACKEND
        ) from exc
    finally:
        if not connected:  # failed, timed out or cancelled: stop its reconnect loop
            await _close_quietly(client)
    return client


async def _close_quietly(client: Client) -> None:
    try:
        await asyncio.wait_for(client.close(), timeout=2.0)
    except Exception:
        logger.debug("error closing a NATS connection", exc_info=True)


async def ensure_stream(js: JetStreamContext, target: NATSTarget) -> None:
    """Create ``target.stream`` capturing ``target.subject`` if no such stream exists.

    An existing stream is left as it is: publish acknowledgements tell whether it
    captures the subject.
    """
    try:
        await js.stream_info(target.stream)
        return
    except nats.js.errors.NotFoundError:
        pass
    try:
        await js.add_stream(name=target.stream, subjects=[target.subject])
        logger.info("created JetStream stream %s for %s", target.stream, target.subject)
    except nats.js.errors.BadRequestError as exc:
        # Created meanwhile by another process, or the subject already belongs to
        # another stream, which then stores the messages: both are fine to publish to.
        logger.info("JetStream stream %s not created: %s", target.stream, exc.description)


class NATSBackend:
    """Publish events to JetStream, deduplicated by ``Nats-Msg-Id``; see :meth:`from_url`.

    >>> backend = NATSBackend.from_url("nats://broker:4222/convsdk.events?stream=CONVSDK")
    """

    def __init__(self, target: NATSTarget) -> None:
        self._target = target
        self._loop: EventLoopThread | None = None
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._stream_ready = False
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> NATSBackend:
        """Build from ``nats://host:4222/subject?stream=NAME``; keyword options win."""
        return cls(NATSTarget.from_url(url, **options))

    @property
    def target(self) -> NATSTarget:
        """The server, subject, stream and timeouts in use."""
        return self._target

    def write(self, events: Sequence[Event]) -> None:
        """Publish the batch concurrently; raise a retryable BackendError unless all are acked."""
        if not events:
            return
        try:
            messages = [(e.event_id, dumps(e.to_dict())) for e in events]
        except (TypeError, ValueError) as exc:
            raise BackendError(
                f"an event cannot be serialised: {exc}", backend=_BACKEND, retryable=False
            ) from exc
        target = self._target
        with self._lock:
            if self._closed:
                raise BackendError("the backend is closed", backend=_BACKEND, retryable=False)
            if os.getpid() != self._pid:
                # The loop thread did not survive the fork and the socket is the parent's.
                self._pid = os.getpid()
                self._loop, self._client, self._js = None, None, None
            if self._loop is None:
                self._loop = EventLoopThread("convsdk-nats")
            try:
                # The coroutine bounds each step itself; this is the backstop.
                self._loop.run(self._publish(messages), target.connect_timeout + 3 * target.timeout)
            except BackendError:
                raise
            except Exception as exc:
                raise BackendError(_describe(exc), backend=_BACKEND) from exc

    def close(self) -> None:
        """Drain the connection (publishes in flight finish) and stop the loop thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, self._loop = self._loop, None
            if loop is None:
                return
            try:
                loop.run(self._shutdown(), self._target.timeout + 2)
            except Exception as exc:
                logger.warning("NATS connection not drained: %s", _describe(exc))
            loop.stop(timeout=5.0)

    # -- on the loop thread -----------------------------------------------------------

    async def _jetstream(self) -> JetStreamContext:
        client = self._client
        if client is None or client.is_closed or self._js is None:
            client = await open_connection(self._target)
            self._client, self._js = client, client.jetstream(timeout=self._target.timeout)
            self._stream_ready = False
        js = self._js
        if not self._stream_ready:
            await ensure_stream(js, self._target)
            self._stream_ready = True
        return js

    async def _publish(self, messages: list[tuple[str, bytes]]) -> None:
        js = await self._jetstream()
        subject = self._target.subject
        futures: list[asyncio.Future[Any]] = []
        try:
            for event_id, data in messages:
                futures.append(
                    await js.publish_async(subject, data, headers={"Nats-Msg-Id": event_id})
                )
            results = await asyncio.wait_for(
                asyncio.gather(*futures, return_exceptions=True), self._target.timeout
            )
        except TimeoutError:
            raise BackendError(
                f"no acknowledgement within {self._target.timeout:g}s", backend=_BACKEND
            ) from None
        finally:
            for future in futures:
                future.cancel()  # no-op when done; frees nats-py's bookkeeping otherwise
        failures = [r for r in results if isinstance(r, Exception)]
        if failures:
            if any(isinstance(f, nats.js.errors.NoStreamResponseError) for f in failures):
                self._stream_ready = False  # the stream may be gone: make sure again next time
            raise BackendError(
                f"{len(failures)} of {len(messages)} messages not acknowledged: "
                f"{_describe(failures[0])}",
                backend=_BACKEND,
            )

    async def _shutdown(self) -> None:
        client, self._client, self._js = self._client, None, None
        if client is None or client.is_closed:
            return
        try:
            await asyncio.wait_for(client.drain(), self._target.timeout)
        except Exception as exc:
            logger.warning("NATS drain failed (%s); closing", _describe(exc))
        if not client.is_closed:
            await _close_quietly(client)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, nats.js.errors.NoStreamResponseError):
        return "no JetStream stream captures the subject (is JetStream enabled?)"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
