"""The webhook ingress against the real broker and database."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.db import connect
from hub.envelope import sha256_hex
from hub.ids import derived_id
from hub.signatures import sign
from tests.stack import SECRETS, read_topic, run_ingress

pytestmark = pytest.mark.integration


def stripe_body(event_id: str = "evt_1QabcDEF", invoice: str = "INV-1001", amount: int = 12500,
                kind: str = "payment_intent.succeeded") -> bytes:
    return json.dumps({
        "id": event_id, "object": "event", "type": kind, "created": 1767225600,
        "data": {"object": {"id": "pi_3Qxyz", "object": "payment_intent", "amount": amount,
                            "amount_received": amount, "currency": "eur",
                            "metadata": {"invoice_id": invoice}, "status": "succeeded"}},
    }).encode()


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any], Any]:
    async with aiohttp.ClientSession() as s, s.post(url, data=body, headers=headers) as r:
        return r.status, dict(r.headers), await r.json()


async def test_signed_stripe_webhook_lands_raw_and_normalized(servers, topic_prefix, db_schema,
                                                            tmp_path: Path) -> None:
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        body = stripe_body()
        headers = {**sign("stripe", secret=SECRETS["stripe"], body=body),
                   "Content-Type": "application/json", "Authorization": "Bearer leak-me-not"}
        status, _, answer = await post(f"{ing.url}/webhooks/stripe", body, headers)

    raw_id = derived_id("stripe", "evt_1QabcDEF")
    pay_id = derived_id("stripe", "evt_1QabcDEF", "payment.succeeded")
    assert status == 202
    assert answer == {"status": "accepted", "event_id": raw_id, "mapped": True,
                      "events": [{"event_id": pay_id, "type": "payment.succeeded"}]}

    [raw] = read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.webhooks", expect=1)
    assert raw.event.id == raw_id
    assert raw.event.type == "webhook.received"
    assert raw.event.data["body"] == body
    assert raw.event.data["provider_event_id"] == "evt_1QabcDEF"
    assert raw.event.data["mapped_types"] == ["payment.succeeded"]
    assert raw.event.payload_sha256 == sha256_hex(body)
    names = [h["name"].lower() for h in raw.event.data["headers"]]
    assert "stripe-signature" in names and "authorization" not in names
    assert raw.headers["ce_id"] == raw_id.encode()
    assert raw.headers["ce_type"] == b"webhook.received"
    assert raw.value[:2] == b"\xc3\x01"

    [pay] = read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.payments", expect=1)
    assert pay.key == b"INV-1001"
    assert pay.event.id == pay_id
    assert pay.event.causation_id == raw_id
    assert pay.event.data["amount_minor"] == 12500
    assert pay.event.data["currency"] == "EUR"
    assert pay.event.data["invoice_id"] == "INV-1001"

    conn = await connect(servers.database_url, db_schema)
    try:
        row = await conn.fetchrow("SELECT * FROM webhook_events")
        count = await conn.fetchval("SELECT count(*) FROM webhook_events")
    finally:
        await conn.close()
    assert count == 1
    assert str(row["event_id"]) == raw_id
    assert (row["provider"], row["provider_event_id"]) == ("stripe", "evt_1QabcDEF")
    assert row["payload_sha256"] == sha256_hex(body)
    assert row["processed_at"] >= row["received_at"]
    assert (row["topic"], row["kafka_partition"], row["kafka_offset"]) == (
        raw.topic, raw.partition, raw.offset)


async def test_redelivery_yields_one_event_id(servers, topic_prefix, db_schema, tmp_path) -> None:
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        body = stripe_body("evt_dupe")
        first = await post(f"{ing.url}/webhooks/stripe", body,
                           sign("stripe", secret=SECRETS["stripe"], body=body))
        # The provider retries later with a fresh signature over the same event.
        second = await post(f"{ing.url}/webhooks/stripe", body,
                            sign("stripe", secret=SECRETS["stripe"], body=body))
    assert first[0] == 202 and second[0] == 200
    assert second[2] == {"status": "duplicate", "event_id": first[2]["event_id"]}
    records = read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.webhooks")
    assert [r.event.id for r in records] == [derived_id("stripe", "evt_dupe")]
    conn = await connect(servers.database_url, db_schema)
    try:
        assert await conn.fetchval("SELECT deliveries FROM webhook_events") == 2
    finally:
        await conn.close()


async def test_concurrent_redeliveries_count_exactly_and_share_one_event_id(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    """Deliveries of one event that arrive together share database batches: every delivery is
    counted once, every answer names the same event id, and only new events are 202."""
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        body = stripe_body("evt_storm")
        url = f"{ing.url}/webhooks/stripe"
        together = await asyncio.gather(*(
            post(url, body, sign("stripe", secret=SECRETS["stripe"], body=body)) for _ in range(6)))
        later = await asyncio.gather(*(
            post(url, body, sign("stripe", secret=SECRETS["stripe"], body=body)) for _ in range(3)))
        other = await post(url, stripe_body("evt_calm"),
                           sign("stripe", secret=SECRETS["stripe"], body=stripe_body("evt_calm")))
    raw_id = derived_id("stripe", "evt_storm")
    assert {answer["event_id"] for _, _, answer in together + later} == {raw_id}
    assert all(status in (200, 202) for status, _, _ in together)
    assert [status for status, _, _ in later] == [200, 200, 200]
    assert other[0] == 202
    conn = await connect(servers.database_url, db_schema)
    try:
        rows = await conn.fetch("SELECT provider_event_id, deliveries FROM webhook_events"
                                " ORDER BY provider_event_id")
    finally:
        await conn.close()
    assert [(r["provider_event_id"], r["deliveries"]) for r in rows] == [
        ("evt_calm", 1), ("evt_storm", 9)]


async def test_a_delivery_the_database_refuses_fails_alone(servers, topic_prefix, db_schema,
                                                          tmp_path) -> None:
    """A NUL in a provider event id is refused by PostgreSQL: that delivery gets 503, the ones
    sharing its database batch are accepted as usual."""
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        url = f"{ing.url}/webhooks/stripe"
        bodies = [stripe_body(f"evt_ok{i}") for i in range(4)] + [stripe_body("evt_\x00nul")]
        answers = await asyncio.gather(*(
            post(url, body, sign("stripe", secret=SECRETS["stripe"], body=body)) for body in bodies))
    assert [status for status, _, _ in answers] == [202, 202, 202, 202, 503]
    assert answers[4][1]["Retry-After"] == "7"
    assert answers[4][2] == {"error": "database unavailable; retry later"}


@pytest.mark.parametrize("scheme", sorted(SECRETS))
async def test_every_scheme_accepts_its_signature_and_rejects_a_forgery(
        scheme, servers, topic_prefix, db_schema, tmp_path) -> None:
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        url = f"{ing.url}/webhooks/{scheme}"
        if scheme == "twilio":
            body = b"MessageSid=SM123&MessageStatus=delivered&To=%2B15551234567"
            ctype = "application/x-www-form-urlencoded"
        else:
            body = json.dumps({"id": "x1", "type": "ping", "event_id": "Ev1"}).encode()
            ctype = "application/json"
        good = {**sign(scheme, secret=SECRETS[scheme], body=body, url=url), "Content-Type": ctype}
        forged = {**sign(scheme, secret="whsec_bm90LXRoZS1zZWNyZXQtYXQtYWxs", body=body, url=url),
                  "Content-Type": ctype}
        bad_status, _, bad_answer = await post(url, body, forged)
        ok_status, _, ok_answer = await post(url, body, good)
    assert bad_status == 401
    assert bad_answer == {"error": "signature verification failed"}
    assert ok_status == 202
    records = read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.webhooks")
    assert [r.event.id for r in records] == [ok_answer["event_id"]]


async def test_rejections_write_nothing(servers, topic_prefix, db_schema, tmp_path) -> None:
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema, max_body_bytes=2048) as ing:
        body = stripe_body()
        unsigned = await post(f"{ing.url}/webhooks/stripe", body, {})
        unknown = await post(f"{ing.url}/webhooks/nope", body,
                             sign("stripe", secret=SECRETS["stripe"], body=body))
        big = b"{" + b" " * 4096 + b"}"
        too_big = await post(f"{ing.url}/webhooks/stripe", big,
                             sign("stripe", secret=SECRETS["stripe"], body=big))
        stale = sign("stripe", secret=SECRETS["stripe"], body=body,
                     timestamp=int(time.time()) - 3600)
        old = await post(f"{ing.url}/webhooks/stripe", body, stale)
    assert (unsigned[0], unsigned[2]) == (401, {"error": "signature verification failed"})
    assert (unknown[0], unknown[2]) == (404, {"error": "unknown webhook endpoint 'nope'"})
    assert (too_big[0], too_big[2]) == (413, {"error": "body over the limit of 2048 bytes"})
    assert old[0] == 401
    assert read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.webhooks") == []


async def test_unmapped_event_type_is_kept_raw_and_acknowledged(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        body = stripe_body("evt_cust", kind="customer.created")
        status, _, answer = await post(f"{ing.url}/webhooks/stripe", body,
                                       sign("stripe", secret=SECRETS["stripe"], body=body))
    assert status == 202
    assert answer["mapped"] is False and answer["events"] == []
    assert "customer.created" in answer["unmapped_reason"]
    [raw] = read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.webhooks", expect=1)
    assert raw.event.data["mapped"] is False
    assert read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.payments") == []


async def test_broker_not_answering_gives_503_and_retry_succeeds(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    """The broker process is frozen (SIGSTOP) mid-request: 503 + Retry-After, nothing acked."""
    kafka_pid = int((servers.home / "kafka" / "kafka.pid").read_text())
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema, ack_timeout_s=1.5) as ing:
        body = stripe_body("evt_frozen")
        os.kill(kafka_pid, signal.SIGSTOP)
        try:
            status, headers, answer = await post(
                f"{ing.url}/webhooks/stripe", body,
                sign("stripe", secret=SECRETS["stripe"], body=body))
        finally:
            os.kill(kafka_pid, signal.SIGCONT)
        assert (status, headers["Retry-After"]) == (503, "7")
        assert answer == {"error": "event log unavailable; retry later"}
        conn = await connect(servers.database_url, db_schema)
        try:
            assert await conn.fetchval("SELECT count(*) FROM webhook_events") == 0
        finally:
            await conn.close()
        # The provider retries once the broker is back: accepted, one event id.
        retry = await post(f"{ing.url}/webhooks/stripe", body,
                           sign("stripe", secret=SECRETS["stripe"], body=body))
    assert retry[0] in (200, 202)
    records = read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.webhooks")
    assert {r.event.id for r in records} == {derived_id("stripe", "evt_frozen")}
