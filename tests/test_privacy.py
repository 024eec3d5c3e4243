"""IP anonymisation, consent, bots, card numbers and sensitive fields."""

from __future__ import annotations

import logging

import pytest

from convsdk import privacy
from convsdk.privacy import (
    anonymize_ip,
    bots,
    capture_fields,
    client_ip,
    contains_card_number,
    is_bot,
    is_sensitive_field,
    normalize_ip,
    opted_out,
    scrub_properties,
    scrub_text,
    scrub_url,
)

VISA = "4111 1111 1111 1111"
MASTERCARD = "5555-5555-5555-4444"
AMEX = "378282246310005"


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("10.1.2.255", "10.1.2.0"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
        ("::ffff:198.51.100.23", "198.51.100.0"),  # IPv4-mapped: anonymised as IPv4
        ("203.0.113.77:51234", "203.0.113.0"),  # with a port, as some proxies write it
        ("[2001:db8::1]:443", "2001:db8::"),
        ("fe80::1234%eth0", "fe80::"),  # zone ids identify nothing
        (" 198.51.100.4 ", "198.51.100.0"),
    ],
)
def test_anonymize_ip_zeroes_the_host_part(ip: str, expected: str) -> None:
    assert anonymize_ip(ip) == expected


@pytest.mark.parametrize("garbage", ["", "unknown", "999.1.1.1", "1.2.3", "<script>", "::g"])
def test_anonymize_and_normalize_reject_what_is_not_an_ip(garbage: str) -> None:
    assert anonymize_ip(garbage) is None
    assert normalize_ip(garbage) is None


def test_normalize_ip_keeps_the_address() -> None:
    assert normalize_ip("2001:DB8::0:1") == "2001:db8::1"
    assert normalize_ip("203.0.113.7:8080") == "203.0.113.7"


def test_client_ip_ignores_x_forwarded_for_unless_proxies_are_trusted() -> None:
    forged = "6.6.6.6, 198.51.100.4"
    assert client_ip("10.0.0.2", forged) == "10.0.0.2"
    assert client_ip("10.0.0.2", forged, trusted_proxies=1) == "198.51.100.4"
    assert client_ip("10.0.0.2", forged, trusted_proxies=2) == "6.6.6.6"
    # Fewer entries than trusted proxies: the header cannot be vouched for.
    assert client_ip("10.0.0.2", "198.51.100.4", trusted_proxies=2) == "10.0.0.2"
    assert client_ip("10.0.0.2", None, trusted_proxies=1) == "10.0.0.2"
    assert client_ip(None, None) is None


@pytest.mark.parametrize(
    ("gpc", "dnt", "expected"),
    [
        ("1", None, True),
        (None, "1", True),
        (" 1 ", None, True),
        ("0", "0", False),
        (None, None, False),
        ("yes", None, False),
    ],
)
def test_opted_out_reads_gpc_and_dnt(gpc: str | None, dnt: str | None, expected: bool) -> None:
    assert opted_out(gpc, dnt) is expected


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/124.0 Safari/537.36",
        "curl/8.5.0",
        "python-requests/2.31.0",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    ],
)
def test_bots_are_recognised(agent: str) -> None:
    assert is_bot(agent)


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "",
        "   ",
    ],
)
def test_people_are_not_bots(agent: str) -> None:
    assert not is_bot(agent)


def test_without_crawlerdetect_a_basic_check_stands_in_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(bots, "_detector", None)
    monkeypatch.setattr(bots, "_warned_fallback", False)
    privacy.is_bot.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="convsdk.privacy"):
            assert is_bot("Mozilla/5.0 (compatible; Googlebot/2.1)")
            assert is_bot("SomeCrawler/1.0")
            assert not is_bot("Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0")
        warnings = [r for r in caplog.records if "crawlerdetect" in r.getMessage()]
        assert len(warnings) == 1
    finally:
        privacy.is_bot.cache_clear()


