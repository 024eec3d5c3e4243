"""convsdk.testing: the convsdk_events pytest fixture and capture_events()."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import convsdk
from convsdk import Goal, runtime
from convsdk.runtime import set_default
from convsdk.testing import CapturedEvents, capture_events

pytest_plugins = ["pytester"]

# Inner pytest runs: warnings are errors, as here, and they must not depend on the
# optional plugins this environment happens to have.
INNER = ("-p", "no:cacheprovider", "-p", "no:asyncio", "-W", "error")

# A shop whose middleware and decorators are set up without a tracker: they use the
# default tracker, looked up on each request, which the fixture replaces.
FLASK_SHOP = """
    import flask
    import pytest

    from convsdk import annotate, track_macro, track_micro
    from convsdk.integrations.wsgi import ConversionMiddleware

    app = flask.Flask(__name__)
    app.wsgi_app = ConversionMiddleware(app.wsgi_app)

    @app.get("/")
    def home():
        return "<h1>shop</h1>"

    @app.post("/checkout")
    @track_macro("purchase", currency="EUR")
    def checkout():
        annotate(value=float(flask.request.form["total"]), transaction_id="order-7")
        return flask.redirect("/thanks")

    @app.post("/newsletter")
    @track_micro("newsletter")
    def newsletter():
        return "thanks"

    @pytest.fixture
    def client():
        return app.test_client()
"""


def test_fixture_captures_a_flask_apps_conversions(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        conftest=FLASK_SHOP,
        test_shop="""
        def test_checkout(client, convsdk_events):
            client.get("/")
            client.post("/checkout", data={"total": "49.90"})
            purchase = convsdk_events.macro("purchase")
            assert purchase.value == 49.9
            assert purchase.currency == "EUR"
            assert purchase.transaction_id == "order-7"
            assert purchase.context["path"] == "/checkout"
            assert convsdk_events.names()[0] == "page_view"
            assert [e.goal for e in convsdk_events.conversions()] == ["purchase"]

        def test_each_test_starts_empty(client, convsdk_events):
            client.post("/newsletter")
            assert [e.goal for e in convsdk_events.conversions()] == ["newsletter"]
            assert convsdk_events.micro().goal == "newsletter"
        """,
        # A module overriding convsdk_tracker_options configures its tests' tracker.
        test_tracker_options="""
        import pytest
        import convsdk
        from convsdk import Goal

        @pytest.fixture
        def convsdk_tracker_options():
            return {"goals": [Goal.micro("watched", event="video_played")], "currency": "GBP"}

        def test_goal_classifies(convsdk_events):
            convsdk.track("video_played", value=3)
            event = convsdk_events.micro("watched")
            assert (event.name, event.currency) == ("video_played", "GBP")
            assert convsdk_events.tracker is convsdk.get_tracker()
        """,
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=3)


def test_fixture_captures_an_app_factory_whatever_the_fixture_order(
    pytester: pytest.Pytester,
) -> None:
    # The setups a README reader writes: a tracker handed to the extension, or
    # convsdk.init() in the factory then ConvSDK(app); the client fixture before or
    # after convsdk_events. init() must not close the capturing tracker.
    pytester.makepyfile(
        conftest="""
        import flask
        import pytest

        import convsdk
        from convsdk import track_macro
        from convsdk.integrations.flask import ConvSDK

        def create_app(setup):
            app = flask.Flask(__name__)

            @app.post("/signup")
            @track_macro("signup")
            def signup():
                return "welcome"

            tracker = convsdk.init(backend="memory://", spool_dir=None, secret_key="k")
            if setup == "tracker":
                ConvSDK(app, tracker=tracker)
            else:
                ConvSDK(app)
            return app

        @pytest.fixture(params=["tracker", "init"])
        def client(request):
            return create_app(request.param).test_client()
        """,
        test_factory="""
        def test_fixture_first(convsdk_events, client):
            client.post("/signup")
            assert convsdk_events.macro("signup").context["path"] == "/signup"

        def test_client_first(client, convsdk_events):
            client.post("/signup")
            assert convsdk_events.macro("signup").context["path"] == "/signup"
        """,
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=4)


def test_failed_expectations_say_what_was_recorded(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        conftest=FLASK_SHOP,
        test_shop="""
        def test_checkout(client, convsdk_events):
            client.post("/newsletter")
            client.get("/")
            assert convsdk_events.macro("purchase").value == 49.9

        def test_nothing(convsdk_events):
            convsdk_events.macro()
        """,
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E * expected exactly one macro conversion for goal 'purchase', found 0.",
            "E * Recorded events (*):",
            "E *   1. newsletter, micro goal='newsletter', POST /newsletter",
            "E *   *. page_view, GET /",
        ]
    )
    # When nothing at all was recorded, the likely cause: the app holds its own tracker.
    result.stdout.fnmatch_lines(
        [
            "E * expected exactly one macro conversion, found 0.",
            "E * No events were recorded. *convsdk_events.tracker*",
        ]
    )
    # Tracebacks end in the user's test, not inside convsdk.
    result.stdout.no_fnmatch_line("*convsdk/testing*")


def test_base_contract_class_is_not_collected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_imports_only="""
        from convsdk.testing import BackendContract
        """,
        test_backend="""
        from convsdk.backends.memory import MemoryBackend
        from convsdk.testing import BackendContract

        class SharedBase(BackendContract):
            supports_dedupe = False

        class TestMemory(SharedBase):
            def make_backend(self, tmp_path):
                return MemoryBackend()

            def read_back(self, backend):
                return backend.events
        """,
    )
    # Even when their names count as test class names, the abstract classes are skipped.
    pytester.makeini("[pytest]\npython_classes = *Contract *Base Test*\n")
    result = pytester.runpytest("--collect-only", "-q", *INNER)
    ids = [line for line in result.outlines if "::" in line]
    assert ids, result.outlines
    assert all(line.startswith("test_backend.py::TestMemory::test_") for line in ids), ids
    assert "test_backend.py::TestMemory::test_round_trip_every_field" in ids


def test_the_plugin_imports_next_to_nothing() -> None:
    """Every pytest run where convsdk is installed loads the plugin: it imports pytest and
    convsdk's package files, none of the tracker, its dependencies, a framework or a
    driver (the fixture imports them when a test asks for it)."""
    code = textwrap.dedent(
        """
        import sys
        import pytest
        before = set(sys.modules)
        import convsdk.testing.plugin
        print(sorted(set(sys.modules) - before))
        import convsdk.testing
        print(convsdk.testing.capture_events.__module__)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded, helper = out.stdout.splitlines()
    assert loaded == str(["convsdk", "convsdk._lazy", "convsdk.testing", "convsdk.testing.plugin"])
    assert helper == "convsdk.testing.capture"


