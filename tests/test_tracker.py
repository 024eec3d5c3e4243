from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

import pytest

import convsdk
from convsdk import ConfigError, Goal, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.context import RequestContext, activate, deactivate
from convsdk.tracker import set_default

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def test_track_records_and_flush_delivers(tracker: Tracker, memory: MemoryBackend) -> None:
    event = tracker.track("video_played", kind="micro", properties={"video": "demo"})
    assert event is not None
    assert tracker.flush(timeout=5)
    [stored] = memory.events
    assert stored.event_id == event.event_id
    assert (stored.name, stored.kind, stored.goal) == ("video_played", "micro", "video_played")
    assert stored.properties == {"video": "demo"}
    stats = tracker.stats()
    assert stats["enqueued"] == 1 and stats["delivered"] == 1 and stats["queued"] == 0


def test_plain_events_have_no_kind(tracker: Tracker) -> None:
    event = tracker.track("page_view")
    assert event is not None and event.kind is None and event.goal is None


def test_goal_classifies_a_tracked_event(memory: MemoryBackend) -> None:
    goals = [Goal.micro("watched_demo", event="video_played", stage="consideration")]
    with Tracker(backend=memory, goals=goals, spool_dir=None) as t:
        event = t.track("video_played")
    assert event is not None
    assert (event.kind, event.goal) == ("micro", "watched_demo")


def test_a_goal_named_without_a_kind_takes_the_configured_goals(memory: MemoryBackend) -> None:
    goals = [Goal.macro("purchase", event="bought", value=10.0, currency="EUR")]
    with Tracker(backend=memory, goals=goals, spool_dir=None) as t:
        event = t.track("order_placed", goal="purchase")
        assert event is not None
        assert (event.kind, event.goal, event.value, event.currency) == (
            "macro",
            "purchase",
            10.0,
            "EUR",
        )
        with pytest.raises(ValueError, match="kind"):
            t.track("order_placed", goal="not_configured")


def test_properties_are_copied_when_tracked(tracker: Tracker, memory: MemoryBackend) -> None:
    properties: dict[str, object] = {"step": 1, "items": [{"sku": "A"}]}
    first = tracker.track("checkout_step", properties=properties)
    properties["step"] = 2
    properties["items"][0]["sku"] = "B"  # type: ignore[index]
    properties["bad"] = object()  # after track(): it must not reach the event
    assert tracker.flush(timeout=5)
    assert first is not None and first.properties == {"step": 1, "items": [{"sku": "A"}]}
    assert memory.events[0].properties == {"step": 1, "items": [{"sku": "A"}]}


def test_value_takes_the_tracker_currency(memory: MemoryBackend) -> None:
    with Tracker(backend=memory, currency="eur", spool_dir=None) as t:
        event = t.track("purchase", kind="macro", value=19.99)
    assert event is not None and event.currency == "EUR" and event.value == 19.99


def test_invalid_track_raises_and_enqueues_nothing(tracker: Tracker) -> None:
    with pytest.raises(ValueError, match="currency"):
        tracker.track("purchase", kind="macro", value=10, currency="dollars")
    with pytest.raises(ValueError, match="properties"):
        tracker.track("x", properties={"bad": object()})
    assert tracker.stats()["enqueued"] == 0


def test_request_context_is_attached(tracker: Tracker) -> None:
    ctx = RequestContext(
        method="GET", path="/pricing", visitor_id="v1", session_id="s1", utm={"source": "google"}
    )
    token = activate(ctx)
    try:
        event = tracker.track("video_played", kind="micro")
    finally:
        deactivate(token)
    assert event is not None
    assert (event.visitor_id, event.session_id) == ("v1", "s1")
    assert event.context["path"] == "/pricing"
    assert event.context["utm"] == {"source": "google"}


