from __future__ import annotations

import pytest

from consumers.redact import REDACTED, is_sensitive_key, luhn_valid, redact

pytestmark = pytest.mark.unit


def test_secret_and_card_keys_are_redacted_at_any_depth() -> None:
    body = {
        "amount": 1250,
        "Authorization": "Bearer sk_live_1",
        "api_key": "k",
        "metadata": {"invoice_id": "inv_1", "client_secret": "pi_1_secret_2"},
        "payment_method_data": {"card": {"number": "4242", "cvc": "123"}},
        "items": [{"access-token": "t", "name": "widget"}],
        "password": None,
    }
    assert redact(body) == {
        "amount": 1250,
        "Authorization": REDACTED,
        "api_key": REDACTED,
        "metadata": {"invoice_id": "inv_1", "client_secret": REDACTED},
        "payment_method_data": {"card": REDACTED},
        "items": [{"access-token": REDACTED, "name": "widget"}],
        "password": None,
    }


@pytest.mark.parametrize(("key", "sensitive"), [
    ("number", True), ("card_number", True), ("card[number]", True), ("cvc", True),
    ("X-Api-Key", True), ("refresh_token", True), ("Password", True), ("secret", True),
    ("invoice_id", False), ("amount_minor", False), ("to", False), ("idempotency_key", False),
    ("description", False),
])
def test_sensitive_keys(key: str, sensitive: bool) -> None:
    assert is_sensitive_key(key) is sensitive


def test_card_like_digit_runs_passing_luhn_are_redacted_inside_strings() -> None:
    text = "card 4242 4242 4242 4242 and 4000-0566-5566-5556 but not 4242424242424241"
    assert redact({"note": text}) == {
        "note": f"card {REDACTED} and {REDACTED} but not 4242424242424241"}
    assert redact(["378282246310005"]) == [REDACTED]  # 15-digit Amex test number
    assert redact("call +15551234567") == "call +15551234567"  # 11 digits: a phone number
    assert redact(4242424242424242) == 4242424242424242  # numbers are left alone


def test_luhn() -> None:
    assert luhn_valid("4242424242424242")
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


def test_redact_does_not_change_its_input() -> None:
    body = {"token": "t", "list": ["4242424242424242"]}
    redact(body)
    assert body == {"token": "t", "list": ["4242424242424242"]}
