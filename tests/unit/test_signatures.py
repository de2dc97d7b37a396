"""hub.signatures: the providers' published vectors first, then the rules around them.

Published vectors are copied as facts (inputs and expected output) with their source.
Where a provider publishes none, the vector was computed independently with
`openssl dgst` in a shell and pasted as a literal; the comment says so. A `verify(...)`
call that returns (rather than raising SignatureError) is the assertion that it passed.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Callable
from types import MappingProxyType

import pytest

from hub.errors import HubError
from hub.signatures import SCHEMES, SignatureError, sign, twilio_json_url, verify

# --- Standard Webhooks: github.com/standard-webhooks/standard-webhooks, the libraries'
# tests (test_sign_function / TestWebhookSign, multi-signature and invalid cases).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SW_OTHER_SIG = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
SW_LAST_CHAR_CHANGED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="

# --- Stripe publishes no secret+body+signature triple. Secret: the one Stripe's own
# library tests use (stripe-go, stripe-python); t: the docs' example header. Derived with
#   printf '%s' '1492774577.{"id": "evt_test_webhook", "object": "event"}' \
#     | openssl dgst -sha256 -hmac whsec_test_secret
STRIPE_SECRET = "whsec_test_secret"
STRIPE_TS = 1492774577
STRIPE_BODY = b'{"id": "evt_test_webhook", "object": "event"}'
STRIPE_V1 = "c137b1b62277d523cf8fed4dfbd0170a9a5b8a380e00cc3711d4bf0652f2ce7a"
# The example header in Stripe's docs ("Verify signatures manually",
# stripe.com/docs/webhooks/signatures); its secret and body are not published, so it
# can only serve as a signature that must not verify against another secret.
STRIPE_DOCS_HEADER = (
    "t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,"
    "v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
)

# --- GitHub: docs.github.com, "Validating webhook deliveries", testing the signature.
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIG = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

# --- Twilio: twilio.com/docs/usage/security, "Validating requests" worked example.
TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_DOCS_FORM = (  # the example's parameters, form-encoded, deliberately out of order
    b"To=%2B18005551212&CallSid=CA1234567890ABCDE&Digits=1234"
    b"&From=%2B12349013030&Caller=%2B12349013030"
)
TWILIO_DOCS_SIG = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
# twilio-python tests/unit/test_request_validator.py: same URL, From/Caller +14158675309.
TWILIO_LIB_FORM = (
    b"CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309"
    b"&To=%2B18005551212&Caller=%2B14158675309"
)
TWILIO_LIB_SIG = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
TWILIO_JSON_BODY = b'{"property": "value", "boolean": true}'
TWILIO_JSON_URL = (
    TWILIO_URL + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
)
TWILIO_JSON_SIG = "a9nBmqA0ju/hNViExpshrM61xv4="

# --- Shopify publishes no vector. Derived with
#   printf '%s' '{"id": 820982911946154508, "email": "jon@example.com"}' \
#     | openssl dgst -sha256 -hmac hush -binary | base64
SHOPIFY_SECRET = "hush"
SHOPIFY_BODY = b'{"id": 820982911946154508, "email": "jon@example.com"}'
SHOPIFY_SIG = "8oTAlJ0HtUEbJDFmjrpj7ILB73p0WlxjdkJwg509B48="

# --- Slack: docs.slack.dev/authentication/verifying-requests-from-slack, worked example.
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = 1531420618
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com"
    b"%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

# --- values for the rule tests (round trips, rotation, tolerance, ...) ------------------
NOW = 1_700_000_000
URL = "https://hub.example.com/webhooks/twilio?tenant=7"
BODY = b'{"id": "evt_1", "amount": 1250, "currency": "EUR"}'
NOT_UTF8 = b"\xff\xfe\x00\x80 caf\xe9 \xc3\x28"
SECRET = {
    "standard-webhooks": "whsec_" + base64.b64encode(b"current-key-24-bytes-xyz").decode(),
    "stripe": "whsec_current",
    "github": "github-current",
    "twilio": "twilio-current",
    "shopify": "shopify-current",
    "slack": "slack-current",
}
OLD_SECRET = {
    "standard-webhooks": base64.b64encode(b"previous-key-24-bytes-ab").decode(),
    "stripe": "whsec_previous",
    "github": "github-previous",
    "twilio": "twilio-previous",
    "shopify": "shopify-previous",
    "slack": "slack-previous",
}
TIMESTAMPED = ["standard-webhooks", "stripe", "slack"]
SIGNATURE_HEADER = {
    "standard-webhooks": "webhook-signature",
    "stripe": "Stripe-Signature",
    "github": "X-Hub-Signature-256",
    "twilio": "X-Twilio-Signature",
    "shopify": "X-Shopify-Hmac-Sha256",
    "slack": "X-Slack-Signature",
}


def _url(scheme: str, body: bytes = BODY, json: bool = False) -> str | None:
    if scheme != "twilio":
        return None
    return twilio_json_url(URL, body) if json else URL


def _signed(scheme: str, body: bytes = BODY, json: bool = False) -> dict[str, str]:
    return sign(scheme, secret=SECRET[scheme], body=body, url=_url(scheme, body, json),
                timestamp=NOW, msg_id="msg_test")


def _reason(scheme: str, headers: dict[str, str], body: bytes = BODY, *,
            url: str | None = None, secrets: list[str] | None = None,
            now: float = NOW) -> str:
    with pytest.raises(SignatureError) as exc:
        verify(scheme, secrets=secrets or [SECRET[scheme]], headers=headers, body=body,
               url=url if url is not None else _url(scheme, body), now=now)
    return exc.value.reason


def _bare(signature_header: str) -> str:
    """The signature alone, without the scheme's `t=...,v1=`, `v1,`, `sha256=` or `v0=`."""
    return re.sub(r"^(t=\d+,v1=|v1,|sha256=|v0=)", "", signature_header)


