"""Each middleware refuses an app of the other protocol, and says which class to use."""

from __future__ import annotations

import logging
from typing import Any

import pytest

flask = pytest.importorskip("flask")
starlette_applications = pytest.importorskip("starlette.applications")

from convsdk import ConfigError, Tracker  # noqa: E402
from convsdk.backends.memory import MemoryBackend  # noqa: E402
from convsdk.integrations.asgi import ConversionMiddleware as ASGIMiddleware  # noqa: E402
from convsdk.integrations.wsgi import ConversionMiddleware as WSGIMiddleware  # noqa: E402


@pytest.fixture
def tracker() -> Any:
    with Tracker(backend=MemoryBackend(), spool_dir=None, secret_key="k") as tracker:
        yield tracker


def test_the_wsgi_middleware_refuses_an_asgi_app(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match=r"integrations\.asgi\.ConversionMiddleware") as caught:
        WSGIMiddleware(starlette_applications.Starlette(), tracker=tracker)
    assert caught.value.field == "app"


@pytest.mark.parametrize("which", ["app", "wsgi_app", "function"])
def test_the_asgi_middleware_refuses_a_wsgi_app(tracker: Tracker, which: str) -> None:
    app = flask.Flask(__name__)

    def plain(environ: Any, start_response: Any) -> list[bytes]:
        return []

    wsgi = {"app": app, "wsgi_app": app.wsgi_app, "function": plain}[which]
    with pytest.raises(ConfigError, match=r"integrations\.wsgi\.ConversionMiddleware"):
        ASGIMiddleware(wsgi, tracker=tracker)


def test_each_middleware_takes_its_own_kind_of_app(tracker: Tracker) -> None:
    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        pass

    WSGIMiddleware(flask.Flask(__name__).wsgi_app, tracker=tracker)
    ASGIMiddleware(starlette_applications.Starlette(), tracker=tracker)
    ASGIMiddleware(asgi, tracker=tracker)


def test_wrapping_an_app_twice_is_told(tracker: Tracker, caplog: pytest.LogCaptureFixture) -> None:
    inner = WSGIMiddleware(flask.Flask(__name__).wsgi_app, tracker=tracker)
    with caplog.at_level(logging.WARNING, logger="convsdk.integrations"):
        WSGIMiddleware(inner, tracker=tracker)
    assert "already wrapped by convsdk's middleware" in caplog.text