def test_opted_out_and_anonymous_requests(tracker: Tracker) -> None:
    token = activate(RequestContext(path="/", visitor_id="v1", track=False))
    try:
        assert tracker.track("x") is None
    finally:
        deactivate(token)
    token = activate(RequestContext(path="/", visitor_id="v1", session_id="s1", anonymous=True))
    try:
        event = tracker.track("x")
    finally:
        deactivate(token)
    assert event is not None and event.visitor_id is None and event.session_id is None


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"backend": "nosuch://x"}, "backend"),
        ({"backend": "not a url"}, "backend"),
        ({"backend": 42}, "backend"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"flush_interval": -1}, "flush_interval"),
        ({"max_queue_size": "big"}, "max_queue_size"),
        ({"shutdown_timeout": float("nan")}, "shutdown_timeout"),
        ({"session_timeout": 0}, "session_timeout"),
        ({"currency": "euro"}, "currency"),
        ({"goals": 12}, "goals"),
    ],
)
def test_bad_configuration_raises_config_error_naming_the_field(options: dict, field: str) -> None:
    options.setdefault("backend", "memory://")
    with pytest.raises(ConfigError) as info:
        Tracker(spool_dir=None, **options)
    assert info.value.field == field
    assert field in str(info.value)


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="sqlite"):
        Tracker(backend="nosuch://x", spool_dir=None)


def test_module_level_api_uses_the_default_tracker(memory: MemoryBackend) -> None:
    previous = set_default(None)
    try:
        assert convsdk.track("x") is None  # before init: nothing, no error
        t = convsdk.init(backend=memory, spool_dir=None)
        assert convsdk.get_tracker() is t
        assert convsdk.track("signup", kind="macro") is not None
        assert convsdk.flush(timeout=5)
        assert [e.name for e in memory.events] == ["signup"]
        t2 = convsdk.init(backend=MemoryBackend(), spool_dir=None)
        assert t.closed and convsdk.get_tracker() is t2
        assert convsdk.close()
        with pytest.raises(convsdk.ConvSDKError):
            convsdk.get_tracker()
    finally:
        set_default(previous)


def test_close_is_idempotent_and_closes_the_backend(memory: MemoryBackend) -> None:
    t = Tracker(backend=memory, spool_dir=None)
    t.track("x")
    assert t.close() is True
    assert t.close() is True
    assert memory.closed
    assert [e.name for e in memory.events] == ["x"]


def test_secret_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVSDK_SECRET_KEY", "s3cret")
    with Tracker(backend="memory://", spool_dir=None) as t:
        assert t.secret_key == "s3cret"


def test_tracker_options_list_every_tracker_option() -> None:
    from convsdk import options
    from convsdk.tracker import TrackerOptions

    assert list(TrackerOptions.__annotations__) == options.names(options.TRACKER)


def test_max_value_bounds_tracked_values(memory: MemoryBackend) -> None:
    goals = [Goal.macro("purchase", event="bought", value_from="property:total")]
    with Tracker(backend=memory, goals=goals, spool_dir=None, max_value=1000) as t:
        kept = t.track("bought", properties={"total": "999.50"})
        dropped = t.track("bought", properties={"total": "1,000,000"})
        refund = t.track("refund", kind="macro", value=-5000.0, currency="EUR")
        assert t.flush(5)
        assert t.stats()["values_dropped"] == 2
    assert kept is not None and kept.value == 999.5
    assert dropped is not None and dropped.value is None and dropped.goal == "purchase"
    assert refund is not None and (refund.value, refund.currency) == (None, None)
    assert [e.value for e in memory.events] == [999.5, None, None]


def test_max_value_defaults_to_a_billion_and_is_checked(memory: MemoryBackend) -> None:
    with Tracker(backend=memory, spool_dir=None) as t:
        assert t.max_value == 1e9
        assert t.stats()["values_dropped"] == 0
    with pytest.raises(ConfigError, match="max_value"):
        Tracker(backend=memory, spool_dir=None, max_value=-1)


# -- off switch --------------------------------------------------------------------------


