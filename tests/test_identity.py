"""Signed visitor and session cookies, and cookieless visitor ids."""

from __future__ import annotations

import logging
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import Signer

from convsdk.identity import Identity, cookie_value

T0 = 1_700_000_000.0  # a minute boundary plus 20 seconds


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def as_request_header(set_cookies: list[str], jar: dict[str, str] | None = None) -> str:
    """What a browser sends back after receiving ``set_cookies``."""
    jar = dict(jar or {})
    for header in set_cookies:
        name, _, rest = header.partition("=")
        jar[name] = rest.split(";", 1)[0]
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def jar_of(header: str) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in header.split(";") if "=" in part)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("cv_vid=abc.def", "abc.def"),
        ("theme=dark; cv_vid=abc.def; other=1", "abc.def"),
        ("theme=dark;cv_vid=abc", "abc"),
        ("xcv_vid=nope; cv_vid=yes", "yes"),
        ("xcv_vid=nope", None),
        ('cv_vid="quoted"', "quoted"),
        ("cv_vid=", ""),
        ("", None),
        (None, None),
    ],
)
def test_cookie_value_finds_one_cookie(header: str | None, expected: str | None) -> None:
    assert cookie_value(header, "cv_vid") == expected


def test_a_new_visitor_gets_both_cookies_with_safe_attributes() -> None:
    identity = Identity("secret", clock=Clock())
    visitor_id, session_id, cookies = identity.resolve(None)
    assert visitor_id and session_id
    visitor, session = cookies
    assert visitor.startswith("cv_vid=") and session.startswith("cv_sid=")
    for cookie in cookies:
        assert "; HttpOnly" in cookie and "; SameSite=Lax" in cookie and "; Path=/" in cookie
        assert "Secure" not in cookie
    assert "Max-Age=63072000" in visitor  # two years
    assert "Max-Age=1860" in session
    _, _, secure = identity.resolve(None, secure=True)
    assert all(cookie.endswith("; Secure") for cookie in secure)


def test_cookie_domain_and_names_are_configurable() -> None:
    identity = Identity(
        "secret", visitor_cookie="vid", session_cookie="sid", cookie_domain="example.com"
    )
    _, _, cookies = identity.resolve(None)
    assert [c.split("=", 1)[0] for c in cookies] == ["vid", "sid"]
    assert all("; Domain=example.com" in c for c in cookies)


def test_a_returning_visitor_in_the_same_minute_needs_no_cookie_and_no_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    identity = Identity("secret", clock=Clock())
    visitor_id, session_id, cookies = identity.resolve(None)
    header = as_request_header(cookies)
    signs: list[bytes] = []
    unsigns: list[bytes] = []
    original_sign, original_unsign = Signer.sign, Signer.unsign
    monkeypatch.setattr(Signer, "sign", lambda self, v: signs.append(v) or original_sign(self, v))
    monkeypatch.setattr(
        Signer, "unsign", lambda self, v: unsigns.append(v) or original_unsign(self, v)
    )
    for _ in range(10):
        assert identity.resolve(header) == (visitor_id, session_id, [])
    assert signs == []
    assert len(unsigns) <= 2  # verified once, then served from the cache


def test_the_session_cookie_is_re_signed_once_a_minute_and_keeps_its_id() -> None:
    clock = Clock()
    identity = Identity("secret", clock=clock)
    visitor_id, session_id, cookies = identity.resolve(None)
    header = as_request_header(cookies)
    clock.now += 60
    same_visitor, same_session, refreshed = identity.resolve(header)
    assert (same_visitor, same_session) == (visitor_id, session_id)
    assert len(refreshed) == 1 and refreshed[0].startswith("cv_sid=")
    header = as_request_header(refreshed, jar_of(header))
    assert identity.resolve(header) == (visitor_id, session_id, [])


def test_the_session_ends_after_the_inactivity_timeout() -> None:
    clock = Clock()
    identity = Identity("secret", session_timeout=1800, clock=clock)
    visitor_id, session_id, cookies = identity.resolve(None)
    header = as_request_header(cookies)
    # Seen at T0 (inside minute m): the session lasts at least 1800 s after that.
    clock.now = T0 + 1800
    assert identity.resolve(header)[:2] == (visitor_id, session_id)
    clock.now = T0 + 1800 + 60
    new_visitor, new_session, new_cookies = identity.resolve(header)
    assert new_visitor == visitor_id
    assert new_session != session_id
    # The visitor cookie is refreshed (same signed value, new expiry) with the session.
    assert new_cookies[0] == cookies[0]
    assert new_cookies[1].startswith("cv_sid=")