# --- published vectors: Standard Webhooks ------------------------------------------------


@pytest.mark.unit
def test_standard_webhooks_sign_reproduces_the_published_vector() -> None:
    assert sign("standard-webhooks", secret=SW_SECRET, body=SW_BODY, timestamp=SW_TS,
                msg_id=SW_ID) == {
        "webhook-id": SW_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": SW_SIG,
    }


@pytest.mark.unit
@pytest.mark.parametrize("secret", [SW_SECRET, SW_SECRET.removeprefix("whsec_")])
def test_standard_webhooks_published_vector_verifies_with_or_without_prefix(
    secret: str,
) -> None:
    headers = {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TS), "webhook-signature": SW_SIG}
    verify("standard-webhooks", secrets=[secret], headers=headers, body=SW_BODY,
           now=SW_TS)


@pytest.mark.unit
def test_standard_webhooks_published_multi_signature_header_verifies() -> None:
    signatures = " ".join([SW_OTHER_SIG, "v2," + SW_OTHER_SIG[3:], SW_SIG, SW_OTHER_SIG])
    headers = {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TS),
               "webhook-signature": signatures}
    verify("standard-webhooks", secrets=[SW_SECRET], headers=headers, body=SW_BODY,
           now=SW_TS)


@pytest.mark.unit
@pytest.mark.parametrize(
    "signature",
    [SW_OTHER_SIG, SW_LAST_CHAR_CHANGED, "v2," + SW_SIG[3:], "v1a," + SW_SIG[3:], "v1,!!!"],
    ids=["other", "last-char-changed", "valid-under-v2", "valid-under-v1a", "not-base64"],
)
def test_standard_webhooks_published_invalid_signatures_fail(signature: str) -> None:
    headers = {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TS),
               "webhook-signature": signature}
    assert _reason("standard-webhooks", headers, SW_BODY, secrets=[SW_SECRET],
                   now=SW_TS) == "no_matching_signature"


