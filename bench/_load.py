"""A small HTTP/1.1 load generator, for machines without ``wrk``.

``python bench/_load.py PORT CONNECTIONS WARMUP DURATION [COOKIE]`` prints one JSON
object. Each connection is a thread with a raw socket that writes one prepared
``GET /`` and reads the response by its ``Content-Length``, over and over; it connects
again when the server closes (gunicorn's sync worker does after every response). A
thread sends no new request after the end but reads the one in flight, so ``total``
is every 200 response the server gave: it must equal the page views recorded.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from typing import Any

USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)


class Closed(Exception):
    """The server closed the connection before a whole response arrived."""


def request_bytes(port: int, cookie: str | None) -> bytes:
    lines = [
        "GET / HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"User-Agent: {USER_AGENT}",
        "Accept: text/html",
        "Referer: https://www.google.com/",
    ]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_response(sock: socket.socket) -> tuple[int, bool, bool]:
    """``(status, server closes, has Set-Cookie)`` of one response, body read."""
    buf = b""
    while (end := buf.find(b"\r\n\r\n")) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise Closed
        buf += chunk
    head = buf[:end].decode("latin-1").lower()
    length, close = 0, False
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = "close" in value
    missing = length - (len(buf) - end - 4)
    while missing > 0:
        chunk = sock.recv(max(missing, 65536))
        if not chunk:
            raise Closed
        missing -= len(chunk)
    return int(head.split(" ", 2)[1]), close, "\r\nset-cookie:" in head


def connection(port: int, request: bytes, warm_end: float, end: float, out: list[int]) -> None:
    """One connection's loop; ``out``: warm-up, measured, late, other status, retried,
    Set-Cookie responses."""
    sock: socket.socket | None = None
    while time.monotonic() < end:
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.sendall(request)
            status, close, set_cookie = read_response(sock)
        except (Closed, OSError):
            out[4] += 1  # closed before answering (an idle keep-alive): send it again
            sock.close()
            sock = None
            continue
        now = time.monotonic()
        if status != 200:
            out[3] += 1
        else:
            out[0 if now < warm_end else 1 if now <= end else 2] += 1
            out[5] += set_cookie
        if close:
            sock.close()
            sock = None
    if sock is not None:
        sock.close()


def run(port: int, connections: int, warmup: float, duration: float, cookie: str | None) -> dict:
    """Drive the server; return the counts and ``rate``, 200 responses a second."""
    request = request_bytes(port, cookie)
    start = time.monotonic() + 0.05
    warm_end, end = start + warmup, start + warmup + duration
    counts = [[0] * 6 for _ in range(connections)]
    threads = [
        threading.Thread(target=connection, args=(port, request, warm_end, end, out))
        for out in counts
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    warm, measured, late, other, retried, set_cookie = (sum(c) for c in zip(*counts, strict=True))
    result: dict[str, Any] = {
        "rate": measured / duration,
        "total": warm + measured + late,
        "other_status": other,
        "retried": retried,
        "set_cookie": set_cookie,
    }
    return result


if __name__ == "__main__":
    port, conns, warmup, duration = sys.argv[1:5]
    cookie = sys.argv[5] if len(sys.argv) > 5 else None
    print(json.dumps(run(int(port), int(conns), float(warmup), float(duration), cookie)))