# -- capture_events / CapturedEvents, used directly -------------------------------------


def test_capture_replaces_and_restores_the_default_tracker() -> None:
    outer = convsdk.Tracker(backend="memory://", spool_dir=None)
    previous = set_default(outer)
    try:
        with capture_events() as events:
            assert runtime.default is events.tracker
            convsdk.track("signup", kind="micro")
            assert events.names() == ["signup"]
        assert runtime.default is outer
        assert events.tracker.closed
        assert not outer.closed
    finally:
        set_default(previous)
        outer.close()


def test_capture_takes_goals_and_settings_from_the_default_it_replaces() -> None:
    outer = convsdk.Tracker(
        backend="memory://",
        spool_dir=None,
        goals=[Goal.macro("purchase", event="order_paid")],
        currency="EUR",
        secret_key="app-secret",
    )
    previous = set_default(outer)
    try:
        with capture_events() as events:
            convsdk.track("order_paid", value=10)
            purchase = events.macro("purchase")
        assert (purchase.name, purchase.value, purchase.currency) == ("order_paid", 10.0, "EUR")
        assert events.tracker.secret_key == "app-secret"
        # Test clients send bot-like user agents: the capturing tracker counts them.
        assert events.tracker.filter_bots is False
    finally:
        set_default(previous)
        outer.close()


def test_capture_refuses_another_backend() -> None:
    with pytest.raises(TypeError, match="backend"):
        with capture_events(backend="memory://"):
            pass


def test_reading_flushes_events_still_in_the_queue() -> None:
    # A long interval: without the flush in all(), nothing would be written yet.
    with capture_events(flush_interval=60) as events:
        for i in range(5):
            convsdk.track("step", kind="micro", properties={"i": i})
        assert len(events) == 5
        assert [e.properties["i"] for e in events] == [0, 1, 2, 3, 4]


