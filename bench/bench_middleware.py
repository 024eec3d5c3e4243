"""Per-request overhead of the WSGI and ASGI middleware, side by side with OpenTelemetry's.

Run: ``python bench/bench_middleware.py`` (OpenTelemetry's middleware comes from the
``bench`` extra). Apps are called in-process, no server and no sockets: WSGI as
``app(environ, start_response)`` with a prepared environ, ASGI as ``await
app(scope, receive, send)`` in a loop. Each request is a hello-world HTML page (Flask
for WSGI, Starlette for ASGI, and Django's WSGI handler with convsdk's Django middleware
next to OpenTelemetry's Django instrumentation). With convsdk it is tracked as a page
view that matches a goal, from a returning visitor whose signed visitor and session
cookies are verified (seen earlier in the same minute: each run gets a fresh cookie, as
a browser would have it after the previous response); events go to a backend that drops
them (the dispatcher thread still runs). A second block of rows times a new visitor: no
Cookie header, so convsdk mints a visitor and a session id, signs both and adds two
``Set-Cookie`` headers to every response (bare and OpenTelemetry get the same request).
OpenTelemetry runs with the SDK's tracer provider and a batch span processor feeding an
exporter that drops the spans.

One more row splits convsdk's figure: "request thread only" is the same middleware
with a dispatcher that stays asleep while a run is timed (its events are delivered
between runs). The difference to "+ convsdk" is the dispatcher thread waking every
``batch_size`` events and taking the GIL from a loop that never releases it.

A block of WSGI rows has no framework: an app that only answers the page. Around it,
convsdk executes the same instructions a request as around Flask (callgrind counts them
in ``bench_request_cost.py``), but in fewer µs: alone, its code and data stay in the
caches from one request to the next; beside a framework's, the two contend for them.
"""

from __future__ import annotations

import asyncio
import gc
import io
import statistics
import sys
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _util import NOTE, otel_provider, table  # noqa: E402

import convsdk  # noqa: E402
from convsdk import Goal  # noqa: E402
from convsdk.event import Event  # noqa: E402
from convsdk.identity import Identity  # noqa: E402

SECRET = "bench-secret"
NUMBER = 5_000
REPEATS = 7
THREAD_ONLY = "  convsdk's request thread only"
RETURNING = "returning visitor (cookies verified):"
NEW = "new visitor (no cookies: ids minted, signed, Set-Cookie):"


class NullBackend:
    def write(self, events: Sequence[Event]) -> None:
        pass

    def close(self) -> None:
        pass


def make_tracker(*, asleep: bool = False) -> convsdk.Tracker:
    """The tracker of the runs; ``asleep``: a batch size and flush interval no run
    reaches, so the dispatcher thread sleeps until :func:`deliver` wakes it."""
    return convsdk.Tracker(
        backend=NullBackend(),
        spool_dir=None,
        secret_key=SECRET,
        max_queue_size=10_000_000,
        goals=[Goal.micro("viewed_home", event="page_view", path="/")],
        **({"batch_size": 10 * NUMBER, "flush_interval": 3600.0} if asleep else {}),
    )


def deliver(tracker: convsdk.Tracker) -> Callable[[], object]:
    """What to do after each timed run of ``tracker``: deliver what the run queued."""
    return lambda: tracker.flush(timeout=30.0)


def returning_visitor_cookie() -> str:
    """The Cookie header of a visitor seen earlier this minute (the common request).

    Called before every run: the session cookie names the minute the visitor was last
    seen, and a browser sends the one the previous response set, so a cookie kept
    from a past minute would be re-signed on every request, which no browser does.
    """
    _, _, cookies = Identity(SECRET).resolve(None)
    pairs = [cookie.split(";", 1)[0] for cookie in cookies]
    return "; ".join(["theme=dark", *pairs])


