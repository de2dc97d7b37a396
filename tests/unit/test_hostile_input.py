"""Random and malformed input into the verifiers, the codec and the publish-data converter:
every case ends in the module's own typed error (or success), never anything else."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import codec
from hub.ingress.jsondata import JsonDataError, from_json
from hub.schemastore import SchemaStore
from hub.signatures import SCHEMES, SignatureError, verify

pytestmark = pytest.mark.unit

STORE = SchemaStore.load()
HEADER_NAMES = st.sampled_from([
    "stripe-signature", "x-hub-signature-256", "webhook-id", "webhook-timestamp",
    "webhook-signature", "x-twilio-signature", "x-shopify-hmac-sha256", "x-slack-signature",
    "x-slack-request-timestamp", "Stripe-Signature", "content-type"])
HEADERS = st.dictionaries(st.one_of(HEADER_NAMES, st.text(max_size=20)),
                          st.text(max_size=300), max_size=8)
URLS = st.one_of(st.none(), st.text(max_size=80),
                 st.just("https://example.com/hook?bodySHA256=abc&x=%ZZ"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(scheme=st.sampled_from(SCHEMES), headers=HEADERS, body=st.binary(max_size=2000), url=URLS)
def test_verifiers_only_raise_signature_error(scheme: str, headers: dict[str, str], body: bytes,
                                             url: str | None) -> None:
    with pytest.raises(SignatureError):
        verify(scheme, secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], headers=headers,
               body=body, url=url, now=1_700_000_000)


def test_huge_and_duplicate_like_headers_are_signature_errors() -> None:
    huge = {"Stripe-Signature": "t=1,v1=" + "a" * 100_000}
    with pytest.raises(SignatureError) as exc:
        verify("stripe", secrets=["whsec_x"], headers=huge, body=b"{}", now=1)
    assert exc.value.reason == "malformed_header"
    doubled = {"Stripe-Signature": "t=1,t=2,v1=00"}
    with pytest.raises(SignatureError):
        verify("stripe", secrets=["whsec_x"], headers=doubled, body=b"{}", now=1)


@settings(max_examples=500, deadline=None)
@given(value=st.binary(max_size=400))
def test_decode_of_random_bytes_is_a_decode_error(value: bytes) -> None:
    with pytest.raises(codec.DecodeError) as exc:
        codec.decode(STORE, value, topic="t", partition=1, offset=2)
    assert str(exc.value).startswith("cannot decode topic=t partition=1 offset=2 fingerprint=")


@settings(max_examples=300, deadline=None)
@given(tail=st.binary(min_size=0, max_size=200))
def test_known_fingerprint_with_garbage_body_is_a_decode_error(tail: bytes) -> None:
    info = STORE.latest("payment.succeeded")
    with pytest.raises(codec.DecodeError):
        codec.decode(STORE, b"\xc3\x01" + info.fingerprint + tail)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(event_type=st.sampled_from(sorted(STORE.types())), data=JSON)
def test_publish_data_conversion_only_raises_its_error(event_type: str, data: object) -> None:
    info = STORE.latest(event_type)
    try:
        converted = from_json(info.parsed, data)
    except JsonDataError:
        return
    codec.validate(STORE, event_type, info.version, converted)


def test_deeply_nested_data_is_a_clear_error() -> None:
    nested: object = "x"
    for _ in range(100_000):
        nested = {"a": nested}
    with pytest.raises(JsonDataError) as exc:
        from_json(STORE.latest("invoice.issued").parsed, nested)
    assert str(exc.value).startswith("data.a: unknown field")
