"""Forms read for a goal under a real WSGI server, over real HTTP.

gunicorn's input stream cannot seek: the middleware reads the form from it and gives
the app a copy of the bytes, where a test client's stream is put back instead (see
``test_wsgi.py``). Here gunicorn serves an app that echoes what it reads; the goal's
value comes from the form, and the app reads the same form, byte for byte.
"""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path
from urllib.parse import urlencode

import pytest

from served import free_port, kill_if_running, stop, wait_until_serving

pytestmark = pytest.mark.slow

APP = """
import json
import os

from werkzeug.wrappers import Request, Response

import convsdk
from convsdk import Goal
from convsdk.integrations.wsgi import ConversionMiddleware

tracker = convsdk.Tracker(
    backend="sqlite:///" + os.environ["TEST_DB"],
    spool_dir=None,
    secret_key="test",
    filter_bots=False,
    goals=[Goal.macro("purchase", event="checkout", path="/checkout", value_from="form:total")],
)


@Request.application
def shop(request):
    if request.path == "/health":
        return Response("ok")
    form = {key: request.form.getlist(key) for key in request.form}
    files = {key: f.read().decode() for key, f in request.files.items()}
    return Response(json.dumps({"form": form, "files": files, "raw": len(request.get_data())}))


app = ConversionMiddleware(shop, tracker=tracker)
"""


def _post(port: int, body: bytes, content_type: str) -> dict[str, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/checkout", body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        assert response.status == 200
        answer: dict[str, object] = json.loads(response.read())
        return answer
    finally:
        conn.close()


def test_gunicorn_gives_the_app_the_form_the_goal_read(tmp_path: Path) -> None:
    pytest.importorskip("gunicorn")
    (tmp_path / "form_app.py").write_text(textwrap.dedent(APP))
    db = tmp_path / "events.db"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
        + ["--log-level", "warning", "form_app:app"],
        cwd=tmp_path,
        env={**os.environ, "TEST_DB": str(db), "PYTHONPATH": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_serving(port, proc, 20)
        form = urlencode({"total": "49.90", "sku": "A1"}).encode()
        assert _post(port, form, "application/x-www-form-urlencoded") == {
            "form": {"total": ["49.90"], "sku": ["A1"]},
            "files": {},
            "raw": 0,  # Werkzeug parsed the stream as a form: no raw data left
        }
        boundary = "convsdk-boundary"
        multipart = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="total"\r\n\r\n12.50\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="receipt"; '
            f'filename="r.txt"\r\nContent-Type: text/plain\r\n\r\nfile contents\r\n'
            f"--{boundary}--\r\n"
        ).encode()
        assert _post(port, multipart, f"multipart/form-data; boundary={boundary}") == {
            "form": {"total": ["12.50"]},
            "files": {"receipt": "file contents"},
            "raw": 0,
        }
        stderr = stop(proc)
    finally:
        kill_if_running(proc)
    assert b"Traceback" not in stderr, stderr.decode()
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT name, goal, value FROM convsdk_events ORDER BY timestamp"
        ).fetchall()
    assert rows == [("checkout", "purchase", 49.9), ("checkout", "purchase", 12.5)]