def test_activity_keeps_the_session_alive() -> None:
    clock = Clock()
    identity = Identity("secret", session_timeout=1800, clock=clock)
    visitor_id, session_id, cookies = identity.resolve(None)
    jar = jar_of(as_request_header(cookies))
    for _ in range(6):  # a request every 20 minutes for two hours
        clock.now += 1200
        header = "; ".join(f"{k}={v}" for k, v in jar.items())
        seen_visitor, seen_session, refreshed = identity.resolve(header)
        assert (seen_visitor, seen_session) == (visitor_id, session_id)
        jar = jar_of(as_request_header(refreshed, jar))


@pytest.mark.parametrize(
    "tamper",
    [
        # A signature character changed (not the last: its low bits are base64 padding).
        lambda v: v[:-5] + ("A" if v[-5] != "A" else "B") + v[-4:],
        lambda v: ("X" if v[0] != "X" else "Y") + v[1:],  # id changed
        lambda v: v.split(".")[0],  # no signature
        lambda v: "",
        lambda v: "garbage",
        lambda v: "é" * 40,
        lambda v: "." * 300,
        lambda v: v + "." + v,
    ],
)
def test_a_tampered_visitor_cookie_gets_a_new_visitor(tamper) -> None:  # type: ignore[no-untyped-def]
    identity = Identity("secret", clock=Clock())
    visitor_id, session_id, cookies = identity.resolve(None)
    jar = jar_of(as_request_header(cookies))
    jar["cv_vid"] = tamper(jar["cv_vid"])
    header = "; ".join(f"{k}={v}" for k, v in jar.items())
    new_visitor, new_session, new_cookies = identity.resolve(header)
    assert new_visitor != visitor_id
    assert new_session != session_id  # a session never outlives its visitor
    assert len(new_cookies) == 2


def test_a_tampered_or_foreign_session_cookie_starts_a_new_session() -> None:
    identity = Identity("secret", clock=Clock())
    visitor_id, session_id, cookies = identity.resolve(None)
    jar = jar_of(as_request_header(cookies))
    other = Identity("other secret", clock=Clock())
    _, _, foreign = other.resolve(None)
    for session_value in (
        jar["cv_sid"][:-5] + ("x" if jar["cv_sid"][-5] != "x" else "y") + jar["cv_sid"][-4:],
        jar_of(as_request_header(foreign))["cv_sid"],  # signed with another key
        jar["cv_vid"],  # a visitor cookie is not a session cookie (different salt)
        "not-a-cookie",
    ):
        header = f"cv_vid={jar['cv_vid']}; cv_sid={session_value}"
        same_visitor, new_session, _ = identity.resolve(header)
        assert same_visitor == visitor_id
        assert new_session != session_id


def test_read_never_issues_and_ignores_expired_sessions() -> None:
    clock = Clock()
    identity = Identity("secret", clock=clock)
    visitor_id, session_id, cookies = identity.resolve(None)
    header = as_request_header(cookies)
    assert identity.read(header) == (visitor_id, session_id)
    assert identity.read(None) == (None, None)
    assert identity.read("cv_vid=forged.sig") == (None, None)
    clock.now += 4000
    assert identity.read(header) == (visitor_id, None)


def test_cookieless_mode_hashes_a_daily_salt_ip_user_agent_and_host(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    with caplog.at_level(logging.WARNING, logger="convsdk.identity"):
        identity = Identity(None, clock=clock)
    assert any("cookieless" in r.getMessage() for r in caplog.records)
    assert identity.cookieless
    who = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "host": "shop.example"}
    visitor_id, session_id, cookies = identity.resolve("cv_vid=anything", **who)
    assert session_id is None and cookies == []
    assert len(visitor_id) == 32
    assert identity.resolve(None, **who)[0] == visitor_id
    assert identity.read(None, **who) == (visitor_id, None)
    assert identity.resolve(None, **{**who, "ip": "203.0.113.8"})[0] != visitor_id
    assert identity.resolve(None, **{**who, "host": "other.example"})[0] != visitor_id
    clock.now += 86400  # a new day, a new salt: yesterday's id cannot be linked
    assert identity.resolve(None, **who)[0] != visitor_id
    # Another process (another salt) does not produce the same ids.
    assert Identity(None, clock=Clock()).resolve(None, **who)[0] != visitor_id


