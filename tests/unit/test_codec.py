from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub import codec
from hub.codec import DecodeError, EncodeError
from hub.schemastore import SchemaStore
from tests.examples import EXAMPLES, example_event

pytestmark = pytest.mark.unit

STORE = SchemaStore.load()
ALL = [(i.type, i.version) for i in STORE]
MONEY = "; money is an integer count of minor units"


def _with_defaults(type_: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    fields = STORE.get(type_, version).raw["fields"][-1]["type"]["fields"]
    return {f["name"]: data[f["name"]] if f["name"] in data else f["default"] for f in fields}


def test_every_type_has_an_example() -> None:
    assert sorted(EXAMPLES) == STORE.types()


@pytest.mark.parametrize(("type_", "version"), ALL)
def test_round_trip(type_: str, version: int) -> None:
    event = example_event(type_, version)
    decoded = codec.decode(STORE, codec.encode(STORE, event))
    assert decoded == dataclasses.replace(event, data=_with_defaults(type_, version, event.data))
    assert decoded.time.utcoffset() == timedelta(0)


def test_round_trip_fills_optional_envelope_defaults() -> None:
    event = example_event("sms.requested", subject=None, causation_id=None, traceparent=None)
    assert codec.decode(STORE, codec.encode(STORE, event)) == event


def test_value_starts_with_marker_and_fingerprint() -> None:
    value = codec.encode(STORE, example_event("payment.succeeded"))
    info = STORE.get("payment.succeeded", 1)
    assert value[:2] == b"\xc3\x01"
    assert value[2:10] == info.fingerprint
    # Pinned: the fingerprint is a contract with every consumer of the topic.
    assert value[:10].hex() == "c3011e781e7efbf607a2"


def test_unknown_fingerprint_names_where_it_came_from() -> None:
    value = b"\xc3\x01" + bytes.fromhex("0011223344556677") + b"\x00" * 20
    with pytest.raises(DecodeError) as info:
        codec.decode(STORE, value, topic="hub.payments", partition=3, offset=1042)
    err = info.value
    assert (err.topic, err.partition, err.offset) == ("hub.payments", 3, 1042)
    assert err.fingerprint == "0011223344556677"
    assert str(err).startswith(
        "cannot decode topic=hub.payments partition=3 offset=1042 fingerprint=0011223344556677: "
        "unknown writer schema fingerprint"
    )


@pytest.mark.parametrize("cut", [1, 10, 40])
def test_truncated_body(cut: int) -> None:
    value = codec.encode(STORE, example_event("payment.succeeded"))
    with pytest.raises(DecodeError, match="body does not decode with payment.succeeded.v1.avsc"):
        codec.decode(STORE, value[:-cut], topic="t", partition=0, offset=7)


def test_trailing_bytes() -> None:
    value = codec.encode(STORE, example_event("payment.succeeded"))
    with pytest.raises(DecodeError, match="2 bytes left over after the body"):
        codec.decode(STORE, value + b"\x00\x00")


def test_bad_marker() -> None:
    value = codec.encode(STORE, example_event("payment.succeeded"))
    with pytest.raises(DecodeError) as info:
        codec.decode(STORE, b"{}" + value[2:], topic="hub.payments", partition=0, offset=1)
    assert str(info.value) == (
        "cannot decode topic=hub.payments partition=0 offset=1 fingerprint=-: "
        "value starts with 7b7d, not c301 (Avro single-object encoding)"
    )
    assert info.value.fingerprint is None


@pytest.mark.parametrize("value", [b"", b"\xc3", b"\xc3\x01\x00\x01"])
def test_short_value(value: bytes) -> None:
    with pytest.raises(DecodeError, match=f"value is {len(value)} bytes, shorter than the 10-byte"):
        codec.decode(STORE, value)


def test_unknown_reader_version() -> None:
    value = codec.encode(STORE, example_event("payment.succeeded"))
    with pytest.raises(DecodeError, match="no reader schema payment.succeeded v7"):
        codec.decode(STORE, value, reader_version=7)


def test_garbage_only_ever_raises_decode_error() -> None:
    rng = random.Random(1234)
    values = [codec.encode(STORE, example_event(t, v)) for t, v in ALL]
    for _ in range(3000):
        v = bytearray(rng.choice(values))
        for _ in range(rng.randint(1, 4)):
            v[rng.randrange(10, len(v))] = rng.randrange(256)
        if rng.random() < 0.3:
            v = v[: rng.randrange(10, len(v))]
        try:
            codec.decode(STORE, bytes(v))
        except DecodeError:
            pass


def _encode_error(type_: str, **data_changes: Any) -> str:
    event = example_event(type_)
    data = {k: v for k, v in {**event.data, **data_changes}.items() if v is not _DROP}
    with pytest.raises(EncodeError) as info:
        codec.encode(STORE, dataclasses.replace(event, data=data))
    with pytest.raises(EncodeError) as info2:
        codec.validate(STORE, type_, 1, data)
    assert str(info2.value) == str(info.value)
    assert info.value.path == str(info.value).split(":")[0]
    return str(info.value)


_DROP = object()


@pytest.mark.parametrize(
    ("type_", "changes", "message"),
    [
        ("payment.succeeded", {"amount_minor": "12.5"},
         "data.amount_minor: expected long, got str '12.5'" + MONEY),
        ("payment.succeeded", {"amount_minor": 12.5},
         "data.amount_minor: expected long, got float 12.5" + MONEY),
        ("payment.succeeded", {"amount_minor": 1 << 63},
         "data.amount_minor: expected long, got 9223372036854775808 (out of range)" + MONEY),
        ("payment.succeeded", {"currency": _DROP}, "data.currency: missing required field"),
        ("payment.succeeded", {"invoice_id": 5},
         "data.invoice_id: expected string or null, got int 5"),
        ("payment.succeeded", {"occurred_at": "2025-01-01"},
         "data.occurred_at: expected timestamp (aware datetime or int microseconds since the "
         "epoch), "
         "got str '2025-01-01'"),
        ("payment.succeeded", {"occurred_at": datetime(2025, 1, 1)},
         "data.occurred_at: expected timezone-aware datetime, "
         "got naive datetime datetime.datetime(2025, 1, 1, 0, 0)"),
        ("payment.succeeded", {"amout_minor": 1},
         "data.amout_minor: unknown field; PaymentSucceededV1Data has amount_minor, currency, "
         "invoice_id, occurred_at, payment_id, provider"),
        ("invoice.issued",
         {"lines": [{"description": "x", "quantity": "5", "unit_amount_minor": 1}]},
         "data.lines[0].quantity: expected int, got str '5'"),
        ("invoice.issued", {"lines": [{"description": "x", "quantity": 1}]},
         "data.lines[0].unit_amount_minor: missing required field"),
        ("sms.requested", {"params": {"amount": 5}},
         "data.params['amount']: expected string, got int 5"),
        ("integration.outcome", {"status": "done"},
         "data.status: expected one of attempted, succeeded, failed, dead_lettered, "
         "got str 'done'"),
        ("integration.outcome", {"attempt": True}, "data.attempt: expected int, got bool True"),
        ("integration.outcome", {"amount_minor": 1.0},
         "data.amount_minor: expected long or null, got float 1.0" + MONEY),
        ("webhook.received", {"body": "text"}, "data.body: expected bytes, got str 'text'"),
        ("webhook.received", {"headers": [("a", "b")]},
         "data.headers[0]: expected record WebhookHeader, got tuple ('a', 'b')"),
    ],
)
def test_encode_error_names_the_field(type_: str, changes: dict[str, Any], message: str) -> None:
    assert _encode_error(type_, **changes) == message


def test_data_must_be_a_record() -> None:
    with pytest.raises(EncodeError, match=r"^data: expected record PaymentSucceededV1Data, got"):
        codec.validate(STORE, "payment.succeeded", 1, [])


def test_envelope_errors() -> None:
    for bad in ("nope", "0192f1c47a2b7c3d8e4f5a6b7c8d9e0f", 7):
        with pytest.raises(EncodeError, match=r"^id: expected UUID string \(8-4-4-4-12 hex\), got"):
            codec.encode(STORE, example_event("payment.succeeded", id=bad))
    with pytest.raises(EncodeError, match=r"^time: expected timezone-aware datetime"):
        codec.encode(STORE, example_event("payment.succeeded", time=datetime(2025, 1, 1)))
    with pytest.raises(EncodeError, match=r"^correlation_id: expected string, got null$"):
        codec.encode(STORE, example_event("payment.succeeded", correlation_id=None))


def test_unknown_type_and_version() -> None:
    with pytest.raises(EncodeError, match=r"^type: unknown event type 'payment.nope'; known"):
        codec.encode(STORE, example_event("payment.succeeded", type="payment.nope"))
    with pytest.raises(EncodeError) as info:
        codec.validate(STORE, "payment.succeeded", 3, EXAMPLES["payment.succeeded"])
    assert str(info.value) == (
        "schema_version: payment.succeeded has no version 3; known versions: 1, 2"
    )
    assert info.value.path == "schema_version"


def test_v2_field_is_rejected_by_v1_and_accepted_by_v2() -> None:
    data = {**EXAMPLES["payment.succeeded"], "fee_minor": 30}
    codec.validate(STORE, "payment.succeeded", 2, data)
    with pytest.raises(EncodeError, match=r"^data.fee_minor: unknown field"):
        codec.validate(STORE, "payment.succeeded", 1, data)
    event = example_event("payment.succeeded", 2, data=data)
    assert codec.decode(STORE, codec.encode(STORE, event)).data["fee_minor"] == 30


def test_int_micros_are_accepted_for_timestamps() -> None:
    event = example_event("payment.succeeded")
    micros = 1_700_000_000_123_456
    data = {**event.data, "occurred_at": micros}
    decoded = codec.decode(STORE, codec.encode(STORE, dataclasses.replace(event, data=data)))
    assert decoded.data["occurred_at"] == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
