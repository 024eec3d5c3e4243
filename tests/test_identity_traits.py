"""Traits given to identify(): normalised as the ad platforms document, then hashed."""

from __future__ import annotations

import hashlib
import logging

import pytest

from convsdk import ConfigError, Tracker
from convsdk.identity import hash_traits
from convsdk.identity.traits import normalize_email, normalize_phone


def test_meta_documented_email_vector() -> None:
    # Meta's Conversions API docs (customer information parameters): the normalised
    # "john_smith@gmail.com" hashes to this value.
    expected = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
    assert hash_traits({"email": "  John_Smith@gmail.com "}) == {"em": expected}


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Ada@Example.COM", "ada@example.com"),
        ("\tada@example.com\n", "ada@example.com"),
        ("not-an-address", None),
    ],
)
def test_emails_are_trimmed_and_lower_cased(raw: str, normal: str | None) -> None:
    assert normalize_email(raw) == normal


@pytest.mark.parametrize(
    ("raw", "country", "digits"),
    [
        ("+44 20 7946 0958", None, "442079460958"),
        ("(020) 7946-0958", "44", "442079460958"),
        ("0044 20 7946 0958", None, "442079460958"),
        ("+1 (616) 954-78 88", None, "16169547888"),  # Meta's example
        ("(616) 954-7888", "1", "16169547888"),
        ("(020) 7946-0958", None, None),  # national, and no country configured
        ("call me", "44", None),
        ("+44 12", None, None),  # too short for E.164
    ],
)
def test_phones_become_e164_digits(raw: str, country: str | None, digits: str | None) -> None:
    assert normalize_phone(raw, country) == digits


def test_the_phone_hash_is_of_the_digits_without_plus() -> None:
    hashed = hash_traits({"phone": "+44 20 7946 0958"})
    assert hashed == {"ph": hashlib.sha256(b"442079460958").hexdigest()}


def test_a_national_phone_without_a_country_is_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="convsdk.identity"):
        assert hash_traits({"phone": "(020) 7946-0958", "external_id": " 42 "}) == {
            "external_id": hashlib.sha256(b"42").hexdigest()
        }
    assert "phone_country_code" in caplog.text
    assert "7946" not in caplog.text  # the number itself is never logged


def test_unknown_traits_are_config_errors_naming_them() -> None:
    with pytest.raises(ConfigError, match="'emial'.*did you mean email") as info:
        hash_traits({"emial": "a@b.c"})
    assert info.value.field == "emial"


def test_the_country_code_option_is_checked() -> None:
    with pytest.raises(ConfigError, match="phone_country_code"):
        Tracker(backend="memory://", spool_dir=None, phone_country_code="UK")
    with Tracker(backend="memory://", spool_dir=None, phone_country_code="+44") as tracker:
        assert tracker.phone_country_code == "44"
