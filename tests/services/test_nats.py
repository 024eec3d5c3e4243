"""NATSBackend against a real NATS server with JetStream."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from convsdk._json import loads
from convsdk.backends import from_url
from convsdk.errors import BackendError, ConfigError
from convsdk.event import Event
from convsdk.testing import assert_events_equal, numbered_events, round_trip_events

pytest.importorskip("nats")

from nats.js.api import StreamConfig  # noqa: E402

from convsdk.backends.nats import NATSBackend, NATSTarget  # noqa: E402

pytestmark = pytest.mark.services


def _read_all(jetstream: Any, target: NATSTarget) -> list[tuple[dict[str, str], bytes]]:
    """Every message of the stream, through an ephemeral pull consumer."""

    async def work(js: Any) -> list[tuple[dict[str, str], bytes]]:
        info = await js.stream_info(target.stream)
        total = info.state.messages
        sub = await js.pull_subscribe(target.subject, stream=target.stream)
        got: list[tuple[dict[str, str], bytes]] = []
        while len(got) < total:
            for msg in await sub.fetch(total - len(got), timeout=5):
                got.append((dict(msg.headers or {}), msg.data))
                await msg.ack()
        await sub.unsubscribe()
        return got

    result: list[tuple[dict[str, str], bytes]] = jetstream(work)
    return result


def _loop_threads() -> int:
    return sum(t.name == "convsdk-nats" and t.is_alive() for t in threading.enumerate())


def test_round_trip_of_every_field(nats_stream_url: str, jetstream: Any) -> None:
    events = round_trip_events()
    backend = from_url(nats_stream_url)
    try:
        backend.write(events)
    finally:
        backend.close()
    messages = _read_all(jetstream, NATSTarget.from_url(nats_stream_url))
    assert [headers["Nats-Msg-Id"] for headers, _ in messages] == [e.event_id for e in events]
    assert_events_equal(events, [Event.from_dict(loads(data)) for _, data in messages])


def test_a_resent_batch_is_deduplicated_by_msg_id(nats_stream_url: str, jetstream: Any) -> None:
    target = NATSTarget.from_url(nats_stream_url)
    events = numbered_events(200, tag="resent")
    backend = from_url(nats_stream_url)
    try:
        backend.write(events[:50])
        backend.write(events)
        backend.write(events)
    finally:
        backend.close()

    async def count(js: Any) -> int:
        return int((await js.stream_info(target.stream)).state.messages)

    assert jetstream(count) == 200
    ids = [headers["Nats-Msg-Id"] for headers, _ in _read_all(jetstream, target)]
    assert sorted(ids) == sorted(e.event_id for e in events)


def test_the_stream_is_created_when_missing(nats_stream_url: str, jetstream: Any) -> None:
    target = NATSTarget.from_url(nats_stream_url)
    backend = from_url(nats_stream_url)
    try:
        backend.write(numbered_events(1))
    finally:
        backend.close()

    async def subjects(js: Any) -> list[str]:
        return list((await js.stream_info(target.stream)).config.subjects)

    assert jetstream(subjects) == [target.subject]


def test_an_existing_stream_is_used_as_it_is(nats_stream_url: str, jetstream: Any) -> None:
    # The wider subject stays under this test's own token: "convsdk.test.>" would
    # overlap the streams of tests running at the same time on the same server.
    own = NATSTarget.from_url(nats_stream_url)
    url = nats_stream_url.replace(f"/{own.subject}?", f"/{own.subject}.events?")
    target = NATSTarget.from_url(url)
    wider = f"{own.subject}.>"

    async def create(js: Any) -> None:
        await js.add_stream(StreamConfig(name=target.stream, subjects=[wider], max_msgs=10_000))

    jetstream(create)
    backend = from_url(url)
    try:
        backend.write(numbered_events(5))
    finally:
        backend.close()

    async def config(js: Any) -> tuple[list[str], int, int]:
        info = await js.stream_info(target.stream)
        return list(info.config.subjects), info.config.max_msgs, info.state.messages

    assert jetstream(config) == ([wider], 10_000, 5)


def test_a_stream_that_does_not_capture_the_subject_is_a_clear_retryable_error(
    nats_stream_url: str, jetstream: Any
) -> None:
    target = NATSTarget.from_url(nats_stream_url)

    async def create(js: Any) -> None:
        await js.add_stream(name=target.stream, subjects=[f"{target.subject}.elsewhere"])

    jetstream(create)
    backend = from_url(f"{nats_stream_url}&timeout=2")
    try:
        with pytest.raises(BackendError) as caught:
            backend.write(numbered_events(3))
    finally:
        backend.close()
    assert caught.value.retryable and caught.value.backend == "nats"
    assert "no JetStream stream captures the subject" in str(caught.value)


def test_close_stops_the_loop_thread(nats_stream_url: str) -> None:
    before = _loop_threads()
    backend = NATSBackend.from_url(nats_stream_url)
    backend.write(numbered_events(2))
    assert _loop_threads() == before + 1
    backend.close()
    assert _loop_threads() == before
    with pytest.raises(BackendError) as caught:
        backend.write(numbered_events(1))
    assert not caught.value.retryable


def test_unreachable_server_raises_a_retryable_error_in_time() -> None:
    backend = from_url("nats://127.0.0.1:1/convsdk.none?connect_timeout=0.5")
    started = time.monotonic()
    try:
        with pytest.raises(BackendError) as caught:
            backend.write(numbered_events(1))
    finally:
        backend.close()
    assert time.monotonic() - started < 20  # loose: returns, never waits for the server
    assert caught.value.retryable and caught.value.backend == "nats"
    assert "cannot connect" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("nats://127.0.0.1:4222/events.*", "subject"),
        ("nats://127.0.0.1:4222/events..x", "subject"),
        ("nats://127.0.0.1:4222/events?stream=A.B", "stream"),
        ("nats://127.0.0.1:4222/events?timeout=0", "timeout"),
        ("nats://127.0.0.1:4222/events?colour=blue", "colour"),
    ],
)
def test_bad_urls_are_config_errors(url: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_url(url)
    assert caught.value.field == field


def test_defaults() -> None:
    target = NATSTarget.from_url("nats://127.0.0.1:4222")
    assert (target.subject, target.stream) == ("convsdk.events", "CONVSDK")
    assert target.server == "nats://127.0.0.1:4222"
