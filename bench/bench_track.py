"""Microseconds per ``track()`` on the calling thread, side by side with peers.

Run: ``python bench/bench_track.py`` (installs nothing: Segment's and PostHog's SDKs
come from the ``bench`` extra). Peers are configured so they never reach the
network: Segment with ``send=False``, PostHog with ``send=False`` and a loopback host.
"""

from __future__ import annotations

import functools
import json
import queue
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _util import NOTE, per_call_us, table  # noqa: E402

import convsdk  # noqa: E402
from convsdk.event import Event, make_event  # noqa: E402

PROPS = {"plan": "pro", "price": 49.0, "seats": 3}


class NullBackend:
    def write(self, events: Sequence[Event]) -> None:
        pass

    def close(self) -> None:
        pass


class NullForwarder(NullBackend):
    default_forward = "macro"  # a forwarding destination: this micro conversion is not sent


def main() -> None:
    rows: list[list[object]] = []
    tracker = convsdk.Tracker(backend=NullBackend(), spool_dir=None, max_queue_size=10_000_000)
    ours = per_call_us(lambda: tracker.track("checkout_started", kind="micro", properties=PROPS))
    tracker.close()
    rows.append(["convsdk Tracker.track()", ours])
    for label, backends in (
        ("two stores", [NullBackend(), NullBackend()]),
        ("a store and a forwarder (macro only)", [NullBackend(), NullForwarder()]),
    ):
        fanned = convsdk.Tracker(backend=backends, spool_dir=None, max_queue_size=10_000_000)
        track = functools.partial(fanned.track, "checkout_started", kind="micro", properties=PROPS)
        t = per_call_us(track)
        fanned.close()
        rows.append([f"  to {label}", t])

    try:
        from segment.analytics.client import Client as SegmentClient

        seg = SegmentClient(write_key="bench", send=False, max_queue_size=10_000_000)
        t = per_call_us(lambda: seg.track("user-1", "checkout_started", PROPS))
        seg.shutdown()
        rows.append(["Segment analytics.track() (send=False)", t])
    except ImportError:
        rows.append(["Segment (not installed: pip install -e '.[bench]')", "-"])

    try:
        from posthog import Posthog

        ph = Posthog("bench", host="http://127.0.0.1:9", send=False, max_queue_size=10_000_000)
        t = per_call_us(
            lambda: ph.capture("checkout_started", distinct_id="user-1", properties=PROPS)
        )
        ph.shutdown()
        rows.append(["PostHog capture() (send=False)", t])
    except ImportError:
        rows.append(["PostHog (not installed: pip install -e '.[bench]')", "-"])

    q: queue.SimpleQueue[object] = queue.SimpleQueue()
    rows.append(["baseline: SimpleQueue.put", per_call_us(lambda: q.put(1))])
    event = make_event("checkout_started", kind="micro", properties=PROPS)
    rows.append(["baseline: json.dumps(event)", per_call_us(lambda: json.dumps(event.to_dict()))])
    try:
        import orjson

        rows.append(
            ["baseline: orjson.dumps(event)", per_call_us(lambda: orjson.dumps(event.to_dict()))]
        )
    except ImportError:
        pass

    out = []
    for name, value in rows:
        ratio = f"{value / ours:.1f}x" if isinstance(value, float) else "-"
        out.append([name, value, ratio])
    print(f"track() cost on the calling thread, median µs per call {NOTE}")
    print(table(["call", "µs/call", "vs convsdk"], out))


if __name__ == "__main__":
    main()
