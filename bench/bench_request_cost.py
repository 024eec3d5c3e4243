"""Instructions a request costs with convsdk's middleware, counted by valgrind's callgrind.

Run: ``python bench/bench_request_cost.py`` (valgrind installed; ``--rows wsgi,asgi,django``
picks rows, ``--requests N`` the requests counted a row, ``--keep DIR`` keeps each row's
callgrind output for ``callgrind_annotate``). About a minute on two cores.

Wall-clock timings on a shared machine move with whatever else runs; the instructions
a request executes do not. Each row is counted in a child process of its own run under
``valgrind --tool=callgrind --toggle-collect=starmap_next``: the child builds the app of
:mod:`bench_middleware` (Flask, Starlette or Django hello world, a page view matching a
goal, the same headers; a returning visitor whose cookies verify, or a new one whose ids
are minted and signed, with two ``Set-Cookie``), bare or with convsdk, makes warm-up
requests (caches, lazy imports), then makes ``N`` requests from inside
:func:`itertools.starmap`. Callgrind counts only what runs inside ``starmap_next`` (no
request path uses ``starmap``): the requests and the loop's harness, the same for the
bare and the convsdk child, so their difference is convsdk's. ASGI requests are driven
with ``coroutine.send`` inside a running event loop (none of these apps suspends).

What is counted is the request thread: the tracker's dispatcher thread is kept asleep
(neither its batch size nor its flush interval is reached), as in the "request thread
only" row of :mod:`bench_middleware`. The session clock is fixed, so a run never
crosses a minute (which would re-sign the session cookie once), and hash randomisation
is off, so a row counts the same each time.

To read instructions as µs, this process first times each bare app on the wall clock
(the fastest of a few runs, the one least slowed by other work; the same requests) and
takes the bare app's instructions per µs as the scale: added µs = added instructions / (bare
instructions / bare µs). An estimate: convsdk's code runs at about the interpreter's
usual instructions per cycle, like the app's, and the µs move with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_middleware as bm  # noqa: E402
from _util import table  # noqa: E402

APPS = ("wsgi", "asgi", "django")
VISITORS = ("returning", "new")
VARIANTS = ("bare", "convsdk")
# Multiples of the id pool's batch (128 pairs): a new visitor's run refills it as often
# in every child.
WARMUP = 128
REQUESTS = 256
#: A fixed time for the session clock (the start of a minute).
NOW = 1_780_000_020.0
TOGGLE = "starmap_next"
#: Called once after each row: callgrind dumps (and zeroes) the row's count.
MARKER = "pairwise_next"
ROWS = [(visitor, variant) for visitor in VISITORS for variant in VARIANTS]
TIMED_REQUESTS = 2_000
TIMED_REPEATS = 7
NAMES = {"wsgi": "Flask (WSGI)", "asgi": "Starlette (ASGI)", "django": "Django (WSGI)"}


# -- the child: one row's requests -----------------------------------------------------


def fixed_clock() -> Callable[[], float]:
    """A clock stuck at :data:`NOW`, as cheap to call as ``time.time`` (a C call)."""
    return itertools.repeat(NOW).__next__


def returning_cookie() -> str:
    """A returning visitor's Cookie header, seen this (fixed) minute."""
    from convsdk.identity import Identity

    _, _, cookies = Identity(bm.SECRET, clock=fixed_clock()).resolve(None)
    return "; ".join(["theme=dark", *(cookie.split(";", 1)[0] for cookie in cookies)])


def wsgi_app(variant: str, tracker: Any) -> Any:
    """Flask's hello world, bare or wrapped by convsdk's WSGI middleware."""
    from convsdk.integrations.wsgi import ConversionMiddleware

    app = bm.flask_hello()
    if variant == "convsdk":
        app = ConversionMiddleware(app, tracker=tracker, clock=fixed_clock())
    return app


def wsgi_step(app: Any, new: bool) -> Callable[[], None]:
    """One request to the WSGI ``app``, from a returning or a ``new`` visitor."""
    environ = bm.wsgi_environ(new=True)
    if not new:
        environ["HTTP_COOKIE"] = returning_cookie()
    return lambda: bm.wsgi_request(app, environ)


def asgi_app(variant: str, tracker: Any) -> Any:
    """Starlette's hello world, bare or wrapped by convsdk's ASGI middleware."""
    from convsdk.integrations.asgi import ConversionMiddleware

    app = bm.starlette_hello()
    if variant == "convsdk":
        app = ConversionMiddleware(app, tracker=tracker, clock=fixed_clock())
    return app


def asgi_step(app: Any, new: bool) -> Callable[[], None]:
    """One request to the ASGI ``app``, run to its end with ``send(None)`` (it never
    suspends), from a returning or a ``new`` visitor."""
    scope = bm.asgi_scope(new=True)
    if not new:
        scope["headers"].append((b"cookie", returning_cookie().encode("latin-1")))

    def step() -> None:
        coroutine = app(dict(scope), bm.receive, bm.send)
        try:
            coroutine.send(None)
        except StopIteration:
            return
        coroutine.close()
        raise RuntimeError("the ASGI app suspended: its requests cannot be counted this way")

    return step


