"""Requests a second end to end: real servers, real HTTP on 127.0.0.1, with and without
convsdk's middleware, side by side with OpenTelemetry's.

    python bench/bench_server.py [--quick] [--servers uvicorn,...] [--stores sqlite,...]
                                 [--cookies] [--batch-size N]

Servers, one worker process each: gunicorn sync, gunicorn gthread (4 threads), both
serving a Flask hello world, and uvicorn serving a Starlette one (``_server_app.py``).
Variants: bare; convsdk's middleware storing each page view in SQLite (a temp file)
or PostgreSQL (when reachable; its own table); OpenTelemetry's middleware with the
SDK's tracer provider and a batch span processor feeding an exporter that drops spans.
Where convsdk's share goes: ``--stores memory`` adds convsdk keeping events in memory
(no store written: the request path alone), and ``--cookies`` the bare app answering
with two ``Set-Cookie`` headers of a new visitor's shape (carrying them, without convsdk;
to returning visitors too, so only its new-visitor row compares with convsdk's).

The load comes from another process: ``wrk`` when it is on PATH, else ``_load.py``
(threads with raw sockets). C connections ask for ``/`` as fast as answered.
Visitors: "new" sends no cookies (every request is a first visit; convsdk mints and
signs ids and sets two cookies), "returning" sends the cookies convsdk set on a first
response (bare and OpenTelemetry get cookies of the same shape), fetched afresh for each
slice and used within the minute (convsdk re-signs the session cookie once a minute).

On a machine shared with other work, throughput moves by a third from one second to
the next, and a variant measured a minute after bare says more about the machine than
about the variant. So every variant of a server runs at once, each in its own process
(idle but for its turn), and the load goes to them in turn, a slice of a second or two
each, in a rotated order each slice (which kind of visitor goes first alternates): a
variant's slice sits beside bare's, and the ratio of the two is taken slice by slice.
The table gives the median req/s over the slices, the median of the slices' ratios to
bare on the same server, and the middle half of those ratios (the noise of the
machine). The servers are then stopped with SIGTERM, and each convsdk server's page
views are counted in its store: they must equal the pages its app served, or the run
says MISMATCH.

Throughput moves with the machine; the CPU a request costs the server moves far less.
So the table also gives the worker process's CPU time (user and system, from
``/proc``) over each slice, divided by the requests answered: the median µs a request,
and the part of it spent off the thread that answers (convsdk's dispatcher writing the
events, OpenTelemetry's span processor; not given for gthread, whose requests run on a
pool of threads).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _load import USER_AGENT  # noqa: E402
from _util import NOTE, table  # noqa: E402

from convsdk.identity import Identity  # noqa: E402

SECRET = "bench-secret"  # the apps' (see _server_app.py)
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test?table=bench_server"
#: The backend of each store (``{tmp}``: the server's folder); any other is POSTGRES.
BACKENDS = {"sqlite": "sqlite:///{tmp}/events.db", "memory": "memory://"}
STORES = ("sqlite", "postgres", "memory")
PG_TABLE = "bench_server"
VISITORS = ("new", "returning")

GUNICORN = [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:{port}", "--workers", "1"]
GUNICORN += ["--graceful-timeout", "90", "--log-level", "warning"]
SERVERS = {
    "gunicorn-sync": [*GUNICORN, "-k", "sync", "_server_app:wsgi"],
    "gunicorn-gthread": [*GUNICORN, "-k", "gthread", "--threads", "4", "_server_app:wsgi"],
    "uvicorn": [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--log-level",
        "warning",
        "--no-access-log",
        "_server_app:asgi",
    ],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pages_served(port: int) -> int:
    """What ``/healthz`` answers: the pages the app served at ``/`` (not recorded)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise OSError(f"/healthz answered {response.status}")
        return int(body)
    finally:
        conn.close()


def wait_until_serving(port: int, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Poll ``/healthz`` until it answers."""
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {proc.communicate()[1].decode()[-2000:]}")
        try:
            pages_served(port)
            return
        except OSError:
            pause.wait(0.05)  # polling, with a deadline
    raise RuntimeError(f"nothing answered on port {port} within {seconds} s")


def settled_count(port: int, seconds: float = 20) -> int:
    """The pages served, once the server has answered what the load left queued
    (wrk stops without reading its last requests): the count holds still for 0.2 s.
    Stopping the server earlier would stop it in the middle of requests."""
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    count = pages_served(port)
    while time.monotonic() < deadline:
        pause.wait(0.2)
        count, before = pages_served(port), count
        if count == before:
            return count
    raise RuntimeError(f"the server was still serving {seconds} s after the load ended")


# -- the CPU of a server's worker -------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: Servers whose requests run on the worker's main thread (gthread's run on a pool).
MAIN_THREAD = {"gunicorn-sync", "uvicorn"}


def worker_pids(pid: int) -> list[int]:
    """The processes answering requests: the server's children (gunicorn's workers),
    else the server itself; none without ``/proc``."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # the process ended
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children or ([pid] if Path(f"/proc/{pid}").exists() else [])


