"""The ASGI middleware delivers its tracker's events at lifespan shutdown, and changes
nothing else: the tracker stays open for the app to start again (a test client runs a
lifespan for each test), unless what it holds cannot be delivered in time."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from convsdk import Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.integrations.asgi import ConversionMiddleware
from convsdk.tracker import set_default
from faults import BlockingBackend

Message = dict[str, Any]
STARTUP: Message = {"type": "lifespan.startup"}
SHUTDOWN: Message = {"type": "lifespan.shutdown"}


@pytest.fixture
def queued(memory: MemoryBackend) -> Iterator[Tracker]:
    """A tracker whose events stay queued until something flushes or closes it."""
    tracker = Tracker(backend=memory, spool_dir=None, flush_interval=30.0)
    yield tracker
    tracker.close()


class Server:
    """Plays the server's side of the lifespan protocol; records what the app sends."""

    def __init__(self, tracker: Tracker, memory: MemoryBackend) -> None:
        self.inbox = [STARTUP, SHUTDOWN]
        self.sent: list[Message] = []
        # At each message the server gets: was the tracker closed, how many delivered.
        self.seen: list[tuple[str, bool, int]] = []
        self.tracker, self.memory = tracker, memory

    async def receive(self) -> Message:
        return self.inbox.pop(0)

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        self.seen.append((message["type"], self.tracker.closed, len(self.memory.events)))

    async def run(self, app: Any) -> None:
        await app(
            {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, self.receive, self.send
        )


def lifespan_app(received: list[Message], on_shutdown: Any = None) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        while True:
            message = await receive()
            received.append(message)
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if on_shutdown is not None:
                    on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return app


async def test_shutdown_delivers_before_the_server_hears_complete(
    queued: Tracker, memory: MemoryBackend
) -> None:
    for n in range(3):
        queued.track("queued", kind="micro", properties={"n": n})
    received: list[Message] = []
    server = Server(queued, memory)
    await server.run(ConversionMiddleware(lifespan_app(received), tracker=queued))
    assert server.seen == [
        ("lifespan.startup.complete", False, 0),
        ("lifespan.shutdown.complete", False, 3),
    ]
    assert received == [STARTUP, SHUTDOWN]
    assert received[1] is SHUTDOWN  # the very same messages


async def test_events_of_the_app_shutdown_code_are_delivered(
    queued: Tracker, memory: MemoryBackend
) -> None:
    app = lifespan_app([], on_shutdown=lambda: queued.track("stopping", kind="micro"))
    await Server(queued, memory).run(ConversionMiddleware(app, tracker=queued))
    assert [e.name for e in memory.events] == ["stopping"]


async def test_the_default_tracker_delivers_when_the_middleware_follows_it(
    queued: Tracker, memory: MemoryBackend
) -> None:
    queued.track("queued", kind="micro")
    previous = set_default(queued)
    try:
        server = Server(queued, memory)
        await server.run(ConversionMiddleware(lifespan_app([])))
    finally:
        set_default(previous)
    assert server.seen[-1] == ("lifespan.shutdown.complete", False, 1)


async def test_the_tracker_delivers_off_the_event_loop_thread(
    queued: Tracker, memory: MemoryBackend
) -> None:
    threads: list[threading.Thread] = []
    flush = queued.flush

    def spy(timeout: float = 5.0) -> bool:
        threads.append(threading.current_thread())
        return flush(timeout)

    queued.flush = spy  # type: ignore[method-assign]
    await Server(queued, memory).run(ConversionMiddleware(lifespan_app([]), tracker=queued))
    assert len(threads) == 1 and threads[0] is not threading.current_thread()


async def test_an_app_without_lifespan_raises_as_before(
    queued: Tracker, memory: MemoryBackend
) -> None:
    async def http_only(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("only http")

    server = Server(queued, memory)
    with pytest.raises(RuntimeError, match="only http"):
        await server.run(ConversionMiddleware(http_only, tracker=queued))
    assert server.sent == [] and not queued.closed


async def test_an_app_that_returns_at_once_is_left_alone(
    queued: Tracker, memory: MemoryBackend
) -> None:
    async def ignores(scope: Any, receive: Any, send: Any) -> None:
        return None

    server = Server(queued, memory)
    await server.run(ConversionMiddleware(ignores, tracker=queued))
    assert server.sent == [] and not queued.closed and server.inbox == [STARTUP, SHUTDOWN]


async def test_a_failed_startup_reaches_the_server_unchanged(
    queued: Tracker, memory: MemoryBackend
) -> None:
    failed = {"type": "lifespan.startup.failed", "message": "no database"}

    async def fails(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send(failed)

    server = Server(queued, memory)
    await server.run(ConversionMiddleware(fails, tracker=queued))
    assert server.sent == [failed] and server.sent[0] is failed and not queued.closed


async def test_an_app_that_ends_without_answering_the_shutdown_still_delivers(
    queued: Tracker, memory: MemoryBackend
) -> None:
    async def quits(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()  # the shutdown: returns without a word

    queued.track("queued", kind="micro")
    server = Server(queued, memory)
    await server.run(ConversionMiddleware(quits, tracker=queued))
    assert not queued.closed and len(memory.events) == 1


def test_starlette_add_middleware_and_mounted_sub_app_deliver_once_at_shutdown(
    queued: Tracker, memory: MemoryBackend
) -> None:
    async def home(request: Any) -> PlainTextResponse:
        queued.track("home", kind="micro")
        return PlainTextResponse("ok")

    sub = Starlette(routes=[Route("/", home)])
    sub.add_middleware(ConversionMiddleware, tracker=queued)
    stopped: list[int] = []
    flushes: list[float] = []
    flush = queued.flush

    def counted(timeout: float = 5.0) -> bool:
        flushes.append(timeout)
        return flush(timeout)

    queued.flush = counted  # type: ignore[method-assign]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        stopped.append(len(memory.events))  # the app's own shutdown code runs first

    app = Starlette(
        routes=[Route("/", home), Mount("/a", sub), Mount("/b", sub)], lifespan=lifespan
    )
    app.add_middleware(ConversionMiddleware, tracker=queued)
    with TestClient(app) as client:
        for path in ("/", "/a/", "/b/"):
            assert client.get(path).status_code == 200
        assert memory.events == []
    assert stopped == [0]
    assert len(flushes) == 1 and not queued.closed
    assert [e.name for e in memory.events] == ["home"] * 3


def test_the_app_started_again_records_again(queued: Tracker, memory: MemoryBackend) -> None:
    """A test client per test, around one app and tracker: each lifespan's events are
    delivered at its shutdown, and the next one records as the first did."""

    async def home(request: Any) -> PlainTextResponse:
        queued.track("home", kind="micro")
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(ConversionMiddleware, tracker=queued)
    for run in (1, 2, 3):
        with TestClient(app) as client:
            assert client.get("/").status_code == 200
        assert len(memory.events) == run
    assert queued.stats()["dropped"] == 0


async def test_what_a_hung_backend_holds_is_spooled_and_the_tracker_closed(
    tmp_path: Any,
) -> None:
    hung = BlockingBackend()
    tracker = Tracker(backend=hung, spool_dir=tmp_path, flush_interval=30.0, shutdown_timeout=0.2)
    try:
        for n in range(5):
            tracker.track("queued", kind="micro", properties={"n": n})
        server = Server(tracker, hung)
        await server.run(ConversionMiddleware(lifespan_app([]), tracker=tracker))
        assert hung.entered.is_set()
        assert server.seen[-1] == ("lifespan.shutdown.complete", True, 0)
        stats = tracker.stats()
        assert stats["spooled"] == 5 and stats["dropped"] == 0
    finally:
        hung.release.set()
        tracker.close()
    stored = BlockingBackend()  # the same destination, up: the next process's tracker replays
    stored.release.set()
    with Tracker(backend=stored, spool_dir=tmp_path) as replaying:
        assert replaying.flush(10)
    assert sorted(e.properties["n"] for e in stored.events) == [0, 1, 2, 3, 4]
