"""Raw ASGI calls for the tests: an HTTP scope, the server's receive and send.

``http_scope`` is a browser's request to ``shop.example``; :class:`Receiver` hands the
app the given messages, then ``http.disconnect`` forever; :class:`Sender` keeps what the
app sends.
"""

from __future__ import annotations

from typing import Any

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def http_scope(
    path: str = "/",
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "server": ("shop.example", 80),
        "client": ("203.0.113.77", 50000),
        "headers": [(b"host", b"shop.example"), (b"user-agent", CHROME.encode()), *(headers or [])],
    }
    scope.update(extra)
    return scope


class Receiver:
    """The server's receive: the given messages, then http.disconnect forever."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = list(messages)
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.messages:
            return self.messages.pop(0)
        return {"type": "http.disconnect"}


class Sender:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