def test_bot_checks_are_cached_per_user_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class Counting:
        def is_crawler(self, agent: str) -> bool:
            calls.append(agent)
            return False

    monkeypatch.setattr(bots, "_detector", Counting())
    privacy.is_bot.cache_clear()
    try:
        for _ in range(5):
            is_bot("Mozilla/5.0 cached")
        assert calls == ["Mozilla/5.0 cached"]
    finally:
        privacy.is_bot.cache_clear()


@pytest.mark.parametrize(
    "text",
    [
        VISA,
        MASTERCARD,
        AMEX,
        "4111111111111111",
        "card: 4111-1111-1111-1111 exp 12/29",
        "4111 1111 1111 1111 12",
        "4111+1111+1111+1111",
        "4111%201111%201111%201111",
    ],
)
def test_card_numbers_are_found(text: str) -> None:
    assert contains_card_number(text)
    assert "1111" not in scrub_text(text).replace("12/29", "")


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # fails the Luhn check
        "order 123456789012",  # 12 digits
        "12345678901234567890123",  # longer than any card
        "tel +1 555 0100",
        "2024-05-01",
        "",
    ],
)
def test_other_numbers_are_left_alone(text: str) -> None:
    assert not contains_card_number(text)
    assert scrub_text(text) == text


def test_scrub_url_removes_card_numbers_and_sensitive_parameters() -> None:
    url = "https://shop.example/pay?plan=pro&cc_number=4111111111111111&token=abc#top"
    assert (
        scrub_url(url)
        == "https://shop.example/pay?plan=pro&cc_number=[redacted]&token=[redacted]#top"
    )
    assert scrub_url("https://shop.example/q?note=4111%201111%201111%201111") == (
        "https://shop.example/q?note=[redacted]"
    )
    assert scrub_url("https://shop.example/pricing?utm_source=ads") == (
        "https://shop.example/pricing?utm_source=ads"
    )
    # Percent-encoded parameter names are read as such.
    assert scrub_url("/login?pass%77ord=hunter2") == "/login?pass%77ord=[redacted]"


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "new_password",
        "Passwd",
        "card_number",
        "cc",
        "ccnum",
        "CVV",
        "cvc2",
        "iban",
        "ssn",
        "csrf_token",
        "client_secret",
        "Authorization",
        "pin",
        "api_key",
        "session_id",
        "security_code",
        "securityCode",
        "passcode",
        "pw",
        "api-key",
        "access_key",
        "private_key",
        "signature",
        "code",
        "sig",
    ],
)
def test_sensitive_field_names(name: str) -> None:
    assert is_sensitive_field(name)


def test_secrets_named_with_dashes_never_reach_a_url() -> None:
    scrubbed = scrub_url("/account?api-key=sk_live_abc&access_key=AKIA1&code=oauth&plan=pro")
    assert "sk_live_abc" not in scrubbed and "AKIA1" not in scrubbed and "oauth" not in scrubbed
    assert scrubbed.endswith("&plan=pro")


@pytest.mark.parametrize(
    "name", ["plan", "total", "email_opt_in", "quantity", "coupon", "promo_code", "zip_code"]
)
def test_ordinary_field_names(name: str) -> None:
    assert not is_sensitive_field(name)


def test_scrub_properties_drops_card_numbers_at_any_depth_and_copies_only_when_needed() -> None:
    clean = {"plan": "pro", "items": [{"sku": "A1", "qty": 2}], "total": 49.9}
    assert scrub_properties(clean) is clean
    dirty = {
        "plan": "pro",
        "note": f"paid with {VISA}",
        "card": 4111111111111111,
        "nested": {"ok": 1, "pan": MASTERCARD, "list": ["fine", AMEX]},
    }
    assert scrub_properties(dirty) == {"plan": "pro", "nested": {"ok": 1, "list": ["fine"]}}
    assert dirty["note"].endswith("1111")  # the caller's dict is not modified


