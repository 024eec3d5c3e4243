"""The Flask extension: middleware installed from config, decorators merged with goals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import (
    Flask,
    Response,
    abort,
    redirect,
    render_template_string,
    request,
    stream_with_context,
)
from werkzeug.test import Client

import convsdk
from convsdk import ConfigError, Event, Goal, Tracker, annotate, runtime, track_macro, track_micro
from convsdk.backends.memory import MemoryBackend
from convsdk.context import current
from convsdk.identity import Identity
from convsdk.integrations.flask import ConvSDK
from convsdk.integrations.wsgi import ConversionMiddleware
from convsdk.runtime import set_default
from trackers import default_tracker

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
GOALS = [
    Goal.micro("viewed_pricing", event="page_view", path="/pricing"),
    Goal.micro("newsletter", event="form_submit", path="/newsletter"),
    Goal.macro(
        "purchase", event="checkout", path="/checkout*", value_from="form:total", currency="USD"
    ),
]


def make_app() -> Flask:
    app = Flask(__name__)

    @app.get("/pricing")
    def pricing() -> str:
        return "<h1>Pricing</h1>"

    @app.get("/api/plans")
    def plans() -> dict[str, list[str]]:
        return {"plans": ["pro"]}

    @app.post("/newsletter")
    def newsletter() -> str:
        return f"thanks {request.form['email']}"

    @app.post("/checkout")
    @track_macro("purchase", currency="EUR")
    def checkout() -> Any:
        if request.form.get("card") == "declined":
            return "card declined", 402
        annotate(value=float(request.form["total"]) + 5, transaction_id="order-1")
        return redirect("/thanks")

    @app.post("/checkout/express")
    def express() -> Any:
        annotate(transaction_id="order-2", properties={"express": True})
        return redirect("/thanks")

    @app.post("/signup")
    @track_micro("started_trial")
    def signup() -> Any:
        if not request.form.get("email"):
            abort(400)
        return "welcome"

    @app.post("/api/upload")
    def upload() -> dict[str, Any]:
        return {"json": request.get_json(), "raw": request.get_data(as_text=True)}

    @app.get("/stream")
    def stream() -> Response:
        def chunks() -> Iterator[str]:
            for i in range(50):
                yield f"<p>{i}</p>"

        return Response(stream_with_context(chunks()), mimetype="text/html")

    return app


@pytest.fixture
def shop_tracker(memory: MemoryBackend) -> Iterator[Tracker]:
    with default_tracker(memory, secret_key="s3cret", goals=GOALS) as tracker:
        yield tracker


@pytest.fixture
def no_default() -> Iterator[None]:
    previous = set_default(None)
    try:
        yield
    finally:
        built = set_default(previous)
        if built is not None:
            built.close()


def stored(tracker: Tracker, memory: MemoryBackend) -> list[Event]:
    assert tracker.flush(5)
    return memory.events


def test_page_views_form_submits_and_checkouts_are_recorded(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = make_app()
    ConvSDK(app, tracker=shop_tracker)
    client = app.test_client()
    headers = {"User-Agent": CHROME}
    assert client.get("/pricing", headers=headers).status_code == 200
    assert client.get("/api/plans", headers=headers).status_code == 200  # JSON: not a page view
    response = client.post("/newsletter", data={"email": "a@example.com"}, headers=headers)
    assert response.get_data(as_text=True) == "thanks a@example.com"
    assert client.post("/checkout", data={"total": "49.90"}, headers=headers).status_code == 302
    events = stored(shop_tracker, memory)
    assert [(e.name, e.kind, e.goal) for e in events] == [
        ("page_view", "micro", "viewed_pricing"),
        ("form_submit", "micro", "newsletter"),
        ("checkout", "macro", "purchase"),
    ]
    assert len({e.visitor_id for e in events}) == 1


def test_decorator_and_goal_on_one_checkout_are_one_event_with_the_decorators_value(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = make_app()
    ConvSDK(app, tracker=shop_tracker)
    app.test_client().post("/checkout", data={"total": "49.90"}, headers={"User-Agent": CHROME})
    [event] = stored(shop_tracker, memory)
    assert (event.name, event.kind, event.goal) == ("checkout", "macro", "purchase")
    assert (event.value, event.currency, event.transaction_id) == (54.9, "EUR", "order-1")
    assert event.context["status"] == 302


def test_an_error_answer_records_no_decorator_conversion(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = make_app()
    ConvSDK(app, tracker=shop_tracker)
    client = app.test_client()
    assert client.post("/checkout", data={"total": "9", "card": "declined"}).status_code == 402
    assert client.post("/signup", data={"name": "Ada"}).status_code == 400
    events = stored(shop_tracker, memory)
    assert [(e.name, e.kind, e.goal, e.context["status"]) for e in events] == [
        ("checkout", None, None, 402),
        ("form_submit", None, None, 400),
    ]


def test_annotate_in_an_undecorated_view_completes_the_goal(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = make_app()
    ConvSDK(app, tracker=shop_tracker)
    app.test_client().post("/checkout/express", data={"total": "19"})
    [event] = stored(shop_tracker, memory)
    assert (event.goal, event.value, event.transaction_id) == ("purchase", 19.0, "order-2")
    assert event.properties == {"express": True}


def test_the_app_reads_the_same_json_and_raw_body(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = make_app()
    ConvSDK(app, tracker=shop_tracker, capture_fields=["plan"])
    response = app.test_client().post("/api/upload", json={"plan": "pro", "seats": 3})
    assert response.get_json() == {
        "json": {"plan": "pro", "seats": 3},
        "raw": json.dumps({"plan": "pro", "seats": 3}),
    }


def test_a_post_sent_again_for_a_redirect_keeps_its_form_and_counts_once(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    """Flask's test client follows a 308 (a route's missing trailing slash) by sending
    the same body again: the view behind the redirect reads the form, as without
    convsdk, and the purchase counts there, not on the redirect too."""
    app = make_app()

    @app.route("/checkout/confirm/", methods=["GET", "POST"])
    def confirm() -> str:
        return f"total {request.form['total']}"

    ConvSDK(app, tracker=shop_tracker)
    client = app.test_client()
    response = client.post("/checkout/confirm", data={"total": "12.50"}, follow_redirects=True)
    assert (response.status_code, response.data) == (200, b"total 12.50")
    assert [(r.status_code, r.request.path) for r in response.history] == [
        (308, "/checkout/confirm")
    ]
    events = stored(shop_tracker, memory)
    assert [(e.context["status"], e.goal, e.value) for e in events] == [
        (308, None, None),
        (200, "purchase", 12.5),
    ]


def test_streaming_responses_arrive_byte_for_byte(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = make_app()
    expected = app.test_client().get("/stream").get_data()
    ConvSDK(app, tracker=shop_tracker)
    response = app.test_client().get("/stream", buffered=False)
    chunks = list(response.iter_encoded())
    response.close()
    assert b"".join(chunks) == expected and len(chunks) > 1
    [event] = stored(shop_tracker, memory)
    assert event.name == "page_view"


def test_views_see_the_request_context(shop_tracker: Tracker) -> None:
    app = make_app()
    seen: list[Any] = []

    @app.get("/me")
    def me() -> str:
        seen.append(current())
        return "<p>me</p>"

    ConvSDK(app, tracker=shop_tracker, variant_cookie="ab")
    client = app.test_client()
    client.set_cookie("ab", "annual")
    client.get("/me", headers={"User-Agent": CHROME})
    [ctx] = seen
    assert ctx.deferred and ctx.visitor_id and ctx.variant == "annual"


@pytest.mark.parametrize("wrap", ["wsgi_app", "app"])
def test_the_plain_wsgi_middleware_with_collect_gives_templates_the_script_helper(
    shop_tracker: Tracker, wrap: str
) -> None:
    app = make_app()

    @app.get("/landing")
    def landing() -> str:
        return render_template_string("<body>{{ convsdk_script(scroll=False) }}</body>")

    if wrap == "wsgi_app":
        app.wsgi_app = ConversionMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, tracker=shop_tracker, collect=True
        )
        beacon = app.wsgi_app.beacon
        client = app.test_client()
    else:
        middleware = ConversionMiddleware(app, tracker=shop_tracker, collect=True)
        beacon = middleware.beacon
        client = Client(middleware)
    assert beacon is not None
    response = client.get("/landing", headers={"User-Agent": CHROME})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == (
        f'<body><script src="{beacon.script_url()}" data-scroll="off" defer></script></body>'
    )
    script = client.get(beacon.script_url())
    assert script.status_code == 200 and b"sendBeacon" in script.data


def test_init_app_and_double_registration(shop_tracker: Tracker) -> None:
    app = make_app()
    ext = ConvSDK(tracker=shop_tracker)
    middleware = ext.init_app(app)
    assert isinstance(middleware, ConversionMiddleware)
    assert app.extensions["convsdk"] is middleware is app.wsgi_app
    assert middleware.tracker is shop_tracker
    with pytest.raises(ConfigError, match="already registered"):
        ext.init_app(app)
    with pytest.raises(ConfigError):
        ConvSDK(app)


def test_a_tracker_is_built_from_config_and_made_the_default(
    no_default: None, tmp_path: Path
) -> None:
    events_file = tmp_path / "events.jsonl"
    app = make_app()
    app.config.update(
        CONVSDK_BACKEND=f"file://{events_file}",
        CONVSDK_SPOOL_DIR=None,
        CONVSDK_FLUSH_INTERVAL="0.05",
        CONVSDK_GOALS=GOALS,
        CONVSDK_SECRET_KEY="from-config",
        CONVSDK_EXCLUDE_PATHS="/admin/*, /internal/*",
        CONVSDK_TRUSTED_PROXIES="1",
        CONVSDK_CAPTURE_FIELDS="email",
        CONVSDK_RESPECT_DNT="false",
    )
    extension = ConvSDK(app)
    tracker = runtime.default
    assert isinstance(tracker, Tracker) and extension.tracker is tracker
    assert tracker.respect_dnt is False
    client = app.test_client()

    @app.get("/admin/stats")
    def stats() -> str:
        return "<p>admin</p>"

    client.get("/admin/stats")
    response = client.post(
        "/newsletter",
        data={"email": "a@example.com"},
        headers={"X-Forwarded-For": "198.51.100.4", "DNT": "1"},
    )
    visitor = client.get_cookie("cv_vid")
    assert visitor is not None
    assert response.status_code == 200
    # The cookie is signed with CONVSDK_SECRET_KEY.
    visitor_id = Identity("from-config").read(f"cv_vid={visitor.value}")[0]
    assert tracker.flush(5)
    [line] = events_file.read_text().splitlines()
    event = json.loads(line)
    assert (event["goal"], event["visitor_id"]) == ("newsletter", visitor_id)
    assert event["context"]["ip"] == "198.51.100.0"
    assert event["properties"] == {"email": "a@example.com"}


def test_init_after_the_extension_takes_over_its_requests(
    no_default: None, memory: MemoryBackend
) -> None:
    app = make_app()
    app.config.update(CONVSDK_SPOOL_DIR=None, CONVSDK_BACKEND="memory://")
    ConvSDK(app)
    tracker = convsdk.init(backend=memory, spool_dir=None, goals=GOALS, secret_key="k")
    app.test_client().get("/pricing", headers={"User-Agent": CHROME})
    assert tracker.flush(5)
    assert [e.goal for e in memory.events] == ["viewed_pricing"]


def test_one_extension_object_serves_each_app_with_its_own_config(
    no_default: None, tmp_path: Path
) -> None:
    extension = ConvSDK()  # an app factory's module-level extension
    files = []
    for name in ("a", "b"):
        app = make_app()
        files.append(tmp_path / f"{name}.jsonl")
        app.config.update(CONVSDK_BACKEND=f"file://{files[-1]}", CONVSDK_SPOOL_DIR=None)
        middleware = extension.init_app(app)
        app.test_client().get("/pricing", headers={"User-Agent": CHROME})
        tracker = middleware.tracker
        assert tracker is not None and extension.tracker is tracker
        tracker.close()
    assert [len(f.read_text().splitlines()) for f in files] == [1, 1]


def test_the_secret_key_falls_back_to_the_flask_secret_key(
    memory: MemoryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONVSDK_SECRET_KEY", raising=False)
    app = make_app()
    app.secret_key = "flask-secret"
    with Tracker(backend=memory, spool_dir=None, secret_key=None) as tracker:
        tracker.secret_key = None
        ConvSDK(app, tracker=tracker)
        client = app.test_client()
        client.get("/pricing")
        visitor = client.get_cookie("cv_vid")
        assert visitor is not None
        assert Identity("flask-secret").read(f"cv_vid={visitor.value}")[0] is not None


def test_an_existing_default_tracker_is_used_when_the_config_names_none(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = make_app()
    ConvSDK(app)
    assert app.extensions["convsdk"].tracker is shop_tracker  # the default, per request
    app.test_client().get("/pricing")
    assert [e.goal for e in stored(shop_tracker, memory)] == ["viewed_pricing"]


def test_a_built_tracker_does_not_replace_an_existing_default(
    shop_tracker: Tracker, tmp_path: Path
) -> None:
    app = make_app()
    app.config.update(CONVSDK_BACKEND="memory://", CONVSDK_SPOOL_DIR=None)
    ConvSDK(app)
    built = app.extensions["convsdk"].tracker
    try:
        assert built is not shop_tracker and convsdk.get_tracker() is shop_tracker
    finally:
        built.close()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CONVSDK_TRUSTED_PROXIES", "two"),
        ("CONVSDK_DNT", "maybe"),
        ("CONVSDK_FILTER_BOTS", "perhaps"),
        ("CONVSDK_BACKEND", "nope://x"),
        ("CONVSDK_FLUSH_INTERVAL", "soon"),
        ("CONVSDK_EXCLUDE_PATHS", ["no-slash"]),
    ],
)
def test_bad_config_fails_at_init_with_a_config_error(
    no_default: None, key: str, value: Any
) -> None:
    app = make_app()
    app.config.update({"CONVSDK_SPOOL_DIR": None, key: value})
    if key != "CONVSDK_BACKEND":
        app.config["CONVSDK_BACKEND"] = "memory://"
    with pytest.raises(ConfigError):
        ConvSDK(app)
    assert "convsdk" not in app.extensions
    assert runtime.default is None  # nothing half-installed


def test_unknown_config_keys_are_config_errors_with_a_suggestion(shop_tracker: Tracker) -> None:
    app = make_app()
    app.config["CONVSDK_EXCLUDE_PATH"] = ["/admin/*"]
    with pytest.raises(ConfigError, match="did you mean CONVSDK_EXCLUDE_PATHS") as info:
        ConvSDK(app, tracker=shop_tracker)
    assert info.value.field == "CONVSDK_EXCLUDE_PATH"
    assert "convsdk" not in app.extensions


def test_every_tracker_and_middleware_option_has_a_config_key() -> None:
    import inspect

    from convsdk import options
    from convsdk.interactions import Recorder

    config = {option.variable: option.default for option in options.OPTIONS.values()}
    assert set(options.from_mapping(config, [options.TRACKER], source="test")) == set(
        options.names(options.TRACKER)
    )
    recorder = set(inspect.signature(Recorder.__init__).parameters) - {"self"}
    assert recorder == set(options.names(options.MIDDLEWARE))


def test_async_views_defer_their_conversions_to_the_middleware_too(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = Flask(__name__)

    @app.post("/newsletter")
    @track_micro("newsletter", properties={"list": "weekly"})
    async def newsletter() -> str:
        annotate(properties={"source": "footer"})
        return "ok"

    ConvSDK(app, tracker=shop_tracker)
    app.test_client().post("/newsletter", data={"email": "a@example.com"})
    [event] = stored(shop_tracker, memory)
    assert (event.name, event.kind, event.goal) == ("form_submit", "micro", "newsletter")
    assert event.properties == {"list": "weekly", "source": "footer"}
    assert event.context["status"] == 200 and event.visitor_id


def test_a_head_request_to_a_decorated_page_records_no_conversion(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = Flask(__name__)

    @app.get("/welcome")
    @track_micro("reached_welcome")
    def welcome() -> str:
        return "<p>welcome</p>"

    ConvSDK(app, tracker=shop_tracker)
    client = app.test_client()
    assert client.head("/welcome", headers={"User-Agent": CHROME}).status_code == 200
    assert client.options("/welcome", headers={"User-Agent": CHROME}).status_code == 200
    assert stored(shop_tracker, memory) == []
    client.get("/welcome", headers={"User-Agent": CHROME})
    assert [e.goal for e in stored(shop_tracker, memory) if e.kind] == ["reached_welcome"]


# -- configuration from the environment, shared trackers, .tracker ----------------------


def _convsdk_threads() -> set[Any]:
    import threading

    return {t for t in threading.enumerate() if t.name == "convsdk-dispatch"}


def test_only_environment_variables_configure_the_extension(
    no_default: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    goals = tmp_path / "goals.toml"
    goals.write_text(
        '[[goals]]\nname = "viewed_pricing"\nkind = "micro"\nevent = "page_view"\n'
        'path = "/pricing"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONVSDK_BACKEND", f"sqlite:///{tmp_path}/shop.db")
    monkeypatch.setenv("CONVSDK_GOALS", str(goals))
    monkeypatch.setenv("CONVSDK_SPOOL_DIR", "none")
    monkeypatch.setenv("CONVSDK_SECRET_KEY", "env-secret")
    app = make_app()
    ConvSDK(app)
    tracker = app.extensions["convsdk"].tracker
    assert tracker is not None and tracker is runtime.default
    client = app.test_client()
    client.get("/pricing", headers={"User-Agent": CHROME})
    assert client.get_cookie("cv_vid") is not None
    assert tracker.flush(5)
    connection = sqlite3.connect(tmp_path / "shop.db")
    try:
        rows = connection.execute("SELECT goal FROM convsdk_events").fetchall()
    finally:
        connection.close()
    assert rows == [("viewed_pricing",)]
    assert not (tmp_path / "convsdk.db").exists()
    assert not (tmp_path / ".convsdk-spool").exists()


def test_config_beats_the_environment(no_default: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVSDK_BATCH_SIZE", "30")
    monkeypatch.setenv("CONVSDK_BACKEND", "memory://")
    monkeypatch.setenv("CONVSDK_SPOOL_DIR", "")
    app = make_app()
    app.config["CONVSDK_BATCH_SIZE"] = "20"
    ConvSDK(app)
    tracker = app.extensions["convsdk"].tracker
    assert tracker is not None and tracker.batch_size == 20 and tracker.spool_dir is None


def test_a_bad_config_value_names_the_key_and_flask_config(no_default: None) -> None:
    app = make_app()
    app.config.update(CONVSDK_BACKEND="memory://", CONVSDK_BATCH_SIZE="many")
    with pytest.raises(ConfigError) as info:
        ConvSDK(app)
    assert (info.value.field, info.value.source) == ("CONVSDK_BATCH_SIZE", "Flask config")


def test_apps_from_one_factory_share_one_tracker_and_thread(no_default: None) -> None:
    before = _convsdk_threads()
    apps = []
    for _ in range(50):
        app = make_app()
        app.config.update(CONVSDK_BACKEND="memory://", CONVSDK_SPOOL_DIR=None)
        ConvSDK(app)
        apps.append(app)
        app.test_client().get("/pricing", headers={"User-Agent": CHROME})
    trackers = {id(app.extensions["convsdk"].tracker) for app in apps}
    assert len(trackers) == 1
    assert len(_convsdk_threads() - before) <= 1


def test_apps_configured_differently_get_their_own_trackers(shop_tracker: Tracker) -> None:
    first, second = make_app(), make_app()
    first.config.update(CONVSDK_BACKEND="memory://", CONVSDK_SPOOL_DIR=None)
    second.config.update(CONVSDK_BACKEND="memory://", CONVSDK_SPOOL_DIR=None, CONVSDK_BATCH_SIZE=5)
    ConvSDK(first)
    ConvSDK(second)
    a, b = first.extensions["convsdk"].tracker, second.extensions["convsdk"].tracker
    try:
        assert a is not b and shop_tracker not in (a, b)
    finally:
        a.close()
        b.close()


def test_extension_tracker_is_the_tracker_in_use(no_default: None) -> None:
    app = make_app()
    app.config.update(CONVSDK_BACKEND="memory://", CONVSDK_SPOOL_DIR=None)
    extension = ConvSDK(app)
    built = app.extensions["convsdk"].tracker
    assert built is not None and extension.tracker is built
    # The middleware follows the default tracker: a later init() takes over, and .tracker says so.
    replacement = convsdk.init(backend="memory://", spool_dir=None)
    assert app.extensions["convsdk"].tracker is replacement
    assert extension.tracker is replacement
    assert built.closed


def test_a_disabled_extension_serves_the_app_and_writes_nothing(
    no_default: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONVSDK_DISABLED", "1")
    before = _convsdk_threads()
    app = make_app()
    ConvSDK(app)
    response = app.test_client().get("/pricing", headers={"User-Agent": CHROME})
    assert response.status_code == 200
    assert _convsdk_threads() == before
    assert list(tmp_path.iterdir()) == []


# -- which requests convert: a flaskr-style register view ----------------------------


def register_app(*, decorated: bool, **options: Any) -> Flask:
    """GET shows the form; a failed POST shows it again (200); success redirects (302)."""
    app = Flask(__name__)
    users: set[str] = set()

    def register() -> Any:
        error = ""
        if request.method == "POST":
            name = request.form.get("username", "")
            if not name:
                error = "Username is required."
            elif name in users:
                error = f"User {name} is already registered."
            else:
                users.add(name)
                return redirect("/auth/login")
        return f"<form method=post>{error}<input name=username></form>"

    view = track_macro("signup", **options)(register) if decorated else register
    app.add_url_rule("/auth/register", "register", view, methods=["GET", "POST"])
    return app


def register_once(client: Any) -> None:
    """A visitor opens the form, submits it empty, then registers."""
    headers = {"User-Agent": CHROME}
    assert client.get("/auth/register", headers=headers).status_code == 200
    failed = client.post("/auth/register", data={"username": ""}, headers=headers)
    assert failed.status_code == 200 and b"required" in failed.data
    done = client.post("/auth/register", data={"username": "ada"}, headers=headers)
    assert done.status_code == 302


def signups(events: list[Event]) -> list[tuple[str, int]]:
    return [(e.name, e.context["status"]) for e in events if e.goal == "signup"]


def test_a_decorated_form_view_records_one_signup_for_one_registration(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = register_app(decorated=True)
    ConvSDK(app, tracker=shop_tracker)
    register_once(app.test_client())
    events = stored(shop_tracker, memory)
    assert signups(events) == [("signup", 302)]
    # The form's display and the submissions are still counted, as plain events.
    assert [(e.name, e.kind, e.context["status"]) for e in events] == [
        ("page_view", None, 200),
        ("form_submit", None, 200),
        ("form_submit", None, 302),
        ("signup", "macro", 302),
    ]


def test_a_decorated_form_view_without_the_middleware_records_one_signup(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    register_once(register_app(decorated=True).test_client())
    events = stored(shop_tracker, memory)
    assert [(e.name, e.kind, e.context["method"]) for e in events] == [("signup", "macro", "POST")]


def test_a_form_goal_with_status_3xx_records_one_signup_for_one_registration(
    memory: MemoryBackend,
) -> None:
    goals = [Goal.macro("signup", event="form_submit", path="/auth/register", status="3xx")]
    with Tracker(backend=memory, spool_dir=None, secret_key="s3cret", goals=goals) as tracker:
        app = register_app(decorated=False)
        ConvSDK(app, tracker=tracker)
        register_once(app.test_client())
        events = stored(tracker, memory)
    assert signups(events) == [("form_submit", 302)]
    assert [e.kind for e in events] == [None, None, "macro"]


def test_methods_and_status_override_what_the_view_says(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = register_app(decorated=True, methods=["GET"], status="2xx")
    ConvSDK(app, tracker=shop_tracker)
    register_once(app.test_client())
    assert signups(stored(shop_tracker, memory)) == [("signup", 200)]


def test_a_decorated_view_answering_307_itself_converts_once(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    """A view that took the submission and answers 307 (FastAPI's RedirectResponse does
    by default) ran: its conversion counts, once, though the browser then sends the
    form on to a page that only shows (405)."""
    app = Flask(__name__)

    @app.route("/join", methods=["GET", "POST"])
    @track_micro("joined")
    def join() -> Any:
        return redirect("/welcome", code=307)

    @app.get("/welcome")
    def welcome() -> str:
        return "<h1>welcome</h1>"

    ConvSDK(app, tracker=shop_tracker)
    client = app.test_client()
    response = client.post("/join", data={"email": "a@example.com"}, follow_redirects=True)
    assert response.status_code == 405
    events = stored(shop_tracker, memory)
    assert [(e.goal, e.context["path"], e.context["status"]) for e in events if e.kind] == [
        ("joined", "/join", 307)
    ]


def test_separate_get_and_post_views_on_one_url_are_one_form_page(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = Flask(__name__)

    @app.get("/join")
    def join_form() -> str:
        return "<form method=post></form>"

    @app.post("/join")
    @track_micro("joined")
    def join() -> Any:
        if not request.form.get("email"):
            return "<form method=post>email?</form>"
        return redirect("/welcome")

    ConvSDK(app, tracker=shop_tracker)
    client = app.test_client()
    client.get("/join")
    client.post("/join", data={"email": ""})
    client.post("/join", data={"email": "a@example.com"})
    events = stored(shop_tracker, memory)
    assert [(e.goal, e.context["status"]) for e in events if e.kind] == [("joined", 302)]


def test_a_get_only_view_converts_on_get(shop_tracker: Tracker, memory: MemoryBackend) -> None:
    app = Flask(__name__)

    @app.get("/pricing")
    @track_micro("saw_prices")
    def pricing() -> str:
        return "<h1>Pricing</h1>"

    ConvSDK(app, tracker=shop_tracker)
    app.test_client().get("/pricing")
    events = stored(shop_tracker, memory)
    assert [(e.name, e.goal) for e in events] == [
        ("page_view", "viewed_pricing"),
        ("saw_prices", "saw_prices"),
    ]


@pytest.mark.parametrize("middleware", [True, False])
def test_cancel_conversion_drops_the_requests_conversions(
    memory: MemoryBackend, middleware: bool
) -> None:
    goals = [Goal.macro("signup", event="form_submit", path="/signup")]
    with Tracker(backend=memory, spool_dir=None, secret_key="s3cret", goals=goals) as tracker:
        previous = set_default(tracker)
        try:
            app = Flask(__name__)

            @app.post("/signup")
            @track_micro("tried_signup", status="2xx")
            def signup() -> str:
                if request.form.get("email") == "taken@example.com":
                    convsdk.cancel_conversion()
                return "<p>thanks</p>"

            if middleware:
                ConvSDK(app, tracker=tracker)
            client = app.test_client()
            client.post("/signup", data={"email": "taken@example.com"})
            client.post("/signup", data={"email": "new@example.com"})
            events = stored(tracker, memory)
        finally:
            set_default(previous)
    if middleware:
        # The submit itself still counts, as a plain event (the report's denominator).
        assert [(e.name, e.kind, e.goal) for e in events] == [
            ("form_submit", None, None),
            ("form_submit", "macro", "signup"),
            ("tried_signup", "micro", "tried_signup"),
        ]
    else:
        assert [(e.name, e.goal) for e in events] == [("tried_signup", "tried_signup")]
