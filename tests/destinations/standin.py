"""A stand-in for a service's HTTP API: a real server on 127.0.0.1 (a free port) in a
thread, which records each request, checks it with the test's rules and answers as
the service would (or holds the request until released)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """One request the stand-in received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


#: The raw email the tests give identify() or put in traits: no service may receive it.
RAW_EMAIL = "ada@example.com"

#: What the stand-in answers: a status, a JSON-able body (or None), extra headers.
Answer = tuple[int, Any, dict[str, str]]


@dataclass
class StandIn:
    """The service: ``check(request)`` gives the answer to a request the test did not
    script (``None`` = accepted, else a 4xx answer for the refusal); ``script`` answers
    the next requests before that; ``hold`` makes requests wait until it is set."""

    check: Callable[[Request], Answer]
    base: str = ""
    requests: list[Request] = field(default_factory=list)
    script: list[Answer] = field(default_factory=list)
    hold: threading.Event | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    held: threading.Event = field(default_factory=threading.Event)

    def answer(self, request: Request) -> Answer:
        if self.hold is not None:
            self.held.set()
            self.hold.wait(30)
        with self.lock:
            self.requests.append(request)
            if self.script:
                return self.script.pop(0)
        return self.check(request)

    def bodies(self) -> list[Any]:
        with self.lock:
            return [r.body for r in self.requests]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        request = Request("POST", parts.path, query, dict(self.headers.items()), raw)
        try:
            status, body, headers = self.server.standin.answer(request)
        except Exception as exc:  # a check that crashed: the test sees a 599
            status, body, headers = 599, {"error": repr(exc)}, {}
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: StandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a held request has closed its socket: not an error.
        pass


@contextmanager
def serving(standin: StandIn) -> Iterator[StandIn]:
    """Run ``standin`` on a free loopback port; its ``base`` is then its URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.standin = standin
    standin.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        if standin.hold is not None:
            standin.hold.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


def refuse(message: str, status: int = 400) -> Answer:
    """A refusal with the service's message."""
    return status, {"error": {"message": message}}, {}
