"""A site forwarding to GA4, Meta and Segment at once, beside its store: the fan-out
(``backend=[...]``, ``forward=``), the middleware's click ids and cookies, identify()
and the three destinations together, each against its stand-in."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import pytest

pytest.importorskip("httpx")
pytest.importorskip("convsdk.fanout", reason="needs the fan-out (backend=[...])")

import convsdk  # noqa: E402
from convsdk import Goal  # noqa: E402
from convsdk.backends.memory import MemoryBackend  # noqa: E402
from convsdk.integrations.wsgi import ConversionMiddleware  # noqa: E402

from .standin import StandIn, serving  # noqa: E402
from .test_ga4 import MID, SECRET, check_ga4  # noqa: E402
from .test_meta import PIXEL, TOKEN, check_meta  # noqa: E402
from .test_segment import KEY, check_segment  # noqa: E402

if not hasattr(convsdk, "identify"):
    pytest.skip("needs convsdk.identify()", allow_module_level=True)

from werkzeug.test import Client  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402


def site(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    if Request(environ).path == "/login":
        convsdk.identify("user-1", {"email": " Ada@Example.com "})
    return Response("<html>ok</html>", mimetype="text/html")(environ, start_response)


def test_one_visit_reaches_each_destination_as_each_expects() -> None:
    with (
        serving(StandIn(check_ga4)) as ga4,
        serving(StandIn(check_meta)) as meta,
        serving(StandIn(check_segment)) as segment,
    ):
        store = MemoryBackend()
        goals = [
            Goal.micro("pricing", event="page_view", path="/pricing"),
            Goal.macro("demo_booked", event="page_view", path="/booked"),
        ]
        tracker = convsdk.init(
            backend=[
                store,
                f"ga4://{MID}?api_secret={SECRET}&endpoint={ga4.base}",
                f"meta://{PIXEL}?access_token={TOKEN}&endpoint={meta.base}&forward=all",
                f"segment://{KEY}?endpoint={segment.base}&forward=macro,pricing",
            ],
            goals=goals,
            spool_dir=None,
            secret_key="k" * 32,
        )
        try:
            browser = Client(ConversionMiddleware(site, tracker=tracker))
            browser.set_cookie("_ga", "GA1.1.111.222")
            browser.set_cookie("_fbp", "fb.1.1700000000000.42")
            for path in ("/pricing?fbclid=ABC", "/login", "/booked"):
                browser.get(path, headers={"User-Agent": "Mozilla/5.0 (X11)"})
            assert tracker.flush(timeout=10)
        finally:
            tracker.close()
        booked = store.events[-1]
        assert [e.name for e in store.events] == ["page_view", "identify", "page_view", "page_view"]

    [ga4_body] = ga4.bodies()  # the macro conversion only
    assert ga4_body["client_id"] == "111.222" and ga4_body["user_id"] == "user-1"
    assert [e["name"] for e in ga4_body["events"]] == ["demo_booked"]

    [meta_body] = meta.bodies()  # everything but the identify event
    names = [item["event_name"] for item in meta_body["data"]]
    assert names == ["pricing", "PageView", "Schedule"]
    schedule = meta_body["data"][-1]
    assert schedule["event_id"] == booked.event_id
    user = schedule["user_data"]
    assert user["em"] == [hashlib.sha256(b"ada@example.com").hexdigest()]
    assert user["fbp"] == "fb.1.1700000000000.42" and user["fbc"].endswith(".ABC")
    assert user["external_id"][-1] == hashlib.sha256(b"user-1").hexdigest()

    [segment_body] = segment.bodies()
    calls = [(c.get("event", c["type"]), c.get("userId")) for c in segment_body["batch"]]
    # identify reaches Segment whatever forward= says, with the hashed email only
    assert calls == [("pricing", None), ("identify", "user-1"), ("demo_booked", "user-1")]
    assert segment_body["batch"][1]["traits"] == {"em": user["em"][0]}