def django_app(variant: str, tracker: Any) -> Any:
    """Django's hello world, bare or with convsdk's Django middleware (which records
    with the default tracker: ``tracker`` here)."""
    from convsdk import runtime

    if not _django:
        _django.append(bm.django_hello(CONVSDK_CLOCK=fixed_clock()))
    if variant == "bare":
        return _django[0]
    runtime.set_default(tracker)
    return bm.django_tracked()


_django: list[Any] = []
APP_BUILDERS = {"wsgi": wsgi_app, "asgi": asgi_app, "django": django_app}
STEPS = {"wsgi": wsgi_step, "asgi": asgi_step, "django": wsgi_step}


def child(app: str, requests: int) -> None:
    """Count ``app``'s rows, one callgrind dump each (in :data:`ROWS`' order): warm-up
    requests, then ``requests`` inside ``starmap`` (counted), then the dump's marker."""
    tracker = bm.make_tracker(asleep=True)
    apps = {variant: APP_BUILDERS[app](variant, tracker) for variant in VARIANTS}

    async def in_loop() -> None:  # ASGI code may look for its running loop
        for visitor, variant in ROWS:
            step = STEPS[app](apps[variant], visitor == "new")
            for _ in range(WARMUP):  # not counted: no starmap
                step()
            gc.collect()
            # A deque of no length consumes the iterator in C: only starmap_next counts.
            collections.deque(itertools.starmap(step, itertools.repeat((), requests)), maxlen=0)
            next(itertools.pairwise((0, 1)))  # the marker: callgrind dumps the row

    asyncio.run(in_loop())
    tracker.close()


# -- the parent: children under callgrind, bare apps timed -----------------------------


def count(app: str, requests: int, keep: Path | None) -> dict[tuple[str, str], float]:
    """Instructions per request of ``app``'s rows, from a child run under callgrind."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--toggle-collect={TOGGLE}",
            f"--dump-after={MARKER}",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--child",
            app,
            str(requests),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{app}: {done.stderr[-2000:]}")
        dumps = [Path(f"{out}.{part}") for part in range(1, len(ROWS) + 1)]
        if not all(dump.exists() for dump in dumps) or Path(f"{out}.{len(ROWS) + 1}").exists():
            raise RuntimeError(f"{app}: callgrind did not dump once a row (is {MARKER} used?)")
        counted = {}
        for (visitor, variant), dump in zip(ROWS, dumps, strict=True):
            counted[visitor, variant] = _total(dump.read_text()) / requests
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(dump, keep / f"callgrind.out.{app}-{visitor}-{variant}")
    return counted


def _total(text: str) -> int:
    """The instructions a callgrind output counted."""
    found = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError("no totals in callgrind's output")
    return int(found.group(1))


def bare_us(app: str) -> dict[str, float]:
    """µs per request of the bare ``app``, by visitor, on the wall clock (here): the
    fastest of a few runs, the one least slowed by other work on the machine."""
    bare = APP_BUILDERS[app]("bare", None)
    timed = {}
    for visitor in VISITORS:
        step = STEPS[app](bare, visitor == "new")

        async def loop(n: int, step: Callable[[], None] = step) -> float:
            start = time.perf_counter()
            for _ in range(n):
                step()
            return time.perf_counter() - start

        asyncio.run(loop(TIMED_REQUESTS // 10))
        times = []
        for _ in range(TIMED_REPEATS):
            gc.collect()
            times.append(asyncio.run(loop(TIMED_REQUESTS)) / TIMED_REQUESTS * 1e6)
        timed[visitor] = min(times)
    return timed


def rows(apps: Sequence[str], requests: int, keep: Path | None) -> list[list[object]]:
    """The table's rows: instructions bare, with convsdk, added, and added as µs."""
    timed = {app: bare_us(app) for app in apps}  # first: the children load both cores
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {app: pool.submit(count, app, requests, keep) for app in apps}
        counted = {app: future.result() for app, future in futures.items()}
    table_rows: list[list[object]] = []
    for app in apps:
        # One rate an app: its bare requests differ by a Cookie header only, so the
        # fastest run of either is the least disturbed measure of both.
        fastest = min(timed[app].values())
        for visitor in VISITORS:
            bare, tracked = counted[app][visitor, "bare"], counted[app][visitor, "convsdk"]
            rate = bare / fastest
            added = tracked - bare
            table_rows.append(
                [
                    f"{NAMES[app]}, {visitor}",
                    round(bare),
                    round(tracked),
                    round(added),
                    fastest,
                    round(rate),
                    added / rate,
                ]
            )
    return table_rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", default=",".join(APPS), help="apps to count: wsgi,asgi,django")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="requests counted a row")
    parser.add_argument("--keep", type=Path, help="keep the callgrind outputs in this folder")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        app, requests = args.child
        child(app, int(requests))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts (apt-get install valgrind)")
        return 0
    apps = [app for app in args.rows.split(",") if app]
    headers = [
        "per request",
        "bare instr",
        "+ convsdk instr",
        "added instr",
        "bare µs (timed)",
        "instr/µs",
        "added µs (est.)",
    ]
    version = sys.version.split()[0]
    print(f"instructions per request, {args.requests} requests a row (callgrind), Python {version}")
    print(table(headers, rows(apps, args.requests, args.keep)))
    print("(added µs = added instructions at the bare app's instructions per µs, timed here)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
