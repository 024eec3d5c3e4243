"""Malformed requests thrown at both middlewares: the app's answer never changes.

Whatever the cookies, headers, query string and body (bad UTF-8, truncated multipart,
huge fields, lying lengths), the response with the middleware is the response without
it, apart from the Set-Cookie headers convsdk adds, and nothing raises.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.wrappers import Request, Response

from convsdk import Goal, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.integrations.asgi import ConversionMiddleware as ASGIMiddleware
from convsdk.integrations.wsgi import ConversionMiddleware as WSGIMiddleware
from trackers import default_tracker

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BOUNDARY = "fuzzboundary"
OPTIONS: dict[str, Any] = {
    "capture_fields": ["plan", "total"],
    "checkout_paths": ["*"],  # every POST is a checkout: the form is always read
    "variant_cookie": "ab",
    "variant_header": "X-Variant",
    "trusted_proxies": 1,
    "max_body_size": 64 * 1024,
}

latin1 = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80)
token = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60)


@st.composite
def cookies(draw: st.DrawFn) -> str:
    parts = draw(
        st.lists(st.tuples(st.sampled_from(["cv_vid", "cv_sid", "ab", "x"]), latin1), max_size=4)
    )
    text = "; ".join(f"{k}={v}" for k, v in parts)
    return draw(st.one_of(st.just(text), latin1))


@st.composite
def multipart_body(draw: st.DrawFn) -> bytes:
    fields = draw(
        st.lists(
            st.tuples(st.sampled_from(["plan", "total", "password", "f"]), st.binary(max_size=60)),
            max_size=4,
        )
    )
    chunks = []
    for name, value in fields:
        if draw(st.booleans()):
            head = f'Content-Disposition: form-data; name="{name}"; filename="a.bin"'
        else:
            head = f'Content-Disposition: form-data; name="{name}"'
        chunks.append(f"--{BOUNDARY}\r\n{head}\r\n\r\n".encode() + value + b"\r\n")
    body = b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode()
    cut = draw(st.integers(0, len(body)))
    return draw(st.sampled_from([body, body[:cut]]))


bodies = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda t: t.encode("utf-8", "surrogatepass"), st.text(max_size=100)),
    st.builds(lambda v: b"total=" + v + b"&plan=pro", st.binary(max_size=40)),
    multipart_body(),
    st.builds(lambda n: b"total=1&big=" + b"z" * n, st.integers(60_000, 120_000)),  # huge
)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            f"multipart/form-data; boundary={BOUNDARY}",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "application/json",
            "",
        ]
    ),
    latin1,
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(bodies)
    length = draw(st.one_of(st.just(str(len(body))), st.just(""), token))
    return {
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])),
        "path": "/"
        + draw(st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF), max_size=40)),
        "query": draw(latin1),
        "headers": {
            "cookie": draw(cookies()),
            "user-agent": draw(st.one_of(latin1, st.just("Mozilla/5.0 Chrome/124"))),
            "referer": draw(latin1),
            "x-forwarded-for": draw(latin1),
            "x-forwarded-proto": draw(latin1),
            "dnt": draw(st.sampled_from(["", "1", "0", "x"])),
            "sec-gpc": draw(st.sampled_from(["", "1"])),
            "x-variant": draw(latin1),
            "content-type": draw(content_types),
            "content-length": length,
        },
        "body": body,
    }


@pytest.fixture
def fuzz_tracker(memory: MemoryBackend) -> Iterator[Tracker]:
    goals = [
        Goal.macro("purchase", event="checkout", value_from="form:total"),
        Goal.micro("page", event="page_view"),
    ]
    with default_tracker(memory, secret_key="k", goals=goals, max_queue_size=1_000_000) as tracker:
        yield tracker


# -- WSGI -------------------------------------------------------------------------------


class EchoRequest(Request):
    """Uploads in memory: werkzeug puts those of a body without a usable Content-Length
    in temporary files, and leaves them to the garbage collector when the body turns
    out truncated (a ResourceWarning at some later test)."""

    def _get_file_stream(self, *args: Any, **kwargs: Any) -> IO[bytes]:
        return io.BytesIO()


@EchoRequest.application  # type: ignore[arg-type]
def wsgi_echo(request: Request) -> Response:
    """Reads the body the way a framework does and describes everything it saw."""
    data = request.get_data(cache=True)
    try:
        form = {k: request.form.getlist(k) for k in request.form}
        files = {k: hashlib.sha1(f.read()).hexdigest() for k, f in request.files.items()}
    except Exception as exc:  # werkzeug refusing a body is part of the app's answer
        form, files = {"error": [type(exc).__name__]}, {}
    described = {
        "method": request.method,
        "path": request.path,
        "query": request.query_string.decode("latin-1"),
        "body": hashlib.sha1(data).hexdigest(),
        "form": form,
        "files": files,
        "cookies": request.headers.get("Cookie", ""),
    }
    return Response(
        json.dumps(described, sort_keys=True), status=200 if data else 201, mimetype="text/html"
    )


def wsgi_environ(req: dict[str, Any]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": req["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": req["path"],
        "QUERY_STRING": req["query"],
        "SERVER_NAME": "shop.example",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(req["body"]),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in req["headers"].items():
        if not value:
            continue
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name == "content-length":
            environ["CONTENT_LENGTH"] = value
        else:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def call_wsgi(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    headers = [(k, v) for k, v in started[1] if k.lower() != "set-cookie"]
    return started[0], headers, body


@FUZZ
@given(req=requests())
def test_wsgi_answers_exactly_as_without_the_middleware(
    fuzz_tracker: Tracker, req: dict[str, Any]
) -> None:
    expected = call_wsgi(wsgi_echo, wsgi_environ(req))
    got = call_wsgi(WSGIMiddleware(wsgi_echo, tracker=fuzz_tracker, **OPTIONS), wsgi_environ(req))
    assert got == expected


# -- ASGI -------------------------------------------------------------------------------


async def asgi_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads every body message and describes them."""
    chunks = []
    kinds = []
    while True:
        message = await receive()
        kinds.append(message["type"])
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    described = {
        "path": scope["path"],
        "query": scope["query_string"].decode("latin-1"),
        "chunks": [hashlib.sha1(c).hexdigest() for c in chunks],
        "kinds": kinds,
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
    }
    body = json.dumps(described, sort_keys=True).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/html"), (b"x-n", b"%d" % len(chunks))],
        }
    )
    for i in range(0, len(body), 97):
        await send({"type": "http.response.body", "body": body[i : i + 97], "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def asgi_scope(req: dict[str, Any]) -> dict[str, Any]:
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in req["headers"].items()
        if value
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": req["method"],
        "scheme": "http",
        "path": req["path"],
        "raw_path": req["path"].encode("utf-8"),
        "root_path": "",
        "query_string": req["query"].encode("latin-1"),
        "server": ("shop.example", 80),
        "client": ("203.0.113.7", 1234),
        "headers": headers,
    }


async def call_asgi(app: Any, scope: dict[str, Any], parts: list[bytes]) -> list[Any]:
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list[Any] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {
                **message,
                "headers": [h for h in message["headers"] if h[0] != b"set-cookie"],
            }
        sent.append(message)

    await app(scope, receive, send)
    return sent


@FUZZ
@given(req=requests(), cuts=st.lists(st.integers(0, 200), max_size=4))
def test_asgi_answers_exactly_as_without_the_middleware(
    fuzz_tracker: Tracker, req: dict[str, Any], cuts: list[int]
) -> None:
    body = req["body"]
    points = sorted({min(c, len(body)) for c in cuts})
    parts = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    middleware = ASGIMiddleware(asgi_echo, tracker=fuzz_tracker, **OPTIONS)

    async def both() -> tuple[list[Any], list[Any]]:
        expected = await call_asgi(asgi_echo, asgi_scope(req), parts)
        got = await call_asgi(middleware, asgi_scope(req), parts)
        return expected, got

    expected, got = asyncio.run(both())
    assert got == expected
