"""What each destination gets: the consent rule, ``forward=``, page-view sampling by
visitor, and ``before_send`` hooks (the tracker's and a destination's own)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from convsdk import Destination, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.event import Event, make_event

from .conftest import Forwarder, names, visit


@pytest.fixture
def store() -> MemoryBackend:
    return MemoryBackend()


def fan_out(*backends: object, **options: object) -> Tracker:
    return Tracker(backend=list(backends), spool_dir=None, **options)  # type: ignore[arg-type]


@pytest.fixture
def trackers() -> Iterator[list[Tracker]]:
    opened: list[Tracker] = []
    yield opened
    for tracker in opened:
        tracker.close()


def send(tracker: Tracker, *events: Event) -> None:
    for event in events:
        assert tracker.emit(event)
    assert tracker.flush(timeout=5)


def test_a_forwarding_destination_gets_macro_conversions_and_stores_get_all(
    store: MemoryBackend,
) -> None:
    forwarder = Forwarder()
    with fan_out(store, forwarder) as tracker:
        send(
            tracker,
            visit("page_view"),
            visit("signup", kind="micro"),
            visit("purchase", kind="macro", value=10, currency="USD"),
        )
        assert names(store) == ["page_view", "signup", "purchase"]
        assert names(forwarder) == ["purchase"]
        assert tracker.stats()["destinations"]["Forwarder"]["filtered"] == 2


@pytest.mark.parametrize(
    ("forward", "expected"),
    [
        ("micro", ["signup", "newsletter"]),
        ("all", ["page_view", "signup", "purchase", "newsletter"]),
        ("newsletter", ["newsletter"]),
        ("macro, newsletter", ["purchase", "newsletter"]),
        (["micro", "purchase"], ["signup", "purchase", "newsletter"]),
    ],
)
def test_forward_names_kinds_and_goals(forward: str | list[str], expected: list[str]) -> None:
    forwarder = Forwarder()
    with fan_out(MemoryBackend(), Destination(forwarder, forward=forward)) as tracker:
        send(
            tracker,
            visit("page_view"),
            visit("signup", kind="micro", goal="signup"),
            visit("purchase", kind="macro", goal="purchase"),
            visit("newsletter", kind="micro", goal="newsletter"),
        )
    assert names(forwarder) == expected


def test_forward_in_the_url_is_the_fan_outs_not_the_backends(tmp_path: object) -> None:
    db = f"sqlite:///{tmp_path}/events.db"
    dest = Destination(f"{db}?forward=purchase,signup&sample_page_views=0.5")
    assert dest.target == db  # the backend never sees them
    assert dest.forward == ("purchase", "signup")
    assert dest.sample_page_views == 0.5


def test_a_store_can_be_filtered_too(store: MemoryBackend) -> None:
    with fan_out(Destination(store, forward="macro")) as tracker:
        send(tracker, visit("page_view"), visit("purchase", kind="macro"))
    assert names(store) == ["purchase"]


def test_visitors_who_opted_out_are_stored_never_forwarded(store: MemoryBackend) -> None:
    forwarder = Forwarder()
    everything = Forwarder()
    with fan_out(store, forwarder, Destination(everything, forward="all")) as tracker:
        private = visit("purchase", visitor=None, kind="macro")  # DNT/GPC or refused
        webhook = make_event("purchase", kind="macro")  # outside a request: context {}
        send(tracker, private, webhook)
        assert [e.event_id for e in store.events] == [private.event_id, webhook.event_id]
        assert [e.event_id for e in forwarder.events] == [webhook.event_id]
        assert [e.event_id for e in everything.events] == [webhook.event_id]
        assert tracker.stats()["destinations"]["Forwarder#2"]["filtered"] == 1


def test_page_view_sampling_keeps_or_drops_a_visitor_whole(store: MemoryBackend) -> None:
    sampled = MemoryBackend()
    with fan_out(store, Destination(sampled, sample_page_views=0.5)) as tracker:
        events = [visit("page_view", f"visitor-{v}") for v in range(200) for _ in range(3)]
        send(tracker, *events)
        stats = tracker.stats()["destinations"]
    kept = [e.visitor_id for e in sampled.events]
    assert {v: kept.count(v) for v in set(kept)} == dict.fromkeys(set(kept), 3)  # all or none
    assert 60 <= len(set(kept)) <= 140  # about half of the 200 visitors
    assert stats["MemoryBackend#2"]["sampled"] == 600 - len(kept)
    assert len(store.events) == 600  # the other destination is not sampled


def test_sampling_is_the_same_in_every_process_and_never_touches_conversions() -> None:
    runs = []
    for _ in range(2):
        sampled = MemoryBackend()
        with fan_out(Destination(sampled, sample_page_views=0.3)) as tracker:
            send(tracker, *[visit("page_view", f"visitor-{v}") for v in range(100)])
            send(
                tracker,
                *[visit("page_view", f"visitor-{v}", kind="micro") for v in range(100)],
                *[visit("purchase", f"visitor-{v}", kind="macro") for v in range(100)],
            )
        runs.append(sampled.events)
    first, second = ([e.visitor_id for e in run if e.kind is None] for run in runs)
    assert first == second and 0 < len(first) < 100
    for run in runs:
        assert sum(e.kind is not None for e in run) == 200  # conversions: every one


def test_sample_page_views_0_sends_no_page_view_and_1_every_one() -> None:
    none, every = MemoryBackend(), MemoryBackend()
    tracker = fan_out(
        Destination(none, sample_page_views=0), Destination(every, sample_page_views=1.0)
    )
    with tracker:
        send(tracker, *[visit("page_view", f"v{v}") for v in range(50)])
    assert (len(none.events), len(every.events)) == (0, 50)


def test_the_trackers_hook_edits_a_copy_for_every_destination(store: MemoryBackend) -> None:
    other = MemoryBackend()

    def scrub(event: Event) -> Event | None:
        event.properties.pop("email", None)
        return event

    with fan_out(store, other, before_send=scrub) as tracker:
        event = tracker.track("signup", kind="micro", properties={"email": "a@b.c", "plan": 1})
        assert tracker.flush(timeout=5)
    assert event is not None and event.properties == {"email": "a@b.c", "plan": 1}  # untouched
    for backend in (store, other):
        [got] = backend.events
        assert got.properties == {"plan": 1} and got.event_id == event.event_id


def test_a_destinations_hook_changes_only_what_it_gets(store: MemoryBackend) -> None:
    forwarder = MemoryBackend()

    def rename(event: Event) -> Event:
        event.name = "Purchase"
        event.context["utm"]["source"] = "meta"
        return event

    with fan_out(store, Destination(forwarder, before_send=rename)) as tracker:
        original = visit("purchase", kind="macro")
        original.context["utm"] = {"source": "newsletter"}
        send(tracker, original)
    assert [(e.name, e.context["utm"]) for e in store.events] == [
        ("purchase", {"source": "newsletter"})
    ]
    assert [(e.name, e.context["utm"]) for e in forwarder.events] == [
        ("Purchase", {"source": "meta"})
    ]
    assert original.name == "purchase" and original.context["utm"] == {"source": "newsletter"}


def test_hooks_drop_and_fail_without_reaching_the_app(
    store: MemoryBackend, caplog: pytest.LogCaptureFixture
) -> None:
    dropping, failing, global_drop = MemoryBackend(), MemoryBackend(), MemoryBackend()

    def drop_tests(event: Event) -> Event | None:
        return None if event.properties.get("test") else event

    def broken(event: Event) -> Event | None:
        raise RuntimeError("bug in the hook")

    def not_an_event(event: Event) -> Event | None:
        return {"name": "oops"}  # type: ignore[return-value]

    tracker = fan_out(
        store,
        Destination(dropping, before_send=drop_tests),
        Destination(failing, before_send=broken),
        Destination(global_drop, before_send=not_an_event),
    )
    with tracker, caplog.at_level(logging.WARNING, logger="convsdk"):
        assert tracker.track("order", kind="macro", properties={"test": True}) is not None
        assert tracker.track("order", kind="macro") is not None
        assert tracker.flush(timeout=5)
        stats = tracker.stats()["destinations"]
    assert len(store.events) == 2 and len(dropping.events) == 1
    assert failing.events == [] and global_drop.events == []
    assert stats["MemoryBackend#2"]["hook_dropped"] == 1
    assert stats["MemoryBackend#3"]["hook_errors"] == 2
    assert stats["MemoryBackend#4"]["hook_errors"] == 2
    assert stats["MemoryBackend"]["hook_dropped"] == stats["MemoryBackend"]["hook_errors"] == 0
    assert "bug in the hook" in caplog.text and "not an Event" in caplog.text


def test_the_trackers_hook_dropping_an_event_counts_for_each_destination(
    store: MemoryBackend,
) -> None:
    other = Forwarder()
    with fan_out(store, other, before_send=lambda event: None) as tracker:
        assert tracker.track("purchase", kind="macro") is not None
        assert tracker.flush(timeout=5)
        stats = tracker.stats()
    assert store.events == [] and other.events == []
    assert [d["hook_dropped"] for d in stats["destinations"].values()] == [1, 1]
    assert stats["enqueued"] == 0 and stats["dropped"] == 0


def test_a_hook_on_a_single_backend_is_applied(store: MemoryBackend) -> None:
    def tag(event: Event) -> Event:
        event.properties["via"] = "hook"
        return event

    with Tracker(backend=store, spool_dir=None, before_send=tag) as tracker:
        tracker.track("signup", kind="micro")
        assert tracker.flush(timeout=5)
    assert [e.properties for e in store.events] == [{"via": "hook"}]


class IdentifyingForwarder(Forwarder):
    """A forwarding destination that takes identify calls (as Segment does)."""

    takes_identify = True


def test_identify_events_reach_destinations_that_take_them_whatever_forward_says(
    store: MemoryBackend,
) -> None:
    identifying, plain = IdentifyingForwarder(), Forwarder()
    with fan_out(store, Destination(identifying, forward="purchase"), plain) as tracker:
        send(
            tracker,
            visit("identify", user_id="u-1"),
            visit("page_view", user_id="u-1"),
            visit("purchase", kind="macro", goal="purchase", user_id="u-1"),
            visit("identify", None, user_id="u-2"),  # opted out: never
        )
    assert names(identifying) == ["identify", "purchase"]
    assert names(plain) == ["purchase"]
