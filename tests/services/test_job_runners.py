"""Conversions tracked in background jobs are stored: Celery's prefork pool and RQ.

A payment webhook handed to a job, which tracks the purchase: the usual way a shop
records its macro conversion. Both runners end the process that ran the job with
``os._exit`` (Celery's pool process at the worker's stop or when recycled, RQ's work
horse after each job), where ``atexit`` never runs. Each test runs a real worker on
the Redis server, with a queue of its own, sends 20 jobs, stops the worker, and finds
20 purchases stored.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from commands import run_ok

pytestmark = [pytest.mark.services, pytest.mark.slow]

JOBS = 20

TASKS = """
import os

import convsdk


def purchase(n):
    # Built in the process that runs the job (Celery's pool process, RQ's work horse),
    # with nothing written before it ends: only its end delivers.
    if convsdk.runtime.default is None:
        convsdk.init(backend="sqlite:///" + os.environ["TEST_DB"],
                     spool_dir=os.environ["TEST_SPOOL"], flush_interval=3600)
    convsdk.track("purchase", kind="macro", value=49.0, currency="EUR",
                  properties={"n": n})
    return n
"""

CELERY_APP = """
import os

from celery import Celery

import tasks

app = Celery("celery_app", broker=os.environ["TEST_BROKER"], backend=os.environ["TEST_BROKER"])
app.conf.task_default_queue = os.environ["TEST_QUEUE"]
app.conf.worker_hijack_root_logger = False


@app.task
def purchase(n):
    return tasks.purchase(n)
"""


def unique_queue() -> str:
    """A queue no other test (or test run at the same time) uses."""
    return f"convsdk-test-{uuid.uuid4().hex[:12]}"


def stored(db: Path) -> list[int]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT properties FROM convsdk_events WHERE name = 'purchase'")
        return sorted(json.loads(properties)["n"] for (properties,) in rows)


def job_env(tmp_path: Path, redis_url: str, queue: str) -> dict[str, str]:
    (tmp_path / "tasks.py").write_text(textwrap.dedent(TASKS))
    (tmp_path / "celery_app.py").write_text(textwrap.dedent(CELERY_APP))
    return {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "TEST_DB": str(tmp_path / "events.db"),
        "TEST_SPOOL": str(tmp_path / "spool"),
        "TEST_BROKER": redis_url,
        "TEST_QUEUE": queue,
    }


def test_celery_prefork_pool_processes_deliver_at_their_end(tmp_path: Path, redis_url: str) -> None:
    pytest.importorskip("celery")
    queue = unique_queue()
    env = job_env(tmp_path, redis_url, queue)
    worker = [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "--pool", "prefork"]
    worker += ["--concurrency", "2", "--loglevel", "warning", "--without-mingle"]
    worker += ["--without-gossip", "--without-heartbeat"]
    # A pool process ends after 7 tasks; those left at the stop end with the worker.
    worker += ["--max-tasks-per-child", "7"]
    sender = (
        "import celery_app\n"
        f"results = [celery_app.purchase.delay(n) for n in range({JOBS})]\n"
        "print(sorted(result.get(timeout=60) for result in results))\n"
    )
    proc = subprocess.Popen(
        worker, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        done = run_ok([sys.executable, "-c", sender], tmp_path, env)
        assert done.stdout.strip() == str(list(range(JOBS)))
    finally:
        proc.send_signal(signal.SIGTERM)  # Celery's warm shutdown
        _, errors = proc.communicate(timeout=60)
    assert proc.returncode == 0, errors.decode()
    assert stored(tmp_path / "events.db") == list(range(JOBS))


def test_rq_work_horses_deliver_with_convsdks_worker_class(tmp_path: Path, redis_url: str) -> None:
    pytest.importorskip("rq")
    from redis import Redis
    from rq import Queue

    name = unique_queue()
    env = job_env(tmp_path, redis_url, name)
    connection = Redis.from_url(redis_url)
    queue = Queue(name, connection=connection)
    try:
        jobs = [queue.enqueue("tasks.purchase", n) for n in range(JOBS)]
        worker = [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", redis_url]
        worker += ["--worker-class", "convsdk.integrations.rq.Worker", name]
        run_ok(worker, tmp_path, env)
        assert [job.get_status(refresh=True) for job in jobs] == ["finished"] * JOBS
    finally:
        queue.delete(delete_jobs=True)
        connection.close()
    assert stored(tmp_path / "events.db") == list(range(JOBS))