def cpu_seconds(pids: list[int]) -> tuple[float, float]:
    """CPU time (user and system) of ``pids`` so far: (their main threads, the others)."""
    main = other = 0.0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                fields = (task / "stat").read_text().rpartition(")")[2].split()
            except OSError:  # the thread ended
                continue
            seconds = (int(fields[11]) + int(fields[12])) / TICKS
            if int(task.name) == pid:
                main += seconds
            else:
                other += seconds
    return main, other


# -- stores -------------------------------------------------------------------------------


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
        ):
            return None
    except Exception as exc:  # any failure means: leave PostgreSQL out
        return f"{type(exc).__name__}: {exc}".strip().splitlines()[0]


def postgres_sql(statement: str) -> Any:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test") as conn:
        rows = conn.execute(statement)
        return rows.fetchone() if rows.description else None


def page_views(store: str, tmp: Path) -> int:
    """Page views in the store of a finished run."""
    if store == "sqlite":
        db = tmp / "events.db"
        if not db.exists():
            return 0
        with sqlite3.connect(db) as conn:
            query = "SELECT count(*) FROM convsdk_events WHERE name = 'page_view'"
            return int(conn.execute(query).fetchone()[0])
    query = f"SELECT count(*) FROM {PG_TABLE} WHERE name = 'page_view'"
    return int(postgres_sql(query)[0])


# -- load ---------------------------------------------------------------------------------


def load_for(
    load: str, port: int, connections: int, seconds: float, cookie: str | None
) -> dict[str, Any]:
    """``seconds`` of load on ``port``: ``rate`` (200 responses a second), ``total``
    (200s) and ``in_flight`` (requests the load may leave unread at its stop)."""
    if load == "python":
        command = [sys.executable, str(HERE / "_load.py"), str(port), str(connections)]
        command += ["0", str(seconds)]  # no warm-up of its own
        out = subprocess.run([*command, *([cookie] if cookie else [])], capture_output=True)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.decode()[-2000:])
        return dict(json.loads(out.stdout))
    measured = wrk(port, connections, seconds, cookie)
    measured["in_flight"] = 2 * connections  # requests wrk leaves unread at its stop
    return measured


def wrk(port: int, connections: int, seconds: float, cookie: str | None) -> dict[str, Any]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    command += ["-H", f"User-Agent: {USER_AGENT}", "-H", "Accept: text/html"]
    command += ["-H", "Referer: https://www.google.com/"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*command, f"http://127.0.0.1:{port}/"], capture_output=True, text=True)
    text = out.stdout
    found = re.search(r"(\d+) requests in ([\d.]+)(m?s)", text)
    if out.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed: {text}{out.stderr}")
    requests, elapsed = int(found[1]), float(found[2]) / (1000 if found[3] == "ms" else 1)
    other = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    good = requests - (int(other[1]) if other else 0)
    errors = re.search(r"Socket errors: (.*)", text)
    return {"rate": good / elapsed, "total": good, "errors": errors[1] if errors else ""}


def returning_cookie(port: int, convsdk: bool) -> tuple[str, int]:
    """The Cookie header of a returning visitor and the page views it cost (0 or 1)."""
    if not convsdk:
        _, _, cookies = Identity(SECRET).resolve(None)
        return "; ".join(["theme=dark", *(c.split(";", 1)[0] for c in cookies)]), 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/", headers={"User-Agent": USER_AGENT, "Accept": "text/html"})
        response = conn.getresponse()
        response.read()
        cookies = response.headers.get_all("Set-Cookie") or []
    finally:
        conn.close()
    if response.status != 200 or len(cookies) != 2:
        raise RuntimeError(f"first response: {response.status}, cookies {cookies}")
    return "; ".join(["theme=dark", *(c.split(";", 1)[0] for c in cookies)]), 1


def wait_for_minute_room(seconds: float) -> None:
    """Sleep into the next minute when this one has less than ``seconds`` left: a
    returning visitor's session cookie must stay within the minute it names."""
    left = 60 - time.time() % 60
    if left < seconds:
        threading.Event().wait(left + 0.2)


