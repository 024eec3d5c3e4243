"""Requests per second the browser collect endpoint sustains, behind uvicorn.

Two servers run in child processes on 127.0.0.1, each a Starlette app under uvicorn:

- ``baseline``: a plain Starlette route at ``/_convsdk/collect`` that reads the body
  and answers 204 (the floor: uvicorn + Starlette alone);
- ``convsdk``: the same app behind the ASGI ``ConversionMiddleware`` with the
  collect endpoint (``BeaconEndpoint``) routed in front of it; events go to a
  tracker whose backend drops them (the dispatcher thread still runs).

The load comes from another child process: an asyncio HTTP/1.1 client on keep-alive
connections (raw sockets, so the client costs less than the server it measures),
sending ``sendBeacon``-style requests: ``text/plain`` JSON with one ``scroll_depth``
event, a same-site ``Origin``, and the signed visitor and session cookies of one of
5,000 visitors in turn (so the per-visitor rate limit, on, is never hit; the
per-network limit, on too, is raised out of reach, since every request comes from
127.0.0.1). Each figure is the median requests/s of 3 runs of ~5 s, the two servers
taking turns. ``--limits`` says where the limits are counted: ``memory`` (each process),
``file`` (a SQLite file, shared by the host's workers) or a ``redis://`` URL.

    python bench/bench_beacon.py [--seconds 5] [--repeats 3] [--connections 16]
                                 [--limits memory|file|redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _util import NOTE, table  # noqa: E402

SECRET = "bench-secret"
BROWSER_EVENTS = ["scroll_depth"]
VISITORS = 5_000
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
COLLECT = "/_convsdk/collect"


# -- the servers (child processes) ------------------------------------------------------


def build_app(mode: str, limits: str = "memory") -> Any:
    """The ASGI app a server child runs: ``baseline`` or ``convsdk``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    import convsdk
    from convsdk.event import Event

    async def home(request: Request) -> HTMLResponse:
        return HTMLResponse("<h1>Pricing</h1>")

    async def collect(request: Request) -> Response:
        await request.body()
        return Response(status_code=204)

    app = Starlette(routes=[Route("/", home), Route(COLLECT, collect, methods=["POST"])])
    if mode == "baseline":
        return app

    class NullBackend:
        def write(self, events: list[Event]) -> None:
            pass

        def close(self) -> None:
            pass

    from convsdk.beacon import BeaconEndpoint
    from convsdk.integrations.asgi import ConversionMiddleware

    tracker = convsdk.Tracker(
        backend=NullBackend(), spool_dir=None, secret_key=SECRET, max_queue_size=1_000_000
    )
    options: dict[str, Any] = {}
    if limits != "memory":
        import tempfile

        where = limits
        if limits == "file":
            where = str(Path(tempfile.mkdtemp(prefix="convsdk-bench-")) / "limits.sqlite3")
        options = {"beacon_rate_limit_url": where}
    try:
        # The middleware routes the endpoint itself when it takes the collect options.
        return ConversionMiddleware(
            app,
            tracker=tracker,
            browser_events=BROWSER_EVENTS,
            # Every request comes from 127.0.0.1: the network limit is on, out of reach.
            beacon_network_rate_limit=(10**9, 1.0),
            **options,
        )
    except TypeError:
        middleware = ConversionMiddleware(app, tracker=tracker)
        endpoint = BeaconEndpoint(
            tracker, recorder=middleware.recorder, browser_events=BROWSER_EVENTS
        )
        return endpoint.wrap_asgi(middleware)


def serve(mode: str, fd: int, limits: str = "memory") -> None:
    """Child: serve ``mode`` on the listening socket the parent passed."""
    import uvicorn

    # socket(fileno=...) reads the real protocol back: uvicorn's own fd= option takes it
    # for a Unix socket, and asyncio then leaves Nagle on (a delayed ACK per response).
    sock = socket.socket(fileno=fd)
    config = uvicorn.Config(
        build_app(mode, limits), log_level="warning", access_log=False, lifespan="on", ws="none"
    )
    uvicorn.Server(config).run(sockets=[sock])


