from __future__ import annotations

import pytest

import convsdk
from convsdk import ConfigError, Goal, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.context import RequestContext, activate, deactivate
from convsdk.tracker import set_default


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
            "macro", "purchase", 10.0, "EUR"
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


def test_tracker_options_list_every_keyword_of_the_tracker() -> None:
    import inspect

    from convsdk.tracker import TrackerOptions

    keywords = [
        name for name, p in inspect.signature(Tracker.__init__).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert list(TrackerOptions.__annotations__) == keywords


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
