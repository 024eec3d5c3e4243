"""Every convsdk option, defined once: its name, type, default and one line of doc.

:class:`~convsdk.Tracker`, :func:`convsdk.init`, the WSGI/ASGI middleware and the Flask
extension all read their options through this module, so an option is spelt, parsed
and checked the same way wherever it comes from. Each one may be given, in order of
precedence:

1. as a keyword argument (``Tracker(batch_size=50)``);
2. in an app's configuration (Flask ``app.config``, any mapping) as ``CONVSDK_<NAME>``;
3. as a ``CONVSDK_<NAME>`` environment variable (``CONVSDK_BATCH_SIZE=50``);
4. or it takes its default.

Text values (environment, config files) are parsed by the option's type: booleans as
``1/true/yes/on`` or ``0/false/no/off``, lists as comma-separated text, durations as
seconds (``"1.5"``, ``"500ms"``, ``"2m"``), sizes as bytes (``"512MiB"``, ``"10MB"``).
``enabled`` also reads ``CONVSDK_DISABLED`` (``CONVSDK_DISABLED=1`` turns tracking off).

>>> resolve(["batch_size"], {}, environ={"CONVSDK_BATCH_SIZE": "50"})
{'batch_size': 50}
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .event import check_currency

__all__ = [
    "BEACON",
    "ENVIRONMENT_PREFIX",
    "MIDDLEWARE",
    "OPTIONS",
    "TRACKER",
    "Option",
    "check",
    "defaults",
    "from_mapping",
    "names",
    "resolve",
    "table",
    "unknown_option",
]

log = logging.getLogger("convsdk.options")

ENVIRONMENT_PREFIX = "CONVSDK_"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True, slots=True)
class Type:
    """How an option's value is checked (given in code) and parsed (given as text)."""

    name: str
    check: Callable[[Any], Any]  # value -> value to use; ValueError(message) when bad
    parse: Callable[[str], Any] | None = None  # text -> value; None: only given in code


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


# -- types ---------------------------------------------------------------------------