def test_conversions_filter_by_kind_and_goal(convsdk_events: CapturedEvents) -> None:
    convsdk.track("page_view")
    convsdk.track("signup", kind="micro")
    convsdk.track("newsletter", kind="micro")
    convsdk.track("purchase", kind="macro", value=5)
    assert [e.goal for e in convsdk_events.conversions()] == ["signup", "newsletter", "purchase"]
    assert [e.goal for e in convsdk_events.conversions(kind="micro")] == ["signup", "newsletter"]
    assert [e.goal for e in convsdk_events.conversions(goal="purchase")] == ["purchase"]
    assert convsdk_events.conversions(kind="macro", goal="signup") == []
    with pytest.raises(ValueError, match="kind"):
        convsdk_events.conversions(kind="mega")
    assert convsdk_events.macro().value == 5.0
    assert convsdk_events.micro("signup").name == "signup"


def test_several_matches_is_an_error_listing_them(convsdk_events: CapturedEvents) -> None:
    convsdk.track("signup", kind="micro")
    convsdk.track("newsletter", kind="micro")
    with pytest.raises(AssertionError) as info:
        convsdk_events.micro()
    message = str(info.value)
    assert "expected exactly one micro conversion, found 2." in message
    assert "1. signup, micro goal='signup'" in message
    assert "2. newsletter, micro goal='newsletter'" in message


def test_clear_forgets_what_was_recorded(convsdk_events: CapturedEvents) -> None:
    convsdk.track("signup", kind="micro")
    convsdk_events.clear()
    assert convsdk_events.all() == []
    convsdk.track("purchase", kind="macro")
    assert convsdk_events.names() == ["purchase"]


def test_fixture_captures_trackers_the_app_holds_or_builds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_factory="""
        import os

        import flask
        import pytest

        import convsdk
        from convsdk import Goal, Tracker
        from convsdk.integrations.flask import ConvSDK
        from convsdk.integrations.wsgi import ConversionMiddleware

        CHROME = "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36"
        GOALS = [Goal.macro("purchase", event="checkout", path="/checkout")]

        def make_app(**extension):
            app = flask.Flask(__name__)

            @app.route("/checkout", methods=["POST"])
            def checkout():
                return "<p>thanks</p>"

            ConvSDK(app, **extension)
            return app

        def test_a_factory_calling_init(convsdk_events):
            convsdk.init(backend="sqlite:///real.db", goals=GOALS, secret_key="k")
            app = make_app()
            app.test_client().post("/checkout", headers={"User-Agent": CHROME})
            assert convsdk_events.macro("purchase").context["path"] == "/checkout"

        def test_an_extension_given_its_own_tracker(convsdk_events):
            own = Tracker(backend="sqlite:///real.db", goals=GOALS, spool_dir=None)
            app = make_app(tracker=own)
            app.test_client().post("/checkout", headers={"User-Agent": CHROME})
            assert convsdk_events.macro("purchase")
            own.close()

        def test_an_extension_building_from_config(convsdk_events, monkeypatch):
            monkeypatch.setenv("CONVSDK_BACKEND", "sqlite:///real.db")
            app = make_app()
            app.test_client().post("/checkout", headers={"User-Agent": CHROME})
            assert convsdk_events.names() == ["checkout"]

        def test_a_tracker_made_before_the_test(convsdk_events, early):
            app = flask.Flask(__name__)
            app.wsgi_app = ConversionMiddleware(app.wsgi_app, tracker=early)
            app.route("/")(lambda: "<p>hi</p>")
            app.test_client().get("/", headers={"User-Agent": CHROME})
            early.track("signup", kind="micro")
            assert convsdk_events.names() == ["page_view", "signup"]

        @pytest.fixture
        def early(tmp_path):
            tracker = Tracker(backend=f"sqlite:///{tmp_path}/early.db", spool_dir=None)
            yield tracker
            tracker.close()
            assert tracker.stats()["delivered"] == 0
            assert not (tmp_path / "early.db").exists()

        def test_nothing_reached_a_real_store():
            assert not os.path.exists("real.db")
            assert not os.path.exists(".convsdk-spool")
        """,
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=5)


def test_nested_captures_each_see_their_own_events() -> None:
    with capture_events() as outer:
        convsdk.track("first")
        with capture_events() as inner:
            convsdk.track("second")
        convsdk.track("third")
    assert inner.names() == ["second"]
    assert outer.names() == ["first", "third"]