@pytest.mark.unit
@pytest.mark.parametrize(("now", "reason"), [
    (SW_TS + 300, None), (SW_TS - 300, None),
    (SW_TS + 301, "timestamp_out_of_tolerance"), (SW_TS - 301, "timestamp_out_of_tolerance"),
])
def test_standard_webhooks_published_vector_tolerance_edges(now: int, reason: str | None) -> None:
    headers = {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TS), "webhook-signature": SW_SIG}
    if reason is None:
        verify("standard-webhooks", secrets=[SW_SECRET], headers=headers, body=SW_BODY,
               now=now)
    else:
        assert _reason("standard-webhooks", headers, SW_BODY, secrets=[SW_SECRET],
                       now=now) == reason


# --- Stripe ------------------------------------------------------------------------------


@pytest.mark.unit
def test_stripe_derived_vector_signs_and_verifies() -> None:
    header = f"t={STRIPE_TS},v1={STRIPE_V1}"
    assert sign("stripe", secret=STRIPE_SECRET, body=STRIPE_BODY, timestamp=STRIPE_TS) == {
        "Stripe-Signature": header
    }
    verify("stripe", secrets=[STRIPE_SECRET], headers={"Stripe-Signature": header},
           body=STRIPE_BODY, now=STRIPE_TS)


@pytest.mark.unit
def test_stripe_accepts_any_v1_and_ignores_v0_and_unreadable_entries() -> None:
    header = (f"t={STRIPE_TS},v1=bad_signature,v1={'0' * 64},v1={STRIPE_V1.upper()},"
              f"v0={'a' * 64},v9=whatever")
    verify("stripe", secrets=[STRIPE_SECRET], headers={"Stripe-Signature": header},
           body=STRIPE_BODY, now=STRIPE_TS)


@pytest.mark.unit
def test_stripe_valid_signature_under_v0_only_fails() -> None:
    header = f"t={STRIPE_TS},v0={STRIPE_V1}"
    assert _reason("stripe", {"Stripe-Signature": header}, STRIPE_BODY,
                   secrets=[STRIPE_SECRET], now=STRIPE_TS) == "no_matching_signature"


@pytest.mark.unit
def test_stripe_docs_example_header_fails_against_another_secret() -> None:
    assert _reason("stripe", {"Stripe-Signature": STRIPE_DOCS_HEADER}, STRIPE_BODY,
                   secrets=[STRIPE_SECRET], now=STRIPE_TS) == "no_matching_signature"


@pytest.mark.unit
def test_stripe_uses_the_secret_with_its_whsec_prefix() -> None:
    stripped = sign("stripe", secret="test_secret", body=STRIPE_BODY, timestamp=STRIPE_TS)
    assert _reason("stripe", stripped, STRIPE_BODY, secrets=[STRIPE_SECRET],
                   now=STRIPE_TS) == "no_matching_signature"


# --- GitHub ------------------------------------------------------------------------------


@pytest.mark.unit
def test_github_published_vector_signs_and_verifies() -> None:
    assert sign("github", secret=GITHUB_SECRET, body=GITHUB_BODY) == {
        "X-Hub-Signature-256": GITHUB_SIG
    }
    verify("github", secrets=[GITHUB_SECRET], headers={"X-Hub-Signature-256": GITHUB_SIG},
           body=GITHUB_BODY)


@pytest.mark.unit
def test_github_published_vector_fails_for_another_body() -> None:
    assert _reason("github", {"X-Hub-Signature-256": GITHUB_SIG}, b"Hello, World?",
                   secrets=[GITHUB_SECRET]) == "no_matching_signature"


# --- Twilio ------------------------------------------------------------------------------


@pytest.mark.unit
def test_twilio_docs_vector_signs_and_verifies() -> None:
    assert sign("twilio", secret=TWILIO_TOKEN, body=TWILIO_DOCS_FORM, url=TWILIO_URL) == {
        "X-Twilio-Signature": TWILIO_DOCS_SIG
    }
    verify("twilio", secrets=[TWILIO_TOKEN], body=TWILIO_DOCS_FORM, url=TWILIO_URL,
           headers={"X-Twilio-Signature": TWILIO_DOCS_SIG})


