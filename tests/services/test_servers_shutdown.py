"""Nothing lost on a normal stop, under real servers.

Each test starts a server as a subprocess with a tiny app that tracks one event per
request (SQLite backend, a spool, ``flush_interval=30`` so that events are surely still
queued at the stop), sends 250 requests over HTTP, sends SIGTERM to the process it
started and waits for it to exit. Every event must then be in the database, or in the
spool, which a new tracker on the same directory delivers: 250 distinct events.
"""

from __future__ import annotations

import http.client
import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from convsdk import Tracker
from served import free_port, kill_if_running, stop, wait_until_serving

pytestmark = pytest.mark.slow

REQUESTS = 250
CONNECTIONS = 5

APP = """
import os

import convsdk
from convsdk.integrations.asgi import ConversionMiddleware

convsdk.init(
    backend="sqlite:///" + os.environ["TEST_DB"],
    spool_dir=os.environ["TEST_SPOOL"],
    flush_interval=30.0,  # still queued at the stop: only the shutdown path delivers
    filter_bots=False,
    secret_key="test",
)


def hit(query):
    if query:
        convsdk.track("hit", kind="micro", properties={"n": int(query)})


async def _asgi(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    hit(scope["query_string"].decode())
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


asgi = ConversionMiddleware(_asgi)


def wsgi(environ, start_response):
    hit(environ.get("QUERY_STRING", ""))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


try:
    from flask import Flask
except ImportError:  # its case is skipped
    flask_app = None
else:
    flask_app = Flask(__name__)
    flask_app.wsgi_app = wsgi
"""

GUNICORN = [
    sys.executable,
    "-m",
    "gunicorn",
    "--bind",
    "127.0.0.1:{port}",
    "--workers",
    "2",
    "--graceful-timeout",
    "15",
    "--log-level",
    "warning",
]
# Where uvicorn and Granian listen, and how little they say.
LOCAL = ["--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"]
GRANIAN = [sys.executable, "-m", "granian", "--interface", "asgi", *LOCAL]
UVICORN = [sys.executable, "-m", "uvicorn", *LOCAL]
FLASK = [sys.executable, "-m", "flask", "--app"]
WAITRESS = [sys.executable, "-m", "waitress", "--listen=127.0.0.1:{port}", "--threads=4"]

SERVERS = {
    "uvicorn": [*UVICORN, "tracked_app:asgi"],
    "uvicorn-no-lifespan": [*UVICORN, "--lifespan", "off", "tracked_app:asgi"],
    "uvicorn-2-workers": [*UVICORN, "--workers", "2", "tracked_app:asgi"],
    "hypercorn": [
        sys.executable,
        "-m",
        "hypercorn",
        "--bind",
        "127.0.0.1:{port}",
        "tracked_app:asgi",
    ],
    # Daphne (Twisted) speaks no lifespan: the signal handler or atexit closes the tracker.
    "daphne": [
        sys.executable,
        "-m",
        "daphne",
        "--bind",
        "127.0.0.1",
        "--port",
        "{port}",
        "-v",
        "0",
        "tracked_app:asgi",
    ],
    "gunicorn-uvicorn-worker": [
        *GUNICORN,
        "-k",
        "uvicorn_worker.UvicornWorker",
        "tracked_app:asgi",
    ],
    # Granian (Rust): its parent stops the worker process on SIGTERM. Not with two: a
    # worker still starting when the signal comes is never stopped (Granian 2.8.9, an
    # app without convsdk too), and a loaded machine starts the second one late.
    "granian": [*GRANIAN, "tracked_app:asgi"],
    "gunicorn-sync": [*GUNICORN, "-k", "sync", "tracked_app:wsgi"],
    "gunicorn-gthread": [*GUNICORN, "-k", "gthread", "--threads", "4", "tracked_app:wsgi"],
    # gevent runs signal handlers in its hub, where nothing may wait: convsdk's closes
    # from a greenlet of its own (before, it failed with a traceback at every stop).
    "gunicorn-gevent": [*GUNICORN, "-k", "gevent", "tracked_app:wsgi"],
    # Waitress sets no signal handler: convsdk's delivers, then the process dies of SIGTERM.
    "waitress": [*WAITRESS, "tracked_app:wsgi"],
    # The development server under Werkzeug's reloader: SIGTERM to its parent has it
    # kill the serving child with SIGKILL; the child's durable tracker kept every event.
    "flask-debug": [*FLASK, "tracked_app:flask_app", "run", "--debug", "--port", "{port}"],
}
MODULES = {
    "granian": "granian",
    "uvicorn": "uvicorn",
    "hypercorn": "hypercorn",
    "daphne": "daphne",
    "gunicorn": "gunicorn",
    "waitress": "waitress",
    "flask": "flask",
}


def send_requests(port: int) -> None:
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(CONNECTIONS)]
    try:
        for n in range(REQUESTS):
            conn = conns[n % CONNECTIONS]
            conn.request("GET", f"/?{n}")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
    finally:
        for conn in conns:
            conn.close()


def stored(db: Path) -> list[tuple[str, int]]:
    if not db.exists():
        return []
    with closing(sqlite3.connect(db)) as conn:
        return list(
            conn.execute(
                "SELECT event_id, json_extract(properties, '$.n') FROM convsdk_events"
                " WHERE name = 'hit'"
            )
        )


def run_and_stop(tmp_path: Path, command: list[str]) -> tuple[int, list[tuple[str, int]], int]:
    """Serve, send the requests, SIGTERM; return (exit status, rows after the stop, rows
    after a new tracker delivered the spool)."""
    (tmp_path / "tracked_app.py").write_text(textwrap.dedent(APP))
    db, spool = tmp_path / "events.db", tmp_path / "spool"
    port = free_port()
    env = {**os.environ, "TEST_DB": str(db), "TEST_SPOOL": str(spool), "PYTHONPATH": str(tmp_path)}
    proc = subprocess.Popen(
        [part.format(port=port) for part in command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_serving(port, proc, 20)
        send_requests(port)
        stderr = stop(proc)
    finally:
        kill_if_running(proc)
    at_stop = len(stored(db))
    with Tracker(backend=f"sqlite:///{db}", spool_dir=spool) as tracker:
        assert tracker.flush(10.0), tracker.stats()
    assert b"Traceback" not in stderr, stderr.decode()
    return proc.returncode, stored(db), at_stop


@pytest.mark.parametrize("server", list(SERVERS))
def test_every_request_is_stored_after_sigterm(tmp_path: Path, server: str) -> None:
    pytest.importorskip(MODULES[server.split("-")[0]])
    for worker in ("uvicorn_worker", "gevent"):
        if worker in " ".join(SERVERS[server]):
            pytest.importorskip(worker)
    _, rows, _ = run_and_stop(tmp_path, SERVERS[server])
    assert len({event_id for event_id, _ in rows}) == len(rows)
    assert sorted(n for _, n in rows) == list(range(REQUESTS))