# -- one server run -----------------------------------------------------------------------


@contextmanager
def serving(
    server: str, variant: str, store: str | None, tmp: Path, batch_size: int = 100
) -> Iterator[Any]:
    """Start the server; yield (port, process); stop it with SIGTERM and wait."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        "BENCH_VARIANT": variant,
        "BENCH_SPOOL": str(tmp / "spool"),
        "BENCH_BACKEND": BACKENDS.get(store or "", POSTGRES).format(tmp=tmp),
        "BENCH_BATCH_SIZE": str(batch_size),
    }
    command = [part.format(port=port) for part in SERVERS[server]]
    proc = subprocess.Popen(
        command, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until_serving(port, proc)
        yield port, proc
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
        if b"Traceback" in stderr:
            print(stderr.decode()[-3000:], file=sys.stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


class Running:
    """A server of one variant, running: its port, folder and store."""

    def __init__(self, variant: str, port: int, tmp: Path) -> None:
        kind, _, store = variant.partition(" ")
        self.port, self.tmp, self.store = port, tmp, store
        self.tracked = kind == "convsdk"
        self.responses = 0  # 200 responses counted by the load
        self.in_flight = 0  # requests the load may have left unread
        self.served = 0
        self.workers: list[int] = []  # the processes answering, for their CPU time


Measured = dict[tuple[str, str], list[float]]


def run_server(
    server: str, names: list[str], load: str, args: argparse.Namespace
) -> tuple[Measured, Measured, Measured, dict[str, str]]:
    """Serve every variant at once and load them in turn, slice by slice (see the
    module); req/s by (variant, visitor) in slice order, the worker's CPU µs a request
    (all of it, and off its main thread) likewise, and each convsdk variant's events
    check."""
    rates: Measured = defaultdict(list)
    cpu: Measured = defaultdict(list)
    off_main: Measured = defaultdict(list)
    if "convsdk postgres" in names:
        postgres_sql(f"DROP TABLE IF EXISTS {PG_TABLE}")
    with ExitStack() as folders:
        running: dict[str, Running] = {}
        with ExitStack() as servers:
            for variant in names:
                tmp = Path(folders.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
                kind, _, store = variant.partition(" ")
                port, proc = servers.enter_context(
                    serving(server, kind, store or None, tmp, args.batch_size)
                )
                running[variant] = Running(variant, port, tmp)
                running[variant].workers = worker_pids(proc.pid)
            for run in running.values():  # warm-up: caches, lazy imports, the first batch
                warm = load_for(load, run.port, args.connections, args.warmup, None)
                run.responses += warm["total"]
                run.in_flight += warm.get("in_flight", 0)
            for slice_ in range(args.slices):
                turn = slice_ % len(names)
                for visitor in VISITORS[:: 1 if slice_ % 2 == 0 else -1]:
                    if visitor == "returning":  # every variant's turn within one minute
                        wait_for_minute_room(len(names) * (args.duration + 2) + 1)
                    for variant in names[turn:] + names[:turn]:
                        rate, main, other = _slice(running[variant], visitor, load, args)
                        rates[variant, visitor].append(rate)
                        cpu[variant, visitor].append(main + other)
                        off_main[variant, visitor].append(other)
                line = ", ".join(
                    f"{label(v)} {rates[v, 'new'][-1] / rates['bare', 'new'][-1]:.2f}"
                    for v in names
                    if v != "bare"
                )
                print(f"{server:<16} slice {slice_ + 1}: new visitor, ratio to bare: {line}")
            for run in running.values():
                run.served = settled_count(run.port)
        # The servers stopped (SIGTERM): what each tracker stored is all there is.
        checks = {variant: _check(run) for variant, run in running.items() if run.tracked}
    return rates, cpu, off_main, checks


def _slice(
    run: Running, visitor: str, load: str, args: argparse.Namespace
) -> tuple[float, float, float]:
    """One slice of load on ``run``'s server: its req/s, and the CPU µs a request on
    the worker's main thread and on its other threads."""
    cookie = None
    if visitor == "returning":
        cookie, cost = returning_cookie(run.port, run.tracked)
        run.responses += cost
    before = cpu_seconds(run.workers)
    result = load_for(load, run.port, args.connections, args.duration, cookie)
    after = cpu_seconds(run.workers)
    run.responses += result["total"]
    run.in_flight += result.get("in_flight", 0)
    answered = max(1, result["total"])
    main, other = ((b - a) * 1e6 / answered for a, b in zip(before, after, strict=True))
    return float(result["rate"]), main, other