def test_capture_fields_keeps_only_allowlisted_safe_fields() -> None:
    form = {
        "plan": ["pro"],
        "total": ["49.90"],
        "password": ["hunter2"],
        "note": [f"my card {VISA}"],
        "tags": ["a", "b"],
        "bio": ["x" * 5000],
        "unlisted": ["secret stuff"],
    }
    captured = capture_fields(form, ["plan", "password", "note", "tags", "bio", "missing"])
    assert captured == {"plan": "pro", "tags": ["a", "b"], "bio": "x" * 1024}


def test_a_card_number_across_the_length_cut_is_still_caught() -> None:
    value = "x" * 1015 + VISA.replace(" ", "")  # the number straddles character 1024
    assert capture_fields({"note": [value]}, ["note"]) == {}


@pytest.mark.parametrize("name", ["success", "shipping", "author", "spinner", "accent"])
def test_short_secret_words_match_only_as_whole_words(name: str) -> None:
    assert not is_sensitive_field(name)
    assert scrub_url(f"/done?{name}=1") == f"/done?{name}=1"


JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        (f"https://shop.example/welcome?jwt={JWT}&plan=pro", JWT),
        ("https://shop.example/cart?sid=8f14e45fceea167a&plan=pro", "8f14e45fceea167a"),
        ("https://shop.example/cart?PHPSESSID=k2j3h4g5&plan=pro", "k2j3h4g5"),
        (f"https://shop.example/welcome?state={JWT}", JWT),  # a JWT under any name
        (f"https://shop.example/magic/{JWT}/open", JWT),  # in the path
        ("https://shop.example/cart;jsessionid=A1B2C3D4E5?plan=pro", "A1B2C3D4E5"),
        ("https://shop.example/reset-password/9f8a7b6c5d4e3f2a1b0c", "9f8a7b6c5d4e3f2a1b0c"),
        ("https://shop.example/token/Zx81kQpL0aB7mN3v/confirm", "Zx81kQpL0aB7mN3v"),
        (f"https://app.example/callback#id_token={JWT}&state=ok", JWT),
        ("https://app.example/cb#access_token=ya29.a0AfH6SMB&token_type=Bearer", "ya29.a0AfH6SMB"),
        ("https://app.example/#/done?refresh_token=r3fr3sh", "r3fr3sh"),
    ],
)
def test_scrub_url_redacts_tokens_and_session_ids(url: str, secret: str) -> None:
    scrubbed = scrub_url(url)
    assert secret not in scrubbed
    assert "[redacted]" in scrubbed
    assert scrubbed.startswith(url[:20])


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example/auth/callback?plan=pro",
        "https://shop.example/password/reset",
        "https://shop.example/products/blue-shirt-2024-edition",
        "https://shop.example/pricing#faq",
        "https://shop.example/docs;version=2",
        "https://shop.example/orders/1234567890123?inside=1",
    ],
)
def test_scrub_url_leaves_ordinary_urls_alone(url: str) -> None:
    assert scrub_url(url) == url


def test_scrub_text_redacts_a_jwt_in_a_path_or_value() -> None:
    assert scrub_text(f"/verify/{JWT}") == "/verify/[redacted]"
    assert scrub_text(f"campaign {JWT}.") == "campaign [redacted]."


def test_the_bot_rules_are_named_by_what_decides() -> None:
    """Verdicts are kept under the rules that made them: crawlerdetect's patterns, hashed
    (an upgrade changes them), or the basic check without it."""
    from convsdk.privacy import bots

    rules = bots.rules_id()
    assert rules.startswith("crawlerdetect:") and rules == bots.rules_id()
    detector = bots._detector
    bots.rules_id.cache_clear()
    try:
        bots._detector = None
        assert bots.rules_id().startswith("fallback:")
    finally:
        bots._detector = detector
        bots.rules_id.cache_clear()
    assert bots.rules_id() == rules
