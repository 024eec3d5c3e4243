"""The signed click-id and user cookies: verified, bounded, never mistaken for each other."""

from __future__ import annotations

import secrets

from convsdk.identity import SignedState
from convsdk.identity.state import MAX_STATE_COOKIE


def value_of(set_cookie: str | None) -> str:
    assert set_cookie is not None
    return set_cookie.split(";", 1)[0].split("=", 1)[1]


def test_a_value_reads_back_and_only_under_its_own_salt() -> None:
    clicks = SignedState("secret", "cv_clk", "convsdk.clicks", max_age=60)
    user = SignedState("secret", "cv_uid", "convsdk.user", max_age=60)
    header = clicks.set_cookie({"last": {"name": "gclid", "id": "x", "at": 1}}, secure=True)
    assert header is not None and "; Secure" in header and "HttpOnly" in header
    value = value_of(header)
    assert clicks.read(f"theme=dark; cv_clk={value}") == {
        "last": {"name": "gclid", "id": "x", "at": 1}
    }
    assert user.read(f"cv_uid={value}") is None  # a click cookie is no user cookie
    other_key = SignedState("other", "cv_clk", "convsdk.clicks", max_age=60)
    assert other_key.read(f"cv_clk={value}") is None


def test_garbage_and_oversized_values_are_ignored() -> None:
    state = SignedState("secret", "cv_uid", "convsdk.user", max_age=60)
    assert state.read(None) is None
    assert state.read("cv_uid=not.signed") is None
    assert state.read("cv_uid=" + "a" * (MAX_STATE_COOKIE + 1)) is None
    # (values are compressed before signing: random text does not shrink)
    assert state.set_cookie({"u": secrets.token_hex(MAX_STATE_COOKIE)}, secure=False) is None


def test_values_are_itsdangerous_url_safe_serializer_values() -> None:
    """The cookies earlier versions set still read, and these read wherever theirs did."""
    from itsdangerous import URLSafeSerializer

    clicks = SignedState("secret", "cv_clk", "convsdk.clicks", max_age=60)
    reference = URLSafeSerializer("secret", salt="convsdk.clicks")
    for data in (
        {"last": {"name": "gclid", "id": "Cj0KCQ", "at": 1733400000000}},
        {"user_id": "jürgen@example.com", "traits": {"em": "ab" * 32}, "at": 1.5, "on": True},
        {"long": "x" * 400},  # compressed by the serializer
    ):
        value = value_of(clicks.set_cookie(data, secure=False))
        assert value == reference.dumps(data)
        assert clicks.read(f"cv_clk={reference.dumps(data)}") == data
