"""Forked processes deliver their events: pre-forked workers (gunicorn ``--preload``,
uWSGI) and the children of :mod:`multiprocessing`, which end with ``os._exit``."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from commands import run_ok
from convsdk import Tracker
from convsdk.backends.file import read_events
from served import free_port, kill_if_running, stop

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")


def sqlite_rows(db: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.execute("SELECT event_id, name FROM convsdk_events"))


def fork() -> int:
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads: that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def test_a_forked_child_delivers_its_own_events_and_not_the_parents(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    # Nothing is written before close(): the parent's event is still queued at the fork.
    t = Tracker(
        backend=f"sqlite:///{db}",
        spool_dir=tmp_path / "spool",
        flush_interval=3600,
        batch_size=1000,
    )
    parent_event = t.track("in_parent")
    assert parent_event is not None
    pid = fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            for _ in range(10):
                t.track("in_child")
            # A flush needs a running worker thread in this process.
            code = 0 if t.flush(timeout=10) and t.stats()["delivered"] == 10 else 2
            t.close()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert t.close()
    rows = sqlite_rows(db)
    assert sorted(name for _, name in rows) == ["in_child"] * 10 + ["in_parent"]


def test_a_fork_without_hooks_is_caught_by_the_pid_check(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    t = Tracker(backend=f"sqlite:///{db}", spool_dir=None, flush_interval=3600)
    t.track("warm_up")
    assert t.flush(timeout=5)
    pid = fork()
    if pid == 0:
        code = 1
        try:
            # Undo what the at-fork hook did, as after a C-level fork (uWSGI) that runs none.
            d = t._dispatcher.lanes[0].dispatcher  # type: ignore[union-attr]
            d._pid, d._thread = os.getppid(), threading.Thread(target=lambda: None)
            t.track("in_child")
            code = 0 if t.flush(timeout=10) else 2
            t.close()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    t.close()
    assert sorted(name for _, name in sqlite_rows(db)) == ["in_child", "warm_up"]


APP = """
import os
import convsdk

# Built in the gunicorn master (--preload), before the workers are forked.
tracker = convsdk.init(
    backend="sqlite:///" + os.environ["TEST_DB"],
    spool_dir=os.environ["TEST_SPOOL"],
    flush_interval=0.05,
)
# A second tracker whose event is still queued in the master when it forks: the workers
# use it too, and must not send the master's event again (a file backend shows the
# duplicates SQLite would hide). Its workers deliver only at exit.
boot = convsdk.Tracker(
    backend="file://" + os.environ["TEST_BOOT"], spool_dir=None, flush_interval=3600,
)
boot.track("master_booted")


def app(environ, start_response):
    tracker.track("hit", properties={"request": environ["QUERY_STRING"],
                                     "worker": os.getpid()})
    boot.track("served", properties={"request": environ["QUERY_STRING"]})
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while time.monotonic() < deadline:
        assert proc.poll() is None, "gunicorn exited early"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            pause.wait(0.05)
    raise AssertionError(f"gunicorn did not listen on {port} within {seconds} s")


def test_gunicorn_preload_workers_deliver_every_request(tmp_path: Path) -> None:
    pytest.importorskip("gunicorn")
    (tmp_path / "tracked_app.py").write_text(textwrap.dedent(APP))
    db, boot = tmp_path / "events.db", tmp_path / "boot.jsonl"
    env = {
        **os.environ,
        "TEST_DB": str(db),
        "TEST_SPOOL": str(tmp_path / "spool"),
        "TEST_BOOT": str(boot),
    }
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--preload",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(tmp_path),
            "--graceful-timeout",
            "15",
            "--log-level",
            "warning",
            "tracked_app:app",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, proc, 60)  # a loaded machine boots gunicorn slowly

        def get(i: int) -> int:
            url = f"http://127.0.0.1:{port}/?{i}"
            with urllib.request.urlopen(url, timeout=10) as response:
                return int(response.status)

        with ThreadPoolExecutor(max_workers=16) as pool:
            assert set(pool.map(get, range(200))) == {200}
        stderr = stop(proc)
    finally:
        kill_if_running(proc)
    assert proc.returncode == 0, stderr.decode()

    with closing(sqlite3.connect(db)) as conn:
        rows = list(
            conn.execute(
                "SELECT json_extract(properties, '$.request'), json_extract(properties, '$.worker')"
                " FROM convsdk_events WHERE name = 'hit'"
            )
        )
    assert sorted(int(request) for request, _ in rows) == list(range(200))
    assert len({worker for _, worker in rows}) >= 1
    names = [e.name for e in read_events(boot, dedupe=False)]
    assert names.count("master_booted") == 1, "events queued in the master were sent again"
    assert names.count("served") == 200, "workers lost events at exit"


# -- processes that end with os._exit ----------------------------------------------------

CHILDREN = """
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import convsdk


def tracker():
    # Nothing is written before close(): only the end of each process delivers.
    return convsdk.Tracker(backend="sqlite:///" + os.environ["TEST_DB"],
                           spool_dir=os.environ["TEST_SPOOL"], flush_interval=3600)


def work(n):
    convsdk.track("purchase", kind="macro", properties={"n": n})
    return n


if __name__ == "__main__":
    case, method = sys.argv[1:]
    context = multiprocessing.get_context(method)
    convsdk.runtime.set_default(tracker())  # built in the parent, used by the children
    if case == "process":
        children = [context.Process(target=work, args=(n,)) for n in range(20)]
        for child in children:
            child.start()
        for child in children:
            child.join()
    elif case == "pool":
        # Closed and joined: each worker ends once the work is done. (Leaving a with
        # block would terminate the pool with SIGTERM, which with any Python-level
        # handler in the workers, convsdk's or another, now and then hangs CPython's
        # Pool for good; test_shutdown covers a signal coming while a close runs.)
        pool = context.Pool(2)
        pool.map(work, range(20))
        pool.close()
        pool.join()
    else:
        with ProcessPoolExecutor(2, mp_context=context) as executor:
            list(executor.map(work, range(20)))
"""


@pytest.mark.parametrize("case", ["process", "pool", "executor"])
def test_multiprocessing_children_deliver_what_they_tracked(tmp_path: Path, case: str) -> None:
    # A forked child of multiprocessing ends with os._exit, where atexit never runs:
    # before, every event it held was lost. (A spawned one ends with sys.exit.)
    (tmp_path / "children.py").write_text(textwrap.dedent(CHILDREN))
    db = tmp_path / "events.db"
    env = {**os.environ, "TEST_DB": str(db), "TEST_SPOOL": str(tmp_path / "spool")}
    done = run_ok([sys.executable, "children.py", case, "fork"], tmp_path, env)
    assert "Traceback" not in done.stderr, done.stderr
    with closing(sqlite3.connect(db)) as conn:
        numbers = [n for (n,) in conn.execute("SELECT properties FROM convsdk_events")]
    assert len(numbers) == 20  # all stored before the parent ended: none left to replay
    assert len(set(numbers)) == 20