def _bool_check(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be True or False, got {value!r}")
    return value


def _bool_parse(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"must be true or false (1/0, yes/no, on/off), got {text!r}")


BOOL = Type("bool", _bool_check, _bool_parse)


def _optional_bool_parse(text: str) -> bool | None:
    return None if text.strip().lower() in ("", "auto", "none") else _bool_parse(text)


OPTIONAL_BOOL = Type(
    "bool or None", lambda v: None if v is None else _bool_check(v), _optional_bool_parse
)


def integer(minimum: int = 0) -> Type:
    """A whole number of at least ``minimum``."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be a whole number >= {minimum}, got {value!r}")
        return value

    def parse(text: str) -> int:
        try:
            return int(text.strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"must be a whole number, got {text!r}") from None

    return Type("int", check, parse)


_DURATION = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|m|h)?\s*", re.I)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(*, allow_zero: bool = False) -> Type:
    """A duration in seconds (a number); as text also ``"500ms"``, ``"2m"``, ``"1h"``."""
    bound = ">= 0" if allow_zero else "> 0"

    def check(value: Any) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
        if not ok:
            raise ValueError(f"must be a number of seconds {bound}, got {value!r}")
        return value  # type: ignore[no-any-return]

    def parse(text: str) -> float:
        found = _DURATION.fullmatch(text)
        if found is None:
            raise ValueError(f"must be a number of seconds (or 500ms, 2m, 1h), got {text!r}")
        return float(found[1]) * _UNITS[(found[2] or "s").lower()]

    return Type("seconds", check, parse)


def positive_number() -> Type:
    """A finite number greater than 0 (``1e9`` as text too)."""

    def check(value: Any) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not (ok and math.isfinite(value) and value > 0):
            raise ValueError(f"must be a number > 0, got {value!r}")
        return float(value)

    def parse(text: str) -> float:
        try:
            return float(text.strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"must be a number, got {text!r}") from None

    return Type("number", check, parse)


_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]i?b?|b)?\s*", re.I)


def byte_size(minimum: int = 1) -> Type:
    """A number of bytes; as text also ``"64KiB"``, ``"10MB"``, ``"1GiB"``."""
    number = integer(minimum)

    def parse(text: str) -> int:
        found = _SIZE.fullmatch(text)
        if found is None:
            raise ValueError(f"must be a size in bytes (or 64KiB, 10MB, 1GiB), got {text!r}")
        unit = (found[2] or "b").lower()
        scale = 1 if unit == "b" else (1024 if "i" in unit else 1000) ** ("kmgt".index(unit[0]) + 1)
        return int(float(found[1]) * scale)

    return Type("bytes", number.check, parse)


def _strings_check(value: Any) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValueError(f"must be a list of strings, got {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"must be a list of strings, got {item!r} in it")
    return items


STRINGS = Type(
    "list of strings",
    _strings_check,
    lambda text: tuple(part.strip() for part in text.split(",") if part.strip()),
)


def _ints_check(value: Any) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValueError(f"must be a list of whole numbers, got {value!r}")
    items = tuple(value)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValueError(f"must be a list of whole numbers, got {item!r} in it")
    return items


def _ints_parse(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"must be comma-separated whole numbers, got {text!r}") from None


INTS = Type("list of ints", _ints_check, _ints_parse)


def _path_check(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ValueError(f"must be a directory path or None, got {value!r}")
    return None if value.strip().lower() in ("", "none") else value


OPTIONAL_PATH = Type("path or None", _path_check, _path_check)


def _text_check(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {value!r}")
    return value


TEXT = Type("text", _text_check, _text_check)
OPTIONAL_TEXT = Type(
    "text or None",
    lambda v: None if v is None else _text_check(v),
    lambda text: text.strip() or None,
)


def choice(*values: str, optional: bool = False) -> Type:
    """One of ``values`` (or ``None`` when ``optional``)."""
    listed = ", ".join(repr(v) for v in values)

    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        if value not in values:
            raise ValueError(f"must be one of {listed}, got {value!r}")
        return value  # type: ignore[no-any-return]

    def parse(text: str) -> str | None:
        word = text.strip().lower()
        return check(None if optional and word in ("", "none") else word)

    return Type("choice", check, parse)


def _fsync_check(value: Any) -> str:
    if value is True or value == "batch":
        return "batch"
    if value is False or value == "never":
        return "never"
    raise ValueError(f"must be 'never', 'batch' or a bool, got {value!r}")


def _fsync_parse(text: str) -> str:
    word = text.strip().lower()
    if word in _TRUE or word in _FALSE - {""}:
        return _fsync_check(_bool_parse(word))
    return _fsync_check(word)


def _secret_check(value: Any) -> str | bytes | None:
    if value is not None and not isinstance(value, str | bytes):
        raise ValueError("must be a string or bytes")
    return value or None


def _currency_check(value: Any) -> str:
    try:
        return check_currency(value)
    except ValueError:
        raise ValueError(f"must be a three-letter ISO 4217 code, got {value!r}") from None


def _backend_check(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if callable(getattr(value, "write", None)) and callable(getattr(value, "close", None)):
        return value
    raise ValueError(f"must be a backend URL or an object with write() and close(), got {value!r}")


def _callable_check(value: Any) -> Any:
    if value is not None and not callable(value):
        raise ValueError(f"must be a callable, got {value!r}")
    return value


def _rate_limit_parse(text: str) -> tuple[int, float] | None:
    word = text.strip().lower()
    if word in ("", "none", "off"):
        return None
    events, slash, per = word.partition("/")
    try:
        return int(events), float(per) if slash else 60.0
    except ValueError:
        raise ValueError(f"must be EVENTS/SECONDS (e.g. 60/60) or none, got {text!r}") from None


def _goals_parse(text: str) -> Any:
    return text.strip() or ()


FSYNC = Type("fsync", _fsync_check, _fsync_parse)
SECRET = Type("secret", _secret_check, lambda text: text or None)
CURRENCY = Type("currency", _currency_check, _currency_check)
BACKEND = Type("backend", _backend_check, lambda text: text.strip())
GOALS = Type("goals", lambda value: value, _goals_parse)  # checked by goals.resolve_goals
CALLABLE = Type("callable", _callable_check)
RATE_LIMIT = Type("rate limit", lambda value: value, _rate_limit_parse)  # checked by beacon


# -- the options -----------------------------------------------------------------------

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
            "where events go: a URL (see convsdk.backends) or a Backend",
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
        Option("anonymize_ip", BOOL, True, "store IPs with their last bits zeroed", _T),
        Option("respect_dnt", BOOL, True, "honour Do-Not-Track and Global Privacy Control", _T),
        Option("filter_bots", BOOL, True, "do not record requests from bots", _T),
        Option("session_timeout", integer(1), 1800, "seconds of inactivity that end a session", _T),
        Option("currency", CURRENCY, "USD", "ISO 4217 code of values given without one", _T),
        Option("max_value", positive_number(), 1e9, "largest conversion value an event keeps", _T),
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
_OTHER_VARIABLES = frozenset(
    {"CONVSDK_DISABLED", "CONVSDK_COLLECT_TOKEN", "CONVSDK_REQUIRE_SERVICES"}
)
_BY_VARIABLE = {option.variable: option for option in OPTIONS.values()}


def names(*groups: str) -> list[str]:
    """The names of the options of ``groups``, in definition order."""
    return [o.name for o in OPTIONS.values() if o.groups & set(groups)]


def defaults(*groups: str) -> dict[str, Any]:
    """``{name: default}`` for the options of ``groups``."""
    return {o.name: o.default for o in OPTIONS.values() if o.groups & set(groups)}


def _hint(name: str, known: Iterable[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {prefix}{close[0]}?)" if close else ""


def unknown_option(name: str, known: Iterable[str], *, source: str | None = None) -> ConfigError:
    """The :class:`ConfigError` for an option nobody defines, with a "did you mean"."""
    return ConfigError(f"unknown option{_hint(name, known)}", field=name, source=source)


def check(name: str, value: Any, *, source: str | None = None, field: str | None = None) -> Any:
    """``value`` (given in code) checked as option ``name``; :class:`ConfigError` if bad."""
    option = OPTIONS[name]
    try:
        return option.type.check(value)
    except ValueError as exc:
        raise ConfigError(str(exc), field=field or name, source=source) from None


def _from_text(option: Option, key: str, value: Any, source: str) -> Any:
    try:
        if isinstance(value, str) and option.type.parse is not None:
            value = option.type.parse(value)
        return option.type.check(value)
    except ValueError as exc:
        raise ConfigError(str(exc), field=key, source=source) from None


def _disabled(mapping: Mapping[str, Any], source: str) -> bool | None:
    """``CONVSDK_DISABLED`` of ``mapping`` as ``enabled``, or None when absent."""
    if "CONVSDK_DISABLED" not in mapping:
        return None
    value = mapping["CONVSDK_DISABLED"]
    try:
        return not (_bool_parse(value) if isinstance(value, str) else _bool_check(value))
    except ValueError as exc:
        raise ConfigError(str(exc), field="CONVSDK_DISABLED", source=source) from None


def from_mapping(
    mapping: Mapping[str, Any], groups: Iterable[str], *, source: str, strict: bool = True
) -> dict[str, Any]:
    """The options of ``groups`` a ``CONVSDK_*`` mapping (app config, environment) sets.

    Text values are parsed by the option's type; a bad value is a :class:`ConfigError`
    naming the key and ``source``. With ``strict``, a ``CONVSDK_*`` key no option has
    is a :class:`ConfigError` too (with "did you mean"); otherwise it is logged once.
    """
    wanted = set(groups)
    found: dict[str, Any] = {}
    for key, value in mapping.items():
        if not isinstance(key, str) or not key.startswith(ENVIRONMENT_PREFIX):
            continue
        option = _BY_VARIABLE.get(key)
        if option is None:
            if key not in _OTHER_VARIABLES:
                _unknown_key(key, source, strict)
            continue
        if option.groups & wanted:
            found[option.name] = _from_text(option, key, value, source)
    if TRACKER in wanted:
        enabled = _disabled(mapping, source)
        if enabled is not None:
            if found.get("enabled", enabled) != enabled:
                raise ConfigError(
                    "CONVSDK_ENABLED and CONVSDK_DISABLED disagree",
                    field="CONVSDK_DISABLED",
                    source=source,
                )
            found["enabled"] = enabled
    return found


_warned: set[str] = set()


def _unknown_key(key: str, source: str, strict: bool) -> None:
    known = [*_BY_VARIABLE, *_OTHER_VARIABLES]
    hint = _hint(key, known)
    if strict:
        raise ConfigError(f"unknown option{hint}", field=key, source=source)
    if key not in _warned:  # the environment is shared with other programs: only a warning
        _warned.add(key)
        log.warning("unknown environment variable %s ignored%s", key, hint)


def resolve(
    groups: Iterable[str],
    given: Mapping[str, Any],
    *,
    config: Mapping[str, Any] | None = None,
    config_source: str = "config",
    environ: Mapping[str, str] | None = None,
    skip_environ: Iterable[str] = (),
    accept: Iterable[str] = (),
) -> dict[str, Any]:
    """The options of ``groups`` set by ``given`` (keyword arguments), ``config`` (a
    ``CONVSDK_*`` mapping) or ``environ`` (default: ``os.environ``), in that precedence.

    Options nobody set are left out (see :func:`defaults`). A keyword no option of
    ``groups`` has (nor one of ``accept``) is a :class:`ConfigError` with "did you mean";
    ``None`` given for an option whose default is ``None`` counts as not given.
    ``skip_environ`` names options not read from the environment.
    """
    wanted = list(groups)
    known = set(names(*wanted)) | set(accept)
    found: dict[str, Any] = {}
    for name, value in given.items():
        if name not in known:
            raise unknown_option(name, known)
        option = OPTIONS.get(name)
        if option is None or name in accept:
            found[name] = value
        elif value is not None or option.default is not None:
            found[name] = check(name, value)
    if config is not None:
        for name, value in from_mapping(config, wanted, source=config_source).items():
            found.setdefault(name, value)
    env = os.environ if environ is None else environ
    skip = set(skip_environ)
    for name, value in from_mapping(env, wanted, source="environment", strict=False).items():
        if name not in skip:
            found.setdefault(name, value)
    return found


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
