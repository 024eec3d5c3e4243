"""The Django example (``examples/django_site``): its own tests under Django's test
runner, and the site under real servers with real HTTP requests, stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from commands import run_ok
from convsdk import Tracker
from served import free_port, kill_if_running, stop, wait_until_serving

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "django_site"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def example_env(tmp_path: Path) -> dict[str, str]:
    """The environment of the example's processes: their store and spool in ``tmp_path``."""
    return {
        **os.environ,
        "CONVSDK_BACKEND": f"sqlite:///{tmp_path / 'events.db'}",
        "CONVSDK_SPOOL_DIR": str(tmp_path / "spool"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def test_the_example_tests_pass_under_djangos_runner(tmp_path: Path) -> None:
    env = example_env(tmp_path)
    done = run_ok([sys.executable, "manage.py", "test", "--verbosity", "1"], EXAMPLE, env)
    assert "Ran 5 tests" in done.stderr and "OK" in done.stderr
    assert not (tmp_path / "events.db").exists()  # the tests' events stayed in memory


def test_code_outside_a_request_records_with_the_projects_settings(tmp_path: Path) -> None:
    # A Celery task confirming a payment, a management command: Django starts, no
    # middleware is built, and convsdk.track() found no tracker (nothing recorded).
    env = example_env(tmp_path)
    script = "import convsdk\nconvsdk.track('purchase', kind='macro', value=49.0, currency='EUR')\n"
    done = run_ok([sys.executable, "manage.py", "shell", "-c", script], EXAMPLE, env)
    assert "has not been called" not in done.stderr
    with closing(sqlite3.connect(tmp_path / "events.db")) as db:
        rows = list(db.execute("SELECT name, kind, value FROM convsdk_events"))
    assert rows == [("purchase", "macro", 49.0)]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket on a free port, handed to the server (no race for the port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.set_inheritable(True)
    with sock:
        yield sock


class Visitor:
    """A browser: keeps cookies, follows redirects, sends the CSRF token back."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.token = ""

    def get(self, path: str) -> str:
        with self.opener.open(self._request(path), timeout=30) as response:
            page: str = response.read().decode()
        found = TOKEN.search(page)
        if found:
            self.token = found.group(1)
        return page

    def post(self, path: str, fields: dict[str, str]) -> str:
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": self.token, **fields}).encode()
        with self.opener.open(self._request(path, data), timeout=30) as response:
            return str(response.url)

    def _request(self, path: str, data: bytes | None = None) -> urllib.request.Request:
        return urllib.request.Request(self.base + path, data=data, headers={"User-Agent": BROWSER})


UWSGI = shutil.which("uwsgi", path=os.path.dirname(sys.executable))
# uWSGI takes a listening socket by systemd's socket activation: fd 3, LISTEN_PID its own.
SOCKET_ACTIVATION = (
    "import os, sys; os.dup2(int(sys.argv[1]), 3); "
    "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1'); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)
UVICORN = (
    "import socket, sys, uvicorn; "
    "config = uvicorn.Config('site_project.asgi:application', log_level='warning'); "
    "uvicorn.Server(config).run(sockets=[socket.socket(fileno=int(sys.argv[1]))])"
)


def server_command(server: str, fd: int) -> list[str]:
    """The command serving the example on the listening socket ``fd``."""
    gunicorn = [sys.executable, "-m", "gunicorn", "--bind", f"fd://{fd}", "--log-level", "warning"]
    if server == "gunicorn-wsgi":
        return [*gunicorn, "--workers", "2", "site_project.wsgi"]
    if server == "gunicorn-asgi":
        return [*gunicorn, "-k", "uvicorn_worker.UvicornWorker", "site_project.asgi:application"]
    if server == "uvicorn-asgi":
        return [sys.executable, "-c", UVICORN, str(fd)]
    if server == "daphne":
        daphne = [sys.executable, "-m", "daphne", "--fd", str(fd), "-v", "0"]
        return [*daphne, "site_project.asgi:application"]
    if server == "hypercorn":
        hypercorn = [sys.executable, "-m", "hypercorn", "--bind", f"fd://{fd}"]
        return [*hypercorn, "--log-level", "warning", "site_project.asgi:application"]
    if UWSGI is None:
        pytest.skip("uWSGI is not installed (pip install pyuwsgi)")
    # uWSGI's recipe for a graceful stop on SIGTERM (--die-on-term kills the workers at
    # once, before Python's exit handlers run); threads on, for the delivery thread.
    uwsgi = [UWSGI, "--protocol", "http", "--master", "--processes", "2", "--enable-threads"]
    uwsgi += ["--hook-master-start", "unix_signal:15 gracefully_kill_them_all"]
    uwsgi += ["--need-app", "--module", "site_project.wsgi:application", "--disable-logging"]
    return [sys.executable, "-c", SOCKET_ACTIVATION, str(fd), *uwsgi]


@pytest.mark.parametrize(
    "server", ["gunicorn-wsgi", "gunicorn-asgi", "uvicorn-asgi", "daphne", "hypercorn", "uwsgi"]
)
def test_the_example_under_a_real_server(
    server: str, tmp_path: Path, listener: socket.socket
) -> None:
    fd = listener.fileno()
    env = example_env(tmp_path)
    env["CONVSDK_FLUSH_INTERVAL"] = "60"  # still queued at the stop: only the exit delivers
    proc = subprocess.Popen(
        server_command(server, fd), cwd=EXAMPLE, env=env, pass_fds=(fd,), stderr=subprocess.PIPE
    )
    try:
        visit(listener.getsockname()[1])
    finally:
        proc.send_signal(signal.SIGTERM)
        _, errors = proc.communicate(timeout=60)
    # uvicorn ends as the signal's default action would, once it has shut down.
    assert proc.returncode in (0, -signal.SIGTERM), errors
    assert_every_event_kept(tmp_path)


def test_the_example_under_runserver_stopped_by_sigterm(tmp_path: Path) -> None:
    # manage.py runserver serves from a child of its autoreloader; SIGTERM to the
    # parent (an IDE's stop button, docker stop) has it kill the child with SIGKILL.
    port = free_port()
    env = example_env(tmp_path)
    env["CONVSDK_FLUSH_INTERVAL"] = "60"
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"],
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_serving(port, proc, 60, path="/", method="HEAD")  # HEAD: not recorded
        visit(port)
        errors = stop(proc, timeout=60)
    finally:
        kill_if_running(proc)
    assert proc.returncode == 0, errors
    assert_every_event_kept(tmp_path)


def visit(port: int) -> None:
    """A visitor's way through the site: 6 pages, 3 forms, 3 conversions."""
    ada = Visitor(port)
    assert "Scheduling for field teams" in ada.get("/")
    ada.get("/pricing/")
    ada.get("/contact/")
    assert ada.post("/contact/", {"email": "no", "message": "hi"}).endswith("/contact/")
    thanks = ada.post("/contact/", {"email": "ada@example.com", "message": "a demo"})
    assert thanks.endswith("/contact/thanks/")
    ada.get("/signup/")
    assert ada.post("/signup/", {"email": "ada@example.com", "plan": "team"}).endswith("/welcome/")


def assert_every_event_kept(tmp_path: Path) -> None:
    """Every event of :func:`visit` is stored, or in the spool, which a tracker on it
    delivers."""
    with Tracker(backend=f"sqlite:///{tmp_path / 'events.db'}", spool_dir=tmp_path / "spool"):
        pass
    with closing(sqlite3.connect(tmp_path / "events.db")) as db:
        rows = list(db.execute("SELECT name, goal, value FROM convsdk_events ORDER BY timestamp"))
    assert [name for name, _, _ in rows].count("page_view") == 6
    assert [name for name, _, _ in rows].count("form_submit") == 3
    conversions = [(goal, value) for _, goal, value in rows if goal]
    assert sorted(conversions) == [
        ("requested_demo", None),
        ("signup", 49.0),
        ("viewed_pricing", None),
    ]
