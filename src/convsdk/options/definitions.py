"""The option table: every option's name, type, default, doc and groups, defined once,
and what derives from it (names, defaults, the README's table of variables)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .special_types import BACKEND, CALLABLE, CURRENCY, FSYNC, GOALS, RATE_LIMIT, SECRET
from .types import (
    BOOL,
    INTS,
    OPTIONAL_BOOL,
    OPTIONAL_PATH,
    OPTIONAL_TEXT,
    STRINGS,
    TEXT,
    Type,
    byte_size,
    choice,
    integer,
    positive_number,
    seconds,
)

ENVIRONMENT_PREFIX = "CONVSDK_"


@dataclass(frozen=True, slots=True)
class Option:
    """One option: where it applies (``groups``), its type, default and doc."""

    name: str
    type: Type
    default: Any
    doc: str
    groups: frozenset[str]

    @property
    def variable(self) -> str:
        """Its environment variable and config key: ``CONVSDK_<NAME>``."""
        return ENVIRONMENT_PREFIX + self.name.upper()


TRACKER = "tracker"
MIDDLEWARE = "middleware"
BEACON = "beacon"

_T = frozenset({TRACKER})
_M = frozenset({MIDDLEWARE})
_B = frozenset({BEACON})

OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        # tracker (Tracker, convsdk.init)
        Option(
            "enabled",
            BOOL,
            True,
            "False (or CONVSDK_DISABLED=1) records nothing: no thread, file or write",
            _T,
        ),
        Option(
            "backend",
            BACKEND,
            "sqlite:///convsdk.db",
            "where events go: a URL (see convsdk.backends), a Backend, or a list of them",
            _T,
        ),
        Option(
            "before_send",
            CALLABLE,
            None,
            "hook(event) -> event or None: edits (a copy) or drops each event before sending",
            _T,
        ),
        Option("goals", GOALS, (), "goals and funnels, or a goals.toml / goals.json path", _T),
        Option(
            "secret_key",
            SECRET,
            None,
            "signs the visitor and session cookies (none: cookieless)",
            _T | _M,
        ),
        Option("batch_size", integer(1), 100, "events per backend write", _T),
        Option("flush_interval", seconds(), 1.0, "seconds between writes of a partial batch", _T),
        Option(
            "max_queue_size",
            integer(1),
            10_000,
            "events held in memory before backpressure applies",
            _T,
        ),
        Option(
            "spool_dir",
            OPTIONAL_PATH,
            ".convsdk-spool",
            'where undeliverable events wait on disk ("" or none: no spool)',
            _T,
        ),
        Option(
            "durable",
            BOOL,
            False,
            "append every event to the spool's write-ahead log before track() returns",
            _T,
        ),
        Option(
            "flush_after_request",
            BOOL,
            False,
            "deliver each request's events before its response leaves (on by default "
            "on AWS Lambda, Vercel and Google Cloud Functions)",
            _T,
        ),
        Option("fsync", FSYNC, "never", "'never' or 'batch' (spool flushed once per cycle)", _T),
        Option(
            "backpressure",
            choice("spool", "drop_newest", "drop_oldest", optional=True),
            None,
            "a full queue: spool (default with a spool), drop_newest or drop_oldest",
            _T,
        ),
        Option("max_spool_bytes", byte_size(), 512 * 1024 * 1024, "disk the spool may use", _T),
        Option("max_retries", integer(0), 5, "retries of a failing batch", _T),
        Option("retry_max_delay", seconds(), 30.0, "longest wait between retries", _T),
        Option("retry_timeout", seconds(), 60.0, "time a batch is retried before the spool", _T),
        Option(
            "shutdown_timeout",
            seconds(allow_zero=True),
            5.0,
            "how long close() and interpreter exit may flush",
            _T,
        ),
        Option(
            "signal_handlers",
            BOOL,
            True,
            "close the trackers on SIGTERM/SIGINT before the signal goes on",
            _T,
        ),
        Option("anonymize_ip", BOOL, True, "store IPs with their last bits zeroed", _T),
        Option("respect_dnt", BOOL, True, "honour Do-Not-Track and Global Privacy Control", _T),
        Option("filter_bots", BOOL, True, "do not record requests from bots", _T),
        Option("session_timeout", integer(1), 1800, "seconds of inactivity that end a session", _T),
        Option("currency", CURRENCY, "USD", "ISO 4217 code of values given without one", _T),
        Option("max_value", positive_number(), 1e9, "largest conversion value an event keeps", _T),
        Option(
            "phone_country_code",
            OPTIONAL_TEXT,
            None,
            'calling code of phones given to identify() without one ("44")',
            _T,
        ),
        # middleware (WSGI/ASGI ConversionMiddleware, Flask extension)
        Option(
            "trusted_proxies",
            integer(0),
            0,
            "proxies in front of the app that append to X-Forwarded-For",
            _M,
        ),
        Option("checkout_paths", STRINGS, ("/checkout*",), "globs of checkout pages", _M),
        Option("exclude_paths", STRINGS, (), "globs never recorded", _M),
        Option("exclude_defaults", BOOL, True, "also exclude static assets and health checks", _M),
        Option("capture_fields", STRINGS, (), "form fields recorded as properties", _M),
        Option("max_body_size", byte_size(0), 1024 * 1024, "the largest form body read", _M),
        Option("body_timeout", seconds(), 5.0, "seconds a form body may take to arrive", _M),
        Option("variant_cookie", OPTIONAL_TEXT, None, "cookie holding the experiment variant", _M),
        Option("variant_header", OPTIONAL_TEXT, None, "header holding the experiment variant", _M),
        Option(
            "consent", CALLABLE, None, "callable of the request: may the visitor be identified", _M
        ),
        Option(
            "dnt",
            choice("anonymous", "skip"),
            "anonymous",
            "a DNT/GPC request: counted anonymously, or skipped",
            _M,
        ),
        Option("visitor_cookie", TEXT, "cv_vid", "name of the visitor cookie", _M),
        Option("session_cookie", TEXT, "cv_sid", "name of the session cookie", _M),
        Option(
            "visitor_max_age",
            integer(1),
            2 * 365 * 24 * 3600,
            "seconds the visitor cookie lives",
            _M,
        ),
        Option("cookie_domain", OPTIONAL_TEXT, None, "Domain of the cookies", _M),
        Option("secure_cookies", OPTIONAL_BOOL, None, "Secure cookies (default: on for https)", _M),
        Option("clock", CALLABLE, None, "time source for sessions (tests)", _M),
        # browser events (see convsdk.beacon)
        Option("collect", BOOL, False, "answer the browser script's events", _B),
        Option("browser_events", STRINGS, (), "event names the browser may send", _B),
        Option("allowed_hosts", STRINGS, (), "hosts beacons may come from", _B),
        Option("collect_path", TEXT, "/_convsdk/collect", "path of the collect endpoint", _B),
        Option("script_path", TEXT, "/_convsdk/c.js", "path of the browser script", _B),
        Option("max_beacon_bytes", byte_size(), 16_384, "largest beacon body", _B),
        Option("max_beacon_events", integer(1), 20, "events in one beacon", _B),
        Option(
            "beacon_rate_limit",
            RATE_LIMIT,
            (60, 60.0),
            "(events, seconds) per visitor, or None",
            _B,
        ),
        Option(
            "beacon_network_rate_limit",
            RATE_LIMIT,
            (600, 60.0),
            "(events, seconds) per client network (IPv4 /24, IPv6 /64), or None",
            _B,
        ),
        Option(
            "beacon_rate_limit_url",
            OPTIONAL_TEXT,
            None,
            "where the rate limits are counted (redis://..., sqlite:///..., memory:)",
            _B,
        ),
        Option("beacon_max_visitors", integer(1), 10_000, "visitors the rate limiter tracks", _B),
        Option("auto_scroll", BOOL, True, "the script reports scroll depth", _B),
        Option("time_thresholds", INTS, (30,), "seconds on page the script reports", _B),
        Option("scroll_depths", INTS, (25, 50, 75, 100), "scroll percentages reported", _B),
        Option("serve_script", BOOL, True, "serve the script at script_path", _B),
    )
}

# Environment variables convsdk reads that are not options (no warning for them).
# Read elsewhere: the off switch, the collector's token, and the test kit's demand
# that the backend servers be up.
OTHER_VARIABLES = frozenset(
    {"CONVSDK_DISABLED", "CONVSDK_COLLECT_TOKEN", "CONVSDK_REQUIRE_SERVICES"}
)
#: Each option by its ``CONVSDK_<NAME>`` variable.
BY_VARIABLE = {option.variable: option for option in OPTIONS.values()}


def names(*groups: str) -> list[str]:
    """The names of the options of ``groups``, in definition order."""
    return [o.name for o in OPTIONS.values() if o.groups & set(groups)]


def defaults(*groups: str) -> dict[str, Any]:
    """``{name: default}`` for the options of ``groups``."""
    return {o.name: o.default for o in OPTIONS.values() if o.groups & set(groups)}


def table() -> str:
    """The environment variables as a Markdown table (for the README)."""
    rows = ["| Variable | Default | What |", "|---|---|---|"]
    for option in OPTIONS.values():
        if option.type.parse is None:
            continue
        default = option.default
        shown = ", ".join(map(str, default)) if isinstance(default, tuple) else default
        rows.append(f"| `{option.variable}` | `{shown!s}` | {option.doc} |")
    return "\n".join(rows)