@pytest.mark.unit
@pytest.mark.parametrize(("url", "signature"), [
    (TWILIO_URL, TWILIO_LIB_SIG),
    # signed without the port, received on https with one: the port is dropped
    ("https://mycompany.com:1234/myapp.php?foo=1&bar=2", TWILIO_LIB_SIG),
    # signed with the port as received
    ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
    # signed with :443 / :80, received without: the default port is added
    (TWILIO_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),
    ("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
], ids=["plain", "https-port-removed", "http-port-kept", "https-443-added", "http-80-added"])
def test_twilio_library_vectors_with_port_variants(url: str, signature: str) -> None:
    verify("twilio", secrets=[TWILIO_TOKEN], body=TWILIO_LIB_FORM, url=url,
           headers={"X-Twilio-Signature": signature})


@pytest.mark.unit
def test_twilio_library_vector_with_repeated_keys() -> None:
    body = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234"
    assert sign("twilio", secret=TWILIO_TOKEN, body=body, url=TWILIO_URL) == {
        "X-Twilio-Signature": "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    }


@pytest.mark.unit
def test_twilio_library_json_vector() -> None:
    assert twilio_json_url(TWILIO_URL, TWILIO_JSON_BODY) == TWILIO_JSON_URL
    assert sign("twilio", secret=TWILIO_TOKEN, body=TWILIO_JSON_BODY, url=TWILIO_JSON_URL) == {
        "X-Twilio-Signature": TWILIO_JSON_SIG
    }
    verify("twilio", secrets=[TWILIO_TOKEN], body=TWILIO_JSON_BODY, url=TWILIO_JSON_URL,
           headers={"X-Twilio-Signature": TWILIO_JSON_SIG})


@pytest.mark.unit
def test_twilio_json_body_changed_after_signing_fails_on_its_hash() -> None:
    assert _reason("twilio", {"X-Twilio-Signature": TWILIO_JSON_SIG},
                   b'{"property": "value", "boolean": false}', url=TWILIO_JSON_URL,
                   secrets=[TWILIO_TOKEN]) == "body_hash_mismatch"


@pytest.mark.unit
@pytest.mark.parametrize("url", [
    TWILIO_URL.replace("bar=2", "bar=3"),
    TWILIO_URL.replace("mycompany.com", "evil.example"),
])
def test_twilio_docs_vector_fails_for_another_url(url: str) -> None:
    assert _reason("twilio", {"X-Twilio-Signature": TWILIO_DOCS_SIG}, TWILIO_DOCS_FORM,
                   url=url, secrets=[TWILIO_TOKEN]) == "no_matching_signature"


@pytest.mark.unit
def test_twilio_docs_vector_fails_for_a_changed_parameter() -> None:
    body = TWILIO_DOCS_FORM.replace(b"Digits=1234", b"Digits=9999")
    assert _reason("twilio", {"X-Twilio-Signature": TWILIO_DOCS_SIG}, body, url=TWILIO_URL,
                   secrets=[TWILIO_TOKEN]) == "no_matching_signature"


@pytest.mark.unit
def test_twilio_without_url_fails() -> None:
    with pytest.raises(SignatureError) as exc:
        verify("twilio", secrets=[TWILIO_TOKEN], body=TWILIO_DOCS_FORM,
               headers={"X-Twilio-Signature": TWILIO_DOCS_SIG})
    assert exc.value.reason == "missing_url"


@pytest.mark.unit
@pytest.mark.parametrize("url", [
    "https://[::1/myapp.php", "https://mycompany.com:99999/x", "https://mycompany.com:abc/x",
    TWILIO_JSON_URL + "&bodySHA256=00",
])
def test_twilio_malformed_url_fails(url: str) -> None:
    assert _reason("twilio", {"X-Twilio-Signature": TWILIO_DOCS_SIG}, TWILIO_DOCS_FORM,
                   url=url, secrets=[TWILIO_TOKEN]) == "malformed_url"


# --- Shopify and Slack -------------------------------------------------------------------


@pytest.mark.unit
def test_shopify_derived_vector_signs_and_verifies() -> None:
    assert sign("shopify", secret=SHOPIFY_SECRET, body=SHOPIFY_BODY) == {
        "X-Shopify-Hmac-Sha256": SHOPIFY_SIG
    }
    verify("shopify", secrets=[SHOPIFY_SECRET], body=SHOPIFY_BODY,
           headers={"X-Shopify-Hmac-Sha256": SHOPIFY_SIG})


@pytest.mark.unit
def test_slack_published_vector_signs_and_verifies() -> None:
    headers = {"X-Slack-Request-Timestamp": str(SLACK_TS), "X-Slack-Signature": SLACK_SIG}
    assert sign("slack", secret=SLACK_SECRET, body=SLACK_BODY, timestamp=SLACK_TS) == headers
    verify("slack", secrets=[SLACK_SECRET], headers=headers, body=SLACK_BODY,
           now=SLACK_TS + 30)


@pytest.mark.unit
def test_slack_published_vector_fails_six_minutes_later() -> None:
    headers = {"X-Slack-Request-Timestamp": str(SLACK_TS), "X-Slack-Signature": SLACK_SIG}
    assert _reason("slack", headers, SLACK_BODY, secrets=[SLACK_SECRET],
                   now=SLACK_TS + 360) == "timestamp_out_of_tolerance"


# --- rules, for every scheme -------------------------------------------------------------


@pytest.mark.unit
def test_schemes_lists_the_six_names() -> None:
    assert SCHEMES == ("standard-webhooks", "stripe", "github", "twilio", "shopify", "slack")


@pytest.mark.unit
def test_signature_error_is_a_hub_error_with_a_reason() -> None:
    error = SignatureError("missing_header", "webhook-id header is missing or empty")
    assert isinstance(error, HubError)
    assert error.reason == "missing_header"
    assert str(error) == "webhook-id header is missing or empty"


@pytest.mark.unit
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("body", [BODY, NOT_UTF8, b""], ids=["json", "not-utf8", "empty"])
def test_sign_then_verify_round_trips(scheme: str, body: bytes) -> None:
    verify(scheme, secrets=[SECRET[scheme]], headers=_signed(scheme, body), body=body,
           url=_url(scheme, body), now=NOW)


@pytest.mark.unit
@pytest.mark.parametrize("body", [BODY, NOT_UTF8], ids=["json", "not-utf8"])
def test_twilio_json_variant_round_trips(body: bytes) -> None:
    url = twilio_json_url(URL, body)
    verify("twilio", secrets=[SECRET["twilio"]], headers=_signed("twilio", body, True),
           body=body, url=url)


@pytest.mark.unit
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("case", [str.upper, str.lower, str.swapcase],
                         ids=["upper", "lower", "swapped"])
def test_header_names_are_case_insensitive(scheme: str, case: Callable[[str], str]) -> None:
    headers = MappingProxyType({case(name): value for name, value in _signed(scheme).items()})
    verify(scheme, secrets=[SECRET[scheme]], headers=headers, body=BODY,
           url=_url(scheme), now=NOW)


@pytest.mark.unit
@pytest.mark.parametrize("scheme", SCHEMES)
def test_rotation_any_configured_secret_may_match(scheme: str) -> None:
    verify(scheme, secrets=[OLD_SECRET[scheme], SECRET[scheme]], headers=_signed(scheme),
           body=BODY, url=_url(scheme), now=NOW)


@pytest.mark.unit
@pytest.mark.parametrize("scheme", SCHEMES)
def test_no_configured_secret_matching_fails(scheme: str) -> None:
    assert _reason(scheme, _signed(scheme), secrets=[OLD_SECRET[scheme]]) == (
        "no_matching_signature"
    )


@pytest.mark.unit
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("body", [BODY + b" ", BODY.replace(b"1250", b"9250"), NOT_UTF8],
                         ids=["appended", "changed", "not-utf8"])
def test_tampered_body_fails(scheme: str, body: bytes) -> None:
    assert _reason(scheme, _signed(scheme), body, url=_url(scheme)) == "no_matching_signature"


@pytest.mark.unit
@pytest.mark.parametrize("scheme", TIMESTAMPED)
@pytest.mark.parametrize("skew", [301, -301, 86_400 * 365, -86_400 * 365])
def test_timestamps_beyond_tolerance_either_way_fail(scheme: str, skew: int) -> None:
    assert _reason(scheme, _signed(scheme), now=NOW + skew) == "timestamp_out_of_tolerance"


@pytest.mark.unit
@pytest.mark.parametrize("scheme", TIMESTAMPED)
@pytest.mark.parametrize("skew", [300, -300, 0])
def test_timestamps_within_tolerance_pass(scheme: str, skew: int) -> None:
    verify(scheme, secrets=[SECRET[scheme]], headers=_signed(scheme), body=BODY,
           now=NOW + skew)


@pytest.mark.unit
@pytest.mark.parametrize("scheme", TIMESTAMPED)
def test_tolerance_is_configurable(scheme: str) -> None:
    with pytest.raises(SignatureError) as exc:
        verify(scheme, secrets=[SECRET[scheme]], headers=_signed(scheme), body=BODY,
               now=NOW + 11, tolerance=10)
    assert exc.value.reason == "timestamp_out_of_tolerance"


@pytest.mark.unit
@pytest.mark.parametrize(("scheme", "name"), [
    ("standard-webhooks", "webhook-id"),
    ("standard-webhooks", "webhook-timestamp"),
    ("standard-webhooks", "webhook-signature"),
    ("stripe", "Stripe-Signature"),
    ("github", "X-Hub-Signature-256"),
    ("twilio", "X-Twilio-Signature"),
    ("shopify", "X-Shopify-Hmac-Sha256"),
    ("slack", "X-Slack-Signature"),
    ("slack", "X-Slack-Request-Timestamp"),
])
@pytest.mark.parametrize("how", ["absent", "empty", "blank"])
def test_missing_header_fails(scheme: str, name: str, how: str) -> None:
    headers = _signed(scheme)
    if how == "absent":
        del headers[name]
    else:
        headers[name] = "" if how == "empty" else "   "
    assert _reason(scheme, headers) == "missing_header"


@pytest.mark.unit
@pytest.mark.parametrize(("scheme", "name", "value"), [
    ("standard-webhooks", "webhook-timestamp", "hello"),  # the spec's own test case
    ("standard-webhooks", "webhook-timestamp", "-1700000000"),
    ("standard-webhooks", "webhook-timestamp", "1.7e9"),
    ("standard-webhooks", "webhook-timestamp", "\u0661\u0667\u0660\u0660"),  # Arabic digits
    ("standard-webhooks", "webhook-timestamp", "9" * 5000),
    ("standard-webhooks", "webhook-signature", "v1"),
    ("standard-webhooks", "webhook-id", "msg_\ud800"),  # a lone surrogate: not encodable
    ("stripe", "Stripe-Signature", "t="),  # stripe-go's own test case
    ("stripe", "Stripe-Signature", "v1,t=1"),  # stripe-go's own test case
    ("stripe", "Stripe-Signature", f"v1={STRIPE_V1}"),
    ("stripe", "Stripe-Signature", f"t={NOW},t={NOW},v1={STRIPE_V1}"),
    ("stripe", "Stripe-Signature", f"t=soon,v1={STRIPE_V1}"),
    ("github", "X-Hub-Signature-256", GITHUB_SIG.removeprefix("sha256=")),
    ("github", "X-Hub-Signature-256", "sha1=" + "0" * 40),
    ("github", "X-Hub-Signature-256", "sha256=" + "z" * 64),
    ("github", "X-Hub-Signature-256", "sha256=" + "\u00e9" * 64),
    ("github", "X-Hub-Signature-256", "sha256=" + "0" * 62),
    ("twilio", "X-Twilio-Signature", "not base64!"),
    ("twilio", "X-Twilio-Signature", "AAAA"),
    ("twilio", "X-Twilio-Signature", "\u00fc" * 28),
    ("shopify", "X-Shopify-Hmac-Sha256", "%%%"),
    ("shopify", "X-Shopify-Hmac-Sha256", TWILIO_DOCS_SIG),  # a SHA-1 length
    ("slack", "X-Slack-Signature", "v1=" + "0" * 64),
    ("slack", "X-Slack-Signature", "v0=zz"),
    ("slack", "X-Slack-Request-Timestamp", "soon"),
] + [(scheme, name, "A" * 100_000) for scheme, name in SIGNATURE_HEADER.items()])
def test_malformed_header_fails(scheme: str, name: str, value: str) -> None:
    headers = _signed(scheme)
    headers[name] = value
    assert _reason(scheme, headers) == "malformed_header"


@pytest.mark.unit
@pytest.mark.parametrize("scheme", SCHEMES)
def test_error_messages_never_hold_the_secret_or_expected_signature(scheme: str) -> None:
    tampered = BODY + b"!"
    expected = _signed(scheme, tampered)[SIGNATURE_HEADER[scheme]]
    messages = []
    for headers, now in [(_signed(scheme), NOW), (_signed(scheme), NOW + 10_000)]:
        with pytest.raises(SignatureError) as exc:
            verify(scheme, secrets=[SECRET[scheme]], headers=headers, body=tampered,
                   url=_url(scheme), now=now)
        messages.append(str(exc.value))
    for message in messages:
        assert SECRET[scheme] not in message
        assert expected not in message
        assert _bare(expected) not in message


@pytest.mark.unit
def test_undecodable_standard_webhooks_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="not base64") as exc:
        verify("standard-webhooks", secrets=["whsec_not*base64"], headers={}, body=BODY)
    assert "not*base64" not in str(exc.value)


@pytest.mark.unit
@pytest.mark.parametrize("secrets", [[], "a-single-string", [""], ["whsec_"]],
                         ids=["none", "str", "empty", "empty-after-prefix"])
def test_unusable_secrets_are_a_configuration_error(secrets: list[str]) -> None:
    with pytest.raises(ValueError):
        verify("standard-webhooks", secrets=secrets, headers=_signed("standard-webhooks"),
               body=BODY, now=NOW)


@pytest.mark.unit
def test_unknown_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown signature scheme 'paypal'"):
        verify("paypal", secrets=["s"], headers={}, body=BODY)
    with pytest.raises(ValueError, match="unknown signature scheme 'paypal'"):
        sign("paypal", secret="s", body=BODY)


@pytest.mark.unit
def test_negative_tolerance_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        verify("slack", secrets=[SECRET["slack"]], headers=_signed("slack"), body=BODY,
               tolerance=-1)


@pytest.mark.unit
@pytest.mark.parametrize("scheme", SCHEMES)
def test_sign_defaults_to_now_and_verify_to_the_clock(scheme: str) -> None:
    headers = sign(scheme, secret=SECRET[scheme], body=BODY, url=_url(scheme))
    verify(scheme, secrets=[SECRET[scheme]], headers=headers, body=BODY,
           url=_url(scheme))


@pytest.mark.unit
def test_sign_defaults_to_a_fresh_message_id() -> None:
    first = sign("standard-webhooks", secret=SW_SECRET, body=BODY)["webhook-id"]
    second = sign("standard-webhooks", secret=SW_SECRET, body=BODY)["webhook-id"]
    assert first.startswith("msg_")
    assert second.startswith("msg_")
    assert first != second


@pytest.mark.unit
def test_sign_twilio_needs_a_url_whose_body_hash_fits() -> None:
    with pytest.raises(ValueError, match="url="):
        sign("twilio", secret=TWILIO_TOKEN, body=TWILIO_DOCS_FORM)
    with pytest.raises(ValueError, match="bodySHA256"):
        sign("twilio", secret=TWILIO_TOKEN, body=b"{}", url=TWILIO_JSON_URL)