@given(
    key=st.one_of(st.text(min_size=1, max_size=80), st.binary(min_size=1, max_size=80)),
    value=st.text(alphabet="0123456789abcdef.", max_size=64),
)
def test_cookies_are_signed_exactly_as_itsdangerous_signs_them(
    key: str | bytes, value: str
) -> None:
    import hashlib

    from convsdk.identity.signing import FastSigner

    for salt in ("convsdk.visitor", "convsdk.session"):
        expected = Signer(key, salt=salt, digest_method=hashlib.sha256).sign(value).decode()
        assert FastSigner(key, salt).sign(value) == expected


def test_new_ids_have_the_shape_of_token_urlsafe() -> None:
    import re
    import secrets

    from convsdk.identity.ids import new_ids

    ids = [new_ids() for _ in range(200)]
    urlsafe = re.compile(r"[A-Za-z0-9_-]+")
    for visitor_id, session_id in ids:
        assert len(visitor_id) == len(secrets.token_urlsafe(16)) == 22
        assert len(session_id) == len(secrets.token_urlsafe(12)) == 16
        assert urlsafe.fullmatch(visitor_id) and urlsafe.fullmatch(session_id)
    assert len({v for v, _ in ids}) == len({s for _, s in ids}) == len(ids)


def test_both_cookies_signed_at_once_are_the_two_signed_apart() -> None:
    from convsdk.identity.signing import CookieSigner

    signer = CookieSigner("secret", "cv_vid", "cv_sid")
    both = signer.sign_both("visitor-id", "session-id", 28_333_333)
    assert both == (
        signer.sign_visitor("visitor-id"),
        signer.sign_session("session-id", 28_333_333),
    )
    visitor, session = both
    assert signer.read(f"cv_vid={visitor}; cv_sid={session}") == (
        "visitor-id",
        visitor,
        ("session-id", 28_333_333),
        False,
    )


def test_a_forked_child_never_hands_out_its_parents_ids() -> None:
    import os

    from convsdk.identity.ids import new_ids

    new_ids()  # the pool holds the next pairs now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write, ",".join(new_ids()).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = tuple(os.read(read, 100).decode().split(","))
    os.close(read)
    assert child != new_ids()


def _cookie_parts(header: str) -> tuple[str, str, dict[str, str]]:
    """(name, value, attributes) of a Set-Cookie value; ``Expires`` left out (werkzeug
    adds one computed from the clock next to ``Max-Age``, which takes precedence)."""
    pair, *attributes = (part.strip() for part in header.split(";"))
    name, _, value = pair.partition("=")
    found = {}
    for attribute in attributes:
        key, _, text = attribute.partition("=")
        if key.lower() != "expires":
            found[key.lower()] = text
    return name, value, found


@given(
    secure=st.booleans(),
    domain=st.sampled_from([None, "example.com", "shop.example.co.uk"]),
    names=st.sampled_from([("cv_vid", "cv_sid"), ("vid", "sid"), ("__Host-v", "s.id")]),
    cookie=st.one_of(st.none(), st.text(max_size=120)),
    minutes=st.integers(min_value=0, max_value=3),
)
def test_set_cookie_headers_equal_werkzeug_and_http_cookies_output(
    secure: bool,
    domain: str | None,
    names: tuple[str, str],
    cookie: str | None,
    minutes: int,
) -> None:
    """The hand-built Set-Cookie values are what werkzeug's dump_cookie and the
    standard library's http.cookies make of the same cookie, and never need quoting:
    for new visitors, returning ones whose session is re-signed or renewed, and any
    Cookie header a client may send."""
    from http.cookies import SimpleCookie

    from werkzeug.http import dump_cookie

    clock = Clock()
    visitor_name, session_name = names
    identity = Identity(
        "secret",
        visitor_cookie=visitor_name,
        session_cookie=session_name,
        cookie_domain=domain,
        clock=clock,
    )
    _, _, first = identity.resolve(cookie, secure=secure)
    clock.now += 60 * minutes + 1900 * (minutes == 3)  # same minute, later, idle
    _, _, later = identity.resolve(as_request_header(first), secure=secure)
    max_ages = {visitor_name: 63072000, session_name: 1860}
    for header in [*first, *later]:
        name, value, attributes = _cookie_parts(header)
        expected = dump_cookie(
            name,
            value,
            max_age=max_ages[name],
            path="/",
            domain=domain,
            secure=secure,
            httponly=True,
            samesite="Lax",
        )
        assert _cookie_parts(expected) == (name, value, attributes)
        jar: SimpleCookie = SimpleCookie()
        jar[name] = value
        morsel = jar[name]
        morsel.update({"max-age": str(max_ages[name]), "path": "/", "httponly": True})
        morsel.update({"samesite": "Lax", "secure": secure, "domain": domain or ""})
        assert _cookie_parts(morsel.OutputString()) == (name, value, attributes)
        assert morsel.coded_value == value  # nothing to quote