def _convsdk_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "convsdk-dispatch"]


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_a_disabled_tracker_builds_nothing_and_writes_nothing(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = set(_convsdk_threads())
    goals = [Goal.macro("purchase", event="bought")]
    if how == "environment":
        monkeypatch.setenv("CONVSDK_DISABLED", "1")
        tracker = Tracker(goals=goals, durable=True)
    else:
        tracker = Tracker(goals=goals, durable=True, enabled=False)
    event = tracker.track("bought", value=5)
    assert event is not None and event.goal == "purchase"  # built, never emitted
    assert tracker.emit(event)
    assert tracker.flush(timeout=5)
    stats = dict(tracker.stats())
    assert stats.pop("destinations") == {}
    assert set(stats.values()) == {0}
    assert set(_convsdk_threads()) == before
    assert tracker.close()
    assert list(tmp_path.iterdir()) == []  # no convsdk.db, no .convsdk-spool


def test_disabled_decorators_and_middleware_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convsdk.integrations.wsgi import ConversionMiddleware

    monkeypatch.chdir(tmp_path)
    tracker = convsdk.init(enabled=False, secret_key="k")
    try:
        calls = []

        @convsdk.track_macro("purchase")
        def view() -> str:
            convsdk.annotate(value=3)
            calls.append(1)
            return "ok"

        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            start_response("200 OK", [("Content-Type", "text/html")])
            return [view().encode()]

        middleware = ConversionMiddleware(app)
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/",
            "wsgi.url_scheme": "http",
            "SERVER_NAME": "x",
            "SERVER_PORT": "80",
            "HTTP_USER_AGENT": CHROME,
        }
        seen: list[Any] = []
        body = middleware(environ, lambda status, headers, exc=None: seen.append(headers))
        assert b"".join(body) == b"ok" and calls == [1]
        assert any(name == "Set-Cookie" for name, _ in seen[0])  # cookies still set
        assert tracker.stats()["delivered"] == 0
    finally:
        convsdk.close()
    assert list(tmp_path.iterdir()) == []


# -- lifecycle ---------------------------------------------------------------------------


def test_the_worker_starts_with_the_first_event(memory: MemoryBackend) -> None:
    before = set(_convsdk_threads())
    with Tracker(backend=memory, spool_dir=None) as tracker:
        assert set(_convsdk_threads()) == before
        assert tracker.flush(timeout=5)  # nothing to deliver: still no thread
        assert set(_convsdk_threads()) == before
        tracker.track("signup")
        assert len(set(_convsdk_threads()) - before) == 1
        assert tracker.flush(timeout=5)
    assert [e.name for e in memory.events] == ["signup"]


@pytest.mark.parametrize("how", ["flush", "close"])
def test_events_a_previous_process_left_in_the_spool_are_delivered(
    how: str, tmp_path: Path
) -> None:
    class Down:
        destination_key = "the-store"  # the store, down in this process

        def write(self, events: Any) -> None:
            raise OSError("down")

        def close(self) -> None:
            pass

    class Up(MemoryBackend):
        destination_key = "the-store"  # the same store, back in the next one

    spool = tmp_path / "spool"
    with Tracker(backend=Down(), spool_dir=spool, max_retries=0, shutdown_timeout=1) as first:
        first.track("signup")
        assert not first.flush(timeout=5)
    memory = Up()
    second = Tracker(backend=memory, spool_dir=spool)  # records nothing itself
    if how == "flush":
        assert second.flush(timeout=5)
    assert second.close()
    assert [e.name for e in memory.events] == ["signup"]


def test_a_dropped_tracker_stops_its_worker(memory: MemoryBackend) -> None:
    tracker = Tracker(backend=memory, spool_dir=None)
    tracker.track("signup")
    thread = tracker._dispatcher.lanes[0].dispatcher._thread  # type: ignore[union-attr]
    assert thread is not None and thread.is_alive()
    del tracker
    gc.collect()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert [e.name for e in memory.events] == ["signup"]  # delivered on the way out


def test_a_closed_tracker_stops_its_worker(memory: MemoryBackend) -> None:
    tracker = Tracker(backend=memory, spool_dir=None)
    tracker.track("signup")
    thread = tracker._dispatcher.lanes[0].dispatcher._thread  # type: ignore[union-attr]
    assert thread is not None
    tracker.close()
    assert not thread.is_alive()


def test_convsdk_track_shows_the_tracker_methods_arguments() -> None:
    import inspect

    method = list(inspect.signature(Tracker.track).parameters.values())[1:]  # no self
    function = list(inspect.signature(convsdk.track).parameters.values())
    assert function == method
    assert inspect.signature(convsdk.track).return_annotation == "Event | None"