def median_us(runs: dict[Any, Callable[[int], float]]) -> dict[Any, float]:
    """Median µs per request of each variant; the variants take turns in every repeat,
    so drift in the machine's load hits them alike."""
    results: dict[Any, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run(NUMBER // 10)  # warm-up: caches, lazy imports, compiled patterns
    for _ in range(REPEATS):
        for name, run in runs.items():
            gc.collect()
            results[name].append(run(NUMBER) / NUMBER * 1e6)
    return {name: statistics.median(values) for name, values in results.items()}


# -- WSGI ------------------------------------------------------------------------------


BASE_ENVIRON = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/",
    "QUERY_STRING": "",
    "SERVER_NAME": "shop.example",
    "SERVER_PORT": "443",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "203.0.113.7",
    "HTTP_HOST": "shop.example",
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "HTTP_ACCEPT": "text/html",
    "HTTP_REFERER": "https://www.google.com/",
    "wsgi.url_scheme": "https",
    "wsgi.version": (1, 0),
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": True,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}


def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return None


def wsgi_environ(*, new: bool = False) -> dict[str, Any]:
    """The environ of the runs' request: a returning visitor's, or a ``new`` one's (no
    cookies). Each request gets a copy (:func:`wsgi_request`)."""
    prepared = dict(BASE_ENVIRON)
    if not new:
        prepared["HTTP_COOKIE"] = returning_visitor_cookie()
    return prepared


def wsgi_request(app: Any, prepared: dict[str, Any]) -> None:
    """One request to the WSGI ``app``, as a server makes it: a fresh environ, the body
    iterated and closed."""
    environ = dict(prepared)
    environ["wsgi.input"] = io.BytesIO(b"")
    result = app(environ, start_response)
    for _chunk in result:
        pass
    close = getattr(result, "close", None)
    if close is not None:
        close()


def runner(
    app: Any, after: Callable[[], object] | None = None, *, new: bool = False
) -> Callable[[int], float]:
    """A timed run of ``n`` requests to the WSGI ``app`` (``new``: without cookies)."""

    def run(n: int) -> float:
        prepared = wsgi_environ(new=new)
        start = time.perf_counter()
        for _ in range(n):
            wsgi_request(app, prepared)
        elapsed = time.perf_counter() - start
        if after is not None:
            after()
        return elapsed

    return run


def flask_hello() -> Any:
    """The bare WSGI app of the runs: Flask's hello world at ``/`` (its ``wsgi_app``)."""
    from flask import Flask

    flask_app = Flask("bench")

    @flask_app.get("/")
    def home() -> str:
        return "<h1>hello</h1>"

    return flask_app.wsgi_app


def wsgi_rows() -> list[list[object]]:
    bare = flask_hello()

    from convsdk.integrations.wsgi import ConversionMiddleware

    tracker = make_tracker()
    asleep = make_tracker(asleep=True)
    runs = {
        "Flask (bare)": runner(bare),
        "+ convsdk": runner(ConversionMiddleware(bare, tracker=tracker)),
    }
    otel = None
    try:
        from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

        otel = OpenTelemetryMiddleware(bare, tracer_provider=otel_provider())
        runs["+ OpenTelemetry WSGI"] = runner(otel)
    except ImportError:
        pass
    runs[THREAD_ONLY] = runner(ConversionMiddleware(bare, tracker=asleep), deliver(asleep))
    fresh = make_tracker()
    new_runs = {
        "Flask (bare)": runner(bare, new=True),
        "+ convsdk": runner(ConversionMiddleware(bare, tracker=fresh), new=True),
    }
    if otel is not None:
        new_runs["+ OpenTelemetry WSGI"] = runner(otel, new=True)
    times = median_us({**_keyed(RETURNING, runs), **_keyed(NEW, new_runs)})
    for each in (tracker, asleep, fresh):
        each.close()
    return _rows(times, "Flask (bare)")


def plain_hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A WSGI app that only answers: the hello-world page, with no framework."""
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [b"<h1>hello</h1>"]


def plain_rows() -> list[list[object]]:
    """convsdk around :func:`plain_hello`: what its own work costs, where no framework's
    code and data share the caches with it (its rows around Flask are larger)."""
    from convsdk.integrations.wsgi import ConversionMiddleware

    tracker = make_tracker()
    tracked = ConversionMiddleware(plain_hello, tracker=tracker)
    runs = {"no framework (bare)": runner(plain_hello), "+ convsdk": runner(tracked)}
    new_runs = {
        "no framework (bare)": runner(plain_hello, new=True),
        "+ convsdk": runner(tracked, new=True),
    }
    times = median_us({**_keyed(RETURNING, runs), **_keyed(NEW, new_runs)})
    tracker.close()
    return _rows(times, "no framework (bare)")


# -- Django ----------------------------------------------------------------------------


def _django_handler(middleware: list[str]) -> Any:
    """A Django WSGI handler whose chain is ``middleware`` (read when it is built)."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    settings.MIDDLEWARE = middleware
    return WSGIHandler()


def django_hello(**extra: Any) -> Any:
    """Configure Django (once a process) for its hello world at ``/``; return the bare
    WSGI handler. convsdk's middleware reads ``CONVSDK_SECRET_KEY`` = :data:`SECRET`;
    ``extra``: more settings."""
    import django
    from django.conf import settings
    from django.http import HttpResponse
    from django.urls import path

    def home(request: Any) -> HttpResponse:
        return HttpResponse("<h1>hello</h1>")

    urls = types.ModuleType("bench_django_urls")
    urls.urlpatterns = [path("", home)]  # type: ignore[attr-defined]
    sys.modules[urls.__name__] = urls
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-django-secret",
        ALLOWED_HOSTS=["shop.example"],
        ROOT_URLCONF=urls.__name__,
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        DATABASES={},
        USE_TZ=True,
        CONVSDK_SECRET_KEY=SECRET,
        **extra,
    )
    django.setup()
    return _django_handler([])


def django_tracked() -> Any:
    """The Django WSGI handler with convsdk's Django middleware (after :func:`django_hello`;
    it records with the default tracker)."""
    return _django_handler(["convsdk.integrations.django.ConversionMiddleware"])


def django_rows() -> list[list[object]]:
    """Django hello world: bare, with convsdk's Django middleware, with OpenTelemetry's
    Django instrumentation (``opentelemetry-instrumentation-django``, when installed)."""
    from django.conf import settings

    from convsdk import runtime

    bare = django_hello()
    # The middleware follows the default tracker (no tracker setting names another).
    tracker = make_tracker()
    previous = runtime.set_default(tracker)
    tracked = django_tracked()
    runs = {"Django (bare)": runner(bare), "+ convsdk": runner(tracked)}
    new_runs = {"Django (bare)": runner(bare, new=True), "+ convsdk": runner(tracked, new=True)}
    instrumentor = None
    try:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        instrumentor = DjangoInstrumentor()
        settings.MIDDLEWARE = []
        instrumentor.instrument(tracer_provider=otel_provider())
        otel = _django_handler(list(settings.MIDDLEWARE))  # its middleware, inserted
        runs["+ OpenTelemetry Django"] = runner(otel)
        new_runs["+ OpenTelemetry Django"] = runner(otel, new=True)
    except ImportError:
        print("(opentelemetry-instrumentation-django is not installed: no OpenTelemetry row)")
    try:
        times = median_us({**_keyed(RETURNING, runs), **_keyed(NEW, new_runs)})
    finally:
        if instrumentor is not None:
            instrumentor.uninstrument()
        runtime.set_default(previous)
        tracker.close()
    return _rows(times, "Django (bare)")


# -- ASGI ------------------------------------------------------------------------------


ASGI_HEADERS = [
    (b"host", b"shop.example"),
    (
        b"user-agent",
        b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
        b"(KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    ),
    (b"accept", b"text/html"),
    (b"referer", b"https://www.google.com/"),
]
ASGI_SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "https",
    "path": "/",
    "raw_path": b"/",
    "root_path": "",
    "query_string": b"",
    "server": ("shop.example", 443),
    "client": ("203.0.113.7", 51234),
}
_REQUEST_MESSAGE = {"type": "http.request", "body": b"", "more_body": False}


async def receive() -> dict[str, Any]:
    return _REQUEST_MESSAGE


async def send(message: Any) -> None:
    pass


def starlette_hello() -> Any:
    """The bare ASGI app of the runs: Starlette's hello world at ``/``."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    async def home(request: Any) -> HTMLResponse:
        return HTMLResponse("<h1>hello</h1>")

    return Starlette(routes=[Route("/", home)])


def asgi_scope(*, new: bool = False) -> dict[str, Any]:
    """The scope of the runs' request: a returning visitor's, or a ``new`` one's (no
    cookies). Each request gets a copy, as a server makes a new scope."""
    headers = list(ASGI_HEADERS)
    if not new:
        headers.append((b"cookie", returning_visitor_cookie().encode("latin-1")))
    return {**ASGI_SCOPE, "headers": headers}


def asgi_rows() -> list[list[object]]:
    bare = starlette_hello()

    def runner(
        app: Any, after: Callable[[], object] | None = None, *, new: bool = False
    ) -> Callable[[int], float]:
        async def loop(n: int, scope: dict[str, Any]) -> float:
            start = time.perf_counter()
            for _ in range(n):
                await app(dict(scope), receive, send)
            return time.perf_counter() - start

        def run(n: int) -> float:
            elapsed = asyncio.run(loop(n, asgi_scope(new=new)))
            if after is not None:
                after()
            return elapsed

        return run

    from convsdk.integrations.asgi import ConversionMiddleware

    tracker = make_tracker()
    asleep = make_tracker(asleep=True)
    runs = {
        "Starlette (bare)": runner(bare),
        "+ convsdk": runner(ConversionMiddleware(bare, tracker=tracker)),
    }
    otel = None
    try:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        otel = OpenTelemetryMiddleware(bare, tracer_provider=otel_provider())
        runs["+ OpenTelemetry ASGI"] = runner(otel)
    except ImportError:
        pass
    runs[THREAD_ONLY] = runner(ConversionMiddleware(bare, tracker=asleep), deliver(asleep))
    fresh = make_tracker()
    new_runs = {
        "Starlette (bare)": runner(bare, new=True),
        "+ convsdk": runner(ConversionMiddleware(bare, tracker=fresh), new=True),
    }
    if otel is not None:
        new_runs["+ OpenTelemetry ASGI"] = runner(otel, new=True)
    times = median_us({**_keyed(RETURNING, runs), **_keyed(NEW, new_runs)})
    for each in (tracker, asleep, fresh):
        each.close()
    return _rows(times, "Starlette (bare)")


def _keyed(visitor: str, runs: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {(visitor, name): run for name, run in runs.items()}


def _rows(times: dict[tuple[str, str], float], bare: str) -> list[list[object]]:
    """One block of rows per kind of visitor, each with ratios to its own bare row."""
    rows: list[list[object]] = []
    for visitor in (RETURNING, NEW):
        base = times[visitor, bare]
        rows.append([visitor, "", "", ""])
        rows.extend(
            [name, t, "" if name == bare else t - base, "" if name == bare else t / base]
            for (kind, name), t in times.items()
            if kind == visitor
        )
    return rows


def main() -> None:
    headers = ["per request (median)", "µs", "added µs", "ratio"]
    print("WSGI: Flask hello world, a page view tracked")
    print(table(headers, wsgi_rows()))
    print()
    print("WSGI: an app that only answers (no framework), a page view tracked")
    print(table(headers, plain_rows()))
    print()
    print("ASGI: Starlette hello world, a page view tracked")
    print(table(headers, asgi_rows()))
    print()
    print("Django (WSGI handler): hello world, a page view tracked")
    print(table(headers, django_rows()))
    print(NOTE)


if __name__ == "__main__":
    main()