WHO = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "host": "shop.example"}


def test_processes_sharing_a_directory_share_the_days_cookieless_ids(tmp_path: Path) -> None:
    # Worker processes of one site: a visitor whose requests reach several of them is
    # one visitor (before, one in each: the salt lived in each process's memory).
    clock = Clock()
    first = Identity(None, clock=clock, salt_directory=str(tmp_path))
    second = Identity(None, clock=clock, salt_directory=str(tmp_path))
    visitor_id = first.resolve(None, **WHO)[0]
    assert second.resolve(None, **WHO)[0] == visitor_id
    (salt,) = tmp_path.glob("salt-*")
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600  # its owner's only
    # Without the directory, another salt.
    assert Identity(None, clock=clock).resolve(None, **WHO)[0] != visitor_id
    # The next day: a new salt, and yesterday's is deleted, so its ids cannot be made again.
    clock.now += 86400
    tomorrow = second.resolve(None, **WHO)[0]
    assert tomorrow != visitor_id
    assert first.resolve(None, **WHO)[0] == tomorrow
    assert [path.name for path in tmp_path.iterdir()] == [f"salt-{int(clock.now // 86400)}"]


def test_a_salt_that_cannot_be_shared_stays_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    (tmp_path / f"salt-{int(clock.now // 86400)}").write_bytes(b"cut short")  # damaged
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    for directory in (tmp_path, not_a_directory):
        identity = Identity(None, clock=clock, salt_directory=str(directory))
        with caplog.at_level(logging.WARNING, logger="convsdk.identity"):
            visitor_id = identity.resolve(None, **WHO)[0]
        assert len(visitor_id) == 32
        assert identity.resolve(None, **WHO)[0] == visitor_id  # stable within the day
        assert "cannot share the cookieless salt" in caplog.text
        caplog.clear()
    # The next day the directory is tried again: a new salt there, shared.
    damaged = Identity(None, clock=clock, salt_directory=str(tmp_path))
    damaged.resolve(None, **WHO)
    clock.now += 86400
    shared = Identity(None, clock=clock, salt_directory=str(tmp_path))
    assert damaged.resolve(None, **WHO)[0] == shared.resolve(None, **WHO)[0]
    assert (tmp_path / f"salt-{int(clock.now // 86400)}").stat().st_size == 32


def test_workers_of_a_cookieless_site_count_a_visitor_once(tmp_path: Path) -> None:
    # Three processes, as a pre-forking server's workers, each serving one of the
    # visitor's pages through the middleware with its own tracker on the shared spool.
    script = textwrap.dedent(
        """
        import sys
        from convsdk import Tracker
        from convsdk.backends.memory import MemoryBackend
        from convsdk.integrations.wsgi import ConversionMiddleware

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/html")])
            return [b"<h1>page</h1>"]

        memory = MemoryBackend()
        tracker = Tracker(backend=memory, spool_dir=sys.argv[1], secret_key=None)
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": sys.argv[2], "SERVER_NAME": "shop.example",
            "SERVER_PORT": "443", "HTTP_HOST": "shop.example", "wsgi.url_scheme": "https",
            "REMOTE_ADDR": "203.0.113.7", "HTTP_USER_AGENT": "Mozilla/5.0 (X11) Chrome/124",
        }
        list(ConversionMiddleware(app, tracker=tracker)(environ, lambda *args: None))
        tracker.flush()
        print(memory.events[0].visitor_id)
        tracker.close()
        """
    )
    spool = str(tmp_path / "spool")
    visitors = {
        subprocess.run(
            [sys.executable, "-c", script, spool, path], capture_output=True, text=True, check=True
        ).stdout.strip()
        for path in ("/", "/pricing", "/signup")
    }
    assert len(visitors) == 1, visitors
