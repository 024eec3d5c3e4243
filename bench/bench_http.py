"""Events per second from HTTPBackend to a local collector.

The collector (``convsdk.collector.create_app``, uvicorn, a ``memory://`` backend) runs in
a separate process on 127.0.0.1; this process sends batches one after the other, as
the dispatcher thread does, and times it. Each figure is the median of several repeats.

    python bench/bench_http.py [--events 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from convsdk import _json
from convsdk.backends.http import HTTPBackend
from convsdk.event import Event, make_event

# The child serves on the socket the parent bound. socket(fileno=...) reads the real
# protocol back: uvicorn's own fd= option takes it for a Unix socket, and asyncio then
# leaves Nagle on, costing a delayed ACK (~40 ms) per response.
COLLECTOR = """
import socket, sys
import uvicorn
from convsdk.collector import create_app
sock = socket.socket(fileno=int(sys.argv[1]))
config = uvicorn.Config(create_app("memory://"), log_level="warning", access_log=False,
                        lifespan="on", ws="none")
uvicorn.Server(config).run(sockets=[sock])
"""


@contextmanager
def collector() -> Iterator[str]:
    """A collector in a child process; yields its ingest URL.

    The parent binds and listens, the child serves on the inherited socket: requests
    wait in the listen backlog until it is ready, so no polling is needed.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", COLLECTOR, str(sock.fileno())], pass_fds=[sock.fileno()]
    )
    sock.close()
    try:
        yield f"http://127.0.0.1:{port}/ingest"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def sample_events(n: int) -> list[Event]:
    """A realistic mix: page views with context and UTM, micro and macro conversions."""
    context = {
        "method": "GET",
        "path": "/pricing",
        "url": "https://shop.example.com/pricing",
        "referrer": "https://search.example.com/",
        "user_agent": "Mozilla/5.0 (X11; Linux)",
        "ip": "203.0.113.0",
        "status": 200,
        "utm": {
            "source": "newsletter",
            "medium": "email",
            "campaign": "spring",
            "term": None,
            "content": None,
        },
    }
    events = []
    for i in range(n):
        if i % 10 == 9:
            event = make_event(
                "purchase",
                kind="macro",
                goal="purchase",
                value=49.0 + i % 7,
                currency="USD",
                transaction_id=f"order-{i}",
                visitor_id=f"v{i % 500}",
                session_id=f"s{i % 900}",
                properties={"items": [{"sku": "A-1", "qty": 2}], "coupon": None},
                context=dict(context, method="POST", path="/checkout"),
            )
        elif i % 3 == 0:
            event = make_event(
                "viewed_pricing",
                kind="micro",
                goal="viewed_pricing",
                visitor_id=f"v{i % 500}",
                session_id=f"s{i % 900}",
                properties={"plan": "pro"},
                context=context,
            )
        else:
            event = make_event(
                "page_view", visitor_id=f"v{i % 500}", session_id=f"s{i % 900}", context=context
            )
        event.to_dict()  # format id and timestamp now, as a tracker's request thread would not
        events.append(event)
    return events


def measure(url: str, events: list[Event], batch: int, gzip: bool, repeats: int) -> list[float]:
    """Events per second of each repeat."""
    backend = HTTPBackend(url, gzip=gzip, timeout=30)
    try:
        backend.write(events[:batch])  # open the connection
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            for i in range(0, len(events), batch):
                backend.write(events[i : i + batch])
            rates.append(len(events) / (time.perf_counter() - start))
        return rates
    finally:
        backend.close()


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    events = sample_events(args.events)
    size = len(_json.dumps({"events": [e.to_dict() for e in events]})) / len(events)
    print("HTTPBackend -> collector (uvicorn, memory://) on 127.0.0.1, separate processes")
    print(
        f"Python {platform.python_version()}, JSON: {_json.IMPLEMENTATION}, "
        f"{args.events} events a repeat (~{size:.0f} B each), median of {args.repeats}"
    )
    print()
    print(f"{'batch':>6} {'gzip':>5} {'events/s':>10} {'min':>10} {'max':>10} {'ms/request':>11}")
    for batch in (100, 1_000):
        for gzip in (False, True):
            # A fresh collector for each row: the memory backend keeps every event.
            with collector() as url:
                rates = measure(url, events, batch, gzip, args.repeats)
            median = statistics.median(rates)
            print(
                f"{batch:>6} {'yes' if gzip else 'no':>5} {median:>10,.0f} {min(rates):>10,.0f} "
                f"{max(rates):>10,.0f} {1000 * batch / median:>11.2f}"
            )


if __name__ == "__main__":
    main()