def _check(run: Running) -> str:
    """Whether a convsdk server stored a page view for every page it served."""
    if run.store == "memory":
        return f"pages served {run.served}, 200s {run.responses}: events kept in memory"
    stored = page_views(run.store, run.tmp)
    spooled = sum(f.stat().st_size for f in (run.tmp / "spool").rglob("*") if f.is_file())
    ok = stored == run.served and run.responses <= run.served <= run.responses + run.in_flight
    check = f"page views stored {stored}, pages served {run.served}, 200s {run.responses}"
    if spooled:
        check += f", {spooled} B left in the spool"
    return f"{check}: {'ok' if ok else 'MISMATCH'}"


# -- main ---------------------------------------------------------------------------------


def variants(stores: list[str], cookies: bool) -> tuple[list[str], list[str]]:
    """The variants to run, and notes on those left out."""
    names, notes = ["bare"], []
    for store in stores:
        if store == "postgres" and (why := postgres_reachable()) is not None:
            notes.append(f"PostgreSQL left out: not reachable ({why})")
            continue
        names.append(f"convsdk {store}")
    if cookies:
        names.append("cookies")
    try:
        import opentelemetry.instrumentation.asgi  # noqa: F401
        import opentelemetry.instrumentation.wsgi  # noqa: F401
        import opentelemetry.sdk.trace  # noqa: F401

        names.append("otel")
    except ImportError:
        notes.append("OpenTelemetry missing (pip install convsdk[bench]): its rows left out")
    return names, notes


def label(variant: str) -> str:
    names = {"bare": "bare", "otel": "+ OpenTelemetry", "cookies": "bare + 2 Set-Cookie"}
    return names.get(variant, "+ " + variant)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 slices of 1 s")
    parser.add_argument("--slices", type=int, help="turns of every variant (default 9)")
    parser.add_argument("--duration", type=float, help="seconds a slice (default 2)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds, once a server")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated")
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--cookies", action="store_true", help="add bare answering with two Set-Cookie"
    )
    parser.add_argument(
        "--batch-size", type=int, default=100, help="convsdk's batch_size (default 100)"
    )
    args = parser.parse_args()
    args.slices = args.slices or (3 if args.quick else 9)
    args.duration = args.duration or (1.0 if args.quick else 2.0)
    servers = [s for s in args.servers.split(",") if s]
    stores = [s for s in args.stores.split(",") if s]
    unknown = [s for s in servers if s not in SERVERS] + [s for s in stores if s not in STORES]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    load = args.load
    if load == "auto":
        load = "wrk" if shutil.which("wrk") else "python"
    names, notes = variants(stores, args.cookies)

    print("Hello-world page over HTTP on 127.0.0.1, one server worker process, req/s")
    print(
        f"Python {platform.python_version()}; load: "
        + ("wrk (1 thread)" if load == "wrk" else "_load.py (Python threads, raw sockets)")
        + f" in another process, {args.connections} connections; every variant served at"
        f" once, {args.warmup:g} s warm-up each, then {args.slices} slices of"
        f" {args.duration:g} s each in turn; convsdk's batch_size {args.batch_size}"
    )
    for note in notes:
        print(note)
    print()

    rows = []
    for server in servers:
        try:
            rates, cpu, off_main, checks = run_server(server, names, load, args)
        except Exception as exc:  # a server that fails is reported, not fatal
            print(f"{server}: FAILED {exc}", flush=True)
            continue
        for variant, check in checks.items():
            print(f"{server:<16} {label(variant):<20} {check}", flush=True)
        for visitor in VISITORS:
            bare = rates["bare", visitor]
            for variant in names:
                got = rates[variant, visitor]
                ratios = [rate / base for rate, base in zip(got, bare, strict=True)]
                quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
                rows.append(
                    [
                        server,
                        visitor,
                        label(variant),
                        statistics.median(got),
                        statistics.median(ratios),
                        f"{quartiles[0]:.2f}-{quartiles[2]:.2f}",
                        statistics.median(cpu[variant, visitor]),
                        statistics.median(off_main[variant, visitor])
                        if server in MAIN_THREAD
                        else "",
                    ]
                )
    print()
    headers = ["server", "visitor", "variant", "req/s (median)", "ratio to bare", "middle half"]
    headers += ["CPU µs/req", "off the request thread"]
    print(table(headers, rows))
    print(NOTE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
