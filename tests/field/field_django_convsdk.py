"""convsdk's settings in the Django field runs (``run_django.py``), from the environment.

``FIELD_EVENTS`` names the store: a JSON Lines file (the default run: the file backend,
no spool) or an SQLite file (``--store sqlite``: the SQLite backend and a durable spool
in ``FIELD_SPOOL``, every event in the spool's write-ahead log before the request goes
on). ``FIELD_GOALS``: the goals file, whose goals make the middleware read form bodies.
"""

from __future__ import annotations

import os

MIDDLEWARE = "convsdk.integrations.django.ConversionMiddleware"
APP = "convsdk.integrations.django"


def active() -> bool:
    """Whether this is the run with convsdk."""
    return bool(os.environ.get("FIELD_EVENTS"))


def settings() -> dict[str, object]:
    """The ``CONVSDK_*`` settings of the run with convsdk."""
    events = os.environ["FIELD_EVENTS"]
    found: dict[str, object] = {
        "CONVSDK_SECRET_KEY": "convsdk-field-secret",
        "CONVSDK_GOALS": os.environ["FIELD_GOALS"],
    }
    if events.endswith(".db"):
        found["CONVSDK_BACKEND"] = "sqlite:///" + events
        found["CONVSDK_SPOOL_DIR"] = os.environ["FIELD_SPOOL"]
        found["CONVSDK_DURABLE"] = True
    else:
        found["CONVSDK_BACKEND"] = "file://" + events
        found["CONVSDK_SPOOL_DIR"] = ""
    return found
