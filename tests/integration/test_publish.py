"""The publish API and API keys against the real broker and database."""
from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from hub.apikeys import ApiKeyStore
from hub.db import connect
from hub.envelope import canonical_json, sha256_hex
from tests.stack import read_topic, run_ingress

pytestmark = pytest.mark.integration

INVOICE = {"type": "invoice.issued", "subject": "INV-7", "data": {
    "invoice_id": "INV-7", "customer_id": "CUS-1", "amount_minor": 9900, "currency": "EUR",
    "issued_at": "2026-11-01T10:00:00Z", "due_at": None,
    "lines": [{"description": "Plan", "quantity": 1, "unit_amount_minor": 9900}]}}


async def new_key(servers: Any, schema: str, scopes: list[str], name: str = "billing") -> str:
    conn = await connect(servers.database_url, schema)
    try:
        full, _ = await ApiKeyStore(conn).create(name, scopes)
        return full
    finally:
        await conn.close()


async def call(url: str, payload: Any, key: str | None, idem: str | None = None,
               raw: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if idem:
        headers["Idempotency-Key"] = idem
    body = raw if raw is not None else json.dumps(payload).encode()
    async with aiohttp.ClientSession() as s, s.post(url, data=body, headers=headers) as r:
        return r.status, dict(r.headers), await r.json()


async def test_publish_lands_with_envelope_and_idempotency(servers, topic_prefix, db_schema,
                                                         tmp_path) -> None:
    key = await new_key(servers, db_schema, ["invoice.*"])
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        first = await call(f"{ing.url}/events", INVOICE, key, idem="order-7-issue")
        replay = await call(f"{ing.url}/events", INVOICE, key, idem="order-7-issue")
        other = dict(INVOICE, subject="INV-8")
        conflict = await call(f"{ing.url}/events", other, key, idem="order-7-issue")
    assert first[0] == 202
    assert replay[0] == 202 and replay[2] == first[2]
    assert replay[1]["Idempotent-Replayed"] == "true"
    assert conflict[0] == 409
    assert conflict[2] == {"error": "Idempotency-Key already used with a different request"}

    [rec] = read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.accounting")
    event_id = first[2]["event_id"]
    assert rec.event.id == event_id and event_id[14] == "7"  # a UUIDv7
    assert first[2] == {"event_id": event_id, "type": "invoice.issued", "topic": rec.topic,
                        "partition": rec.partition, "offset": rec.offset}
    assert rec.key == b"INV-7"
    assert rec.event.source == "/services/billing"
    assert rec.event.correlation_id == event_id
    assert rec.event.payload_sha256 == sha256_hex(canonical_json(INVOICE["data"]))
    assert rec.event.data["amount_minor"] == 9900
    assert rec.event.data["issued_at"].isoformat() == "2026-11-01T10:00:00+00:00"


async def test_batch_is_all_or_nothing(servers, topic_prefix, db_schema, tmp_path) -> None:
    key = await new_key(servers, db_schema, ["*"])
    sms = {"type": "sms.requested", "subject": "+15550001111",
           "data": {"to": "+15550001111", "template": "receipt", "params": {"n": "1"}, "body": None}}
    bad = {"type": "sms.requested", "data": {"to": "+15550001111"}}
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        rejected = await call(f"{ing.url}/events:batch", {"events": [sms, bad]}, key)
        accepted = await call(f"{ing.url}/events:batch", {"events": [sms, INVOICE]}, key)
    assert rejected[0] == 422
    assert rejected[2] == {"error": "events[1].data.template: required field is missing",
                           "field": "events[1].data.template"}
    assert accepted[0] == 202
    assert [e["type"] for e in accepted[2]["events"]] == ["sms.requested", "invoice.issued"]
    msgs = read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.messaging")
    assert [r.event.id for r in msgs] == [accepted[2]["events"][0]["event_id"]]


@pytest.mark.parametrize(("payload", "status", "error"), [
    ({"type": "invoice.issued", "data": dict(INVOICE["data"], amount_minor=99.5)}, 422,
     "data.amount_minor: expected an integer count of minor units, got float 99.5"),
    ({"type": "invoice.nope", "data": {}}, 422, "type: unknown event type 'invoice.nope'"),
    ({"type": "invoice.issued", "data": dict(INVOICE["data"], colour="red")}, 422,
     "data.colour: unknown field; expected ['amount_minor', 'currency', 'customer_id', "
     "'due_at', 'invoice_id', 'issued_at', 'lines']"),
    ({"type": "invoice.issued", "data": dict(INVOICE["data"], issued_at="yesterday")}, 422,
     "data.issued_at: expected an RFC 3339 time, got 'yesterday'"),
    ({"type": "invoice.issued", "schema_version": 9, "data": INVOICE["data"]}, 422,
     "schema_version: 9 is not one of [1]"),
    ({"type": "payment.intent_requested", "data": {}}, 403,
     None),
    ([1, 2], 422, "body: expected a JSON object"),
])
async def test_bad_requests_get_a_clear_error_and_write_nothing(
        payload, status, error, servers, topic_prefix, db_schema, tmp_path) -> None:
    key = await new_key(servers, db_schema, ["invoice.*"])
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        answer = await call(f"{ing.url}/events", payload, key)
    assert answer[0] == status
    if error is not None:
        assert answer[2]["error"] == error
    else:
        assert answer[2]["error"].endswith("may not publish payment.intent_requested")
    assert read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.accounting") == []


async def test_authentication(servers, topic_prefix, db_schema, tmp_path) -> None:
    key = await new_key(servers, db_schema, ["invoice.*"])
    conn = await connect(servers.database_url, db_schema)
    try:
        stored = await conn.fetchval("SELECT secret_sha256 FROM api_keys")
        assert key.split("_", 2)[2].encode() not in bytes(stored)
        revoked_key = await new_key(servers, db_schema, ["*"], name="old")
        await ApiKeyStore(conn).revoke(revoked_key.split("_")[1])
    finally:
        await conn.close()
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        missing = await call(f"{ing.url}/events", INVOICE, None)
        wrong = await call(f"{ing.url}/events", INVOICE, key[:-4] + "AAAA")
        revoked = await call(f"{ing.url}/events", INVOICE, revoked_key)
        garbage = await call(f"{ing.url}/events", None, key, raw=b"{not json")
    assert (missing[0], missing[2]["error"]) == (401, "missing API key: send Authorization: Bearer <key>")
    assert (wrong[0], wrong[2]["error"]) == (401, "invalid API key")
    assert (revoked[0], revoked[2]["error"]) == (401, "invalid API key")
    assert garbage[0] == 400 and garbage[2]["error"].startswith("body is not valid JSON")
