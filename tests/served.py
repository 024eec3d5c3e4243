"""Real servers the tests start as subprocesses: a free port, readiness, a graceful stop."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import threading
import time


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(
    port: int,
    proc: subprocess.Popen[bytes],
    seconds: float,
    path: str = "/health",
    method: str = "GET",
) -> None:
    """Return once ``method path`` answers 200 on ``port``; fail if ``proc`` exits
    first or nothing answers within ``seconds``."""
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the server exited early: {proc.communicate()[1]!r}"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request(method, path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pause.wait(0.05)  # polling for readiness, with a deadline
        finally:
            conn.close()
    raise AssertionError(f"nothing answered on {port} within {seconds} s")


def stop(proc: subprocess.Popen[bytes], *, timeout: float = 30) -> bytes:
    """Send SIGTERM and wait for the exit; the server's stderr."""
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=timeout)[1]


def kill_if_running(proc: subprocess.Popen[bytes]) -> None:
    """After a failed test: a server still running is killed and reaped."""
    if proc.poll() is None:
        proc.kill()
        proc.communicate(timeout=10)