@contextmanager
def server(mode: str, limits: str = "memory") -> Iterator[int]:
    """A server child for ``mode``; yields its port.

    The parent binds and listens, the child serves on the inherited socket: requests
    wait in the listen backlog until it is ready, so no polling is needed.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", mode, str(sock.fileno()), limits],
        pass_fds=[sock.fileno()],
    )
    sock.close()
    try:
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# -- the load (a child process) ---------------------------------------------------------


def beacon_requests(port: int) -> list[bytes]:
    """One prepared request per visitor, each with that visitor's signed cookies."""
    from convsdk.identity import Identity

    identity = Identity(SECRET)
    body = json.dumps(
        {
            "url": f"http://127.0.0.1:{port}/pricing",
            "events": [{"name": "scroll_depth", "properties": {"depth": 75}}],
        }
    ).encode()
    requests = []
    for _ in range(VISITORS):
        _, _, cookies = identity.resolve(None)
        cookie = "; ".join(c.split(";", 1)[0] for c in cookies)
        head = (
            f"POST {COLLECT} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            f"Origin: http://127.0.0.1:{port}\r\n"
            f"User-Agent: {USER_AGENT}\r\n"
            "Content-Type: text/plain;charset=UTF-8\r\n"
            f"Cookie: {cookie}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    return requests


async def _connection(
    port: int, requests: list[bytes], start: int, deadline: float, counts: Counter[int]
) -> None:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    i = start
    try:
        while time.perf_counter() < deadline:
            writer.write(requests[i % len(requests)])
            i += 7919  # a prime stride: connections walk the visitors in different orders
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            status = int(head[9:12])
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                end = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : end])
                if length:
                    await asyncio.wait_for(reader.readexactly(length), 10)
            elif b"transfer-encoding" in lower:
                raise RuntimeError("chunked responses are not expected here")
            counts[status] += 1
    finally:
        writer.close()


async def _load(port: int, seconds: float, connections: int) -> dict[str, Any]:
    requests = beacon_requests(port)
    counts: Counter[int] = Counter()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_connection(port, requests, n * 613, deadline, counts) for n in range(connections))
    )
    return {
        "requests": sum(counts.values()),
        "seconds": time.perf_counter() - started,
        "statuses": {str(k): v for k, v in counts.items()},
    }


def load(port: int, seconds: float, connections: int) -> dict[str, Any]:
    """Run a load child against ``port``; its counts."""
    out = subprocess.run(
        [sys.executable, __file__, "--load", str(port), str(seconds), str(connections)],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- the parent -------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--limits", default="memory", help="memory, file or a redis:// URL")
    args = parser.parse_args()

    modes = ("baseline", "convsdk")
    runs: dict[str, list[float]] = {mode: [] for mode in modes}
    refused: dict[str, Counter[str]] = {mode: Counter() for mode in modes}
    with server("baseline") as baseline_port, server("convsdk", args.limits) as convsdk_port:
        ports = {"baseline": baseline_port, "convsdk": convsdk_port}
        for mode in modes:  # warm-up: imports, caches, the bot patterns
            load(ports[mode], 1.0, args.connections)
        for _ in range(args.repeats):
            for mode in modes:
                result = load(ports[mode], args.seconds, args.connections)
                runs[mode].append(result["requests"] / result["seconds"])
                refused[mode].update({k: v for k, v in result["statuses"].items() if k != "204"})

    print(
        "browser collect endpoint, uvicorn on 127.0.0.1, load from a separate process "
        f"({args.connections} keep-alive connections, 1 event a request, {VISITORS:,} visitors, "
        f"limits counted in {args.limits.split('://')[0]})"
    )
    rows = []
    for mode, label in zip(
        modes,
        ("Starlette route answering 204", "convsdk BeaconEndpoint + middleware"),
        strict=True,
    ):
        rows.append(
            [
                label,
                statistics.median(runs[mode]),
                " / ".join(f"{r:,.0f}" for r in runs[mode]),
                sum(refused[mode].values()),
            ]
        )
    print(table(["server", "median req/s", "runs", "not 204"], rows))
    ratio = statistics.median(runs["convsdk"]) / statistics.median(runs["baseline"])
    print(f"convsdk / baseline: {ratio:.2f} of the baseline's throughput")
    print(NOTE)
    if any(refused.values()):
        print(f"answers other than 204: {dict(refused['convsdk']) or dict(refused['baseline'])}")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])
    elif len(sys.argv) > 1 and sys.argv[1] == "--load":
        result = asyncio.run(_load(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])))
        print(json.dumps(result))
    else:
        raise SystemExit(main())
